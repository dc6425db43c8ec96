"""Shared machinery of analysis results: NumPy-only storage and Matplotlib figures.

Every analysis returns a frozen dataclass whose fields are NumPy arrays or plain scalars
(``float``, ``int``, ``bool``, ``str``). ``Result`` gives them:

* ``to_dict()``: the fields as a dict (arrays as ``np.ndarray``);
* ``summary()``: a JSON-safe dict of scalars (each result adds its own headline numbers);
* ``save(path)``: arrays to ``path.npz`` (``np.savez``, never pickled) and the scalars plus
  the summary to ``path.json``; ``load(path)`` reads them back with ``allow_pickle=False``.

Figures are built with the object-oriented API on a ``matplotlib.figure.Figure`` (rendered
by the Agg backend), never through ``pyplot``'s global state, so they are safe in scripts,
tests and threads.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

__all__ = ["Result"]


def _is_scalar(v: Any) -> bool:
    return isinstance(v, (bool, int, float, str, np.bool_, np.integer, np.floating)) or v is None


def _json_scalar(v: Any) -> Any:
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return v if np.isfinite(v) else None if np.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _from_json(v: Any) -> Any:
    if v is None:
        return float("nan")
    if v in ("inf", "-inf"):
        return float(v)
    return v


class Result:
    """Mixin for the frozen result dataclasses of ``rnnlab.analysis``."""

    def to_dict(self) -> dict[str, Any]:
        """All fields; arrays as ``np.ndarray``, scalars as Python values."""
        out = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            v = getattr(self, f.name)
            out[f.name] = _json_scalar(v) if _is_scalar(v) else np.asarray(v)
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-safe headline numbers (subclasses extend this)."""
        return {k: _json_scalar(v) for k, v in self.to_dict().items() if not isinstance(v, np.ndarray)}

    def save(self, path: str | Path) -> tuple[Path, Path]:
        """Write ``path.npz`` (arrays) and ``path.json`` (scalars and summary); returns both paths."""
        path = Path(path)
        if path.suffix in (".npz", ".json"):
            path = path.with_suffix("")
        path.parent.mkdir(parents=True, exist_ok=True)
        d = self.to_dict()
        arrays = {k: v for k, v in d.items() if isinstance(v, np.ndarray)}
        scalars = {k: _json_scalar(v) for k, v in d.items() if not isinstance(v, np.ndarray)}
        npz, js = path.with_name(path.name + ".npz"), path.with_name(path.name + ".json")
        np.savez(npz, **arrays)
        meta = {"type": type(self).__name__, "fields": scalars, "summary": self.summary()}
        js.write_text(json.dumps(meta, indent=2, allow_nan=False))
        return npz, js

    @classmethod
    def load(cls, path: str | Path):
        """Read a result written by ``save`` (no pickle)."""
        path = Path(path)
        if path.suffix in (".npz", ".json"):
            path = path.with_suffix("")
        meta = json.loads(path.with_name(path.name + ".json").read_text())
        if meta["type"] != cls.__name__:
            raise ValueError(f"{path} holds a {meta['type']}, not a {cls.__name__}")
        with np.load(path.with_name(path.name + ".npz"), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        scalars = {k: _from_json(v) for k, v in meta["fields"].items()}
        return cls(**arrays, **scalars)


def _figure(ncols: int = 1, nrows: int = 1, size: tuple[float, float] = (4.0, 3.5), **kw):
    """A new Agg-rendered figure and its axes (always a flat list)."""
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, list(axes.ravel())


def _finish(fig: Figure, path: str | Path | None) -> Figure:
    """Save ``fig`` as a PNG when ``path`` is given; return it either way."""
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig
