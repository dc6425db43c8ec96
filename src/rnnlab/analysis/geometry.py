"""Geometry of activity and dynamics: PCA, participation ratio, weight and Jacobian spectra.

* PCA (via the SVD of the centred data matrix ``X̃ = U S Vᵀ``, samples × units): principal
  axes are the rows of ``Vᵀ``, variances ``λ_i = s_i² / (M − 1)``, explained ratio
  ``λ_i / Σ λ``.
* Participation ratio (Gao et al. 2017; Recanatesi et al. 2022), a dimensionality between 1
  and N: ``PR = (Σ λ_i)² / Σ λ_i²`` over the covariance eigenvalues ``λ_i``.
* Eigenvalues of the recurrent weight matrix ``W`` (``model.recurrent_weights()``), the
  random-matrix picture of the connectivity (circular law: radius ``gain`` at init).
* Eigenvalues of the Jacobian ``∂F/∂h`` of the one-step map ``F(h, x) = model.step(h, x)[0]``
  along trajectories, evaluated at ``(h_{t−1}, x_t)``: local stability over time (spectral
  radius > 1: locally expanding).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from ._dynamics import _deterministic, _flat_step, state_trajectories
from ._results import Result, _figure, _finish

__all__ = ["PCA", "Spectrum", "JacobianSpectrum", "pca", "participation_ratio", "weight_spectrum", "jacobian_spectrum"]


def _as_samples(x: Any) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x.reshape(-1, x.shape[-1])


def participation_ratio(x: Any, *, eigenvalues: bool = False) -> float:
    """``(Σλ)² / Σλ²`` of the covariance of ``x [..., N]`` (or of ``x`` itself if ``eigenvalues``)."""
    lam = np.asarray(x, dtype=np.float64) if eigenvalues else pca(x).variance
    return float(lam.sum() ** 2 / np.sum(lam**2))


@dataclass(frozen=True)
class PCA(Result):
    """Principal components of activity.

    Attributes:
        mean: ``[N]``; components: ``[k, N]`` orthonormal principal axes (rows);
        variance: ``[k]`` variance along each axis; explained: ``[k]`` fraction of the total;
        participation_ratio: ``(Σλ)²/Σλ²`` over all eigenvalues; n_samples: M.
    """

    mean: np.ndarray
    components: np.ndarray
    variance: np.ndarray
    explained: np.ndarray
    participation_ratio: float
    n_samples: int

    def transform(self, x: Any) -> np.ndarray:
        """Project ``x [..., N]`` onto the components: ``[..., k]``."""
        return (np.asarray(x) - self.mean) @ self.components.T

    def n_for(self, fraction: float) -> int:
        """Fewest components whose cumulative explained variance reaches ``fraction``."""
        return int(np.searchsorted(np.cumsum(self.explained), fraction - 1e-12) + 1)

    def summary(self) -> dict[str, Any]:
        s = super().summary()
        s.update(n_components=len(self.variance), n_for_90=self.n_for(0.9), n_for_99=self.n_for(0.99))
        return s

    def plot(self, path: str | Path | None = None):
        """Explained variance per component and cumulative."""
        fig, (ax,) = _figure()
        k = np.arange(1, len(self.explained) + 1)
        ax.bar(k, self.explained, color="0.6", label="per component")
        ax.plot(k, np.cumsum(self.explained), "k.-", label="cumulative")
        ax.set(xlabel="component", ylabel="variance explained", ylim=(0, 1.02),
               title=f"PR = {self.participation_ratio:.2f}")
        ax.legend(fontsize=8)
        return _finish(fig, path)


def pca(x: Any, n_components: int | None = None) -> PCA:
    """PCA of ``x [..., N]`` (all leading axes are samples) by SVD of the centred data."""
    X = _as_samples(x)
    mean = X.mean(axis=0)
    _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
    lam = s**2 / max(X.shape[0] - 1, 1)
    total = lam.sum()
    k = len(lam) if n_components is None else min(n_components, len(lam))
    pr = float(total**2 / np.sum(lam**2)) if total > 0 else float("nan")
    return PCA(mean, vt[:k], lam[:k], lam[:k] / total if total > 0 else lam[:k], pr, int(X.shape[0]))


def _pca_basis(x: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and top-``k`` principal axes of ``x`` (fewer if the data has fewer dimensions)."""
    p = pca(x, k)
    return p.mean, p.components


