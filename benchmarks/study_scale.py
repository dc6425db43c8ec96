"""Expected wall time of a study scale, from the measured time per training step.

For each condition group of a study scale (one ensemble of the scale's seeds, as the sweep
trains it), time ``--steps`` training steps after compilation with the scale's own config,
then extrapolate to the scale's step budget: the upper bound of its training time (runs that
converge earlier finish sooner; curricula at large N have longer trials than the first ones,
so for them the figure is a lower bound; ``--levels`` times larger N too and averages the
cost over the levels, assuming the steps are spent evenly over N). Analyses are not included.

    python benchmarks/study_scale.py khajehabdollahi2024 --scale paper --steps 200

Prints the load average before and after (figures taken under load are not comparable).
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("study")
    ap.add_argument("--scale", default="paper")
    ap.add_argument("--steps", type=int, default=200, help="steps timed per condition group")
    ap.add_argument("--groups", type=int, default=None, help="time only the first K condition groups")
    ap.add_argument("--levels", type=int, nargs="*", default=None,
                    help="curricula: also time the step at these levels N (trials grow as 4N+1 steps)")
    args = ap.parse_args()

    import rnnlab
    from rnnlab import studies
    from rnnlab.config import parse_config
    from rnnlab.studies.runner import _sweep

    rnnlab.use_host_devices()
    study = studies.get(args.study)
    sc = study.scale(args.scale)
    spec, runs, _ = _sweep(study, sc, sc.seeds)
    groups: dict[str, list] = {}
    for r in runs:
        groups.setdefault(r.group, []).append(r)
    print(f"{study.name} ({sc.name}): {len(runs)} networks in {len(groups)} groups; "
          f"load average before {os.getloadavg()[0]:.2f}")
    total = 0.0
    for i, (g, rs) in enumerate(groups.items()):
        if args.groups is not None and i >= args.groups:
            break
        cfg = rs[0].config
        budget = cfg.train.steps
        cur = cfg.train.curriculum
        levels = [cur.start] + [n for n in (args.levels or []) if n != cur.start] if cur else [None]
        task, model_cfg = cfg.build_task(), cfg.build_model_config()
        keys = jnp.stack([jax.random.PRNGKey(r.config.seed) for r in rs])
        per_level = {}
        for n in levels:
            update = {"steps": 2 * args.steps, "eval_every": args.steps, "ensemble": len(rs), "threshold": None}
            if n is not None:
                update["curriculum"] = cur.model_copy(update={"start": n, "threshold": 1.0})
            res = rnnlab.train(model_cfg, task, cfg.train.model_copy(update=update), key=keys, progress=False)
            wall = res.history.wall_time
            per_level[n] = (wall[1] - wall[0]) / args.steps  # second chunk: compiled, evaluation included
        if cur and len(per_level) > 1:
            # steps spent evenly over the levels start..max_n (an assumption: the paper's pace is
            # not recorded), the cost per step interpolated linearly in N between timed levels
            ns = sorted(per_level)
            grid = np.linspace(cur.start, cur.max_n, 200)
            per_step = float(np.mean(np.interp(grid, ns, [per_level[n] for n in ns])))
        else:
            per_step = per_level[levels[0]]
        est = per_step * budget
        total += est
        timed = ", ".join(f"N={n}: {t * 1e3:.1f} ms" if n is not None else f"{t * 1e3:.1f} ms"
                          for n, t in per_level.items())
        print(f"  group {i} ({len(rs)} networks, hidden {model_cfg.hidden_size}): per ensemble step {timed} "
              f"-> {budget} steps: {est / 3600:.2f} h")
    print(f"training, all groups one after another: {total / 3600:.2f} h (2 workers in parallel: about half); "
          f"load average after {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
