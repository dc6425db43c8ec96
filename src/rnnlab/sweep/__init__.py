"""Sweeps: grids of runs, grouped into ensembles, run locally or on a Ray cluster, resumable."""

from .group_analyses import GROUP_ANALYSES
from .runner import run_sweep, sweep_dir, sweep_group_rows, sweep_rows, sweep_status, write_table
from .spec import SweepRun, SweepSpec, load_sweep
from .worker import train_group

__all__ = ["GROUP_ANALYSES", "SweepRun", "SweepSpec", "load_sweep", "run_sweep", "sweep_dir", "sweep_group_rows", "sweep_rows", "sweep_status",
           "train_group", "write_table"]
