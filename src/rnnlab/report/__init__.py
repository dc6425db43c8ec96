"""Reports: figures (PNG), the HTML page that gathers them, and the browser check of a page."""

from .browser import PageCheck, browser_available, check_page
from .figures import example_trials, loss_curve, tau_histogram
from .html import provenance, write_page
from .run_report import write_run_report

__all__ = ["PageCheck", "browser_available", "check_page", "example_trials", "loss_curve", "provenance",
           "tau_histogram", "write_page", "write_run_report"]
