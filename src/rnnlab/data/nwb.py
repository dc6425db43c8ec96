"""Recorded trials from an NWB file (Neurodata Without Borders; ``pynwb``, the extra ``rnnlab[nwb]``).

``load_nwb(path, recordings=..., inputs=[...], behaviour=[...])`` reads named ``TimeSeries``
(anywhere in the file: acquisition, stimulus, processing modules), or with
``recordings="units"`` the spike times of the ``Units`` table, and cuts them into the trials
of the file's ``trials`` table:

* trial ``k`` starts at ``start_time`` (or the column ``align``) plus ``offset`` seconds and
  lasts ``duration`` seconds (default: the shortest trial, ``stop_time − start``), sampled
  every ``dt`` ms: ``t_kn = start_k + offset + n·dt`` for ``n < T = floor(duration / dt)``;
* a ``TimeSeries`` (``data [time, channels]``, with ``timestamps`` or ``starting_time`` and
  ``rate``) is linearly interpolated at those times (``np.interp``; exact where they fall on
  samples); times outside the series give NaN (missing, mask 0 in training);
* spike times are counted in the bins ``[t_kn, t_kn + dt)`` and divided by ``dt`` (rates in
  spikes/s), optionally smoothed by a Gaussian of ``smooth`` ms (standard deviation) along time.

``dt`` defaults to the recordings' sampling period (required for spikes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError
from .recordings import Recordings

__all__ = ["load_nwb"]


def _pynwb():
    try:
        import pynwb
    except ImportError:
        raise ConfigError("load_nwb: pynwb is not installed (pip install 'rnnlab[nwb]')") from None
    return pynwb


def _series(nwb: Any, name: str, field: str):
    from pynwb import TimeSeries

    found = [o for o in nwb.objects.values() if isinstance(o, TimeSeries) and o.name == name]
    if not found:
        names = sorted({o.name for o in nwb.objects.values() if isinstance(o, TimeSeries)})
        raise ConfigError(f"{field}: no TimeSeries named '{name}' in the file; it has: {', '.join(names) or 'none'}")
    if len(found) > 1:
        raise ConfigError(f"{field}: {len(found)} TimeSeries are named '{name}'; rename them to be unique")
    return found[0]


def _times(ts: Any, n: int) -> np.ndarray:
    if ts.timestamps is not None:
        return np.asarray(ts.timestamps[:], np.float64)
    return float(ts.starting_time or 0.0) + np.arange(n) / float(ts.rate)


def _sample(ts: Any, grid: np.ndarray) -> np.ndarray:
    """``ts`` at the times ``grid [K, T]`` → ``[K, T, channels]`` (linear interpolation, NaN outside)."""
    data = np.asarray(ts.data[:], np.float64)
    data = data[:, None] if data.ndim == 1 else data.reshape(data.shape[0], -1)
    t = _times(ts, data.shape[0])
    flat = grid.reshape(-1)
    out = np.stack([np.interp(flat, t, data[:, c], left=np.nan, right=np.nan) for c in range(data.shape[1])], -1)
    return out.reshape(*grid.shape, data.shape[1])


def _spikes(nwb: Any, grid: np.ndarray, dt_s: float, smooth_ms: float) -> np.ndarray:
    if nwb.units is None or len(nwb.units) == 0:
        raise ConfigError("recordings: 'units' asked for spike times, but the file has no Units table")
    K, T = grid.shape
    out = np.zeros((K, T, len(nwb.units)))
    for u in range(len(nwb.units)):
        st = np.sort(np.asarray(nwb.units["spike_times"][u], np.float64))
        for k in range(K):
            edges = np.append(grid[k], grid[k, -1] + dt_s)
            out[k, :, u] = np.histogram(st, bins=edges)[0] / dt_s
    if smooth_ms > 0:
        from scipy.ndimage import gaussian_filter1d

        out = gaussian_filter1d(out, smooth_ms / (dt_s * 1e3), axis=1, mode="nearest")
    return out


def load_nwb(path: str | Path, recordings: str, inputs: Sequence[str] = (), behaviour: Sequence[str] = (), *,
             dt: float | None = None, duration: float | None = None, align: str = "start_time",
             offset: float = 0.0, smooth: float = 0.0) -> Recordings:
    """Cut an NWB file's series into trials (module docstring).

    Args:
        path: the ``.nwb`` file.
        recordings: the name of the ``TimeSeries`` of recorded units, or ``"units"`` for the
            spike times of the ``Units`` table (binned to rates).
        inputs: names of ``TimeSeries`` concatenated (in order) into the network's inputs.
        behaviour: names of ``TimeSeries`` concatenated (in order) into the behavioural targets.
        dt: time step in ms (default: the recordings' sampling period).
        duration: trial length in seconds (default: the shortest trial in the trials table).
        align: the trials-table column trial ``k`` is aligned to: it starts at
            ``trials[align][k] + offset`` seconds.
        offset: seconds added to ``trials[align][k]``.
        smooth: Gaussian smoothing (standard deviation, ms) of binned spike rates.

    Raises:
        ConfigError: pynwb missing, a name not in the file (the message lists the series),
            no trials table, or a bad time setting.
    """
    pynwb = _pynwb()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"path: no such file {path}")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        if nwb.trials is None or len(nwb.trials) == 0:
            raise ConfigError("path: the file has no trials table (NWBFile.add_trial) to cut the series into trials")
        cols = nwb.trials.colnames + ("start_time", "stop_time")
        if align not in cols:
            raise ConfigError(f"align: no trials column '{align}'; columns: {', '.join(dict.fromkeys(cols))}")
        start = np.asarray(nwb.trials[align][:], np.float64) + offset
        stop = np.asarray(nwb.trials["stop_time"][:], np.float64)
        rec_ts = None if recordings == "units" else _series(nwb, recordings, "recordings")
        if dt is None:
            if rec_ts is None:
                raise ConfigError("dt: give the bin width (ms) for spike times")
            t = _times(rec_ts, rec_ts.data.shape[0])
            dt = float(np.median(np.diff(t))) * 1e3
        if not dt > 0:
            raise ConfigError(f"dt: must be > 0 ms, got {dt}")
        dur = float(np.min(stop - start)) if duration is None else float(duration)
        T = int(np.floor(dur / (dt * 1e-3) + 1e-9))
        if T < 1:
            raise ConfigError(f"duration: {dur:g} s holds no step of dt = {dt:g} ms")
        grid = start[:, None] + np.arange(T)[None, :] * (dt * 1e-3)
        rec = _spikes(nwb, grid, dt * 1e-3, smooth) if rec_ts is None else _sample(rec_ts, grid)
        cat = lambda names, field: (np.concatenate([_sample(_series(nwb, n, field), grid) for n in names], -1)  # noqa: E731
                                    if names else None)
        x, y = cat(list(inputs), "inputs"), cat(list(behaviour), "behaviour")
    if x is not None and np.isnan(x).any():
        raise ConfigError("inputs: the trials reach outside the input series' time range (NaN); shorten duration "
                          "or change offset")
    return Recordings(rec, x, y, dt)
