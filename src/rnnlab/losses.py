"""Masked losses and performance metrics shared by every task.

Conventions (batch-first everywhere):

- ``outputs``, ``targets``, ``mask``: ``[..., T, O]``.
- Cross-entropy tasks lay their outputs out as ``H`` heads of ``C`` classes each
  (``O = H * C``); ``targets`` are one-hot within each head and ``mask`` is constant
  across the ``C`` channels of a head.

Masked MSE::

    L = Σ m (y − y*)² / Σ m

Masked cross-entropy, summed over heads, each head averaged over its scored
positions (the multi-head loss of Khajehabdollahi et al. 2024)::

    L = Σ_h  Σ_{b,t} m_{bth} · CE(softmax(y_{bth}), y*_{bth}) / Σ_{b,t} m_{bth}
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = [
    "masked_mse",
    "masked_cross_entropy",
    "head_accuracy",
    "masked_sign_accuracy",
]


def masked_mse(
    outputs: Float[Array, "*b t o"], targets: Float[Array, "*b t o"], mask: Float[Array, "*b t o"]
) -> Float[Array, ""]:
    """Mean squared error over the positions where ``mask`` is non-zero."""
    err = mask * (outputs - targets) ** 2
    return err.sum() / jnp.maximum(mask.sum(), 1.0)


def _split_heads(x: Array, n_classes: int) -> Array:
    return x.reshape(*x.shape[:-1], x.shape[-1] // n_classes, n_classes)


def masked_cross_entropy(
    outputs: Float[Array, "*b t o"],
    targets: Float[Array, "*b t o"],
    mask: Float[Array, "*b t o"],
    n_classes: int,
) -> Float[Array, ""]:
    """Cross-entropy summed over heads, each head averaged over its scored positions."""
    logits = _split_heads(outputs, n_classes)
    onehot = _split_heads(targets, n_classes)
    m = _split_heads(mask, n_classes)[..., 0]  # [..., T, H]
    ce = -(onehot * jax.nn.log_softmax(logits, axis=-1)).sum(-1)
    axes = tuple(range(ce.ndim - 1))
    per_head = (m * ce).sum(axes) / jnp.maximum(m.sum(axes), 1.0)
    return per_head.sum()


def head_accuracy(
    outputs: Float[Array, "*b t o"],
    targets: Float[Array, "*b t o"],
    mask: Float[Array, "*b t o"],
    n_classes: int,
) -> Float[Array, " h"]:
    """Fraction of scored positions where the arg-max class is right, per head.

    Heads with no scored position (inactive heads of a curriculum) give NaN.
    """
    logits = _split_heads(outputs, n_classes)
    onehot = _split_heads(targets, n_classes)
    m = _split_heads(mask, n_classes)[..., 0]
    hit = (jnp.argmax(logits, -1) == jnp.argmax(onehot, -1)).astype(outputs.dtype)
    axes = tuple(range(hit.ndim - 1))
    n = m.sum(axes)
    return jnp.where(n > 0, (m * hit).sum(axes) / jnp.maximum(n, 1.0), jnp.nan)


def masked_sign_accuracy(
    outputs: Float[Array, "*b t o"], targets: Float[Array, "*b t o"], mask: Float[Array, "*b t o"]
) -> Float[Array, ""]:
    """Fraction of scored positions where ``sign(y) == sign(y*)`` (for ±1 targets)."""
    hit = (jnp.sign(outputs) == jnp.sign(targets)).astype(outputs.dtype)
    return (mask * hit).sum() / jnp.maximum(mask.sum(), 1.0)
