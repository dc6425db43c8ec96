"""Psychometric curves of decision tasks: the fraction of choices for option 1 against the
signed stimulus strength, by condition, from a fresh batch.

A trial's choice is read from the network's output in the scored (decision / response) window:

- cross-entropy tasks (``perceptual_decision``, ``context_decision``): the class with the larger
  time-averaged output over the decision steps (choice 1 = class 1);
- ``delayed_discrimination`` (MSE, target ``sign(f2 − f1)``): choice 1 ("f2 > f1") when the
  output averaged over the response window is positive; every channel counts as a trial.

The signed strength is, per task: the signed coherence (%, positive towards choice 1);
``context_decision``: the signed coherence of each modality, one panel per modality and one
curve per context (Mante et al. 2013, Fig. 1: steep for the cued modality, flat for the other);
``delayed_discrimination``: ``f2 − f1`` in the task's amplitude units, in 10 equal bins over
its range (x is the mean of each bin's trials). Error bars are 95% Wilson score intervals of
the binomial proportion ``k / n``.

No chronometric (response-time) curve is drawn: no rnnlab decision task is a reaction-time
task. Each scores a decision window whose onset the task sets (the fixation offset, or a fixed
response window), so the network's response time is fixed by the trial, not chosen by the
network; a response time would need a task in which the network's own output ends the trial.
``go_nogo`` and ``delay_match_sample`` are decisions without a signed strength (go/no-go, and
match/non-match of directions), so they have no psychometric curve either.

A ``multitask`` mixture gets the curves of each decision sub-task from the trials of its rule
(the sub-task's own steps, inputs and outputs cut from the padded batch; panels named by the
sub-task). NeuroGym tasks have none: their trial variables are not a signed strength in a
common form (each environment names its own), so no reader is written for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..models import RecurrentModel
from ..tasks import Task
from .figures import _save, plt, run_batch, sample_batch

__all__ = ["Curve", "choice_rule", "has_psychometric", "psychometric", "psychometric_figure",
           "psychometric_from", "wilson"]

_Z95 = 1.959963984540054
_BINS = 10  # delayed_discrimination: equal-width bins of f2 - f1


@dataclass(frozen=True)
class Curve:
    """One psychometric curve: ``k[i]`` of ``n[i]`` trials at strength ``x[i]`` chose option 1.

    ``panel`` names the x axis (with units) the curve is drawn against; ``label`` the condition.
    """

    panel: str
    label: str
    x: np.ndarray
    n: np.ndarray
    k: np.ndarray

    @property
    def p(self) -> np.ndarray:
        return self.k / self.n

    def interval(self) -> tuple[np.ndarray, np.ndarray]:
        """95% Wilson score interval of each ``p``."""
        return wilson(self.k, self.n)


def wilson(k: np.ndarray, n: np.ndarray, z: float = _Z95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval ``(low, high)`` of a binomial proportion ``k / n``."""
    k, n = np.asarray(k, float), np.asarray(n, float)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _levels(label: str, panel: str, x: np.ndarray, choice: np.ndarray, keep: np.ndarray | None = None) -> Curve:
    """Group trials by their exact strength ``x`` (``keep``: which trials count)."""
    if keep is not None:
        x, choice = x[keep], choice[keep]
    x = x + 0.0  # -0.0 (zero coherence towards choice 0) is the same level as 0.0
    levels, idx = np.unique(x, return_inverse=True)
    n = np.bincount(idx, minlength=len(levels))
    k = np.bincount(idx, weights=choice, minlength=len(levels))
    return Curve(panel, label, levels, n, k.astype(int))


def _binned(label: str, panel: str, x: np.ndarray, choice: np.ndarray, span: float) -> Curve:
    edges = np.linspace(-span, span, _BINS + 1)
    idx = np.clip(np.digitize(x, edges) - 1, 0, _BINS - 1)
    n = np.bincount(idx, minlength=_BINS)
    k = np.bincount(idx, weights=choice, minlength=_BINS)
    s = np.bincount(idx, weights=x, minlength=_BINS)
    used = n > 0
    return Curve(panel, label, s[used] / n[used], n[used], k[used].astype(int))


