"""Sweeps: grids of runs, grouped into ensembles, run locally or on a Ray cluster, resumable."""

from .runner import run_sweep, sweep_dir, sweep_rows, sweep_status, write_table
from .spec import SweepRun, SweepSpec, load_sweep
from .worker import train_group

__all__ = ["SweepRun", "SweepSpec", "load_sweep", "run_sweep", "sweep_dir", "sweep_rows", "sweep_status",
           "train_group", "write_table"]
