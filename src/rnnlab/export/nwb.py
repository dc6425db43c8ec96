"""Simulated activity as an NWB file (Neurodata Without Borders, with ``pynwb``: the extra
``rnnlab[nwb]``).

The trials of a Dataset from ``export.activity`` are laid end to end on one clock: trial
``b`` spans ``[b T dt, (b + 1) T dt)`` seconds and its step ``t`` is sampled at
``(b T + t + 1) dt`` (``export.arrays``' convention), so each series is
``[trials × T, channels]`` with ``starting_time = dt`` and ``rate = 1 / dt``. ``dt`` is in
seconds when the task gives it in ms or s; otherwise one step or one task time unit counts
as one second, and each series' ``comments`` say so.

File layout:

- ``processing["rnn"]``: ``activity`` (``activity_member<e>`` per member of an ensemble) and
  ``outputs`` (likewise), unit ``a.u.``;
- ``stimulus["inputs"]``: the task inputs;
- ``processing["task"]``: ``targets``, ``mask`` and every info variable laid out along
  ``(trial, time, ...)``;
- ``trials``: one row per trial with ``start_time``, ``stop_time``, every per-trial condition
  of the Dataset and every other per-trial info variable (array columns);
- session metadata: rnnlab and its version, the task and the model with their parameters
  (``notes``, JSON), the run id when the Dataset came from a stored run.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["to_nwb"]

_SECONDS = {"ms": 1e-3, "s": 1.0}


def _pynwb() -> None:
    try:
        import pynwb  # noqa: F401
    except ImportError:
        raise ConfigError("to_nwb: pynwb is not installed (pip install 'rnnlab[nwb]')") from None


def _dataset(run_or_dataset: Any, n_trials: int, key: Any, root: str | Path | None):
    import xarray as xr

    from .arrays import run_activity

    if isinstance(run_or_dataset, xr.Dataset):
        return run_or_dataset
    return run_activity(run_or_dataset, n_trials, key, root=root)


def _flat_time(values: np.ndarray) -> np.ndarray:
    """``[trial, time, ...]`` -> ``[trial × time, ...]`` (trials end to end)."""
    return values.reshape(values.shape[0] * values.shape[1], *values.shape[2:])


def to_nwb(run_or_dataset: Any, path: str | Path, *, n_trials: int = 64, key: Any = 0,
           root: str | Path | None = None) -> Path:
    """Write simulated activity to an NWB file (layout: module docstring); returns ``path``.

    Args:
        run_or_dataset: a Dataset from ``export.activity``/``run_activity``, or a stored run
            (``Run`` or run id), simulated on ``n_trials`` trials from ``key``.
        path: the ``.nwb`` file to write (replaced if it exists).
        root: the runs folder of a run id.

    Raises:
        ConfigError: pynwb is not installed.
    """
    _pynwb()
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    ds = _dataset(run_or_dataset, n_trials, key, root)
    a = ds.attrs
    dt, units = float(a["dt"]), str(a["time_units"])
    sec = dt * _SECONDS.get(units, 1.0)
    clock = ("" if units in _SECONDS else
             f"time: one {'step' if units == 'steps' else 'task time unit'} is written as one second; ")
    clock += a.get("time_convention", "")
    B, T = ds.sizes["trial"], ds.sizes["time"]
    what = f"model {a['model']} on task {a['task']}"
    run_id = a.get("run_id")
    nwb = NWBFile(
        session_description=f"rnnlab simulated activity: {what}" + (f", run {run_id}" if run_id else ""),
        identifier=str(run_id or uuid.uuid4()),
        session_start_time=_dt.datetime.now(_dt.timezone.utc).astimezone(),
        experiment_description=f"recurrent network simulated with rnnlab {a.get('rnnlab_version', '')}: {what}",
        source_script=f"rnnlab {a.get('rnnlab_version', '')}", source_script_file_name="rnnlab.export.to_nwb",
        keywords=["rnnlab", "simulation", "recurrent neural network", str(a["task"]), str(a["model"])],
        notes=json.dumps({k: (v.item() if isinstance(v, np.generic) else v) for k, v in a.items()}, default=str),
    )

    def series(name: str, values: np.ndarray, description: str) -> TimeSeries:
        return TimeSeries(name=name, data=_flat_time(np.asarray(values)), unit="a.u.", starting_time=sec,
                          rate=1.0 / sec, description=description, comments=clock or "no comments")

    rnn = nwb.create_processing_module("rnn", f"simulated network activity ({what})")
    for var, desc in (("activity", "hidden-unit activity [time, unit]"), ("outputs", "readout [time, output]")):
        if "member" in ds[var].dims:
            for e in range(ds.sizes["member"]):
                rnn.add(series(f"{var}_member{e}", ds[var].isel(member=e).values, f"{desc}, ensemble member {e}"))
        else:
            rnn.add(series(var, ds[var].values, desc))
    nwb.add_stimulus(series("inputs", ds["inputs"].values, "task inputs [time, input]"))
    task_module = nwb.create_processing_module("task", f"task {a['task']}: targets, mask, time-resolved info")
    task_module.add(series("targets", ds["targets"].values, "desired outputs [time, output]"))
    task_module.add(series("mask", ds["mask"].values, "weight of each target in the loss (0: not scored)"))
    per_trial = {}
    for name, v in ds.data_vars.items():
        if name in ("activity", "outputs", "inputs", "targets", "mask") or v.dims[:1] != ("trial",):
            continue
        key_ = v.attrs.get("info_key", name)
        if v.dims[1:2] == ("time",):
            task_module.add(series(name, v.transpose("trial", "time", ...).values, f"batch info '{key_}'"))
        else:
            per_trial[name] = (v.values, f"batch info '{key_}' per trial")
    for name, c in ds.coords.items():
        if c.dims == ("trial",) and name != "trial":
            per_trial[name] = (c.values, f"trial condition: batch info '{c.attrs.get('info_key', name)}'")
    for name, (_, desc) in per_trial.items():
        nwb.add_trial_column(name=name, description=desc)
    for b in range(B):
        nwb.add_trial(start_time=b * T * sec, stop_time=(b + 1) * T * sec,
                      **{name: values[b] for name, (values, _) in per_trial.items()})
    path = Path(path)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path
