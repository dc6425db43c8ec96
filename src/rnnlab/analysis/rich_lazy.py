"""Rich vs lazy learning: how far training moved the weights, the tangent kernel and the representation.

Metrics of Liu, Baratin, Cornford, Mihalas, Shea-Brown & Lajoie (ICLR 2024, "How connectivity
structure shapes rich and lazy learning in neural circuits"; repo ``BioRNN_RichLazy``) and
Huang, Singh, Martinelli & Rajan (NeurIPS 2025), computed on one fixed probe batch:

* relative weight change of the recurrent matrix ``W`` (``recurrent_weights()`` where the
  model has it, else its ``W``/``W_h`` field)::

      Δ = ‖W_T − W_0‖_F / ‖W_0‖_F

* empirical tangent kernel with respect to the recurrent weights only: one row of ``J`` per
  sample = (trial b, time t, output o), ``J_{(b,t,o), ij} = ∂ŷ_{b,t,o} / ∂W_ij`` (``jax.jacrev``
  ``vmap``-ed over trials; the stored parameter ``W`` of a LeakyRNN, ``W_h`` of a GRU/LSTM),
  ``K = J Jᵀ``; kernel alignment (cosine of kernels, 1 = lazy / kernel regime)::

      A_K = Tr(K_T K_0) / (‖K_T‖_F ‖K_0‖_F)

* representation alignment: the same cosine between the Gram matrices ``G = h hᵀ`` of the
  hidden activity ``h [B, N]`` at a probe time (default the last step) before vs after;
* effective rank of ``W`` (Roy & Vetterli 2007): ``exp(−Σ p_i log p_i)``, ``p_i = σ_i / Σ σ``.

``record_snapshots`` gives an ``on_eval`` callback for ``rnnlab.train`` that keeps copies of
the model during training; ``rich_lazy_over_training`` compares each snapshot with the first.
Noise-free runs are used throughout (a model's private noise is switched off).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models import run, run_trial
from ..tasks.compiled import sample_batch
from ._dynamics import _deterministic
from ._results import Result, _figure, _finish
from .perturbation import _key, _recurrent_name

__all__ = [
    "RichLazy", "RichLazyTrajectory", "SnapshotRecorder",
    "weight_change", "effective_rank", "tangent_kernel", "rich_lazy", "rich_lazy_over_training", "record_snapshots",
]


# ---- elementary measures ---------------------------------------------------------------------
def _matrix(model: Any) -> np.ndarray:
    W = model.recurrent_weights() if hasattr(model, "recurrent_weights") else getattr(model, _recurrent_name(model))
    return np.asarray(W, dtype=np.float64)


def weight_change(model_0: Any, model_T: Any) -> float:
    """``‖W_T − W_0‖_F / ‖W_0‖_F`` of the recurrent matrices."""
    W0, WT = _matrix(model_0), _matrix(model_T)
    return float(np.linalg.norm(WT - W0) / np.linalg.norm(W0))


def effective_rank(W: Any) -> float:
    """``exp`` of the entropy of the normalised singular values of ``W`` (a model: its recurrent matrix)."""
    W = np.asarray(W, dtype=np.float64) if not hasattr(W, "hidden_size") else _matrix(W)
    s = np.linalg.svd(W, compute_uv=False)
    p = s[s > 0] / s.sum()
    return float(np.exp(-np.sum(p * np.log(p))))


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    """``⟨a, b⟩_F / (‖a‖_F ‖b‖_F)``, written so that ``_cosine(a, a)`` is exactly 1."""
    num = float(np.sum(a * b))
    return float(np.clip(num / np.sqrt(np.sum(a * a) * np.sum(b * b)), -1.0, 1.0))


@eqx.filter_jit
def _jacobian(model, inputs, name, times):
    def trial_outputs(W, x):
        m = eqx.tree_at(lambda mm: getattr(mm, name), model, W)
        return run_trial(m, x)[1][times]

    return jax.vmap(jax.jacrev(trial_outputs), in_axes=(None, 0))(getattr(model, name), inputs)


def _times(T: int, times: Sequence[int] | None) -> jax.Array:
    return jnp.arange(T) if times is None else jnp.asarray(np.arange(T)[np.asarray(times, dtype=int)])


def tangent_kernel(model: Any, inputs: Any, times: Sequence[int] | None = None) -> np.ndarray:
    """Empirical tangent kernel ``K = J Jᵀ`` w.r.t. the recurrent weights, on ``inputs [B, T, I]``.

    Rows/columns are samples ordered (trial, time, output); ``times`` picks the time steps
    (default all). Returns ``[B·T'·O, B·T'·O]`` in float64.
    """
    model = _deterministic(model)
    x = jnp.asarray(inputs)
    J = _jacobian(model, x, _recurrent_name(model), _times(x.shape[1], times))  # [B, T', O, *W.shape]
    J = np.asarray(J, dtype=np.float64).reshape(int(np.prod(J.shape[:3])), -1)
    return J @ J.T


@eqx.filter_jit
def _activity(model: Any, inputs: jax.Array) -> jax.Array:
    return run(model, inputs)[0]


def _gram(model: Any, inputs: jax.Array, probe_time: int) -> np.ndarray:
    h = np.asarray(_activity(_deterministic(model), inputs)[:, probe_time], dtype=np.float64)
    return h @ h.T


def _probe(task: Any, key: Any, batch_size: int, inputs: Any) -> jax.Array:
    if inputs is not None:
        return jnp.asarray(inputs)
    return sample_batch(task, _key(key), batch_size).inputs


# ---- two models --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RichLazy(Result):
    """Rich/lazy measures between an initial and a trained network.

    Attributes:
        weight_change: ``‖W_T − W_0‖/‖W_0‖``; kernel_alignment, representation_alignment:
        cosines in [−1, 1] (1 = unchanged up to scale); effective_rank_0/_T: of ``W``;
        kernel_eigs_0/_T: ``[k]`` the largest tangent-kernel eigenvalues (k ≤ 50).
    """

    weight_change: float
    kernel_alignment: float
    representation_alignment: float
    effective_rank_0: float
    effective_rank_T: float
    kernel_eigs_0: np.ndarray
    kernel_eigs_T: np.ndarray

    def plot(self, path: str | Path | None = None):
        """The three alignment/change measures, and the two kernel spectra."""
        fig, (a0, a1) = _figure(2)
        names = ["weight\nchange", "kernel\nalignment", "repr.\nalignment"]
        a0.bar(names, [self.weight_change, self.kernel_alignment, self.representation_alignment], color="0.6")
        a0.set(title=f"eff. rank {self.effective_rank_0:.1f} → {self.effective_rank_T:.1f}")
        k = np.arange(1, len(self.kernel_eigs_0) + 1)
        a1.semilogy(k, self.kernel_eigs_0 / self.kernel_eigs_0.sum(), ".-", label="initial")
        a1.semilogy(k, self.kernel_eigs_T / self.kernel_eigs_T.sum(), ".-", label="trained")
        a1.set(xlabel="eigenvalue index", ylabel="fraction of trace", title="tangent kernel spectrum")
        a1.legend(fontsize=8)
        return _finish(fig, path)


def _top_eigs(K: np.ndarray, k: int = 50) -> np.ndarray:
    return np.clip(np.linalg.eigvalsh(K)[::-1][:k], 0, None)


def rich_lazy(
    model_0: Any,
    model_T: Any,
    task: Any = None,
    key: Any = 0,
    *,
    batch_size: int = 16,
    inputs: Any = None,
    times: Sequence[int] | None = None,
    probe_time: int = -1,
) -> RichLazy:
    """Compare ``model_0`` (e.g. at initialisation) with ``model_T`` (trained) on one probe batch.

    The probe batch is ``batch_size`` trials of ``task`` from ``key``, or ``inputs [B, T, I]``.
    ``times``: time steps whose outputs enter the kernel (default all); ``probe_time``: the
    step of the Gram matrices.
    """
    x = _probe(task, key, batch_size, inputs)
    K0, KT = tangent_kernel(model_0, x, times), tangent_kernel(model_T, x, times)
    G0, GT = _gram(model_0, x, probe_time), _gram(model_T, x, probe_time)
    return RichLazy(
        weight_change(model_0, model_T), _cosine(KT, K0), _cosine(GT, G0),
        effective_rank(model_0), effective_rank(model_T), _top_eigs(K0), _top_eigs(KT),
    )


# ---- over training ---------------------------------------------------------------------------
class SnapshotRecorder:
    """An ``on_eval`` callback for ``rnnlab.train`` keeping copies of the model.

    ``steps[i]`` is the training step of ``models[i]``. A snapshot is kept after evaluation
    number ``n`` (1, 2, …) when ``n % every == 0``, or when ``n in at`` if ``at`` is given.
    ``initial`` (the model passed to ``train``) is stored first, at step 0.
    """

    def __init__(self, every: int = 1, at: Iterable[int] | None = None, initial: Any = None):
        if every < 1:
            raise ValueError(f"every: must be >= 1 (got {every})")
        self.every, self.at = every, None if at is None else set(int(a) for a in at)
        self.steps: list[int] = []
        self.models: list[Any] = []
        if initial is not None:
            self._keep(0, initial)

    def _keep(self, step: int, model: Any) -> None:
        self.steps.append(int(step))
        self.models.append(jax.tree.map(lambda x: jnp.array(x, copy=True) if eqx.is_array(x) else x, model))

    def __call__(self, checkpoint: Any) -> None:
        n = checkpoint.n_evals
        if (n in self.at) if self.at is not None else (n % self.every == 0):
            self._keep(int(np.max(np.asarray(checkpoint.state.step))), checkpoint.state.model)

    def __len__(self) -> int:
        return len(self.models)


def record_snapshots(every: int = 1, *, at: Iterable[int] | None = None, initial: Any = None) -> SnapshotRecorder:
    """An ``on_eval`` callback keeping the model every ``every`` evaluations (see ``SnapshotRecorder``)."""
    return SnapshotRecorder(every, at, initial)


@dataclass(frozen=True)
class RichLazyTrajectory(Result):
    """Rich/lazy measures of every snapshot relative to the first.

    Attributes (all ``[S]``): steps; weight_change; kernel_alignment; representation_alignment;
    effective_rank of ``W`` at each snapshot.
    """

    steps: np.ndarray
    weight_change: np.ndarray
    kernel_alignment: np.ndarray
    representation_alignment: np.ndarray
    effective_rank: np.ndarray

    def summary(self) -> dict[str, Any]:
        s = super().summary()
        for name in ("weight_change", "kernel_alignment", "representation_alignment", "effective_rank"):
            s[f"final_{name}"] = float(getattr(self, name)[-1])
        return s

    def plot(self, path: str | Path | None = None):
        """The four measures against the training step."""
        fig, axes = _figure(4, size=(3.2, 3))
        for ax, name in zip(axes, ["weight_change", "kernel_alignment", "representation_alignment", "effective_rank"]):
            ax.plot(self.steps, getattr(self, name), "k.-")
            ax.set(xlabel="training step", title=name.replace("_", " "))
        return _finish(fig, path)


def rich_lazy_over_training(
    snapshots: SnapshotRecorder | Sequence[tuple[int, Any]] | Sequence[Any],
    task: Any = None,
    key: Any = 0,
    *,
    batch_size: int = 16,
    inputs: Any = None,
    times: Sequence[int] | None = None,
    probe_time: int = -1,
) -> RichLazyTrajectory:
    """``rich_lazy`` of every snapshot against the first (``SnapshotRecorder``, ``(step, model)`` pairs or models)."""
    if isinstance(snapshots, SnapshotRecorder):
        steps, models = list(snapshots.steps), list(snapshots.models)
    else:
        snaps = list(snapshots)
        pairs = all(isinstance(s, tuple) and len(s) == 2 for s in snaps)
        steps = [int(s[0]) for s in snaps] if pairs else list(range(len(snaps)))
        models = [s[1] for s in snaps] if pairs else snaps
    if not models:
        raise ValueError("snapshots: empty")
    x = _probe(task, key, batch_size, inputs)
    K0, G0 = tangent_kernel(models[0], x, times), _gram(models[0], x, probe_time)
    rows = [
        (weight_change(models[0], m), _cosine(tangent_kernel(m, x, times), K0), _cosine(_gram(m, x, probe_time), G0),
         effective_rank(m))
        for m in models
    ]
    wc, ka, ra, er = (np.array(c) for c in zip(*rows))
    return RichLazyTrajectory(np.asarray(steps), wc, ka, ra, er)
