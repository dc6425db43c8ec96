"""Reports: figures (PNG) and the HTML page that gathers them."""

from .figures import example_trials, loss_curve, tau_histogram
from .html import write_page
from .run_report import write_run_report

__all__ = ["example_trials", "loss_curve", "tau_histogram", "write_page", "write_run_report"]
