"""Simulated activity as labelled arrays (xarray), and as one wide table.

``activity(model, task, key, n_trials)`` samples one batch of ``n_trials`` trials from
``key``, runs the model on it (``rnnlab.run(model, batch.inputs, key)``: the key also drives
the model's private noise, as in ``rnnlab.evaluate``) and returns everything as one
``xarray.Dataset``:

=============  ==================================================  ==========================
variable       dims                                                what
=============  ==================================================  ==========================
``activity``   ``([member,] trial, time, unit)``                   the recorded activity
``outputs``    ``([member,] trial, time, output)``                 the readout
``inputs``     ``(trial, time, input)``                            the task's inputs
``targets``    ``(trial, time, output)``                           desired outputs
``mask``       ``(trial, time, output)``                           weight of each target (0: unscored)
=============  ==================================================  ==========================

Clock: ``time[t] = (t + 1) * dt`` is the end of step ``t``, when ``activity[t]`` and
``outputs[t]`` are read out; ``inputs[t]`` is what drove step ``t`` (the interval
``(t dt, (t + 1) dt]``). The coordinate ``step`` (along ``time``) holds ``t`` itself. ``dt``
and its unit come from ``Task.clock`` (``ms`` or ``s`` where the ``dt`` field's description
says so, ``steps`` where it counts durations in steps, else ``"task time units"``); a task
without ``dt`` (flip-flop, N-parity, N-DMS, multitask) is in steps, ``time = t + 1``. ``time.attrs``
(``units``, ``dt``, ``convention``) say which.

The batch's ``info``: an entry with one value per trial (shape ``[B]``) becomes a
coordinate on ``trial`` (a condition: ``ds.groupby("choice")``); any other entry becomes a
variable of its own, dims ``(trial, time, ...)`` when its second axis has ``T`` entries
(bits, pulses, teacher signals) and ``(trial, NAME_dim1, ...)`` otherwise. Names are the
info keys, with characters other than letters, digits and ``_`` replaced by ``_`` (the key
itself is in the variable's ``attrs["info_key"]``) and ``info_`` put before a name taken by a
variable above.

An ensemble (a model stacked along a leading member axis, ``TrainResult.model``) is run
member by member on the same batch; ``activity`` and ``outputs`` then lead with ``member``.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import numpy as np

from ..errors import ConfigError
from ..evaluate import _is_stacked, _layout
from ..models import RecurrentModel, run
from ..tasks import Task
from ..train.preflight import check_types

__all__ = ["activity", "run_activity", "activity_table", "to_netcdf"]

_RESERVED = {"activity", "outputs", "inputs", "targets", "mask", "trial", "time", "step", "unit", "input",
             "output", "member"}
_CONVENTION = ("time[t] = (t + 1) * dt: the end of step t, when activity[t] and outputs[t] are read out; "
               "inputs[t] drove step t")


def _key(key: Any) -> tuple[Any, dict[str, Any]]:
    """The PRNG key and how the attributes record it (``seed`` for an integer)."""
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        if not 0 <= key < 2**32:
            raise ConfigError(f"key: an integer seed must be 0 <= seed < 2**32 (got {key})")
        return jax.random.PRNGKey(int(key)), {"seed": int(key)}
    if not hasattr(key, "dtype"):
        raise ConfigError(f"key: expected a PRNG key or an integer seed, got {type(key).__name__}")
    data = jax.random.key_data(key) if jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    return key, {"key": json.dumps(np.asarray(data).tolist())}


def _name(key: str, taken: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", key)
    if name in _RESERVED or name in taken or not name[:1].isalpha():
        name = f"info_{name}"
    while name in taken:
        name += "_"
    taken.add(name)
    return name


def _info(info: dict[str, Any], B: int, T: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(coords, data_vars)`` of the batch's ``info`` (module docstring)."""
    coords: dict[str, Any] = {}
    data: dict[str, Any] = {}
    taken: set[str] = set()
    for key, value in info.items():
        v = np.asarray(value)
        name = _name(key, taken)
        attrs = {"info_key": key}
        if v.ndim == 1 and v.shape[0] == B:
            coords[name] = ("trial", v, attrs)
            continue
        lead = v.ndim >= 1 and v.shape[0] == B
        dims = ["trial"] if lead else [f"{name}_dim0"] if v.ndim else []
        for i in range(1, v.ndim):
            dims.append("time" if lead and i == 1 and v.shape[1] == T else f"{name}_dim{i}")
        data[name] = (tuple(dims), v, attrs)
    return coords, data


_run_stacked = eqx.filter_vmap(run, in_axes=(0, None, None))


