"""Heaviside spike function with surrogate gradients (Neftci, Mostafa & Zenke 2019).

``spike(x, kind, slope)`` is exactly ``H(x) = 1[x > 0]`` in the forward pass (the strict
inequality of snnTorch) and its derivative is replaced, through ``jax.custom_jvp``, by a smooth
pseudo-derivative of width ``1/slope``::

    fast_sigmoid   k / (2 (1 + k|x|)²)        derivative of ½(1 + kx/(1 + k|x|)); integrates to 1
    superspike     1 / (1 + k|x|)²            Zenke & Ganguli 2018 (= snnTorch's fast_sigmoid); peak 1
    arctan         (k/2) / (1 + (πkx/2)²)     derivative of ½ + arctan(πkx/2)/π (snnTorch atan); integrates to 1
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

__all__ = ["SURROGATES", "spike"]

SURROGATES = {
    "fast_sigmoid": lambda x, k: k / (2 * (1 + k * jnp.abs(x)) ** 2),
    "superspike": lambda x, k: 1 / (1 + k * jnp.abs(x)) ** 2,
    "arctan": lambda x, k: (k / 2) / (1 + (jnp.pi * k * x / 2) ** 2),
}


@functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2))
def spike(x: jax.Array, kind: str = "fast_sigmoid", slope: float = 10.0) -> jax.Array:
    """``1[x > 0]`` with the surrogate derivative ``SURROGATES[kind](x, slope)``."""
    x = jnp.asarray(x)
    return (x > 0).astype(x.dtype)


@spike.defjvp
def _spike_jvp(kind, slope, primals, tangents):
    (x,), (t,) = primals, tangents
    return spike(x, kind, slope), SURROGATES[kind](x, slope) * t
