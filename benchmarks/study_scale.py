"""Expected wall time of a study scale, from the measured time per training step.

For each condition group of a study scale (one ensemble of the scale's seeds, as the sweep
trains it), time ``--steps`` training steps after compilation with the scale's own config,
then extrapolate to the scale's step budget: the upper bound of its training time (runs that
converge earlier finish sooner; curricula at large N have longer trials than the first ones,
so for them the figure is a lower bound; ``--levels`` times larger N too and averages the
cost over the levels, assuming the steps are spent evenly over N). Analyses are not included.

    python benchmarks/study_scale.py khajehabdollahi2024 --scale paper --steps 200

Prints the load average before and after (figures taken under load are not comparable).
``--quick``: the study's ``quick`` scale, its first condition group, 5 steps (a smoke run). The
study defaults to khajehabdollahi2024.
"""

from __future__ import annotations

import argparse
import os

import _report
import jax
import jax.numpy as jnp
import numpy as np


def run(quick: bool = False, study: str = "khajehabdollahi2024", scale: str = "paper", steps: int = 200,
        groups: int | None = None, levels: list[int] | None = None) -> list[dict]:
    """Rows ``study_scale.<study>.<scale>.group<i>`` (the extrapolated training hours of each
    condition group) and ``study_scale.<study>.<scale>`` (their sum)."""
    import rnnlab
    from rnnlab import studies
    from rnnlab.studies.runner import _sweep

    if quick:
        scale, steps, groups = "quick", 5, 1
    rnnlab.use_host_devices()
    st = studies.get(study)
    sc = st.scale(scale)
    spec, runs, _ = _sweep(st, sc, sc.seeds)
    by_group: dict[str, list] = {}
    for r in runs:
        by_group.setdefault(r.group, []).append(r)
    print(f"{st.name} ({sc.name}): {len(runs)} networks in {len(by_group)} groups; "
          f"load average before {os.getloadavg()[0]:.2f}")
    total = 0.0
    rows = []
    for i, (g, rs) in enumerate(by_group.items()):
        if groups is not None and i >= groups:
            break
        cfg = rs[0].config
        budget = cfg.train.steps
        cur = cfg.train.curriculum
        lv = [cur.start] + [n for n in (levels or []) if n != cur.start] if cur else [None]
        task, model_cfg = cfg.build_task(), cfg.build_model_config()
        keys = jnp.stack([jax.random.PRNGKey(r.config.seed) for r in rs])
        per_level = {}
        for n in lv:
            update = {"steps": 2 * steps, "eval_every": steps, "ensemble": len(rs), "threshold": None}
            if n is not None:
                update["curriculum"] = cur.model_copy(update={"start": n, "threshold": 1.0})
            res = rnnlab.train(model_cfg, task, cfg.train.model_copy(update=update), key=keys, progress=False)
            wall = res.history.wall_time
            per_level[n] = (wall[1] - wall[0]) / steps  # second chunk: compiled, evaluation included
        if cur and len(per_level) > 1:
            # steps spent evenly over the levels start..max_n (an assumption: the paper's pace is
            # not recorded), the cost per step interpolated linearly in N between timed levels
            ns = sorted(per_level)
            grid = np.linspace(cur.start, cur.max_n, 200)
            per_step = float(np.mean(np.interp(grid, ns, [per_level[n] for n in ns])))
        else:
            per_step = per_level[lv[0]]
        est = per_step * budget
        total += est
        timed = ", ".join(f"N={n}: {t * 1e3:.1f} ms" if n is not None else f"{t * 1e3:.1f} ms"
                          for n, t in per_level.items())
        print(f"  group {i} ({len(rs)} networks, hidden {model_cfg.hidden_size}): per ensemble step {timed} "
              f"-> {budget} steps: {est / 3600:.2f} h")
        rows.append(_report.row(f"study_scale.{st.name}.{sc.name}.group{i}",
                                f"{st.name} ({sc.name}) group {i}: {len(rs)} networks, {budget} steps, extrapolated",
                                est / 3600, "h", ms_per_step=per_step * 1e3))
    print(f"training, all groups one after another: {total / 3600:.2f} h (2 workers in parallel: about half); "
          f"load average after {os.getloadavg()[0]:.2f}")
    rows.append(_report.row(f"study_scale.{st.name}.{sc.name}", f"{st.name} ({sc.name}) training, extrapolated",
                            total / 3600, "h"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("study", nargs="?", default="khajehabdollahi2024")
    ap.add_argument("--scale", default="paper")
    ap.add_argument("--steps", type=int, default=200, help="steps timed per condition group")
    ap.add_argument("--groups", type=int, default=None, help="time only the first K condition groups")
    ap.add_argument("--levels", type=int, nargs="*", default=None,
                    help="curricula: also time the step at these levels N (trials grow as 4N+1 steps)")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
