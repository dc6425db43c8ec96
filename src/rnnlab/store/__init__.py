"""The run store: run directories, crash-safe checkpoints (no pickle), checksummed files and
an SQLite catalog that can be rebuilt from the directories (guarantees: ``store/run.py``)."""

from .catalog import CatalogError, query
from .checkpoint import load_checkpoint, read_checked, read_verified, save_checkpoint, write_checked
from .run import (Run, create_run, execute, open_run, reindex, run_summary, runs_root, train_run,
                  write_finished_run)
from .status import FINISHED, STATUSES, is_finished, run_status

__all__ = ["Run", "create_run", "execute", "open_run", "query", "reindex", "runs_root", "train_run",
           "CatalogError", "load_checkpoint", "save_checkpoint", "read_checked", "read_verified", "write_checked",
           "run_summary", "write_finished_run", "FINISHED", "STATUSES", "is_finished", "run_status"]
