"""Recorded trials as arrays: ``recordings [K, T, R]``, optional ``inputs [K, T, I]`` and
``behaviour [K, T, O]``, on a clock of ``dt`` ms.

Missing samples are NaN (scored with mask 0 by the ``recorded`` task). A ``Recordings`` is
saved as one ``.npz`` file (never pickled); the ``recorded`` task names that file and its
SHA-256 digest, so a run config stays plain YAML and a changed file is refused.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["Recordings", "from_arrays", "file_digest"]

_KEYS = ("recordings", "inputs", "behaviour")


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _array(x: Any, field: str, K: int | None = None, T: int | None = None) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError):
        raise ConfigError(f"{field}: must be numbers, trials × time × channels") from None
    if a.ndim != 3 or 0 in a.shape:
        raise ConfigError(f"{field}: must be a non-empty array trials × time × channels, got shape {a.shape}")
    if np.isinf(a).any():
        raise ConfigError(f"{field}: infinite values (use NaN for missing samples)")
    if K is not None and a.shape[:2] != (K, T):
        raise ConfigError(f"{field}: must have the recordings' {K} trials × {T} time steps, got {a.shape[:2]}")
    return a


@dataclass(frozen=True)
class Recordings:
    """Recorded trials (module docstring). ``inputs`` None: one constant input of 1 (the network
    is told only that a trial runs); ``behaviour`` None: no behavioural outputs."""

    recordings: np.ndarray
    inputs: np.ndarray | None = None
    behaviour: np.ndarray | None = None
    dt: float = 1.0

    def __post_init__(self):
        rec = _array(self.recordings, "recordings")
        K, T = rec.shape[:2]
        object.__setattr__(self, "recordings", rec)
        for name in ("inputs", "behaviour"):
            v = getattr(self, name)
            if v is not None:
                v = _array(v, name, K, T)
                if name == "inputs" and np.isnan(v).any():
                    raise ConfigError("inputs: NaN values (inputs must be complete)")
                object.__setattr__(self, name, v)
        if not (isinstance(self.dt, (int, float)) and self.dt > 0 and np.isfinite(self.dt)):
            raise ConfigError(f"dt: must be a positive number of ms, got {self.dt!r}")
        if np.isnan(rec).all():
            raise ConfigError("recordings: every sample is NaN")

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(trials, time steps, recorded units)``."""
        return tuple(self.recordings.shape)  # type: ignore[return-value]

    def save(self, path: str | Path) -> Path:
        """Write the arrays to ``path`` (``.npz``, written to a temporary file then renamed)."""
        path = Path(path)
        if path.suffix != ".npz":
            raise ConfigError(f"path: must end in .npz, got {path.name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {k: getattr(self, k) for k in _KEYS if getattr(self, k) is not None}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
        np.savez(tmp, dt=np.float64(self.dt), **arrays)
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Recordings":
        """Read a file written by ``save``."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"path: no such file {path}")
        with np.load(path, allow_pickle=False) as z:
            if "recordings" not in z:
                raise ConfigError(f"path: {path.name} holds no 'recordings' array")
            return cls(z["recordings"], *(z[k] if k in z else None for k in _KEYS[1:]),
                       dt=float(z["dt"]) if "dt" in z else 1.0)

    def task(self, path: str | Path | None = None, **params: Any):
        """The ``recorded`` task serving these trials: saved to ``path`` (default: a
        content-addressed file under ``$RNNLAB_CACHE`` or ``~/.cache/rnnlab/recordings``)."""
        from ..tasks.recorded import Recorded

        if path is None:
            root = Path(os.environ.get("RNNLAB_CACHE", Path.home() / ".cache" / "rnnlab")) / "recordings"
            h = hashlib.sha256()
            for k in _KEYS:
                v = getattr(self, k)
                h.update(k.encode() + (b"-" if v is None else np.ascontiguousarray(v).tobytes() + str(v.shape).encode()))
            h.update(repr(float(self.dt)).encode())
            path = root / f"{h.hexdigest()[:16]}.npz"
        path = Path(path)
        if not path.exists():
            self.save(path)
        elif Recordings.load(path) != self:
            self.save(path)
        return Recorded(path=str(path), **params)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Recordings):
            return NotImplemented
        same = lambda a, b: (a is None and b is None) or (  # noqa: E731
            a is not None and b is not None and a.shape == b.shape and np.array_equal(a, b, equal_nan=True))
        return self.dt == other.dt and all(same(getattr(self, k), getattr(other, k)) for k in _KEYS)

    __hash__ = None  # type: ignore[assignment]


def from_arrays(recordings: Any, inputs: Any = None, behaviour: Any = None, dt: float = 1.0) -> Recordings:
    """``Recordings`` from arrays ``trials × time × channels`` (``ConfigError`` naming the bad one)."""
    return Recordings(recordings, inputs, behaviour, dt)
