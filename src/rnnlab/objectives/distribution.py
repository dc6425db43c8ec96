"""Distribution matching of whole output sequences (Torre, Viscione, Pompe, Grewe & Mante 2025).

A network driven only by noise cannot be taught a stochastic process step by step: per-step
cross-entropy against targets that the input does not predict teaches only the marginal
symbol frequencies. Torre et al. instead sample a symbol sequence from the network and
compare the *distribution* of whole sampled sequences with the distribution of the target
sequences (an HMM's emissions).

Sampling (straight-through Gumbel-softmax; Jang, Gu & Poole 2017; Maddison et al. 2017): at
each step and readout head the logits ``z`` (``C`` classes) give

    y_soft = softmax((z + g) / τ),   g_k = −log(−log u_k),  u_k ~ U(0, 1)
    y      = onehot(argmax_k (z_k + g_k))  in the forward pass, with ∂y/∂z := ∂y_soft/∂z,

i.e. ``y = y_hard − stop_gradient(y_soft) + y_soft`` (PyTorch's ``gumbel_softmax(hard=True)``,
which the paper uses with τ = 1). ``argmax(z + g)`` is an exact draw from ``softmax(z)``.

Each trial's sampled sequence and each target sequence (one-hot, times the task's mask) are
flattened to a point in ``R^{T·O}``; the loss compares the two point clouds ``x_1..x_B`` and
``y_1..y_B`` (uniform weights).

``SinkhornLoss``: the debiased Sinkhorn divergence (Genevay et al. 2018; Feydy et al. 2019)

    S_ε(α, β) = OT_ε(α, β) − ½ OT_ε(α, α) − ½ OT_ε(β, β),
    OT_ε(α, β) = min_{π ∈ Π(α, β)} ⟨π, c⟩ + ε KL(π ‖ α ⊗ β),

with geomloss's conventions for ``SamplesLoss("sinkhorn", p=2, blur=0.2)`` as in the paper:
cost ``c(x, y) = ½‖x − y‖²`` and ``ε = blur^p = 0.04``. OT_ε is solved by ``ott-jax``'s
Sinkhorn solver (log-domain) on the three cost matrices; ``ott``'s ``reg_ot_cost`` is the
dual value ``⟨α, f⟩ + ⟨β, g⟩``, the same quantity geomloss returns. For one-hot sequences
``c`` counts the positions where two sequences differ, so ``S_ε`` is a soft optimal-matching
Hamming distance between the two batches. ``S_ε(α, α) = 0``; for a point cloud and its
translate by δ, ``S_ε = ½‖δ‖²`` exactly at every ε (the separable part of the cost).

Differences from geomloss: geomloss runs a fixed ε-scaling schedule (``scaling=0.5``:
blur halves per iteration from the data's diameter down to ``blur``) and stops there; here
ε is annealed the same way (``ott``'s ``Epsilon(target=ε, init, decay=scaling^p)``, ``init``
the largest possible cost over ε) but the iterations continue until the marginal error is
below ``threshold`` (or ``max_iterations``). Gradients are taken with the dual potentials
held fixed (Danskin's theorem, ``ott``'s ``use_danskin``; geomloss's "last extrapolation"
does the same), so they cost one pass over the cost matrix and nothing is unrolled.

``MMDLoss``: the squared maximum mean discrepancy (Gretton et al. 2012), biased (V-statistic)
estimate with a sum of Gaussian kernels,

    MMD² = mean_ij k(x_i, x_j) + mean_ij k(y_i, y_j) − 2 mean_ij k(x_i, y_j),
    k(x, y) = Σ_s exp(−‖x − y‖² / (2 s²)),

cheaper than Sinkhorn (no iterations; ``O(B² T O)``) and ≥ 0, with 0 for identical batches.
For one-hot sequences ``‖x − y‖² = 2 ×`` (number of differing positions), so the default
scales ``(1, 2, 4, 8)`` weigh sequences that differ in about 1, 4, 16 and 64 positions.
"""

from __future__ import annotations

from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import ConfigError
from ._base import Objective

__all__ = ["gumbel_softmax", "sinkhorn_divergence", "mmd", "sample_sequences", "SinkhornLoss", "MMDLoss"]


