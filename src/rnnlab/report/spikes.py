"""Spiking networks on a run page: spike rasters, population rate and membrane-voltage traces.

``spiking_states`` re-runs a ``SpikingRNN`` step by step and keeps what ``run`` discards: the
spikes ``s_t``, the membrane potential ``V_t`` at which each spike was decided and the
threshold ``θ_t`` it was compared with (``s_t = H(V_t − θ_t)``, ALIF thresholds included).
"""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..models import RecurrentModel
from ..models.spiking import SpikingRNN
from ..tasks import Task
from .figures import _save, _subplots, place_grid, sample_batch, shade, time_axis

__all__ = ["is_spiking", "spike_figure", "spiking_states"]

_MAX_UNITS = 100  # raster rows shown
_N_VOLTAGE = 3  # voltage traces per trial


def is_spiking(model: RecurrentModel) -> bool:
    return isinstance(model, SpikingRNN)


@eqx.filter_jit
def _states(model: SpikingRNN, inputs):
    def trial(x):
        def body(st, xt):
            theta = model.thresholds() + model._adaptive() * st.a  # the threshold update() compares with
            new, _ = model.step(st, xt, None)
            return new, (new.s, new.v, theta)

        _, out = jax.lax.scan(body, model.initial_state(), x)
        return out

    return jax.vmap(trial)(jnp.asarray(inputs))


def spiking_states(model: SpikingRNN, inputs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(spikes, voltage, threshold)``, each ``[B, T, N]``, of ``model`` on ``inputs [B, T, I]``."""
    return tuple(np.asarray(a) for a in _states(model, inputs))


def spike_figure(model: SpikingRNN, task: Task, key, path: Path, n: int = 2, n_rate: int = 64) -> Path:
    """Per example trial (``n`` columns): a raster of the first 100 units, the population rate of
    that trial and the mean over ``n_rate`` trials, and the voltage of the 3 most active units
    against their thresholds. Scored steps are shaded."""
    batch = sample_batch(task, key, max(n, n_rate))
    spikes, v, theta = spiking_states(model, batch.inputs)
    mask = np.asarray(batch.mask).any(-1)
    step, xlabel = time_axis(task)
    in_ms = xlabel == "time (ms)"
    t = np.arange(spikes.shape[1]) * step
    # spikes per unit per step -> Hz where a step has a length in ms
    rate = spikes.mean(-1) * (1000.0 / step if in_ms else 1.0)
    rate_label = "rate (Hz per unit)" if in_ms else "rate (spikes/unit/step)"
    units = min(spikes.shape[-1], _MAX_UNITS)
    fig, axes = _subplots(3, n, figsize=(5.2 * n, 7.6), sharex=True, squeeze=False,
                          gridspec_kw={"height_ratios": [2.2, 1, 1.4]})
    place_grid(fig)
    for i in range(n):
        ax = axes[0, i]
        ax.imshow(spikes[i, :, :units].T, aspect="auto", interpolation="nearest", cmap="Greys",
                  origin="lower", vmin=0, vmax=1, extent=(t[0] - step / 2, t[-1] + step / 2, -0.5, units - 0.5))
        ax.set(ylabel="unit", title=f"trial {i}: spikes of {units} of {spikes.shape[-1]} units "
                                    f"({spikes[i].sum():.0f} spikes)")
        ax = axes[1, i]
        ax.plot(t, rate[i], color="C0", lw=1.5, label=f"trial {i}")
        ax.plot(t, rate.mean(0), color="0.4", lw=1.2, ls="--", label=f"mean of {rate.shape[0]} trials")
        ax.set(ylabel=rate_label, title="population rate")
        ax.legend(fontsize=8, loc="upper left")
        ax = axes[2, i]
        active = np.argsort(-spikes[i].sum(0), kind="stable")[:_N_VOLTAGE]
        for j, u in enumerate(active):
            ax.plot(t, v[i, :, u], color=f"C{j}", lw=1.2, label=f"unit {u}")
            ax.plot(t, theta[i, :, u], color=f"C{j}", lw=0.9, ls="--")
            fired = spikes[i, :, u] > 0
            ax.plot(t[fired], v[i, fired, u], "|", color=f"C{j}", ms=9, mew=1.5)
        ax.set(xlabel=xlabel, ylabel="membrane potential V (a.u.)", title="V (solid), threshold θ (dashed), spikes |")
        ax.legend(fontsize=8, loc="upper left")
        for r, row in enumerate(axes[:, i]):
            shade(row, t, mask[i], step, color="tab:orange", alpha=0.15, zorder=3 if r == 0 else 0)
    return _save(fig, path)
