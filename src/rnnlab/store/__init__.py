"""The run store: run directories, crash-safe checkpoints (no pickle), checksummed files and
an SQLite catalog that can be rebuilt from the directories (guarantees: ``store/run.py``).

Names are imported on first use (``lazy_loader``): reading the catalog (``query``,
``runs_root``, statuses) does not import JAX; training and checkpoints do.
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "catalog": ["CatalogError", "query"],
        "checkpoint": ["load_checkpoint", "read_checked", "read_verified", "save_checkpoint", "write_checked"],
        "run": ["Run", "create_run", "execute", "open_run", "reindex", "run_summary", "train_run",
                "write_finished_run"],
        "_paths": ["runs_root"],
        "status": ["FINISHED", "STATUSES", "is_finished", "run_status"],
    },
)
