"""An ensemble whose members stop at different steps: training only the members still training
(``rnnlab.train.loop._training_rows``) against training every member to the end.

The case is one grid point of the degeneracy study (``examples/sweep_degeneracy.yaml``): E
flip-flop networks (default 32 seeds, 48 units) trained as one ensemble until each reaches MSE
0.001. Seeds converge at different steps, and before compaction a vmapped step cost about as
much with one member still training as with all of them. The same ``train()`` call runs with
compaction and without it (``loop._COMPACT``), in alternating order, from a compiled start
(one call of each first, with the same shapes, so compilation of every batch size is outside
the timed calls). Reported: seconds per ``train()`` call, the ratio (compacted / whole: a cost
ratio), and the member-steps trained against the ensemble's steps × E (the lower bound of the
ratio if a step cost exactly in proportion to its members).

    python benchmarks/ensemble_compaction.py [--members E] [--hidden N] [--rounds R] [--quick]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import _report
import yaml

SWEEP = Path(__file__).resolve().parents[1] / "examples" / "sweep_degeneracy.yaml"


def run(quick: bool = False, members: int = 32, hidden: int = 48, rounds: int = 1) -> list[dict]:
    """Row ``ensemble_compaction.ratio``: seconds of the compacted ``train()`` over the whole one."""
    import jax

    from rnnlab.config import parse_config
    from rnnlab.train import loop, train

    base = yaml.safe_load(SWEEP.read_text())["base"]
    if quick:
        members, hidden, rounds = 4, 16, 1
    params = {**base["model"]["params"], "hidden_size": hidden}
    cfg = parse_config({**base, "model": {**base["model"], "params": params}})
    task, model_cfg = cfg.build_task(), cfg.build_model_config()
    tcfg = cfg.train.model_copy(update={"ensemble": members, **({"steps": 300} if quick else {})})
    key = jax.random.split(jax.random.PRNGKey(0), members)
    results = {}

    def call(compact: bool) -> float:
        loop._COMPACT = compact
        try:
            t0 = time.perf_counter()
            results[compact] = train(model_cfg, task, tcfg, key=key, progress=False)
            return time.perf_counter() - t0
        finally:
            loop._COMPACT = True

    for compact in (True, False):  # compile every program either call meets
        call(compact)
    times = _report.alternate_children({"compacted": lambda: call(True), "whole": lambda: call(False)}, rounds)
    med = {k: _report.stats(v)["median"] for k, v in times.items()}
    stops = results[True].history.stop_step
    member_steps, ensemble_steps = sum(stops), max(stops) * members
    same = stops == results[False].history.stop_step
    ratio = med["compacted"] / med["whole"]
    print(f"{members} networks of {hidden} units: compacted {med['compacted']:.1f} s, whole {med['whole']:.1f} s "
          f"-> {ratio:.2f} (member-steps {member_steps} of {ensemble_steps}: {member_steps / ensemble_steps:.2f}; "
          f"stopping steps {'the same' if same else 'DIFFER'})")
    return [_report.row("ensemble_compaction.ratio", f"ensemble of {members} flip-flop networks ({hidden} units) "
                        "trained to MSE 0.001, only members still training vs all to the end", med["compacted"], "s",
                        samples=times["compacted"], reference=med["whole"], reference_name="every member to the end",
                        reference_samples=times["whole"], ratio=ratio, ratio_of="compacted / whole",
                        member_step_fraction=member_steps / ensemble_steps, same_stops=same)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=32, help="ensemble size (seeds)")
    ap.add_argument("--hidden", type=int, default=48, help="hidden units")
    ap.add_argument("--rounds", type=int, default=1, help="alternating rounds of the two calls")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
