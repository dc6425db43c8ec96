"""The study page: the claim table on top, the figures that mirror the paper's, the tables.

``<study>/index.html`` links every network's own page (``runs/<id>/index.html``, drawn here
for runs that have none yet) and the CSV files; it is rebuilt from disk by
``rnnlab study report DIR``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..report.html import provenance, write_page
from ._base import Study, StudyData

__all__ = ["write_study_report", "format_claims"]

_CLAIM_COLUMNS = ["claim", "outcome", "statement", "estimate [95% CI]", "p", "testable at"]
_DETAIL_COLUMNS = ["claim", "statistic", "test", "p_holm", "effect", "n", "n_dropped", "reason"]


def _ci(lo: Any, hi: Any) -> str:
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f"[{lo:.3g}, {hi:.3g}]"


def _claim_rows(claims) -> list[dict[str, Any]]:
    out = []
    for r in claims.to_dict(orient="records"):
        eff = r.get("effect_size")
        v = r.get("value")
        ci = _ci(r.get("ci_low"), r.get("ci_high"))
        out.append({**r, "claim": r["id"], "CI": ci,
                    "estimate [95% CI]": "" if v is None or not math.isfinite(v) else f"{v:.3g} {ci}".strip(),
                    "effect": "" if eff is None or not math.isfinite(eff) else f"{r.get('effect_name', '')} {eff:.3g}",
                    "testable at": "paper scale" if r.get("needs") == "paper" else "quick scale",
                    "needs": "paper scale" if r.get("needs") == "paper" else "quick scale"})
    return out


def format_claims(claims) -> list[list[str]]:
    """The claim table as rows of short strings (for the terminal): id, outcome, value, CI, p, needs."""
    rows = []
    for r in _claim_rows(claims):
        v = r.get("value")
        rows.append([r["id"], r["outcome"], "" if v is None or not math.isfinite(v) else f"{v:.3g}", r["CI"],
                     "" if r.get("p") is None or not math.isfinite(r["p"]) else f"{r['p']:.3g}", r["needs"]])
    return rows


def _run_pages(data: StudyData, progress: bool) -> None:
    """Draw the page of every finished network that has none (sweeps write runs without figures)."""
    from ..report import write_run_report
    from ..store.run import Run
    from ..store.status import is_finished
    from ..train.curricula import final_task

    root = data.dir / "runs"
    todo = [i for i, s in zip(data.table["id"], data.table["status"])
            if is_finished(s) and not (root / i / "index.html").is_file()] if len(data.table) else []
    todo = list(dict.fromkeys(todo))
    if not todo:
        return
    from ..sweep._progress import Bar

    with Bar(progress, len(todo), 0, "pages") as bar:
        for rid in todo:
            run = Run(root, rid)
            cfg = run.config()
            hist = run.history()
            task = final_task(cfg.build_task(), cfg.train.curriculum, hist.level)
            write_run_report(run.dir, f"{data.dir.name}: network {rid}", run.load_model(), task, hist,
                             run.summary(), ensemble=False)
            bar.advance()


def write_study_report(study: Study, data: StudyData, claims, manifest: dict[str, Any], *,
                       progress: bool = False) -> Path:
    """Write ``<study>/index.html`` (and the figures under ``<study>/figures``)."""
    d = data.dir
    _run_pages(data, progress)
    figs = study.figures(data, d / "figures") if study.figures is not None and len(data.table) else []
    t = data.table
    counts = {s: int((t["status"] == s).sum()) for s in ("converged", "budget", "failed")} if len(t) else {}
    outcomes = claims["outcome"].value_counts().to_dict()
    sc = data.scale
    summary = {
        "paper": study.paper, "study version": study.version, "scale": sc.name,
        "seeds per condition": manifest.get("seeds", sc.seeds), "conditions": len(sc.conditions),
        "networks (rows)": len(t), **{f"networks {k}": v for k, v in counts.items()},
        "claims": ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
        "wall time of the last run (min)": round(manifest.get("last_run_s", float("nan")) / 60, 2),
        f"expected wall time (min, {sc.hardware})": sc.expected_minutes,
    }
    paper_only = [c.id for c in study.claims if c.needs == "paper"]
    intro = study.summary + (
        f"\n\nClaims marked 'paper scale' ({', '.join(paper_only)}) are not expected to be testable at the "
        "quick scale's sizes and budgets; their quick outcome is shown but not relied on." if paper_only else "")
    intro += ("\n\nOutcome rule: pass = one-sided p < 0.05 with the effect in the claimed direction; "
              "fail = enough samples for the test but no significant effect in that direction; inconclusive = "
              "too few samples for the test to reach p < 0.05, or too many unreliable measurements "
              "(rnnlab.studies.claims).")
    table_cols = [c for c in t.columns if "@" not in c and c not in ("members", "wall_time_s", "final_eval_loss")]
    rows = t.to_dict(orient="records")
    for r in rows:
        r["_page"] = d / "runs" / r["id"] / "index.html" if (d / "runs" / r["id"] / "index.html").is_file() else ""
    sections = [
        {"heading": "Claims", "intro": intro,
         "tables": [{"caption": "each claim, its estimate across seeds, and the outcome", "columns": _CLAIM_COLUMNS,
                     "rows": _claim_rows(claims), "sortable": True},
                    {"caption": "details: the statistic, the test, the Holm-adjusted p over the study's claims, the "
                                "effect size, the samples used and dropped, and why the outcome is what it is",
                     "columns": _DETAIL_COLUMNS, "rows": _claim_rows(claims), "sortable": True}]},
        {"heading": "Study", "summary": summary,
         "links": [(d / "claims.json", "claims.json"), (d / "table.csv", "table.csv (one row per network)"),
                   (d / "groups.csv", "groups.csv (one row per condition)")]},
    ]
    if figs:
        sections.append({"heading": "Figures", "figures": figs})
    sections.append({"heading": "Conditions", "tables": [{
        "caption": "one row per condition: networks by status and the group analyses",
        "columns": list(data.groups.columns), "rows": data.groups.to_dict(orient="records"), "sortable": True}]})
    sections.append({"heading": "Networks", "tables": [{
        "caption": "one row per network (the id links to the network's own page); per-N and per-parameter "
                   "columns (name@N=n) are in table.csv",
        "columns": table_cols, "rows": rows, "links": {"id": "_page"}, "sortable": True}]})
    return write_page(d / "index.html", f"study {study.name} ({sc.name})", sections,
                      provenance=provenance({"study": f"{study.name} {study.version}"}))
