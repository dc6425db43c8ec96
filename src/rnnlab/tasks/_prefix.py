"""Running sums and maxima along an axis, as a parallel prefix scan.

``jax.lax.cumsum`` / ``cummax`` lower on CPU to a windowed reduction whose window is the whole
axis, O(T²) work for T steps, so a sampler's running sum or maximum took several times its
other work at T = 1000. ``jax.lax.associative_scan`` does O(T log T) in log₂ T vectorised
passes; ``benchmarks/prefix_scan.py`` on 2 cores, for a ``[64, 32, T, 3]`` array: cummax 7.5
against 2.3 ms at T = 100 and 89 against 24 ms at T = 1000; cumsum 52 against 22 ms at
T = 1000. Integer results are identical; float sums differ only in the order of additions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array


def cumsum(x: Array, axis: int) -> Array:
    """``y_t = Σ_{s ≤ t} x_s`` along ``axis``."""
    return jax.lax.associative_scan(jnp.add, x, axis=axis)


def cummax(x: Array, axis: int) -> Array:
    """``y_t = max_{s ≤ t} x_s`` along ``axis``."""
    return jax.lax.associative_scan(jnp.maximum, x, axis=axis)
