"""End-to-end rate of the 200-network degeneracy study: networks per minute, and where the
time goes.

Runs ``examples/sweep_degeneracy.yaml`` (200 flip-flop networks: 4 sizes × 50 seeds, trained
to MSE 0.001, each network's ``ood_loss``, then each size's ``degeneracy`` across its seeds) as
``rnnlab sweep run`` does (``rnnlab.sweep.run_sweep``, local workers, one per core), in a
temporary runs folder, from nothing trained. Reported: networks per minute over the whole
call, importing ``rnnlab.sweep`` included (target in ``run_all.TARGETS``), and the split
into

* training: from the start until the per-network analyses begin (expanding the sweep, the
  catalog, spawning the workers, compiling and training every group, writing the runs);
* per-network analyses (``analyse_runs``), group analyses (``analyse_groups``) and the
  sweep's report page (``write_sweep_report``);
* then, untimed in the rate, the largest group's degeneracy analysis run again alone, split
  into its parts (``PARTS``): where the group analyses' time goes.

The stages are timed by wrapping the three functions where ``rnnlab.sweep.runner`` calls
them (its module attributes), so the sweep runs unmodified. JAX's persistent compilation
cache is used as a user's run would find it: a study run again, or one whose programs another
run compiled, finds them there (``study_rate_cold.py`` measures a first run, with it off).

``--quick``: a smoke run of the plumbing: 2 sizes × 3 seeds, 60 steps. ``--keep DIR``: run in
``DIR`` (which must not exist) instead of a temporary folder, and leave the sweep there for
profiling its stages afterwards.

    python benchmarks/study_rate.py [--sweep examples/sweep_degeneracy.yaml] [--workers K] [--quick] [--keep DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import _report
import yaml

SWEEP = Path(__file__).resolve().parents[1] / "examples" / "sweep_degeneracy.yaml"
STAGES = {"analyse_runs": "network_analyses", "analyse_groups": "group_analyses", "write_sweep_report": "report"}
LABELS = {"training": "training", "network_analyses": "per-network analyses", "group_analyses": "group analyses",
          "report": "sweep report page"}


def _quick_spec(spec: dict) -> dict:
    spec = {**spec, "name": spec["name"] + "-quick", "seeds": 3}
    spec["grid"] = {k: v[:2] for k, v in spec["grid"].items()}
    spec["base"] = {**spec["base"], "train": {**spec["base"]["train"], "steps": 60, "eval_every": 20}}
    return spec


# the parts of the degeneracy analysis (rnnlab.analysis.degeneracy, run by the driver), timed
# inside the group analyses: where their time goes
PARTS = {"dmd": "DMD fits (HAVOK)", "similarity_transform_distances": "DSA optimisation (all pairs)",
         "_pair_weight_distances": "permutation-aligned weight distances", "_loss_metric": "OOD losses",
         "state_trajectories": "trajectories for DSA"}


def _profile_largest_group(sweep: Path, root: Path) -> dict[str, float]:
    """Where a group analysis's time goes: the degeneracy analysis of the sweep's largest group
    (its networks' stored size) run again here, alone, after the timed sweep, with the functions
    of ``PARTS`` timed where ``rnnlab.analysis.degeneracy`` calls them (in the sweep the groups
    run in spawned processes, two at a time). Returns seconds per part, ``total`` and ``group``."""
    import importlib

    from rnnlab.store.run import Run
    from rnnlab.sweep import load_sweep, sweep_dir
    from rnnlab.sweep.groups import _by_group, _model_bytes
    from rnnlab.sweep.spec import swept_values

    spec, runs = load_sweep(sweep)
    d = sweep_dir(spec, root)
    group, members = max(_by_group(runs).items(), key=lambda kv: sum(_model_bytes(d / r.id) for r in kv[1]))
    task = Run(d, members[0].id).config().build_task()
    models = [Run(d, r.id).load_model() for r in members]
    mod = importlib.import_module("rnnlab.analysis.degeneracy")
    with _report.timed_calls(mod, PARTS) as calls:
        start = time.perf_counter()
        mod.degeneracy(models, task, 0, names=[f"s{r.config.seed}" for r in members])
        total = time.perf_counter() - start
    label = ", ".join(f"{k.split('.')[-1]} {v}" for k, v in swept_values(spec, members[0]).items()) or group
    return {**calls.seconds, "total": total, "group": label}


def run(quick: bool = False, sweep: Path = SWEEP, workers: int | None = None, keep: Path | None = None,
        prefix: str = "study_rate", note: str = "") -> list[dict]:
    """Rows ``<prefix>.rate`` (networks per minute, end to end) and ``<prefix>.<stage>``
    (seconds per stage, with its share of the whole); ``note`` ends each row's label."""
    spec = yaml.safe_load(Path(sweep).read_text())
    if quick:
        spec = _quick_spec(spec)
    if keep is not None:
        Path(keep).mkdir(parents=True)  # refuses an existing folder: the rate is from nothing trained
    with (contextlib.nullcontext(str(keep)) if keep is not None
          else tempfile.TemporaryDirectory(prefix="rnnlab-study-rate-")) as d:
        path = Path(d) / "sweep.yaml"
        path.write_text(yaml.safe_dump(spec, sort_keys=False))
        t0 = time.perf_counter()
        from rnnlab.sweep import runner

        with _report.timed_calls(runner, STAGES) as calls:
            counts = runner.run_sweep(path, Path(d) / "runs", workers=workers, progress=False)
        total = time.perf_counter() - t0
        parts = _profile_largest_group(path, Path(d) / "runs") if "analyse_groups" in calls.seconds else {}
    spans = {"training": min(calls.first.values()) - t0,
             **{STAGES[name]: secs for name, secs in calls.seconds.items()}}
    n = sum(counts.values())
    rate = n / (total / 60)
    status = ", ".join(f"{k} {v}" for k, v in counts.items() if v)
    print(f"{spec['name']}: {n} networks ({status}) in {total:.1f} s -> {rate:.1f} networks/min")
    rows = [_report.row(f"{prefix}.rate", f"{spec['name']} ({n} networks), end to end{note}", rate, "networks/min",
                        seconds=total, statuses=dict(counts))]
    for stage, secs in spans.items():
        print(f"    {LABELS[stage]:22s} {secs:8.1f} s  {secs / total:6.1%}")
        rows.append(_report.row(f"{prefix}.{stage}", f"{spec['name']}: {LABELS[stage]}{note}", secs, "s",
                                share=secs / total))
    if parts:
        whole, group = parts.pop("total"), parts.pop("group")
        print(f"  the degeneracy analysis of group {group} alone: {whole:.1f} s, of which")
        for name, secs in parts.items():
            print(f"    {PARTS[name]:40s} {secs:8.1f} s  {secs / whole:6.1%}")
            rows.append(_report.row(f"{prefix}.group_part.{name}", f"{spec['name']}, group ({group}) "
                                    f"analysed alone: {PARTS[name]}{note}", secs, "s", share=secs / whole))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", type=Path, default=SWEEP, help="sweep file (default: the degeneracy study)")
    ap.add_argument("--workers", type=int, default=None, help="local worker processes (default: cores)")
    ap.add_argument("--keep", type=Path, default=None, help="run in this new folder and leave the sweep there")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