@dataclass(frozen=True)
class Spectrum(Result):
    """Eigenvalues of a matrix (complex, by decreasing modulus); ``spectral_radius`` = max |λ|."""

    eigenvalues: np.ndarray
    spectral_radius: float
    name: str

    def plot(self, path: str | Path | None = None):
        """The eigenvalues in the complex plane with the unit circle."""
        fig, (ax,) = _figure(size=(4, 4))
        _eig_axes(ax, self.eigenvalues, f"{self.name}: ρ = {self.spectral_radius:.3g}")
        return _finish(fig, path)


_SCATTER_MAX = 600  # more eigenvalues than this are drawn as a density (a scatter becomes one blob)


def _eig_axes(ax, eig, title):
    """Eigenvalues in the complex plane with the unit circle: points, or for many (Jacobians
    along trajectories: steps x units) a log-count density, with the largest |λ| marked."""
    th = np.linspace(0, 2 * np.pi, 200)
    re, im = np.real(eig).ravel(), np.imag(eig).ravel()
    if re.size <= _SCATTER_MAX:
        ax.scatter(re, im, s=8, alpha=0.6)
    else:
        hb = ax.hexbin(re, im, gridsize=50, bins="log", cmap="viridis", mincnt=1, linewidths=0)
        ax.figure.colorbar(hb, ax=ax, shrink=0.7, label="eigenvalues (log count)")
        top = np.argsort(-np.hypot(re, im))[:20]
        ax.scatter(re[top], im[top], s=14, facecolors="none", edgecolors="tab:red", lw=0.8, label="20 largest |λ|")
        ax.legend(fontsize=7, loc="lower left")
    ax.plot(np.cos(th), np.sin(th), "k:", lw=1)
    ax.set(xlabel="Re λ", ylabel="Im λ", title=title, aspect="equal")


def _sorted_eig(m: np.ndarray) -> np.ndarray:
    e = np.linalg.eigvals(m)
    return np.take_along_axis(e, np.argsort(-np.abs(e), axis=-1), axis=-1)


def weight_spectrum(model: Any) -> Spectrum:
    """Eigenvalues of the recurrent weights ``model.recurrent_weights()`` (LeakyRNN)."""
    if not hasattr(model, "recurrent_weights"):
        raise TypeError(f"{type(model).__name__} has no recurrent_weights(); weight_spectrum needs one")
    e = _sorted_eig(np.asarray(model.recurrent_weights(), dtype=np.float64))
    return Spectrum(e, float(np.abs(e).max()), "recurrent weights")


@dataclass(frozen=True)
class JacobianSpectrum(Result):
    """Eigenvalues of ``∂F/∂h`` along trajectories.

    Attributes:
        eigenvalues: ``[B, T', D]`` at the sampled times (by decreasing modulus);
        spectral_radius: ``[B, T']``; times: ``[T']`` the step indices ``t`` used.
    """

    eigenvalues: np.ndarray
    spectral_radius: np.ndarray
    times: np.ndarray

    def summary(self) -> dict[str, Any]:
        s = super().summary()
        s.update(mean_spectral_radius=float(self.spectral_radius.mean()),
                 frac_expanding=float(np.mean(self.spectral_radius > 1)))
        return s

    def plot(self, path: str | Path | None = None):
        """All eigenvalues in the complex plane, and the spectral radius over time."""
        fig, (a0, a1) = _figure(2)
        _eig_axes(a0, self.eigenvalues, "Jacobian eigenvalues")
        a1.plot(self.times, self.spectral_radius.T, color="0.5", lw=0.7)
        a1.axhline(1, color="k", ls=":")
        a1.set(xlabel="time step", ylabel="spectral radius", title="along trajectories")
        return _finish(fig, path)


def jacobian_spectrum(model: Any, inputs: Any, every: int = 1) -> JacobianSpectrum:
    """Eigenvalues of ``∂F/∂h`` at ``(h_{t−1}, x_t)`` along noise-free runs on ``inputs [B, T, I]``.

    ``h_{−1}`` is the initial state; every ``every``-th step is used.
    """
    model = _deterministic(model)
    x = jnp.asarray(inputs)
    states = state_trajectories(model, x)  # [B, T, D]: h_t after step t
    h0 = ravel_pytree(model.initial_state())[0]
    prev = jnp.concatenate([jnp.broadcast_to(h0, (x.shape[0], 1, states.shape[-1])), states[:, :-1]], axis=1)
    t = np.arange(0, x.shape[1], every)
    jac = np.asarray(_jac_along(model, prev[:, t], x[:, t]), dtype=np.float64)
    eig = _sorted_eig(jac)
    return JacobianSpectrum(eig, np.abs(eig).max(axis=-1), t)


@eqx.filter_jit
def _jac_along(model, h, x):
    f = jax.jacfwd(lambda hh, xx: _flat_step(model, hh, xx))
    return jax.vmap(jax.vmap(f))(h, x)
