"""Solver settings (``SolverOptions``) and the per-call report (``SolveInfo``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array

from ..errors import ConfigError

__all__ = ["SolverOptions", "SolveInfo", "DENSE_MAX"]

# ``jacobian="auto"`` uses dense Jacobians up to this flattened state size, diagonal above.
# Dense costs O(n³ log T) work and O(T n²) memory per Newton iteration (Lim et al. 2024).
DENSE_MAX = 32


@dataclass(frozen=True)
class SolverOptions:
    """Settings of the parallel-in-time Newton solver (hashable: a static jit argument).

    Attributes:
        max_iter: Newton iterations before giving up and falling back to ``lax.scan``.
        jacobian: ``"dense"`` (DEER: full ∂F/∂s), ``"diagonal"`` (quasi-DEER: its diagonal
            only), ``"auto"`` (dense while the flattened state has ≤ ``DENSE_MAX`` entries).
        atol, rtol: stopping rule ``max|s^{k+1} − s^k| ≤ atol + rtol·|s^{k+1}|`` element-wise;
            ``None`` takes DEER's defaults for the state dtype (float32: 1e-4, 1e-3;
            float64: 1e-6, 1e-4).
        damping: λ ≥ 0; the linear solve uses ``J_t / (1 + λ)`` instead of ``J_t``
            (see ``rnnlab.parallel`` for why this is safe). 0 is plain (quasi-)Newton.
    """

    max_iter: int = 100
    jacobian: Literal["auto", "dense", "diagonal"] = "auto"
    atol: float | None = None
    rtol: float | None = None
    damping: float = 0.0

    def __post_init__(self):
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ConfigError(f"max_iter: must be an integer >= 1, got {self.max_iter!r}")
        if self.jacobian not in ("auto", "dense", "diagonal"):
            raise ConfigError(f"jacobian: must be 'auto', 'dense' or 'diagonal', got {self.jacobian!r}")
        for name in ("atol", "rtol"):
            v = getattr(self, name)
            if v is not None and not v >= 0:
                raise ConfigError(f"{name}: must be >= 0, got {v!r}")
        if not self.damping >= 0:
            raise ConfigError(f"damping: must be >= 0, got {self.damping!r}")

    def tolerances(self, dtype) -> tuple[float, float]:
        """``(atol, rtol)`` with DEER's dtype-dependent defaults filled in."""
        double = jnp.dtype(dtype) == jnp.float64
        atol = self.atol if self.atol is not None else (1e-6 if double else 1e-4)
        rtol = self.rtol if self.rtol is not None else (1e-4 if double else 1e-3)
        return atol, rtol

    def dense(self, n: int) -> bool:
        """Whether a flattened state of size ``n`` gets dense Jacobians."""
        return self.jacobian == "dense" or (self.jacobian == "auto" and n <= DENSE_MAX)


class SolveInfo(eqx.Module):
    """What a solve did. For ``run`` the last three have one entry per trial.

    Attributes:
        iterations: Newton iterations performed (shared by all trials of a batch).
        converged: the Newton iterations met the stopping rule with finite values.
        fell_back: the returned states come from the sequential ``lax.scan`` instead.
        residual: ``max_t |F(s_{t−1}, d_t) − s_t|`` of the returned states.
    """

    iterations: Array
    converged: Array
    fell_back: Array
    residual: Array
