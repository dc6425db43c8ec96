"""The run store: run directories, atomic checkpoints (no pickle) and an SQLite catalog."""

from .catalog import query
from .checkpoint import load_checkpoint, save_checkpoint
from .run import Run, create_run, execute, open_run, runs_root, train_run

__all__ = ["Run", "create_run", "execute", "open_run", "query", "runs_root", "train_run",
           "load_checkpoint", "save_checkpoint"]
