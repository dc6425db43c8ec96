"""Wall time of a jitted call, shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time

import jax


def times_s(fn, *args, min_seconds: float = 3.0, min_repeats: int = 3) -> list[float]:
    """Seconds of each call ``fn(*args)`` (blocked until ready) after one warm-up call, over at
    least ``min_repeats`` calls and ``min_seconds`` of timed calls."""
    jax.block_until_ready(fn(*args))
    ts = []
    while len(ts) < min_repeats or sum(ts) < min_seconds:
        t0 = time.perf_counter()
        jax.block_until_ready(fn(*args))
        ts.append(time.perf_counter() - t0)
    return ts


def median_ms(fn, *args, min_seconds: float = 3.0, min_repeats: int = 3) -> float:
    """Median milliseconds of ``fn(*args)`` (``times_s``)."""
    return statistics.median(times_s(fn, *args, min_seconds=min_seconds, min_repeats=min_repeats)) * 1e3