def activity(model: RecurrentModel, task: Task, key: Any, n_trials: int = 64, *, ensemble: bool | None = None):
    """Simulate ``n_trials`` fresh trials of ``task`` and return them as an ``xarray.Dataset``.

    Args:
        model: a built model, or an ensemble stacked along a leading member axis.
        task: the task (a levelled task is laid out for the model's heads, as ``evaluate`` does).
        key: PRNG key or integer seed; ``task.sample(key, n_trials)`` is the batch and
            ``run(model, batch.inputs, key)`` the simulation.
        n_trials: trials in the batch.
        ensemble: whether ``model`` is stacked; ``None`` detects it as ``evaluate`` does.

    Returns:
        A Dataset with dims ``[member,] trial, time, unit, input, output`` (and one per extra
        axis of an info entry), the variables ``activity``, ``outputs``, ``inputs``,
        ``targets``, ``mask`` and the batch's info, and ``attrs`` naming the task and model
        with their parameters (JSON), the seed or key, ``dt`` and ``time_units`` and the
        rnnlab version (layout and clock: module docstring).

    Raises:
        ConfigError: a bad argument, named.
    """
    import xarray as xr

    from .. import __version__

    check_types(model, task)
    if not isinstance(model, RecurrentModel):
        raise ConfigError(f"model: expected a built model, got a {type(model).__name__}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ConfigError(f"n_trials: must be a positive integer (got {n_trials!r})")
    task = _layout(task, model.output_size)
    if model.output_size != task.n_outputs:
        raise ConfigError(
            f"model.output_size: {model.output_size} does not match task '{task.name}' outputs ({task.n_outputs})")
    key, key_attrs = _key(key)
    stacked = _is_stacked(model, task) if ensemble is None else bool(ensemble)
    batch = task.sample(key, int(n_trials))
    act, out = (_run_stacked if stacked else run)(model, batch.inputs, key)
    act, out = np.asarray(act), np.asarray(out)
    B, T, n_in = batch.inputs.shape
    dt, unit = task.clock()
    lead = ("member",) if stacked else ()
    coords: dict[str, Any] = {
        "trial": np.arange(B), "step": ("time", np.arange(T)),
        "time": ("time", (np.arange(T) + 1) * dt, {"units": unit, "dt": dt, "convention": _CONVENTION}),
        "unit": np.arange(act.shape[-1]), "input": np.arange(n_in), "output": np.arange(out.shape[-1]),
    }
    if stacked:
        coords["member"] = np.arange(act.shape[0])
    data: dict[str, Any] = {
        "activity": ((*lead, "trial", "time", "unit"), act, {"long_name": "hidden-unit activity"}),
        "outputs": ((*lead, "trial", "time", "output"), out, {"long_name": "readout"}),
        "inputs": (("trial", "time", "input"), np.asarray(batch.inputs), {"long_name": "task inputs"}),
        "targets": (("trial", "time", "output"), np.asarray(batch.targets), {"long_name": "desired outputs"}),
        "mask": (("trial", "time", "output"), np.asarray(batch.mask),
                 {"long_name": "weight of each target in the loss (0: not scored)"}),
    }
    info_coords, info_data = _info(batch.info, B, T)
    attrs = {
        "title": "rnnlab simulated activity", "rnnlab_version": __version__,
        "task": task.name, "task_params": json.dumps(task.params()),
        "model": model.cfg.name, "model_params": json.dumps(model.cfg.params()),
        **key_attrs, "dt": dt, "time_units": unit, "time_convention": _CONVENTION,
    }
    if stacked:
        attrs["n_members"] = int(act.shape[0])
    return xr.Dataset({**data, **info_data}, coords={**coords, **info_coords}, attrs=attrs)


def run_activity(run_or_id: Any, n_trials: int = 64, key: Any = 0, *, root: str | Path | None = None):
    """``activity`` of a stored run's trained network (every member of an ensemble) on the task
    it was trained on (a curriculum run: at the highest level reached, ``final_task``).

    Returns the Dataset of ``activity`` with ``attrs`` also naming ``run_id`` and ``run_seed``.

    Raises:
        CheckpointError: no such run, or a run without trained weights (named).
    """
    from ..store import Run, open_run
    from ..train import final_task

    run_ = run_or_id if isinstance(run_or_id, Run) else open_run(str(run_or_id), root)
    cfg = run_.config()
    model = run_.load_model()
    level = run_.history().level if cfg.train.curriculum else []
    task = final_task(cfg.build_task(), cfg.train.curriculum, level)
    ds = activity(model, task, key, n_trials, ensemble=cfg.train.ensemble is not None)
    ds.attrs.update(run_id=run_.id, run_seed=cfg.seed)
    return ds


def activity_table(ds) -> Any:
    """The Dataset of ``activity`` as one wide pandas DataFrame: one row per ``([member,] trial,
    step)``, columns ``[member,] trial, step, time``, the per-trial conditions, then one column
    per entry of every other variable: ``activity_<unit>``, ``outputs_<o>``, ``inputs_<i>``,
    ``targets_<o>``, ``mask_<o>`` and the info variables (``NAME`` or ``NAME_<i>[_<j>...]``;
    per-trial values repeat on every step of their trial)."""
    import pandas as pd

    index = [d for d in ("member", "trial", "time") if d in ds.dims]
    shape = [ds.sizes[d] for d in index]
    positions = dict(zip(index, np.indices(shape).reshape(len(index), -1)))
    cols: dict[str, Any] = {d: ds[d].values[positions[d]] for d in index if d != "time"}
    cols["step"] = ds["step"].values[positions["time"]]
    cols["time"] = ds["time"].values[positions["time"]]
    for name, c in ds.coords.items():
        if name not in cols and name not in ds.dims and c.dims == ("trial",):
            cols[name] = c.values[positions["trial"]]
    n = math.prod(shape)
    for name, da in ds.data_vars.items():
        missing = {d: ds.sizes[d] for d in index if d not in da.dims}
        extra = [d for d in da.dims if d not in index]
        values = da.expand_dims(missing).transpose(*index, *extra).values.reshape(n, -1)
        if not extra:
            cols[name] = values[:, 0]
            continue
        for j, at in enumerate(np.ndindex(*[da.sizes[d] for d in extra])):
            cols[f"{name}_{'_'.join(map(str, at))}"] = values[:, j]
    return pd.DataFrame(cols)


def to_netcdf(ds, path: str | Path) -> Path:
    """Write the Dataset as a netCDF-3 file with xarray's SciPy backend (``engine="scipy"``:
    SciPy is a dependency, netCDF4/h5netcdf are not); ``xarray.open_dataset(path)`` reads it
    back. Returns ``path``."""
    path = Path(path)
    ds.to_netcdf(path, engine="scipy")
    return path
