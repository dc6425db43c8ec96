"""``fix(x) if needed else x`` that evaluates ``fix`` only when needed, even under ``vmap``.

``lax.cond`` becomes a ``select`` when its predicate is batched (e.g. an ensemble ``vmap``-ed
around the solver), which would run the sequential fallback on every call. A
``lax.while_loop`` with a batched predicate instead runs its body only while *some* batch
element needs it — here zero times or once — so the fallback stays lazy in both cases.
"""

from __future__ import annotations

from typing import Callable, TypeVar

import jax
import jax.numpy as jnp

__all__ = ["lazy_fix"]

X = TypeVar("X")


def lazy_fix(needed: jax.Array, fix: Callable[[X], X], x: X) -> X:
    """``fix(x)`` if the scalar bool ``needed`` else ``x`` (``fix`` is not differentiated)."""

    def body(carry):
        return jnp.asarray(False), fix(carry[1])

    return jax.lax.while_loop(lambda carry: carry[0], body, (jnp.asarray(needed), x))[1]
