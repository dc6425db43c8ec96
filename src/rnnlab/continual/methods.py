"""Continual-learning methods as training objectives that carry what earlier stages left.

Each method is an ``rnnlab.objectives.Objective`` (the task's loss, plus a penalty or a
gradient transform) holding arrays only, so that it is traced into the one jitted training
program, checkpointed as arrays and stacked per member in ensembles (``per_member``).
``after_stage(model, task, stage, key)`` returns the objective for the next stage, built from
the model that finished ``stage`` (pure, jit-able, vmapped over members by the driver).

* ``Finetune``: the task's loss alone; learning stage k overwrites what stages < k needed.
* ``EWC`` (Kirkpatrick et al. 2017, PNAS): ``L = L_task + λ/2 Σ_k Σ_i F_{k,i} (θ_i − θ*_{k,i})²``,
  ``F_k`` the diagonal Fisher information of the model that finished stage k, ``θ*_k`` its
  parameters. The sum over finished stages is kept in a fixed-size form, exactly: with
  ``F = Σ_k F_k`` and ``θ̄ = Σ_k F_k θ*_k / F`` (``θ*_k`` where ``F = 0``),
  ``Σ_k F_k (θ − θ*_k)² = F (θ − θ̄)² + c``, ``c = Σ_k F_k θ*_k² − F θ̄²`` (a constant), so the
  penalty and its gradient equal Kirkpatrick's sum of one penalty per task.
* ``Projection`` (orthogonal weight modification, Zeng et al. 2019; gradient projection
  memory, Saha et al. 2021; Duncker et al. 2020): each protected matrix's gradient is
  projected off the earlier tasks' input-activity subspace, ``ΔW ← ΔW (I − P)``
  (``populations``). After a stage, ``P`` grows by the principal directions of the stage's
  activity residual ``R = X (I − P)`` (``X``: ``[B·T, d]`` activity of ``activity_trials``
  trials) until the subspace holds a fraction ``threshold`` of the activity's energy:
  ``‖X P'‖_F² ≥ threshold · ‖X‖_F²`` with the fewest directions (GPM's criterion).
* ``HLOP`` (Xiao et al. 2024, ICLR): the same projection with the subspace learned by lateral
  neurons. Lateral weights ``H`` (rows = subspace neurons) read ``y = H x`` and feed back
  ``x̂ = Hᵀ y``; Hebbian/anti-Hebbian learning ``ΔH = η y (x − x̂)ᵀ`` (Oja's subspace rule,
  Oja 1989) drives the rows to an orthonormal basis of the principal subspace of ``x``. Each
  stage adds ``⌈hlop_fraction · d⌉`` new neurons, trained on the stage's activity with the
  earlier neurons fixed (so they learn the principal subspace of what the earlier ones do not
  reconstruct), with momentum 0.9 and ``η = hlop_lr / ⟨‖x‖²⟩`` (the rule's stability needs
  ``η ‖x‖² ≲ 1``); the gradient is projected with ``P = HᵀH`` (Xiao et al.'s
  ``x − Hᵀ H x`` on the presynaptic traces, equivalently). ``P`` is an orthogonal projector
  only as far as the rows have converged, so HLOP protects approximately where
  ``Projection`` protects exactly.

Projection methods need plain SGD (with momentum): an update that is a linear combination of
projected gradients stays projected, whereas Adam rescales each weight's step and leaves the
subspace (the driver refuses other optimisers).
"""

from __future__ import annotations

import math
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp

from ..models import run_trial
from ..objectives import Objective, TaskLoss
from . import populations as pops

__all__ = ["Finetune", "EWC", "Projection", "HLOP", "fisher_diagonal", "gpm_update", "hebbian_subspace",
           "initial_objective"]


class Finetune(TaskLoss):
    """Plain training of each stage (the baseline that forgets)."""

    def after_stage(self, model, task, stage, key) -> "Finetune":
        return self


def _params(model):
    return eqx.filter(model, eqx.is_inexact_array)


def _loglik(outputs, m, y, task) -> jax.Array:
    """``log p(y | x)`` of one trial whose outputs are ``outputs [T, O]``: categorical per head for
    cross-entropy tasks, unit-variance Gaussian for MSE tasks; summed over the entries the mask
    ``m`` scores."""
    if task.loss == "cross_entropy":
        C = task.n_classes
        logp = jax.nn.log_softmax(outputs.reshape(*outputs.shape[:-1], -1, C), -1)  # [T, H, C]
        mh = m.reshape(*m.shape[:-1], -1, C)[..., 0]
        return jnp.sum(mh * jnp.take_along_axis(logp, y[..., None], -1)[..., 0])
    return -0.5 * jnp.sum(m * (y - outputs) ** 2)