def gumbel_softmax(logits: Float[Array, "... c"], key: PRNGKeyArray, temperature: float = 1.0,
                   hard: bool = True) -> Float[Array, "... c"]:
    """Gumbel-softmax samples over the last axis (module docstring).

    ``hard=True``: one-hot ``argmax(z + g)`` forward, the gradient of ``softmax((z + g)/τ)``
    backward (straight-through); ``hard=False``: the relaxed sample itself.
    """
    u = jax.random.uniform(key, logits.shape, logits.dtype, minval=jnp.finfo(logits.dtype).tiny, maxval=1.0)
    g = -jnp.log(-jnp.log(u))
    soft = jax.nn.softmax((logits + g) / temperature, axis=-1)
    if not hard:
        return soft
    one_hot = jax.nn.one_hot(jnp.argmax(logits + g, axis=-1), logits.shape[-1], dtype=logits.dtype)
    return one_hot - jax.lax.stop_gradient(soft) + soft


def sample_sequences(outputs: Float[Array, "b t o"], key: PRNGKeyArray, n_classes: int,
                     temperature: float = 1.0) -> Float[Array, "b t o"]:
    """Straight-through Gumbel-softmax samples of every head's ``n_classes`` logits
    (``O = H · n_classes``), as one-hot blocks laid out like the outputs."""
    heads = outputs.reshape(*outputs.shape[:-1], outputs.shape[-1] // n_classes, n_classes)
    return gumbel_softmax(heads, key, temperature).reshape(outputs.shape)


def sinkhorn_divergence(x: Float[Array, "n d"], y: Float[Array, "m d"], blur: float = 0.2, *,
                        scaling: float = 0.5, threshold: float = 1e-2, max_iterations: int = 2000,
                        max_cost: float | None = None) -> Float[Array, ""]:
    """Debiased Sinkhorn divergence ``S_ε`` between point clouds with uniform weights, geomloss's
    conventions for ``p = 2`` (module docstring): cost ``½‖x − y‖²``, ``ε = blur²``.

    ``scaling``: ε is annealed from ``max_cost`` (default: the largest squared distance of the
    bounding box of x and y, ½ Σ_d (max − min)², computed from the data, so only outside
    ``jit``) down to ``blur²`` by a factor ``scaling²`` per iteration; ``threshold``: the
    marginal error at which the solver stops. Gradients hold the dual potentials fixed.
    """
    from ott.geometry import epsilon_scheduler, geometry
    from ott.tools import sinkhorn_divergence as sd

    eps = blur ** 2
    if max_cost is None:
        both = jnp.concatenate([x, y])
        max_cost = float(0.5 * jnp.sum((both.max(0) - both.min(0)) ** 2))
    schedule = epsilon_scheduler.Epsilon(target=eps, init=max(1.0, max_cost / eps), decay=scaling ** 2)
    # the three cost matrices once (ott's PointCloud would recompute them in every iteration)
    div, _ = sd.sinkhorn_divergence(geometry.Geometry, _half_sq_dist(x, y), _half_sq_dist(x, x),
                                    _half_sq_dist(y, y), epsilon=schedule,
                                    solve_kwargs={"threshold": threshold, "max_iterations": max_iterations})
    return div


def _half_sq_dist(a: Array, b: Array) -> Array:
    """``½‖a_i − b_j‖²`` for all pairs (clipped at 0 against rounding)."""
    return 0.5 * jnp.maximum(jnp.sum(a * a, 1)[:, None] + jnp.sum(b * b, 1)[None, :] - 2 * a @ b.T, 0.0)


def mmd(x: Float[Array, "n d"], y: Float[Array, "m d"], scales: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0)
        ) -> Float[Array, ""]:
    """Biased squared MMD with the kernel ``Σ_s exp(−‖x − y‖²/(2 s²))`` (module docstring)."""
    def k(a, b):
        d2 = 2 * _half_sq_dist(a, b)
        return sum(jnp.exp(-d2 / (2 * s * s)) for s in scales)
    return k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean()


