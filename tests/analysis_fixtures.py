"""Helpers shared by the analysis tests.

``random_model`` builds a model of the registry without running its JAX initialiser: the
structure comes from ``eqx.filter_eval_shape`` (traced, never compiled) and every weight is
drawn on the host with NumPy. Compiling the initialisers' random-number kernels costs
seconds of CPU per model shape, more than most analysis tests themselves.
"""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

import rnnlab


def random_model(name, input_size, output_size, seed=0, **params):
    """A ``name`` model with N(0, 1/fan_in) weights (biases and τ̃ N(0, 1)) drawn by NumPy."""
    skeleton = eqx.filter_eval_shape(
        lambda k: rnnlab.models.get(name, input_size=input_size, output_size=output_size, key=k, **params),
        jax.ShapeDtypeStruct((2,), jnp.uint32),
    )
    rng = np.random.default_rng(seed)

    def fill(leaf):
        if not isinstance(leaf, jax.ShapeDtypeStruct):
            return leaf
        scale = 1.0 / np.sqrt(leaf.shape[-1]) if len(leaf.shape) == 2 else 1.0
        return jnp.asarray(scale * rng.standard_normal(leaf.shape), leaf.dtype)

    return jax.tree.map(fill, skeleton)