def fisher_diagonal(model, task, key, trials: int, level: Any = None):
    """The diagonal Fisher information ``F_i = E_x E_{y∼p_θ(·|x)} [(∂ log p_θ(y|x) / ∂θ_i)²]``
    of ``model`` on ``task`` (stage ``level``), a pytree shaped like the model's float leaves.

    Monte Carlo over ``trials`` trials, one draw of ``y`` from the model's own predictive
    distribution per trial (the "true" Fisher of Kirkpatrick et al., not the empirical Fisher
    of the targets): per scored step and head a class from ``softmax`` (cross-entropy tasks)
    or ``f(x) + N(0, I)`` (MSE tasks); the trial's log-likelihood sums over its scored steps.
    """
    k_data, k_y, k_run = jax.random.split(key, 3)
    batch = task.sample(k_data, trials, level)
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def one(x_in, mask, ky, kr):
        def ll(p, y):
            m = eqx.combine(p, static)
            _, out, _ = run_trial(m, x_in, kr)
            return _loglik(out, mask, y, task)

        _, out, _ = run_trial(model, x_in, kr)
        out = jax.lax.stop_gradient(out)
        if task.loss == "cross_entropy":
            logits = out.reshape(*out.shape[:-1], -1, task.n_classes)
            y = jax.random.categorical(ky, logits)
        else:
            y = out + jax.random.normal(ky, out.shape)
        g = jax.grad(ll)(params, y)
        return jax.tree.map(jnp.square, g)

    sq = jax.vmap(one)(batch.inputs, batch.mask, jax.random.split(k_y, trials), jax.random.split(k_run, trials))
    return jax.tree.map(lambda a: a.mean(0), sq)


class EWC(Objective):
    """Elastic weight consolidation (module doc): ``fisher`` ``F = Σ_k F_k``, ``anchor`` ``θ̄``,
    ``const`` ``Σ_i c_i``; ``lam`` λ; ``trials``: Fisher trials per stage."""

    fisher: Any
    anchor: Any
    const: jax.Array
    lam: float = eqx.field(static=True)
    trials: int = eqx.field(static=True)
    per_member = True

    @classmethod
    def initial(cls, model, lam: float, trials: int) -> "EWC":
        p = _params(model)
        return cls(jax.tree.map(jnp.zeros_like, p), p, jnp.zeros(()), lam, trials)

    def penalty(self, model) -> jax.Array:
        """``λ/2 (Σ F (θ − θ̄)² + c)``, equal to ``λ/2 Σ_k Σ_i F_{k,i} (θ_i − θ*_{k,i})²``."""
        terms = jax.tree.map(lambda f, a, t: jnp.sum(f * (t - a) ** 2), self.fisher, self.anchor, _params(model))
        return 0.5 * self.lam * (sum(jax.tree.leaves(terms)) + self.const)

    def __call__(self, model, task, batch, activity, outputs, key):
        return task.loss_fn(outputs, batch) + self.penalty(model)

    def after_stage(self, model, task, stage, key) -> "EWC":
        return self.add(_params(model), fisher_diagonal(model, task, key, self.trials, stage))

    def add(self, theta, F_k) -> "EWC":
        """The penalty with one more stage's ``(θ*_k, F_k)`` added (module doc)."""
        F = jax.tree.map(jnp.add, self.fisher, F_k)
        anchor = jax.tree.map(lambda f, a, fk, t, ff: jnp.where(ff > 0, (f * a + fk * t) / jnp.where(ff > 0, ff, 1), t),
                              self.fisher, self.anchor, F_k, theta, F)
        dc = jax.tree.map(lambda f, a, fk, t, ff, na: jnp.sum(f * a**2 + fk * t**2 - ff * na**2),
                          self.fisher, self.anchor, F_k, theta, F, anchor)
        return EWC(F, anchor, self.const + sum(jax.tree.leaves(dc)), self.lam, self.trials)


def gpm_update(P: jax.Array, X: jax.Array, threshold: float) -> jax.Array:
    """``P`` grown by the fewest principal directions of ``R = X (I − P)`` that bring the
    protected energy to ``‖X P'‖_F² ≥ threshold · ‖X‖_F²`` (none if ``P`` already holds it)."""
    total = jnp.sum(X**2)
    R = X - X @ P
    kept = total - jnp.sum(R**2)
    lam, V = jnp.linalg.eigh(R.T @ R)
    lam, V = jnp.maximum(lam[::-1], 0.0), V[:, ::-1]
    before = kept + jnp.concatenate([jnp.zeros(1), jnp.cumsum(lam)[:-1]])
    take = (before < threshold * total) & (lam > 0)
    Pn = P + (V * take) @ V.T
    return 0.5 * (Pn + Pn.T)