def _points(model_samples, batch) -> tuple[Array, Array]:
    """The masked sampled and target sequences, flattened to ``[B, T·O]``."""
    B = batch.targets.shape[0]
    return (model_samples * batch.mask).reshape(B, -1), (batch.targets * batch.mask).reshape(B, -1)


def _check_categorical(objective: str, task: Any) -> None:
    if getattr(task, "loss", None) != "cross_entropy" or not getattr(task, "n_classes", None):
        raise ConfigError(
            f"train.objective: '{objective}' compares distributions of sampled symbol sequences and needs a "
            f"categorical sequence task (one-hot targets, cross-entropy loss); task '{getattr(task, 'name', task)}' "
            f"has loss '{getattr(task, 'loss', None)}'")


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    temperature: float = Field(1.0, gt=0, description="Gumbel-softmax temperature τ of the sampled outputs")


class _SequenceLoss(Objective):
    """Shared by the distribution losses: the task check and the build from validated params."""

    n_classes: int = eqx.field(static=True, default=3)

    def check(self, task, model) -> None:
        _check_categorical(self.name, task)
        if task.n_classes != self.n_classes:
            raise ConfigError(f"train.objective: built for {self.n_classes} classes, task '{task.name}' has "
                              f"{task.n_classes}")

    @classmethod
    def from_params(cls, params, task):
        return cls(**params.model_dump(), n_classes=getattr(task, "n_classes", None) or 0)


class SinkhornLoss(_SequenceLoss):
    """Sinkhorn divergence between sampled and target sequence distributions (Torre et al. 2025).

    ``L = S_ε(samples, targets)`` with the samples drawn by straight-through Gumbel-softmax at
    temperature ``temperature`` from the network's per-step logits (module docstring).
    ``train.objective: {name: sinkhorn, blur: 0.2, temperature: 1.0}``.
    """

    name: ClassVar[str] = "sinkhorn"

    class Params(_Params):
        blur: float = Field(0.2, gt=0, description="geomloss blur: ε = blur² (paper: 0.2)")
        scaling: float = Field(0.5, gt=0, lt=1, description="ε annealing: blur × scaling per iteration")
        threshold: float = Field(1e-2, gt=0, description="Sinkhorn stops at this marginal error")
        max_iterations: int = Field(2000, ge=10, description="Sinkhorn iterations at most")

    blur: float = eqx.field(static=True, default=0.2)
    temperature: float = eqx.field(static=True, default=1.0)
    scaling: float = eqx.field(static=True, default=0.5)
    threshold: float = eqx.field(static=True, default=1e-2)
    max_iterations: int = eqx.field(static=True, default=2000)

    def __call__(self, model, task, batch, activity, outputs, key):
        x, y = _points(sample_sequences(outputs, key, self.n_classes, self.temperature), batch)
        # one-hot rows: ½‖x − y‖² ≤ the number of (time, head) positions
        positions = x.shape[1] / self.n_classes
        return sinkhorn_divergence(x, y, self.blur, scaling=self.scaling, threshold=self.threshold,
                                   max_iterations=self.max_iterations, max_cost=positions)


class MMDLoss(_SequenceLoss):
    """Multi-scale Gaussian-kernel MMD² between sampled and target sequence distributions.

    ``train.objective: {name: mmd, scales: [1, 2, 4, 8], temperature: 1.0}`` (module docstring).
    """

    name: ClassVar[str] = "mmd"

    class Params(_Params):
        scales: tuple[float, ...] = Field((1.0, 2.0, 4.0, 8.0), min_length=1,
                                          description="Gaussian kernel widths s (sum of kernels)")

        @field_validator("scales")
        @classmethod
        def _positive(cls, scales: tuple[float, ...]) -> tuple[float, ...]:
            if any(not s > 0 for s in scales):
                raise ValueError(f"every width must be > 0, got {list(scales)}")
            return scales

    scales: tuple[float, ...] = eqx.field(static=True, default=(1.0, 2.0, 4.0, 8.0))
    temperature: float = eqx.field(static=True, default=1.0)

    def __call__(self, model, task, batch, activity, outputs, key):
        x, y = _points(sample_sequences(outputs, key, self.n_classes, self.temperature), batch)
        return mmd(x, y, self.scales)

