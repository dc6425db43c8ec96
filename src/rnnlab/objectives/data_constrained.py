"""Data-constrained training: behaviour plus sparse recordings (Salatiello & Giese 2020).

A network is trained to produce the behaviour *and* to reproduce the activity of a few
recorded neurons of the system it models::

    L = L_behaviour + λ · L_data

``L_behaviour`` is the task's loss on the behavioural output columns; ``L_data`` is the masked
MSE between the recordings ``Y [B, T, R]`` and the network's prediction of them ``Ŷ``, over the
scored entries (``Σ m (Ŷ − Y)² / Σ m``); ``λ`` is ``weight``.

Where recordings come from: a task *carries recordings* when its targets are laid out as
``[behaviour | recordings]``: the first ``n_behaviour`` columns are behaviour, the remaining
``R = n_outputs − n_behaviour`` columns recorded units, with their mask (missing samples of a
user's data have mask 0). ``reaching`` with ``n_recorded > 0`` (``n_behaviour = n_muscles``; the
recordings are the teacher units ``recorded_units()``) and ``recorded`` (a user's own trials,
from arrays or an NWB file: ``rnnlab.tasks.recorded``, ``rnnlab.data``) do.

The mapping from network to recorded units (``mapping``):

* ``"fixed"`` (the paper's setting): recorded unit ``j`` is a fixed network unit ``u_j`` (a
  random subset of the network's units drawn from ``unit_seed``: ``units(N)``), and
  ``Ŷ_j = activity[..., u_j]``: the unit's own activity (for rate networks the rate) is pulled
  to the recorded one. The readout rows of the recorded columns are not used.
* ``"ridge"`` (a learned linear map, solved inside the jitted step): on every batch the
  recordings are regressed on the network state, ``Ŷ = [H, 1] β``, by ridge regression in
  closed form, cross-fitted over two halves of the batch's trials (``β`` fitted on the odd
  trials predicts the even ones and vice versa), so that a network with more units than
  scored time points cannot fit the recordings by chance. ``β = (XᵀDX + αI)⁻¹ XᵀDY`` with
  ``D`` the scored time points (the mean of the mask over recorded columns) and
  ``α = ridge · tr(XᵀDX) / (N + 1)`` (``ridge = 0``: ordinary least squares). Gradients flow
  through the solve. The network then pays only for what no linear read-out of its state can
  explain (the CtD Benchmark's state-R² criterion as a loss); with ``ridge = 0`` the loss is
  invariant to any invertible affine transform of the state. Why closed form rather than a
  map trained by gradient: the map is always optimal for the current network (no
  map/network race, no extra parameters or optimiser state), and the cost, ``O(B T N² + N³)``
  per step, is small next to back-propagation through time for N up to a few hundred.
* ``"readout"`` (a learned linear map trained by gradient): the model's readout rows of the
  recorded columns, ``Ŷ = outputs[..., n_behaviour:]``, learned jointly with the network (this
  is what plain training on ``reaching`` with ``n_recorded > 0`` does, with weight ``R/n_behaviour``).

Config: ``train.objective: {name: data_constrained, weight: 1.0, mapping: fixed}``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from .. import losses
from ..errors import ConfigError
from ._base import Objective

__all__ = ["DataConstrainedLoss", "recording_columns", "fixed_units", "ridge_crossfit"]


def recording_columns(task: Any) -> tuple[int, int]:
    """``(n_behaviour, n_recorded)``: how a task's target columns split into behaviour and
    recordings (``n_recorded = 0`` for a task without recordings)."""
    n_out = int(task.n_outputs)
    nb = getattr(task, "n_behaviour", None)
    if nb is None:
        return n_out, 0
    return int(nb), n_out - int(nb)


def fixed_units(n_hidden: int, n_recorded: int, seed: int = 0) -> np.ndarray:
    """The network units matched one-to-one to ``n_recorded`` recorded units (``mapping="fixed"``):
    the first ``n_recorded`` of a random permutation of ``range(n_hidden)`` drawn from ``seed``."""
    return np.random.default_rng(seed).permutation(n_hidden)[:n_recorded]


def _ridge_fit(x, y, w, ridge):
    """``β = (XᵀDX + αI)⁻¹ XᵀDY`` with ``X = [x, 1]``, ``D = diag(w)``, ``α = ridge·tr(XᵀDX)/(N+1)``."""
    X = jnp.concatenate([x, jnp.ones(x.shape[:-1] + (1,), x.dtype)], -1).reshape(-1, x.shape[-1] + 1)
    Y, w = y.reshape(-1, y.shape[-1]), w.reshape(-1, 1)
    G = X.T @ (w * X)
    alpha = ridge * jnp.trace(G) / G.shape[0]
    return jnp.linalg.solve(G + alpha * jnp.eye(G.shape[0], dtype=G.dtype), X.T @ (w * Y))


def _predict(x, beta):
    return x @ beta[:-1] + beta[-1]


def ridge_crossfit(x, y, w, ridge: float = 1e-3):
    """Two-fold cross-fitted ridge prediction of ``y [B, T, R]`` from ``x [B, T, N]`` (folds: odd
    and even trials; ``w [B, T]`` weights the fitted time points). Needs ``B ≥ 2``."""
    even, odd = slice(0, None, 2), slice(1, None, 2)
    b_odd = _ridge_fit(x[odd], y[odd], w[odd], ridge)
    b_even = _ridge_fit(x[even], y[even], w[even], ridge)
    pred = jnp.zeros(y.shape, x.dtype)
    pred = pred.at[even].set(_predict(x[even], b_odd))
    return pred.at[odd].set(_predict(x[odd], b_even))


class DataConstrainedLoss(Objective):
    """``L_behaviour + weight · L_data`` (see the module docstring)."""

    name: ClassVar[str] = "data_constrained"

    class Params(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

        weight: float = Field(1.0, ge=0, description="λ: weight of the loss on the recorded units")
        mapping: Literal["fixed", "ridge", "readout"] = Field(
            "fixed", description="network → recorded units: fixed units, ridge map per batch, or readout rows")
        ridge: float = Field(1e-3, ge=0, description="relative ridge penalty of the 'ridge' mapping")
        unit_seed: int = Field(0, ge=0, description="seed of the fixed network units ('fixed' mapping)")

    weight: float = eqx.field(static=True, default=1.0)
    mapping: str = eqx.field(static=True, default="fixed")
    ridge: float = eqx.field(static=True, default=1e-3)
    unit_seed: int = eqx.field(static=True, default=0)

    @classmethod
    def from_params(cls, params, task) -> "DataConstrainedLoss":
        return cls(weight=params.weight, mapping=params.mapping, ridge=params.ridge, unit_seed=params.unit_seed)

    def __check_init__(self):
        if self.mapping not in ("fixed", "ridge", "readout"):
            raise ConfigError(f"train.objective.mapping: must be 'fixed', 'ridge' or 'readout', got {self.mapping!r}")
        if not self.weight >= 0 or not self.ridge >= 0:
            raise ConfigError("train.objective.weight, ridge: must be >= 0")

    def check(self, task, model) -> None:
        nb, R = recording_columns(task)
        if R <= 0:
            raise ConfigError(
                f"train.objective: data_constrained needs a task that carries recordings (targets laid out as "
                f"[behaviour | recorded units]); task '{getattr(task, 'name', type(task).__name__)}' has none "
                f"(use reaching with n_recorded > 0, or the recorded task with your data)")
        n = getattr(model, "hidden_size", None)
        if self.mapping == "fixed" and n is not None and R > n:
            raise ConfigError(f"train.objective.mapping: 'fixed' matches each of the {R} recorded units to its own "
                              f"network unit, but the network has only {n}")

    def units(self, n_hidden: int, task: Any) -> np.ndarray:
        """The network units matched to the recorded ones (``mapping="fixed"``)."""
        return fixed_units(n_hidden, recording_columns(task)[1], self.unit_seed)

    def split(self, task, batch, activity, outputs):
        """``(behaviour loss, prediction Ŷ, recordings Y, mask)`` of one batch."""
        nb, R = recording_columns(task)
        y, m = batch.targets[..., nb:], batch.mask[..., nb:]
        out_b, tgt_b, m_b = outputs[..., :nb], batch.targets[..., :nb], batch.mask[..., :nb]
        if task.loss == "mse":
            behaviour = losses.masked_mse(out_b, tgt_b, m_b)
        else:
            behaviour = losses.masked_cross_entropy(out_b, tgt_b, m_b, task.n_classes)
        if self.mapping == "fixed":
            pred = activity[..., self.units(activity.shape[-1], task)]
        elif self.mapping == "readout":
            pred = outputs[..., nb:]
        else:
            pred = ridge_crossfit(activity, y, m.mean(-1), self.ridge)
        return behaviour, pred, y, m

    def __call__(self, model, task, batch, activity, outputs, key):
        behaviour, pred, y, m = self.split(task, batch, activity, outputs)
        return behaviour + self.weight * losses.masked_mse(pred, y, m)