class Projection(Objective):
    """Gradient projection with exact (SVD) subspaces; ``P``: population -> projector."""

    P: dict
    frozen: jax.Array
    threshold: float = eqx.field(static=True)
    post: bool = eqx.field(static=True)
    trials: int = eqx.field(static=True)
    per_member = True

    @classmethod
    def initial(cls, model, threshold: float, post: bool, trials: int) -> "Projection":
        return cls({p: jnp.zeros((d, d)) for p, d in pops.sizes(model).items()}, jnp.zeros(()), threshold, post, trials)

    def __call__(self, model, task, batch, activity, outputs, key):
        return task.loss_fn(outputs, batch)

    def projectors(self) -> dict:
        return self.P

    def transform_grads(self, grads, model):
        return pops.freeze_others(pops.project(grads, model, self.projectors(), self.post), model, self.frozen)

    def _activity(self, model, task, stage, key):
        k_data, k_run = jax.random.split(key)
        batch = task.sample(k_data, self.trials, stage)
        return pops.activities(model, batch.inputs, k_run)

    def after_stage(self, model, task, stage, key) -> "Projection":
        X = self._activity(model, task, stage, key)
        P = {p: gpm_update(self.P[p], X[p], self.threshold) for p in self.P}
        return Projection(P, jnp.ones(()), self.threshold, self.post, self.trials)


def hebbian_subspace(H, M, used, X, k_new: int, key, iters: int, lr: float, batch: int = 64):
    """Oja's subspace rule on lateral weights ``H`` (``[d, d]``; rows ``< used`` learned earlier and
    fixed, rows ``used .. used + k_new − 1`` new, the rest zero) from the activity ``X [n, d]``.

    New rows start as orthonormal random vectors; each of ``iters`` steps takes ``batch``
    random rows ``x`` of ``X``, ``y = H x``, ``x̂ = Hᵀ y``, ``ΔH = y (x − x̂)ᵀ / batch`` (clipped to
    ±10, as Xiao et al.), masked to the new rows, momentum ``M ← 0.9 M + 0.1 ΔH`` and
    ``H ← H + η M`` with ``η = lr / ⟨‖x‖²⟩``. Returns ``(H, M, used + k_new)``.
    """
    d = H.shape[0]
    rows = jnp.arange(d)
    new = (rows >= used) & (rows < used + k_new)
    k_init, k_idx = jax.random.split(key)
    Q, _ = jnp.linalg.qr(jax.random.normal(k_init, (d, d)))
    H = jnp.where(new[:, None], Q.T, H)
    M = jnp.where(new[:, None], 0.0, M)
    eta = lr / jnp.maximum(jnp.mean(jnp.sum(X**2, 1)), 1e-12)

    def step(carry, k):
        H, M = carry
        x = X[jax.random.randint(k, (batch,), 0, X.shape[0])]
        y = x @ H.T
        dH = jnp.clip(y.T @ (x - y @ H) / batch, -10.0, 10.0)
        M = jnp.where(new[:, None], 0.9 * M + 0.1 * dH, M)
        return (H + eta * jnp.where(new[:, None], M, 0.0), M), None

    (H, M), _ = jax.lax.scan(step, (H, M), jax.random.split(k_idx, iters))
    return H, M, used + k_new


class HLOP(Projection):
    """Projection with Hebbian-learned subspaces: ``H``, ``M`` (momentum), ``used`` per population."""

    H: dict = None
    M: dict = None
    used: dict = None
    fraction: float = eqx.field(static=True, default=0.125)
    iters: int = eqx.field(static=True, default=1000)
    lr: float = eqx.field(static=True, default=0.5)

    @classmethod
    def initial(cls, model, fraction: float, iters: int, lr: float, post: bool, trials: int) -> "HLOP":
        z = {p: jnp.zeros((d, d)) for p, d in pops.sizes(model).items()}
        return cls(z, jnp.zeros(()), 0.0, post, trials, z, z, {p: jnp.zeros((), jnp.int32) for p in z},
                   fraction, iters, lr)

    def after_stage(self, model, task, stage, key) -> "HLOP":
        X = self._activity(model, task, stage, key)
        H, M, used, P = {}, {}, {}, {}
        for i, p in enumerate(sorted(self.H)):
            d = self.H[p].shape[0]
            k = jnp.minimum(math.ceil(self.fraction * d), d - self.used[p])
            H[p], M[p], used[p] = hebbian_subspace(self.H[p], self.M[p], self.used[p], X[p], k,
                                                   jax.random.fold_in(key, 100 + i), self.iters, self.lr)
            P[p] = H[p].T @ H[p]
        return HLOP(P, jnp.ones(()), 0.0, self.post, self.trials, H, M, used, self.fraction, self.iters, self.lr)


def initial_objective(method: str, model, cc) -> Objective:
    """The objective of the first stage for ``method`` (``ContinualConfig`` ``cc``), for one member."""
    if method == "finetune":
        return Finetune()
    if method == "ewc":
        return EWC.initial(model, cc.ewc_lambda, cc.fisher_trials)
    pops.check_model(model, method)
    if method == "projection":
        return Projection.initial(model, cc.threshold, cc.post, cc.activity_trials)
    return HLOP.initial(model, cc.hlop_fraction, cc.hlop_iters, cc.hlop_lr, cc.post, cc.activity_trials)
