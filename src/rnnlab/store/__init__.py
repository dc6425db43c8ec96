"""The run store: run directories, atomic checkpoints (no pickle) and an SQLite catalog."""

from .catalog import query
from .checkpoint import load_checkpoint, read_checked, save_checkpoint, write_checked
from .run import Run, create_run, execute, open_run, run_summary, runs_root, train_run, write_finished_run
from .status import FINISHED, STATUSES, is_finished, run_status

__all__ = ["Run", "create_run", "execute", "open_run", "query", "runs_root", "train_run",
           "load_checkpoint", "save_checkpoint", "read_checked", "write_checked", "run_summary", "write_finished_run",
           "FINISHED", "STATUSES", "is_finished", "run_status"]
