"""Start-up time of the command line against a bare ``python -c "import typer, rich"``.

The target (issue: "the researcher's experience"): ``rnnlab --help``, ``rnnlab --version``
and ``rnnlab runs list`` (a catalog of ``N_RUNS`` runs, printed as a table) within 2x of the
bare import, and JAX not imported by them. Each
command is run as a fresh process, alternating with the reference so that both see the same
machine; the median of ``--repeats`` runs is reported with its spread (min-max), the 1-minute
load average before and after, and whether the machine was idle enough (<= 0.25 per core):

    python benchmarks/cli_startup.py --repeats 15     (--quick: 2 repeats, a smoke run)

Also checked here: none of the three commands imports ``jax`` (``-X importtime``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _report

REFERENCE = [sys.executable, "-c", "import typer, rich"]
TARGET = 2.0


def _rnnlab() -> list[str]:
    exe = shutil.which("rnnlab", path=str(Path(sys.executable).parent)) or shutil.which("rnnlab")
    return [exe] if exe else [sys.executable, "-c", "from rnnlab.cli import main; main()"]


N_RUNS = 20  # `runs list` prints a table of this many catalog rows, as a user's folder would hold


def _catalog(root: Path, n: int) -> None:
    """A catalog of ``n`` finished runs (rows only: `runs list` reads the catalog, not the runs)."""
    from rnnlab.store.catalog import upsert

    for i in range(n):
        upsert(root, {"id": f"2026-12-02T12{i:02d}00-flipflop-leaky_rnn-s{i}", "task": "flipflop",
                      "model": "leaky_rnn", "params": {"task": {"n_bits": 3}, "model": {"hidden_size": 64}},
                      "seed": i, "status": "converged" if i % 3 else "budget",
                      "metrics": {"final_mse": 0.00123 + 1e-4 * i, "final_accuracy": 0.99},
                      "created": f"2026-12-02T12:{i:02d}:00", "duration": 12.3 + i, "path": str(root / str(i))})


def _time(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def _imports_jax(cmd: list[str], env: dict) -> bool:
    code = ("import sys; sys.argv = ['rnnlab'] + sys.argv[1:]\nfrom rnnlab.cli import app\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\nprint('JAX' if 'jax' in sys.modules else 'NOJAX')")
    out = subprocess.run([sys.executable, "-c", code, *cmd[len(_rnnlab()):]], env=env, capture_output=True, text=True)
    return "NOJAX" not in out.stdout


def run(quick: bool = False, repeats: int = 15) -> list[dict]:
    """Rows ``cli_startup.help``, ``.version``, ``.runs_list``: median start-up time (ms) against
    the bare import, ratio command / reference; the row notes whether JAX was imported."""
    if quick:
        repeats = 2
    load0 = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as d:
        _catalog(Path(d), N_RUNS)
        env = {**os.environ, "RNNLAB_RUNS": d, "COLUMNS": "120"}
        base = _rnnlab()
        commands = {"--help": base + ["--help"], "--version": base + ["--version"], "runs list": base + ["runs", "list"]}
        for cmd in [REFERENCE, *commands.values()]:  # warm the OS file cache
            _time(cmd, env)
        ref: list[float] = []
        times: dict[str, list[float]] = {k: [] for k in commands}
        for _ in range(repeats):
            for name, cmd in commands.items():
                ref.append(_time(REFERENCE, env))
                times[name].append(_time(cmd, env))
        jax_free = {name: not _imports_jax(cmd, env) for name, cmd in commands.items()}
    load1 = os.getloadavg()[0]
    r = statistics.median(ref)
    idle = max(load0, load1) <= 0.25 * cores
    print(f"machine: {cores} cores; load average (1 min) before {load0:.2f}, after {load1:.2f}"
          + ("" if idle else "  [LOADED: figures not comparable]"))
    print(f"reference `python -c 'import typer, rich'`: median {r * 1e3:.0f} ms "
          f"(min {min(ref) * 1e3:.0f}, max {max(ref) * 1e3:.0f}) over {len(ref)} runs")
    ok = True
    rows = []
    for name, ts in times.items():
        m = statistics.median(ts)
        ratio = m / r
        ok &= ratio <= TARGET and jax_free[name]
        print(f"rnnlab {name:10s} median {m * 1e3:5.0f} ms (min {min(ts) * 1e3:.0f}, max {max(ts) * 1e3:.0f})  "
              f"ratio {ratio:.2f}x (target <= {TARGET}x)  JAX imported: {'no' if jax_free[name] else 'YES'}")
        rows.append(_report.row(
            "cli_startup." + name.strip("-").replace(" ", "_"),
            f"`rnnlab {name}` start-up" + ("" if jax_free[name] else " (imports JAX)"), m * 1e3, "ms",
            samples=[t * 1e3 for t in ts], reference=r * 1e3, reference_name="import typer, rich",
            reference_samples=[t * 1e3 for t in ref], ratio=ratio, ratio_of="command / bare import",
            imports_jax=not jax_free[name]))
    print("target met" if ok else "target NOT met", "" if idle else "(machine loaded)")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=15)
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
