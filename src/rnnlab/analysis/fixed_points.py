"""Fixed and slow points of a trained network (Sussillo & Barak 2013, *Neural Computation* 25:626;
the search follows Golub & Sussillo's FixedPointFinder).

For the one-step map ``F(h, u) = model.step(h, u)[0]`` at a constant input ``u`` (flat state
``h ∈ R^D``; the LSTM's ``(h, c)`` is flattened), the speed

    q(h) = ½ ‖F(h, u) − h‖²

is zero exactly at fixed points. The search, for all initial states at once (``vmap``, ``jit``):

1. Initial states ``h₀`` drawn from the network's own trajectories, plus optional Gaussian noise.
2. Gradient phase: Adam (Optax) on ``Σ q(h)``; Adam's moments are elementwise, so every point
   follows its own path.
3. Newton polish of the distinct end points (those within ``unique_tol`` of a lower-``q`` one
   are dropped first, which makes this step cheap): ``h ← h + δ`` with
   ``(∂F/∂h − I) δ = −(F(h) − h)``, a few iterations, a step kept only if it lowers ``q``.
4. Keep points with ``q < q_tol``; merge points closer than ``unique_tol`` (keeping the lowest
   ``q``); drop outliers farther than ``outlier_scale`` times the mean distance of the initial
   states from their centroid (FixedPointFinder's rule).
5. At each point the Jacobian ``J = ∂F/∂h`` and its eigenvalues ``λ``. Stability, discrete
   time: ``max |λ| < 1``; continuous time (``F`` read as an Euler step of ``ḣ = F(h) − h``):
   ``max Re eig(J − I) < 0``, i.e. ``max Re λ < 1``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from ._dynamics import _deterministic, _flat_activity, _flat_step, _input_size
from ._results import Result, _figure, _finish
from .geometry import _pca_basis

__all__ = ["FixedPoints", "find_fixed_points"]


@dataclass(frozen=True)
class FixedPoints(Result):
    """Fixed points found by ``find_fixed_points``.

    Attributes:
        points: ``[K, D]`` fixed points (flat states); q: ``[K]`` their speed ``q(h)``.
        jacobians: ``[K, D, D]`` ``∂F/∂h``; eigenvalues: ``[K, D]`` complex, by decreasing ``|λ|``.
        stable: ``[K]`` stability flags under ``time``; outputs: ``[K, O]`` readout at each point.
        u: ``[I]`` the constant input; time: "discrete" or "continuous".
        trajectories: ``[B, T, D]`` (or ``[M, D]``) the states the search started from (for plots).
        n_init: number of initial states; n_candidates: distinct end points of the Adam phase
            (polished by Newton); n_converged: candidates that reached ``q < q_tol``.
    """

    points: np.ndarray
    q: np.ndarray
    jacobians: np.ndarray
    eigenvalues: np.ndarray
    stable: np.ndarray
    outputs: np.ndarray
    u: np.ndarray
    trajectories: np.ndarray
    time: str
    n_init: int
    n_candidates: int
    n_converged: int

    @property
    def n_stable(self) -> int:
        return int(np.sum(self.stable))

    @property
    def n_unstable(self) -> int:
        return int(np.sum(~self.stable))

    @property
    def unstable_directions(self) -> np.ndarray:
        """``[K]`` number of unstable eigen-directions of each point under ``time``: eigenvalues
        of ``J = ∂F/∂h`` with ``|λ| > 1`` (discrete) or ``Re λ > 1`` (continuous). A saddle
        between two attractors (Sussillo & Barak 2013) has exactly one."""
        ev = self.eigenvalues
        return np.sum(np.abs(ev) > 1.0 if self.time == "discrete" else ev.real > 1.0, axis=1).astype(np.int64)

    def summary(self) -> dict[str, Any]:
        s = super().summary()
        s.update(n_points=len(self.points), n_stable=self.n_stable, n_unstable=self.n_unstable,
                 n_one_unstable=int(np.sum(self.unstable_directions == 1)),
                 max_q=float(self.q.max()) if len(self.q) else None)
        return s

    def plot(self, path: str | Path | None = None, n_components: int = 3):
        """Fixed points (stable filled, unstable open) over the trajectories in the top PCs."""
        tr = self.trajectories
        lines = tr.reshape(-1, tr.shape[-2], tr.shape[-1]) if tr.ndim >= 3 else tr[None]
        mean, basis = _pca_basis(tr.reshape(-1, tr.shape[-1]), n_components)
        three = basis.shape[0] >= 3
        fig, (ax,) = _figure(size=(5, 4.5), subplot_kw={"projection": "3d"} if three else None)

        def proj(x):  # coordinates in the top PCs (a zero second axis for 1-d data)
            p = (np.asarray(x) - mean) @ basis.T
            return np.pad(p, ((0, 0), (0, max(0, 2 - p.shape[1]))))

        for tr in lines[:30]:
            p = proj(tr)
            ax.plot(*p.T[: 3 if three else 2], color="0.6", lw=0.5, alpha=0.7)
        if len(self.points):
            p = proj(self.points)
            styles = (
                (self.stable, dict(c="k", label=f"stable ({self.n_stable})")),
                (~self.stable, dict(facecolors="none", edgecolors="r", label=f"unstable ({self.n_unstable})")),
            )
            for mask, kw in styles:
                if mask.any():
                    ax.scatter(*p[mask].T[: 3 if three else 2], s=30, **kw)
            ax.legend(fontsize=8)
        ax.set(xlabel="PC1", ylabel="PC2", title=f"fixed points ({self.time} time)")
        if three:
            ax.set_zlabel("PC3")
        return _finish(fig, path)


def find_fixed_points(
    model: Any,
    trajectories: Any,
    u: Any = None,
    *,
    n_init: int = 1024,
    key: Any = 0,
    init_noise: float = 0.0,
    adam_steps: int = 400,
    lr: float = 1.0,
    newton_steps: int = 5,
    q_tol: float = 1e-9,
    unique_tol: float = 1e-3,
    outlier_scale: float = 10.0,
    time: Literal["discrete", "continuous"] = "discrete",
) -> FixedPoints:
    """Find the fixed points of ``h ↦ model.step(h, u)[0]`` (see the module docstring).

    Args:
        model: any model of the ``RecurrentModel`` interface (private noise is switched off).
        trajectories: flat states ``[..., D]`` to start from: the activity returned by ``run``
            for LeakyRNN/GRU, ``state_trajectories(model, inputs)`` for any model (LSTM).
        u: the constant input ``[I]`` (default: zeros).
        n_init: number of initial states drawn (with replacement) from ``trajectories``.
        key: integer seed or JAX PRNG key for that draw (done on the host with NumPy).
        init_noise: std of Gaussian noise added to the initial states.
        adam_steps: steps of the gradient phase: Adam whose learning rate decays (cosine)
            from ``lr · σ`` to ``0.01 · lr · σ``, ``σ`` the RMS spread of the trajectories per
            coordinate.
        lr: the gradient phase's learning rate in units of ``σ`` (so ``lr`` is scale-free).
        newton_steps: Newton iterations, run on the distinct end points of the Adam phase
            (points within ``unique_tol`` of a lower-``q`` one are dropped first).
        q_tol: keep points with ``q < q_tol``; unique_tol: merge points closer than this.
        outlier_scale: drop points farther from the centroid of the trajectories than this
            times the mean distance of the trajectory states to it.
        time: "discrete" (``max|λ| < 1``) or "continuous" (``max Re λ(J − I) < 0``) stability.
    """
    if time not in ("discrete", "continuous"):
        raise ValueError(f"time must be 'discrete' or 'continuous', got {time!r}")
    model = _deterministic(model)
    u = jnp.zeros(_input_size(model)) if u is None else jnp.asarray(u, dtype=jnp.float32)
    traj = np.asarray(trajectories, dtype=np.float32)
    cloud = traj.reshape(-1, traj.shape[-1])
    D = cloud.shape[1]
    centre = cloud.mean(axis=0)
    spread = float(np.mean(np.linalg.norm(cloud - centre, axis=1)))
    rng = _rng(key)
    h0 = cloud[rng.integers(0, cloud.shape[0], n_init)] + init_noise * rng.standard_normal((n_init, D))
    step0 = float(lr) * max(float(np.sqrt(np.mean((cloud - centre) ** 2))), 1e-6)
    if adam_steps > 0:
        h, q = _adam(model, jnp.asarray(h0, jnp.float32), u, int(adam_steps), step0)
        h, q = np.asarray(h, dtype=np.float64), np.asarray(q, dtype=np.float64)
    else:  # Newton only
        h, q = h0.astype(np.float64), np.zeros(n_init)
    fin = np.all(np.isfinite(h), axis=1) & np.isfinite(q)
    h, q = _unique(h[fin], q[fin], unique_tol)
    n_candidates = len(h)
    pad = max(16, 1 << max(n_candidates - 1, 0).bit_length())  # bucketed size: few recompilations
    hp = np.concatenate([h, np.repeat(h[:1], pad - n_candidates, axis=0)]) if n_candidates else np.zeros((pad, D))
    hn, qn, jac, out = _newton(model, jnp.asarray(hp, jnp.float32), u, int(newton_steps))
    h, q = np.asarray(hn, np.float64)[:n_candidates], np.asarray(qn, np.float64)[:n_candidates]
    jac, out = np.asarray(jac, np.float64)[:n_candidates], np.asarray(out, np.float64)[:n_candidates]

    ok = np.isfinite(q) & (q < q_tol)
    n_converged = int(ok.sum())
    order = _unique_index(h[ok], q[ok], unique_tol)
    h, q, jac, out = h[ok][order], q[ok][order], jac[ok][order], out[ok][order]
    keep = np.linalg.norm(h - centre, axis=1) <= outlier_scale * max(spread, 1e-12)
    h, q, jac, out = h[keep], q[keep], jac[keep], out[keep]

    eig = np.linalg.eigvals(jac) if len(h) else np.zeros((0, D), complex)
    eig = np.take_along_axis(eig, np.argsort(-np.abs(eig), axis=1), axis=1)
    if time == "discrete":
        stable = np.abs(eig).max(axis=1, initial=0.0) < 1.0
    else:
        stable = (eig.real - 1.0).max(axis=1, initial=-np.inf) < 0.0
    return FixedPoints(
        points=h, q=q, jacobians=jac, eigenvalues=eig, stable=stable, outputs=out,
        u=np.asarray(u), trajectories=traj, time=time, n_init=int(n_init), n_candidates=n_candidates,
        n_converged=n_converged,
    )


def _q(model, h, u):
    r = _flat_step(model, h, u) - h
    return 0.5 * jnp.sum(r * r)


def _rng(key: Any) -> np.random.Generator:
    """A NumPy generator from an integer seed or a JAX PRNG key (host-side sampling: no compilation)."""
    if isinstance(key, (int, np.integer)):
        return np.random.default_rng(int(key))
    data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    return np.random.default_rng(np.asarray(data, dtype=np.uint32).ravel())


@eqx.filter_jit
def _adam(model, h0, u, steps: int, lr: float):
    """Adam on ``Σ q`` for all points at once (Adam's moments are elementwise, so each point
    follows its own path)."""
    q_all = jax.vmap(lambda h: _q(model, h, u))
    opt = optax.adam(optax.cosine_decay_schedule(lr, max(steps, 1), alpha=0.01))
    grad = jax.grad(lambda x: jnp.sum(q_all(x)))

    def step(carry, _):
        h, state = carry
        upd, state = opt.update(grad(h), state, h)
        return (optax.apply_updates(h, upd), state), None

    (h, _), _ = jax.lax.scan(step, (h0, opt.init(h0)), None, length=steps)
    return h, q_all(h)


@eqx.filter_jit
def _newton(model, h, u, steps: int):
    """Newton on ``F(h) − h = 0`` for every point (a step is kept only if it lowers q);
    returns ``(h, q, ∂F/∂h, readout)`` at the final points."""
    F = lambda x: _flat_step(model, x, u)  # noqa: E731

    def one(h):
        J = jax.jacfwd(F)(h)
        r = F(h) - h
        h_new = h + jnp.linalg.solve(J - jnp.eye(h.shape[0], dtype=h.dtype), -r)
        ok = jnp.all(jnp.isfinite(h_new)) & (_q(model, h_new, u) < 0.5 * jnp.sum(r * r))
        return jnp.where(ok, h_new, h)

    h = jax.lax.fori_loop(0, steps, lambda _, x: jax.vmap(one)(x), h)
    q = jax.vmap(lambda x: _q(model, x, u))(h)
    out = jax.vmap(lambda x: model.readout(_flat_activity(model, x, u)))(h)
    return h, q, jax.vmap(jax.jacfwd(F))(h), out


def _unique_index(h: np.ndarray, q: np.ndarray, tol: float) -> np.ndarray:
    """Greedy de-duplication: indices kept, in order of increasing q, dropping any point
    within ``tol`` of an already kept one (memory O(kept · D))."""
    kept = np.empty_like(h)
    idx: list[int] = []
    for i in np.argsort(q, kind="stable"):
        if not idx or np.min(np.sum((kept[: len(idx)] - h[i]) ** 2, axis=1)) > tol**2:
            kept[len(idx)] = h[i]
            idx.append(int(i))
    return np.asarray(idx, dtype=np.int64)


def _unique(h: np.ndarray, q: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    i = _unique_index(h, q, tol)
    return h[i].reshape(-1, h.shape[1]), q[i]
