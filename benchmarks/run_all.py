"""Run every benchmark, record the machine, write ``benchmarks/results/<date>.json`` and a
markdown table, and (``--readme``) the README's performance table.

Each benchmark script runs in a process of its own (``python benchmarks/NAME.py --json F``;
every script's ``run(quick)`` returns rows, see ``_report``), one after another. Before each,
this waits up to ``--settle`` seconds for the 1-minute load average to fall below 0.7 × the
limit of 0.25 per core (``_report.wait_for_idle``; the previous benchmark's own load decays
with a one-minute time constant); the benchmark then reads the load itself and marks its rows
``loaded`` if it is still above, or refuses to run (``--strict``). Each row is set against its
target (``TARGETS``: met / not met). The results file holds the machine (CPU model, cores, OS,
library versions, commit), the load average before and after the whole run, each benchmark's
rows, seconds and error.

    python benchmarks/run_all.py                  # everything in BENCHMARKS, on an idle machine
    python benchmarks/run_all.py --readme         # ... and rewrite README.md's table
    python benchmarks/run_all.py --quick          # smoke run of the plumbing (results/quick/)
    python benchmarks/run_all.py --only train_step ensemble

A smoke run (``--quick``: tiny sizes, few repeats) writes to ``benchmarks/results/quick/``;
its figures mean nothing and never reach the README.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: row id -> (comparison, bound) on the row's ratio (its value where it has no ratio).
#: Speed-ups are reference time / rnnlab time; cost ratios are rnnlab / reference.
TARGETS: dict[str, tuple[str, float]] = {
    # training step vs PyTorch eager (leaky RNN) and fused nn.GRU / nn.LSTM (oneDNN), same process
    "train_step.leaky_rnn.T200": (">=", 2.0),
    "train_step.leaky_rnn.T1000": (">=", 2.0),
    "train_step.gru.T200": (">=", 1.0),
    "train_step.gru.T1000": (">=", 1.0),
    "train_step.lstm.T200": (">=", 1.0),
    "train_step.lstm.T1000": (">=", 1.0),
    # ensemble of 64 against the same 64 networks one after another (cost ratio)
    "ensemble.1a": ("<=", 0.25),
    "ensemble.1a.1device": ("<=", 0.25),
    "ensemble.1b": ("<=", 0.25),
    # per network-step time and peak memory against torch.func.vmap
    "ensemble.2.time": ("<=", 0.7),
    "ensemble.2.memory": ("<=", 0.25),
    # command-line start-up against `python -c "import typer, rich"`
    "cli_startup.help": ("<=", 2.0),
    "cli_startup.version": ("<=", 2.0),
    "cli_startup.runs_list": ("<=", 2.0),
    # the 200-network degeneracy study (examples/sweep_degeneracy.yaml), networks per minute
    "study_rate.rate": (">=", 20.0),
    "study_rate_cold.rate": (">=", 20.0),  # the same study on a first run (compilation cache off)
}

#: the scripts run by default, in this order
BENCHMARKS = ["train_step", "step_profile", "scan_unroll", "leaky_vjp", "lstm_vjp", "gru_vjp", "ensemble",
              "ensemble_product", "ensemble_compaction", "cli_startup", "study_rate", "study_rate_cold", "run_page",
              "models", "run_layout", "prefix_scan", "jacobian_diagonal", "host_devices", "fixed_points", "parallel",
              "tasks", "timescales"]
#: scripts run only when named (``--only``), with the reason
OPT_IN = {
    "task_training": "trains seven tasks to their thresholds (hours): a training check, not a speed figure",
    "study_scale": "extrapolates a published study's training time (minutes per condition group)",
}


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def run_benchmark(name: str, quick: bool, strict: bool) -> dict:
    """Run ``benchmarks/<name>.py`` in its own process; returns ``{"rows", "seconds", "error"}``."""
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "rows.json"
        cmd = [sys.executable, str(HERE / f"{name}.py"), "--json", str(out)]
        cmd += ["--quick"] if quick else []
        cmd += ["--strict"] if strict else []
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, cwd=HERE.parent, stderr=subprocess.PIPE, text=True, check=False)
        seconds = time.perf_counter() - t0
        if proc.stderr:
            sys.stderr.write(proc.stderr)
        error = None
        if proc.returncode == 3:
            error = "refused: " + (proc.stderr.strip().splitlines() or ["machine loaded"])[-1].removeprefix("refused: ")
        elif proc.returncode != 0:
            error = f"failed (exit {proc.returncode}): " + (proc.stderr.strip().splitlines() or ["?"])[-1]
        rows = json.loads(out.read_text()) if error is None and out.is_file() else []
    return {"rows": rows, "seconds": seconds, "error": error}


def _out_path(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    p = out_dir / f"{time.strftime('%Y-%m-%d')}.json"
    return p if not p.exists() else out_dir / f"{time.strftime('%Y-%m-%dT%H%M%S')}.json"


def main() -> None:
    import _report
    import make_readme_table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, few repeats (results/quick/)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help=f"run these ({', '.join([*BENCHMARKS, *OPT_IN])})")
    ap.add_argument("--strict", action="store_true", help="a benchmark on a loaded machine refuses to run")
    ap.add_argument("--settle", type=float, default=None,
                    help="seconds to wait at most for the load to fall before each benchmark (default 300; quick 0)")
    ap.add_argument("--out", type=Path, default=None, help="results folder (default benchmarks/results[/quick])")
    ap.add_argument("--readme", action="store_true", help="rewrite README.md's table from this run")
    args = ap.parse_args()
    names = args.only or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS and n not in OPT_IN]
    if unknown:
        raise SystemExit(f"--only: unknown benchmark {unknown[0]!r} (known: {', '.join([*BENCHMARKS, *OPT_IN])})")
    if args.readme and args.quick:
        raise SystemExit("--readme: a smoke run (--quick) does not go into the README")
    settle = args.settle if args.settle is not None else (0.0 if args.quick else 300.0)
    out = _out_path(args.out or (HERE / "results" / ("quick" if args.quick else "")))

    results = {"started": _stamp(), "quick": args.quick, "machine": _report.machine_info(),
               "load_limit_per_core": _report.LOAD_LIMIT_PER_CORE, "load_before": _report.load_average(),
               "targets": {k: list(v) for k, v in TARGETS.items()}, "benchmarks": {}, "rows": []}
    m = results["machine"]
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['os']}; commit {m['commit']}; "
          f"load average {results['load_before']:.2f}", flush=True)
    for name in names:
        load = _report.wait_for_idle(settle)
        print(f"\n=== {name} (load average {load:.2f})", flush=True)
        b = run_benchmark(name, args.quick, args.strict)
        results["benchmarks"][name] = b
        results["rows"] += b["rows"]
        if b["error"]:
            print(f"=== {name}: {b['error']}", flush=True)
    results["load_after"] = _report.load_average()
    results["finished"] = _stamp()
    _report.apply_targets(results["rows"], TARGETS)
    out.write_text(json.dumps(results, indent=1))
    table = make_readme_table.markdown(results, str(out.relative_to(HERE.parent)) if out.is_relative_to(HERE.parent)
                                       else out.name)
    out.with_suffix(".md").write_text(table + "\n")
    print("\n" + table + f"\n\nwritten: {out} and {out.with_suffix('.md').name}")
    if args.readme:
        # each benchmark's newest full run (this one's, and older runs' for benchmarks not run now)
        make_readme_table.update_readme(results_path=None if out.parent == make_readme_table.RESULTS else out)
        print("README.md's table rewritten")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    os.chdir(HERE.parent)
    main()
