"""Random draws for the task samplers, all taken from **one** ``jax.random.uniform`` call.

Every ``jax.random`` call expands into its own Threefry network, and on CPU compiling those
dominates the compile time of a sampler (a few calls cost seconds). The samplers therefore
draw one flat block of uniforms, cut it into the shapes they need (``uniforms``), and
transform the pieces exactly: integers by flooring, normals by the inverse error function
(as ``jax.random.normal`` does), categorical draws by inverting the cumulative distribution.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np


def uniforms(key, *shapes):
    """Independent ``U[0, 1)`` arrays of the given ``shapes``, from one draw."""
    sizes = [math.prod(s) for s in shapes]
    flat = jax.random.uniform(key, (sum(sizes),))
    out, start = [], 0
    for shape, size in zip(shapes, sizes):
        out.append(flat[start : start + size].reshape(shape))
        start += size
    return out


def integers(u, low, high):
    """Uniform integers in ``low … high − 1`` (``low``/``high`` may be arrays)."""
    return jnp.clip(low + jnp.floor(u * (high - low)).astype(jnp.int32), low, high - 1)


def normal(u):
    """Standard normals from uniforms: ``√2 · erfinv(2u − 1)``."""
    v = jnp.maximum(2.0 * u - 1.0, np.nextafter(np.float32(-1.0), np.float32(0.0)))
    return jnp.sqrt(2.0) * jax.lax.erf_inv(v)


def categorical(u, probs):
    """Index ``k`` with probability ``probs[..., k]`` (rows sum to 1), by inverting the CDF."""
    cdf = jnp.cumsum(probs, axis=-1)
    return jnp.sum(u[..., None] >= cdf[..., :-1], axis=-1)
