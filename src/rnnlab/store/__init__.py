"""The run store: run directories, atomic checkpoints (no pickle) and an SQLite catalog."""

from .catalog import query
from .checkpoint import load_checkpoint, save_checkpoint
from .run import Run, create_run, execute, open_run, run_summary, runs_root, train_run, write_finished_run

__all__ = ["Run", "create_run", "execute", "open_run", "query", "runs_root", "train_run",
           "load_checkpoint", "save_checkpoint", "run_summary", "write_finished_run"]
