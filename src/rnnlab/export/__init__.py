"""Data out: simulated activity as labelled arrays (xarray, netCDF, NWB) and the run store,
sweeps and studies as pandas DataFrames.

- ``activity(model, task, key, n_trials)`` / ``run_activity(run)``: an ``xarray.Dataset``
  with dims ``[member,] trial × time × unit`` (layout: ``rnnlab.export.arrays``);
  ``activity_table(ds)`` the same as one wide DataFrame; ``to_netcdf(ds, path)``.
- ``to_nwb(run_or_dataset, path)``: an NWB file (extra ``rnnlab[nwb]``; ``rnnlab.export.nwb``).
- ``runs_table``, ``sweep_table``, ``sweep_groups_table``, ``study_tables``: DataFrames
  (``rnnlab.export.tables``).
"""

from .arrays import activity, activity_table, run_activity, to_netcdf
from .nwb import to_nwb
from .tables import StudyTables, runs_table, study_tables, sweep_groups_table, sweep_table

__all__ = ["activity", "activity_table", "run_activity", "to_netcdf", "to_nwb",
           "StudyTables", "runs_table", "study_tables", "sweep_groups_table", "sweep_table"]