def _class_choice(out: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per trial, 1 if class 1's output averaged over the scored steps beats class 0's."""
    scored = mask[..., 0] > 0  # [B, T]: the decision window
    mean = (out * scored[..., None]).sum(1) / np.maximum(scored.sum(1), 1)[:, None]
    return (mean[:, 1] > mean[:, 0]).astype(float)


def _perceptual(task, out, batch) -> list[Curve]:
    info = {k: np.asarray(v) for k, v in batch.info.items()}
    choice = _class_choice(out, np.asarray(batch.mask))
    return [_levels("all trials", "signed coherence (%, + towards choice 1)", info["signed_coherence"], choice)]


def _context(task, out, batch) -> list[Curve]:
    info = {k: np.asarray(v) for k, v in batch.info.items()}
    choice = _class_choice(out, np.asarray(batch.mask))
    curves = []
    for m in (0, 1):
        signed = np.where(info[f"choice_{m}"] == 1, 1.0, -1.0) * info[f"coherence_{m}"]
        panel = f"modality {m} signed coherence (%, + towards choice 1)"
        for ctx in (0, 1):
            label = f"context {ctx} ({'cued' if ctx == m else 'ignored'})"
            curves.append(_levels(label, panel, signed, choice, info["context"] == ctx))
    return curves


def _discrimination(task, out, batch) -> list[Curve]:
    info = {k: np.asarray(v) for k, v in batch.info.items()}
    mask = np.asarray(batch.mask)
    on, off = info["response_on"], info["response_off"]
    t = np.arange(out.shape[1])
    window = ((t >= on[:, None]) & (t < off[:, None]))[..., None] & (mask > 0)  # [B, T, C]
    mean = (out * window).sum(1) / np.maximum(window.sum(1), 1)
    choice = (mean > 0).astype(float).ravel()
    diff = (info["f2"] - info["f1"]).ravel()
    span = task.f_max - task.f_min
    return [_binned("all trials", "f2 − f1 (amplitude units)", diff, choice, span)]


_CHOICE = {
    "perceptual_decision": "the class with the larger output averaged over the decision period",
    "context_decision": "the class with the larger output averaged over the decision period; one panel per "
                        "modality, one curve per context (cued: the context names that modality)",
    "delayed_discrimination": "the sign of the output averaged over the response window (choice 1: f2 > f1; "
                              "every channel counts as a trial; f2 − f1 in 10 equal bins)",
}

_READERS: dict[str, Callable] = {
    "perceptual_decision": _perceptual,
    "context_decision": _context,
    "delayed_discrimination": _discrimination,
}


def has_psychometric(task: Task) -> bool:
    """Whether ``task`` is a decision task with a signed stimulus strength, or a multitask mixture
    holding one (see the module docstring)."""
    if task.name == "multitask":
        return any(has_psychometric(t) for t in task.tasks)
    return task.name in _READERS


def choice_rule(task: Task) -> str:
    """How a trial's choice is read from the network's output (for a figure's caption)."""
    if task.name == "multitask":
        return "; ".join(f"{t.name}: {choice_rule(t)}" for t in dict.fromkeys(task.tasks) if has_psychometric(t))
    return _CHOICE[task.name]


def psychometric(model: RecurrentModel, task: Task, key, n_trials: int = 2048) -> list[Curve]:
    """The psychometric curves of ``model`` on ``n_trials`` fresh trials ``task.sample(key, n_trials)``
    (the network run with the same ``key``)."""
    if not has_psychometric(task):
        raise ValueError(f"task: '{task.name}' has no psychometric curve (one of {sorted(_READERS)})")
    batch = sample_batch(task, key, n_trials)
    _, out = run_batch(model, batch.inputs, key)
    return psychometric_from(task, batch, out)


def psychometric_from(task: Task, batch, outputs) -> list[Curve]:
    """The psychometric curves of the network ``outputs [B, T, O]`` on ``batch`` (a batch of ``task``)."""
    if not has_psychometric(task):
        raise ValueError(f"task: '{task.name}' has no psychometric curve (one of {sorted(_READERS)} or a "
                         f"multitask holding one)")
    if task.name == "multitask":
        return _multitask(task, np.asarray(outputs), batch)
    return _READERS[task.name](task, np.asarray(outputs), batch)


def _multitask(task, out, batch) -> list[Curve]:
    """Each decision sub-task's curves from the trials of its rule, its own part of the padded batch."""
    from ..tasks import Batch

    rule = np.asarray(batch.info["rule"])
    curves = []
    for r, (name, sub) in enumerate(zip(task._keys(), task.tasks)):
        sel = rule == r
        if not has_psychometric(sub) or not sel.any():
            continue
        T, O = sub.n_steps, sub.n_outputs
        part = Batch(np.asarray(batch.inputs)[sel, :T, :sub.n_inputs], np.asarray(batch.targets)[sel, :T, :O],
                     np.asarray(batch.mask)[sel, :T, :O],
                     {k.split("/", 1)[1]: np.asarray(v)[sel] for k, v in batch.info.items() if k.startswith(name + "/")})
        for c in psychometric_from(sub, part, out[sel, :T, :O]):
            curves.append(Curve(f"{name}: {c.panel}", c.label, c.x, c.n, c.k))
    return curves


def psychometric_figure(curves: list[Curve], path: Path, title: str = "") -> Path:
    """One panel per x axis: P(choice 1) with 95% Wilson intervals, one line per condition."""
    panels = list(dict.fromkeys(c.panel for c in curves))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.8), squeeze=False)
    for ax, panel in zip(axes[0], panels):
        for j, c in enumerate(x for x in curves if x.panel == panel):
            lo, hi = c.interval()
            ax.errorbar(c.x, c.p, yerr=np.clip([c.p - lo, hi - c.p], 0, None), fmt="o-", ms=4, lw=1.5, capsize=2.5,
                        color=f"C{j}", label=f"{c.label} (n={int(c.n.sum())})")
        ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
        ax.axvline(0.0, color="0.6", lw=0.8, ls=":")
        task_name, sep, xlabel = panel.partition(": ")
        if sep and " " not in task_name:  # a multitask sub-task's panel: its name as the title
            ax.set_title(task_name, fontsize=10)
        else:
            xlabel = panel
        ax.set(xlabel=xlabel, ylabel="P(choice 1)", ylim=(-0.03, 1.03))
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=2, frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return _save(fig, path, tight=True)


