"""Figures of a training run: learning curves, example trials, time-constant histograms.

Each function draws one figure, writes it as PNG to ``path`` and returns the path. Time axes
are in ms where the task's ``dt`` has a physical unit (``time_axis``), else in steps. The
axes are placed with margins fixed in inches (``place_grid``), not by a layout engine: a sweep
draws these figures once per network.
"""

from __future__ import annotations

from pathlib import Path

import equinox as eqx
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..models import RecurrentModel, run  # noqa: E402
from ..tasks import Task  # noqa: E402
from ..tasks.compiled import sample_batch  # noqa: E402
from ..train import History  # noqa: E402

__all__ = ["example_trials", "loss_curve", "place_grid", "run_batch", "sample_batch", "shade", "tau_histogram",
           "tau_scale", "time_axis"]


def time_axis(task: Task) -> tuple[float, str]:
    """``(duration of one step, axis label)`` for plotting a trial of ``task`` against time, from
    ``Task.clock``: ms for tasks whose ``dt`` is in ms or s (times 1000), steps for tasks that
    count in steps or have no ``dt``, else the task's own unit."""
    dt, unit = task.clock()
    if unit == "ms":
        return dt, "time (ms)"
    if unit == "s":
        return 1000.0 * dt, "time (ms)"
    if unit == "steps":
        return dt, "time (steps)" if dt == 1.0 else f"time (steps of dt=1; dt={dt:g})"
    return dt, "time (task units)"


@eqx.filter_jit
def _run(model: RecurrentModel, inputs, key):
    return run(model, inputs, key)


def run_batch(model: RecurrentModel, inputs, key) -> tuple[np.ndarray, np.ndarray]:
    """``run(model, inputs, key)`` compiled once per model structure and input shape (the seeds of
    a sweep share one compilation), as NumPy ``(activity, outputs)``."""
    try:
        activity, out = _run(model, inputs, key)
    except TypeError:  # a static part of the model that cannot be hashed: run it uncompiled
        activity, out = run(model, inputs, key)
    return np.asarray(activity), np.asarray(out)


def place_grid(fig, *, left: float = 0.85, right: float = 0.2, top: float = 0.4, bottom: float = 0.55,
               wgap: float = 0.9, hgap: float = 0.45) -> None:
    """Place ``fig``'s grid of subplots with fixed margins and gaps, in inches.

    Why not a layout engine: constrained and tight layout measure the extent of every tick label
    and title to place the axes, drawing the figure more than once, and a sweep draws one page
    per network (``benchmarks/run_page.py`` times a page both ways). These figures have labels
    of known size, so margins fixed in inches fit them at any figure size: ``left`` the y label
    and tick labels, ``top`` the titles, ``bottom`` the x label and tick labels, ``wgap`` the
    next column's y label, ``hgap`` the next row's titles. Gaps are spread as equal fractions of
    the mean axes size, which is how ``subplots_adjust`` counts them (height ratios keep their
    proportions).
    """
    w, h = fig.get_size_inches()
    nrows, ncols = fig.axes[0].get_subplotspec().get_gridspec().get_geometry()
    mean_w = (w - left - right - (ncols - 1) * wgap) / ncols
    mean_h = (h - top - bottom - (nrows - 1) * hgap) / nrows
    fig.subplots_adjust(left=left / w, right=1 - right / w, bottom=bottom / h, top=1 - top / h,
                        wspace=wgap / mean_w, hspace=hgap / mean_h)


def _subplots(*args, **kwargs):
    """``plt.subplots`` with each title fixed at the top of its axes (``axes.titley = 1``): left
    to place them, Matplotlib measures the x tick labels of every axes at each draw to lift a
    title above labels drawn on top, which these figures never draw."""
    with plt.rc_context({"axes.titley": 1.0}):
        return plt.subplots(*args, **kwargs)


