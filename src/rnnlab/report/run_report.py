"""The report of one training run: its figures and ``index.html`` in the run directory.

``write_run_report`` draws the figures into ``figures/`` and lists them, with their captions, in
``figures.json``; the page itself is built from the files on disk (``run_sections``),
so that ``write_analysis_page`` rebuilds the same page after an analysis (the analyses saved
under ``analysis/`` are sections of both). Figures:
the learning curves, example trials, and where they apply the psychometric curve (decision
tasks: ``decision``), the spike raster, population rate and voltage traces (spiking networks:
``spikes``) and the histogram of single-neuron time constants.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import numpy as np

from ..models import RecurrentModel
from ..store._atomic import write_text_atomic
from ..tasks import Task
from ..train import History, member
from .decision import (
    choice_rule,
    has_psychometric,
    psychometric_figure,
    psychometric_from,
)
from .figures import (
    example_trials,
    loss_curve,
    run_batch,
    sample_batch,
    tau_histogram,
    tau_scale,
    time_axis,
)
from .html import provenance, write_page
from .spikes import is_spiking, spike_figure

__all__ = ["FIGURES_FILE", "analysis_sections", "run_sections", "write_run_page", "write_run_report",
           "write_stored_run_report"]

FIGURES_FILE = "figures.json"  # in the run directory: [{file (in figures/), section, caption}]

_MEANING = {
    "converged": "reached its threshold or passed the last curriculum level",
    "budget": "spent its step budget without converging",
    "failed": "stopped on a non-finite loss",
}
_KEY = 12345  # the fresh batches of a run page's figures
_N_PSYCHOMETRIC = 2048

# pages written before figures.json: the files and captions they had
_LEGACY_FIGURES = (
    ("loss.png", "loss and metric against training step", "training"),
    ("trials.png", "example trials", "behaviour"),
    ("taus.png", "single-neuron time constants τ", "activity"),
)
_SECTIONS = ("training", "behaviour", "activity")


def _status_line(summary: dict[str, Any]) -> str:
    """``status (meaning)``, with the N reached for a curriculum (e.g. ``budget (...); N reached 4``)."""
    status = summary.get("status", "unknown")
    line = f"{status} ({_MEANING[status]})" if status in _MEANING else str(status)
    if summary.get("max_n_reached"):
        line += "; N reached " + ", ".join(str(n) for n in summary["max_n_reached"])
    return line


def write_run_report(
    run_dir: Path, title: str, model: RecurrentModel, task: Task, history: History,
    summary: dict[str, Any], ensemble: bool,
) -> list[Path]:
    """Draw the run's figures into ``run_dir/figures`` and write ``run_dir/index.html``.

    ``summary`` is shown as given (the run's ``summary.json`` need not be written yet).
    Returns the PNG paths (the page is ``run_dir / "index.html"``).
    """
    run_dir = Path(run_dir)
    figdir = run_dir / "figures"
    first = member(model, 0) if ensemble else model
    m0 = " (member 0)" if ensemble else ""
    key = jax.random.PRNGKey(_KEY)
    xlabel = time_axis(task)[1]
    metric = history.metric_name
    loss = "cross-entropy" if task.loss == "cross_entropy" else "masked MSE"
    caption = (f"Learning curves: {loss} loss (left, log scale) on the training batches (mean since the previous "
               f"evaluation) and on fresh evaluation batches, and the task metric ({metric}, evaluation batches) "
               f"against training step" + (" (thin lines: members; thick: their mean)" if ensemble else "") + ".")
    figs = [(loss_curve(history, figdir / "loss.png"), "training", caption)]
    out_text = "the probability of class 1 of each head" if task.loss == "cross_entropy" else "the outputs"
    caption = (f"Three example trials of a fresh batch{m0}: the inputs (top) and {out_text} (solid) with their "
               f"targets (dashed) against {xlabel}; grey: the scored steps.")
    # one fresh batch (and one compilation per network shape) for the example trials and the psychometric curve
    batch = sample_batch(task, key, _N_PSYCHOMETRIC if has_psychometric(task) else 3)
    outputs = run_batch(first, batch.inputs, key)[1]
    figs.append((example_trials(first, task, key, figdir / "trials.png", batch=batch, outputs=outputs),
                 "behaviour", caption))
    if has_psychometric(task):
        curves = psychometric_from(task, batch, outputs)
        caption = (f"Psychometric curve{m0}: fraction of the batch's {_N_PSYCHOMETRIC} trials in which the network chose "
                   f"option 1 ({choice_rule(task)}), against the signed stimulus strength; error bars: 95% Wilson "
                   "intervals. No chronometric curve: the task fixes when the network responds "
                   "(rnnlab.report.decision).")
        figs.append((psychometric_figure(curves, figdir / "psychometric.png"), "behaviour", caption))
    if is_spiking(first):
        rate = "Hz per unit" if xlabel == "time (ms)" else "spikes per unit and step"
        caption = (f"Spiking activity of two example trials{m0}: raster of up to 100 units (black: a spike), "
                   f"population rate ({rate}; dashed: mean of 64 trials) and the membrane potential of each "
                   "trial's three most active units with their thresholds (dashed) and spikes (|); orange: "
                   "the scored steps.")
        figs.append((spike_figure(first, task, key, figdir / "spikes.png"), "activity", caption))
    taus = model.taus()
    if taus is not None:
        scale, unit = tau_scale(first, task)
        which = "membrane time constants τ_mem" if is_spiking(first) else "time constants τ"
        caption = (f"Single-neuron {which} in {unit}" + (" (all members)" if ensemble else "")
                   + " of the final network (grey)"
                   + ("; outlines: at each curriculum level N reached" if history.stages else "") + ".")
        png = tau_histogram(np.asarray(taus), figdir / "taus.png", history.stages, scale=scale, unit=unit)
        figs.append((png, "activity", caption))
    manifest = [{"file": p.name, "section": sec, "caption": cap} for p, sec, cap in figs]
    write_text_atomic(run_dir / FIGURES_FILE, json.dumps(manifest, indent=1))
    write_run_page(run_dir, title, summary)
    return [p for p, _, _ in figs]


def write_run_page(run_dir: Path, title: str, summary: dict[str, Any] | None = None) -> Path:
    """Write ``run_dir/index.html`` from the run directory: ``run_sections`` then ``analysis_sections``."""
    run_dir = Path(run_dir)
    return write_page(run_dir / "index.html", title, [*run_sections(run_dir, summary), *analysis_sections(run_dir)],
                      provenance=provenance({"run": run_dir.name}))


def run_sections(run_dir: Path, summary: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The sections of a run's page from its directory: the summary (``summary``, else
    ``summary.json``), then training, behaviour and activity with the figures ``figures.json``
    lists (pages drawn before it existed: the figures they had)."""
    run_dir = Path(run_dir)
    if summary is None:
        path = run_dir / "summary.json"
        summary = json.loads(path.read_text()) if path.is_file() else {}
    manifest = run_dir / FIGURES_FILE
    if manifest.is_file():
        figs = [(f["file"], f["section"], f["caption"]) for f in json.loads(manifest.read_text())]
    else:
        ensemble = (summary.get("members") or 1) > 1
        figs = [(f, sec, cap + (" (member 0)" if ensemble and f == "trials.png" else ""))
                for f, cap, sec in _LEGACY_FIGURES]
    shown = {"status": _status_line(summary), **{k: v for k, v in summary.items() if k != "status"}}
    sections = [{"heading": "summary", "summary": shown}]
    for name in _SECTIONS:
        found = [(run_dir / "figures" / f, cap) for f, sec, cap in figs
                 if sec == name and (run_dir / "figures" / f).is_file()]
        if found:
            sections.append({"heading": name, "figures": found})
    return sections


def analysis_sections(run_dir: Path) -> list[dict[str, Any]]:
    """One section per analysis result saved under ``run_dir/analysis`` as ``NAME.json`` (its
    summary) with its figure ``NAME.png``."""
    sections = []
    for js in sorted((Path(run_dir) / "analysis").glob("*.json")):
        try:
            meta = json.loads(js.read_text())
        except json.JSONDecodeError:
            continue
        png = js.with_suffix(".png")
        kind = meta.get("type", "result")
        sections.append({
            "heading": f"analysis: {js.stem}",
            "summary": meta.get("summary", {}),
            "figures": [(png, f"{js.stem}: the {kind} result saved in analysis/{js.name} (numbers above)")]
            if png.is_file() else [],
        })
    return sections


def write_stored_run_report(run_dir: Path, title: str | None = None) -> Path:
    """Draw the page of a finished run from its directory (config, weights, history, summary), as
    ``write_run_report`` draws it for a run trained here; returns the page's path."""
    # the package's write_run_report, looked up as the run store does, so that a stub of it holds here too
    from ..store.run import Run
    from ..train.curricula import final_task
    from . import write_run_report as draw

    run_dir = Path(run_dir)
    run = Run(run_dir.parent, run_dir.name)
    cfg, hist = run.config(), run.history()
    task = final_task(cfg.build_task(), cfg.train.curriculum, hist.level)
    draw(run.dir, title or f"rnnlab run {run.id}", run.load_model(), task, hist, run.summary(),
         ensemble=cfg.train.ensemble is not None)
    return run.dir / "index.html"