def _save(fig, path: Path, tight: bool = False) -> Path:
    """Write ``fig`` (already laid out) as PNG; ``tight``: crop to what is drawn (legends outside the axes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight" if tight else None)
    plt.close(fig)
    return path


def shade(ax, t: np.ndarray, where: np.ndarray, step: float, color: str = "grey", alpha: float = 0.18,
          zorder: float = 0) -> None:
    """Shade each run of steps where ``where`` holds, each step ``step`` wide (centred on ``t``)."""
    w = np.concatenate([[False], np.asarray(where, bool), [False]]).astype(int)
    for on, off in zip(np.flatnonzero(np.diff(w) == 1), np.flatnonzero(np.diff(w) == -1)):
        ax.axvspan(t[on] - step / 2, t[off - 1] + step / 2, color=color, alpha=alpha, lw=0, zorder=zorder)


def _members(ax, x, y, label, color):
    y = np.asarray(y, dtype=float)
    if y.ndim == 2 and y.shape[1] > 1:
        ax.plot(x, y, color=color, alpha=0.25, lw=0.8)
        ax.plot(x, np.nanmean(y, 1), color=color, lw=2, label=f"{label} (mean of {y.shape[1]})")
    else:
        ax.plot(x, y.reshape(len(x), -1)[:, 0], color=color, lw=2, label=label)


class _PlainLogFormatter(matplotlib.ticker.LogFormatter):
    """Matplotlib's choice of which log ticks to label, each written ``%g`` (``0.6``, ``0.001``,
    ``1e-05``)."""

    def __call__(self, x, pos=None):
        return f"{x:g}" if super().__call__(x, pos) else ""


def _plain_log_labels(ax) -> None:
    """Label a log y axis with plain numbers: Matplotlib's ``6×10⁻¹`` labels (of a span under a
    decade) are wider than the fixed margin of ``place_grid`` leaves for them."""
    ax.yaxis.set_major_formatter(_PlainLogFormatter())
    ax.yaxis.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False))


_LOSS_NAME = {"mse": "masked MSE", "accuracy": "cross-entropy"}


def loss_curve(history: History, path: Path) -> Path:
    """Training and evaluation loss, the task metric and (for curricula) N against step."""
    steps = np.asarray(history.step)
    curriculum = bool(history.stages)
    n = 3 if curriculum else 2
    fig, axes = _subplots(1, n, figsize=(4.2 * n, 3.4), squeeze=False)
    axes = axes[0]
    _members(axes[0], steps, history.train_loss, "train", "C0")
    _members(axes[0], steps, history.eval_loss, "eval", "C1")
    axes[0].set(xlabel="training step", ylabel=f"loss ({_LOSS_NAME.get(history.metric_name, 'task loss')})",
                yscale="log", title="loss")
    _plain_log_labels(axes[0])
    axes[0].legend(fontsize=8)
    _members(axes[1], steps, history.metric, history.metric_name, "C2")
    axes[1].set(xlabel="training step", ylabel=history.metric_name, title=f"{history.metric_name} (evaluation)")
    if history.metric_name == "mse":
        axes[1].set_yscale("log")
        _plain_log_labels(axes[1])
    if curriculum:
        _members(axes[2], steps, history.level, "N", "C3")
        axes[2].set(xlabel="training step", ylabel="N", title="curriculum level")
    place_grid(fig)
    return _save(fig, path)


def example_trials(model: RecurrentModel, task: Task, key, path: Path, n: int = 3, *, batch=None,
                   outputs=None) -> Path:
    """Inputs, targets (dashed), outputs (solid) and scored steps (shaded) of ``n`` trials.

    The trials are ``task.sample(key, n)`` run through ``model``, or the first ``n`` of ``batch``
    with the network's ``outputs`` on it when both are given (one batch for several figures).
    For cross-entropy tasks the output shown is the probability of the target's class
    family: ``softmax`` of each head, class 1. At most 6 output channels are drawn. A
    cross-entropy task with several scored heads (N-parity's one head per N) gets one row per
    head instead (``_head_rows``): overlaid, six heads are unreadable.
    """
    if batch is None or outputs is None:
        batch = sample_batch(task, key, n)
        _, outputs = run_batch(model, batch.inputs, key)
    inputs, targets, mask, out = (np.asarray(a)[:n] for a in (batch.inputs, batch.targets, batch.mask, outputs))
    ylabel = "output"
    if task.loss == "cross_entropy" and _scored_heads(mask, task.n_classes).size > 1:
        return _head_rows(task, inputs, targets, mask, out, path)
    if task.loss == "cross_entropy":
        c = task.n_classes
        logits = out.reshape(*out.shape[:-1], -1, c)
        e = np.exp(logits - logits.max(-1, keepdims=True))
        out = (e / e.sum(-1, keepdims=True))[..., 1]
        targets = targets.reshape(*targets.shape[:-1], -1, c)[..., 1]
        mask = mask.reshape(*mask.shape[:-1], -1, c)[..., 0]
        ylabel = "P(class 1) per head"
    shown = np.flatnonzero(mask.reshape(-1, mask.shape[-1]).any(0))[:6]
    step, xlabel = time_axis(task)
    fig, axes = _subplots(2, n, figsize=(4.2 * n, 5.6), sharex=True, squeeze=False)
    t = np.arange(inputs.shape[1]) * step
    n_in = inputs.shape[-1]
    legend_rows = -(-n_in // 8) if n_in <= 12 else 0
    place_grid(fig, bottom=0.55 + 0.25 * legend_rows)
    for i in range(n):
        lines = axes[0, i].plot(t, inputs[i], lw=1, drawstyle="steps-mid")  # held for a step: no ramps
        if i == 0 and legend_rows:  # one legend for the row, under the figure, off the traces
            fig.legend(lines, [f"input {c}" for c in range(n_in)], loc="lower center", ncols=min(n_in, 8),
                       fontsize=9, frameon=False, borderaxespad=0.2)
        axes[0, i].set_title(f"trial {i}: inputs ({inputs.shape[-1]} channels)", fontsize=10)
        axes[0, i].set_ylabel("input (a.u.)")
        ax = axes[1, i]
        for j, ch in enumerate(shown):
            col = f"C{j % 10}"
            scored = mask[i, :, ch] > 0
            ax.plot(t, out[i, :, ch], color=col, lw=1.5, drawstyle="steps-mid")
            ax.plot(t[scored], targets[i, scored, ch], color=col, ls="--" if scored.sum() > 1 else "",
                    marker="" if scored.sum() > 1 else "o")
        shade(ax, t, mask[i].any(-1) > 0, step)
        ax.set_title("outputs (solid), targets (dashed or dots)", fontsize=10)
        ax.set(xlabel=xlabel, ylabel=ylabel)
        if task.loss == "cross_entropy":
            ax.set_ylim(-0.05, 1.05)
    return _save(fig, path)


def _scored_heads(mask: np.ndarray, n_classes: int) -> np.ndarray:
    """Indices of the heads scored somewhere in ``mask [B, T, H·C]``."""
    m = mask.reshape(*mask.shape[:-1], -1, n_classes)[..., 0]
    return np.flatnonzero(m.reshape(-1, m.shape[-1]).any(0))


def _head_rows(task: Task, inputs, targets, mask, out, path: Path) -> Path:
    """Multi-head cross-entropy trials: per trial, the inputs on top, then one row per scored head
    (at most 8) with the network's probability of the correct class at each scored step
    (points: right when above 0.5, red when wrong) and the target class printed at the step.
    Heads are named by the N they answer for where the task has ``head_ns`` (head k: N = k + 1)."""
    c = task.n_classes
    logits = out.reshape(*out.shape[:-1], -1, c)
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p = p / p.sum(-1, keepdims=True)
    onehot = targets.reshape(*targets.shape[:-1], -1, c)
    m = mask.reshape(*mask.shape[:-1], -1, c)[..., 0] > 0  # [n, T, H]
    p_right = (p * onehot).sum(-1)
    label = onehot.argmax(-1)
    heads = _scored_heads(mask, c)[:8]
    names = [f"N={h + 1}" if hasattr(task, "head_ns") else f"head {h}" for h in heads]
    step, xlabel = time_axis(task)
    n, T = inputs.shape[0], inputs.shape[1]
    t = np.arange(T) * step
    rows = 1 + len(heads)
    fig, axes = _subplots(rows, n, figsize=(4.2 * n, 1.5 + 1.05 * rows), sharex=True, squeeze=False,
                          gridspec_kw={"height_ratios": [1.6] + [1] * len(heads)})
    place_grid(fig, left=0.75, top=0.65, hgap=0.12, wgap=0.85)
    for i in range(n):
        ax = axes[0, i]
        ax.plot(t, inputs[i], lw=1, drawstyle="steps-mid")
        ax.set_title(f"trial {i}: inputs", fontsize=10)
        ax.set_ylabel("input", fontsize=8)
        for r, (h, name) in enumerate(zip(heads, names), start=1):
            ax = axes[r, i]
            s = m[i, :, h]
            ok = p_right[i, s, h] > 0.5
            ax.axhline(0.5, color="grey", lw=0.6, ls=":")
            ax.vlines(t[s], 0, p_right[i, s, h], color="0.75", lw=0.8)
            ax.scatter(t[s][ok], p_right[i, s, h][ok], s=10, color="C2", zorder=3)
            ax.scatter(t[s][~ok], p_right[i, s, h][~ok], s=14, color="C3", marker="x", zorder=3)
            if s.sum() <= 40:  # the target class at each scored step, when there is room
                for tt, cls in zip(t[s], label[i, s, h]):
                    ax.text(tt, 1.08, str(cls), ha="center", va="bottom", fontsize=6, color="0.3")
            ax.set_ylim(-0.05, 1.3)
            ax.set_yticks([0, 0.5, 1])
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_ylabel(f"{name}\nP(correct)", fontsize=8)
        axes[-1, i].set_xlabel(xlabel)
    fig.suptitle("probability of the correct class per head at scored steps (green: right, red ×: wrong; "
                 "digits: target class)", fontsize=9, y=1 - 0.08 / fig.get_size_inches()[1], va="top")
    return _save(fig, path)


def tau_histogram(taus: np.ndarray, path: Path, stages: list[dict] | None = None, *, scale: float = 1.0,
                  unit: str = "units of dt") -> Path:
    """Histogram of single-neuron τ; with curriculum ``stages``, one per N reached (member 0).

    Every τ is multiplied by ``scale`` and shown in ``unit`` (``tau_scale`` gives both for a run).
    """
    fig, ax = _subplots(figsize=(5, 3.4))
    taus = np.asarray(taus, dtype=np.float64).ravel() * scale
    bins = _bins(taus[np.isfinite(taus)], 30)
    if stages:
        seen = [s for s in stages if s["member"] == 0 and s["taus"]]
        for j, s in enumerate(seen):
            ax.hist(np.asarray(s["taus"]) * scale, bins=bins, histtype="step", lw=1.5,
                    color=plt.cm.viridis(j / max(len(seen) - 1, 1)), label=f"N={s['n']} (step {s['step']})")
    ax.hist(taus, bins=bins, color="k", alpha=0.3, label="final")
    ax.set(xlabel=f"τ ({unit})", ylabel="neurons", title="single-neuron time constants")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5))
    ax.legend(fontsize=8)
    place_grid(fig, left=0.75)
    return _save(fig, path)


def _bins(x: np.ndarray, n: int) -> np.ndarray | int:
    """``n`` bin edges over ``x``; one bin around the value when ``x`` is (nearly) constant, as
    the τ of a network trained a few steps from a single τ are (NumPy cannot split a range
    narrower than its float resolution into ``n`` bins)."""
    if not x.size:
        return n
    lo, hi = float(x.min()), float(x.max())
    if hi - lo <= 1e-9 * max(abs(hi), 1.0):
        w = max(abs(hi) * 0.01, 1e-3)
        return np.array([lo - w, hi + w])
    return np.histogram_bin_edges(x, bins=n)


def tau_scale(model: RecurrentModel, task: Task) -> tuple[float, str]:
    """``(scale, unit)`` that turn the model's τ into the task's time unit: τ / the model's ``dt``
    (steps; 1 for models without ``dt``, whose τ are counted in steps) times the length of a step
    in ms where the task has one (``time_axis``)."""
    model_dt = float(getattr(getattr(model, "cfg", None), "dt", 1.0) or 1.0)
    step, label = time_axis(task)
    if label == "time (ms)":
        return step / model_dt, "ms"
    return 1.0 / model_dt, "steps"
