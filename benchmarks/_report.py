"""What every benchmark shares: the load guard, medians with their spread, interleaved timing,
the machine's description and the rows a benchmark reports.

A benchmark module exposes ``run(quick: bool = False, **options) -> list[dict]``: it prints
its detailed lines as it goes and returns one *row* per reported figure (``row``). Its command
line goes through ``cli``, which adds ``--quick`` (a smoke run: tiny sizes, few repeats, to
check the plumbing; its figures mean nothing), ``--strict`` (refuse to measure on a loaded
machine) and ``--json PATH`` (write the rows; ``run_all.py`` reads them), guards the run
(``guarded``) and prints the rows against their targets (``run_all.TARGETS``).

The load guard: a measurement taken while other work runs is not comparable. Before a
benchmark starts, the 1-minute load average is read; above ``LOAD_LIMIT_PER_CORE`` per core
the benchmark is refused (``strict``) or its rows are marked ``loaded``. The load average
after it ends is recorded too, but not judged: a benchmark that keeps every core busy for a
minute raises it itself. ``RNNLAB_BENCH_LOADAVG`` (a number) replaces the machine's
1-minute load average, for tests of the guard.

Nothing here imports JAX or PyTorch: the versions are read from the installed packages'
metadata, so ``run_all.py`` and the tests stay light.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from rnnlab._provenance import git_commit, version  # light: importing rnnlab imports no JAX

LOAD_LIMIT_PER_CORE = 0.25
LOAD_ENV = "RNNLAB_BENCH_LOADAVG"
#: packages whose versions are recorded with every result
PACKAGES = ("rnnlab", "jax", "jaxlib", "equinox", "optax", "numpy", "torch")
ROOT = Path(__file__).resolve().parents[1]


class MachineLoaded(RuntimeError):
    """The load average is above the limit and the benchmark was asked to refuse (``strict``)."""


# ---- the machine --------------------------------------------------------------------------


def cores() -> int:
    """Cores this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def load_average(fake: float | None = None) -> float:
    """The 1-minute load average: ``fake`` if given, else ``$RNNLAB_BENCH_LOADAVG`` if set, else
    the machine's."""
    if fake is not None:
        return float(fake)
    env = os.environ.get(LOAD_ENV)
    if env:
        try:
            return float(env)
        except ValueError:
            raise SystemExit(f"{LOAD_ENV}: expected a number, got {env!r}") from None
    return os.getloadavg()[0]


def is_loaded(load: float, n_cores: int | None = None, fraction: float = 1.0) -> bool:
    """Whether a 1-minute load average ``load`` exceeds ``fraction`` of the limit for ``n_cores`` cores."""
    return load > fraction * LOAD_LIMIT_PER_CORE * (n_cores or cores())


def wait_for_idle(max_wait_s: float, poll_s: float = 5.0, load: float | None = None, margin: float = 0.7) -> float:
    """Wait (at most ``max_wait_s``) until the 1-minute load average is within ``margin`` of the
    limit, e.g. for the previous benchmark's own load to decay; returns the last reading.

    The margin: the benchmark reads the load again when it starts, after its own process has
    started and imported its libraries, which adds to the average; waiting just below the
    limit left a full run's rows marked loaded at 0.51–0.54 against a limit of 0.50."""
    deadline = time.monotonic() + max_wait_s
    now = load_average(load)
    while is_loaded(now, fraction=margin) and time.monotonic() < deadline:
        time.sleep(min(poll_s, max(0.0, deadline - time.monotonic())))
        now = load_average(load)
    return now


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """CPU model, cores, OS, Python, the versions of ``PACKAGES`` and the git commit."""
    return {
        "cpu": _cpu_model(),
        "cores": cores(),
        "cpu_count": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {p: version(p) for p in PACKAGES},
        "commit": git_commit(ROOT),
        "xla_flags": os.environ.get("XLA_FLAGS"),
    }


# ---- timing ---------------------------------------------------------------------------------


def stats(samples: list[float]) -> dict[str, float]:
    """Median, minimum, maximum and count of ``samples``."""
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples), "n": len(samples)}


def alternate(fns: dict[str, Callable[[], Any]], rounds: int, per_round: int) -> dict[str, list[float]]:
    """Seconds per call of each of ``fns``, measured in interleaved rounds: in each round every
    function is called once untimed (its thread pools wake up, the other's settle) and then
    ``per_round`` times timed. Every function has been called once before (compiled, warm).
    Interleaving makes the compared functions see the same machine state over the run."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            fn()
            for _ in range(per_round):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return times


def alternate_s(fns: dict[str, Callable[[], Any]], min_seconds: float, rounds: int = 5) -> dict[str, list[float]]:
    """``alternate`` with the same number of calls per round for every function, as many as
    make about ``min_seconds`` of timed calls of the slowest in all (at least one per round),
    from a probe call of each after a first one that compiles it; each function must block until
    its result is ready."""
    probe = []
    for fn in fns.values():
        fn()
        t0 = time.perf_counter()
        fn()
        probe.append(time.perf_counter() - t0)
    per_round = max(1, math.ceil(min_seconds / rounds / max(max(probe), 1e-6)))
    return alternate(fns, rounds, per_round)


def alternate_children(commands: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """One figure per round from each of ``commands`` (each starts a child process and returns
    its figure), the commands taking turns, so that every compared figure comes from the same
    stretch of time."""
    out: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(rounds):
        for name, cmd in commands.items():
            out[name].append(cmd())
    return out


# ---- rows -------------------------------------------------------------------------------------


class TimedCalls:
    """Seconds spent in each named function of a module (summed over calls) and the start of
    its first call, while the functions are wrapped by ``timed_calls``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.first: dict[str, float] = {}


@contextlib.contextmanager
def timed_calls(module: Any, names: Iterable[str]) -> Iterator[TimedCalls]:
    """Wrap ``module.<name>`` for each of ``names`` so that every call is timed where the module's
    own code calls it (its module attribute), then put the functions back: the code under test
    runs unmodified, and the time of its parts is read from the yielded ``TimedCalls``."""
    saved = {name: getattr(module, name) for name in names}
    calls = TimedCalls()

    def timed(name: str) -> Callable[..., Any]:
        def wrapper(*args: Any, **kw: Any) -> Any:
            start = time.perf_counter()
            calls.first.setdefault(name, start)
            try:
                return saved[name](*args, **kw)
            finally:
                calls.seconds[name] = calls.seconds.get(name, 0.0) + time.perf_counter() - start
        return wrapper

    for name in saved:
        setattr(module, name, timed(name))
    try:
        yield calls
    finally:
        for name, fn in saved.items():
            setattr(module, name, fn)


def row(id: str, name: str, value: float, unit: str, *, samples: list[float] | None = None,
        reference: float | None = None, reference_name: str | None = None,
        reference_samples: list[float] | None = None, ratio: float | None = None, ratio_of: str | None = None,
        roofline: float | None = None, **extra: Any) -> dict[str, Any]:
    """One reported figure. ``id`` is stable (``run_all.TARGETS`` is keyed by it); ``value`` is
    rnnlab's figure in ``unit``, ``reference`` the peer's in the same unit; ``ratio`` is what the
    target bounds, ``ratio_of`` says what it divides; ``roofline`` the achieved fraction of this
    machine's limit; ``spread`` the (min, max) of the samples whose median is ``value``."""
    r: dict[str, Any] = {"id": id, "name": name, "value": value, "unit": unit}
    if samples:
        r["spread"] = [min(samples), max(samples)]
        r["n"] = len(samples)
    if reference is not None:
        r["reference"] = reference
        r["reference_name"] = reference_name
        if reference_samples:
            r["reference_spread"] = [min(reference_samples), max(reference_samples)]
    if ratio is not None:
        r["ratio"] = ratio
        r["ratio_of"] = ratio_of
    if roofline is not None:
        r["roofline"] = roofline
    r.update(extra)
    return r


def meets(ratio: float, target: tuple[str, float]) -> bool:
    """Whether ``ratio`` meets ``target`` = (``">="`` or ``"<="``, bound)."""
    op, bound = target
    if op == ">=":
        return ratio >= bound
    if op == "<=":
        return ratio <= bound
    raise ValueError(f"target: unknown comparison {op!r} (expected '>=' or '<=')")


def apply_targets(rows: list[dict], targets: dict[str, tuple[str, float]]) -> list[dict]:
    """Set each row's ``target`` and ``met`` from ``targets`` (keyed by row id): the bound
    applies to the row's ratio, or to its value where it has no ratio (a rate); a row without a
    target gets ``met`` = None."""
    for r in rows:
        t = targets.get(r["id"])
        r["target"] = list(t) if t else None
        r["met"] = meets(r["ratio"] if r.get("ratio") is not None else r["value"], t) if t else None
    return rows


def _targets() -> dict[str, tuple[str, float]]:
    sys.path.insert(0, str(Path(__file__).parent))
    from run_all import TARGETS

    return TARGETS


def guarded(run: Callable[..., list[dict]], quick: bool = False, *, strict: bool = False,
            load: float | None = None, n_cores: int | None = None, **options) -> list[dict]:
    """``run(quick, **options)`` under the load guard: refused (``MachineLoaded``) when
    ``strict`` and the 1-minute load average exceeds the limit before it starts; otherwise every
    row gets ``load_before``, ``load_after``, ``cores``, ``loaded`` and ``quick``. ``load``
    replaces the load average readings (tests)."""
    n = n_cores or cores()
    before = load_average(load)
    loaded = is_loaded(before, n)
    if loaded and strict:
        raise MachineLoaded(f"1-minute load average {before:.2f} on {n} cores exceeds "
                            f"{LOAD_LIMIT_PER_CORE} per core: not measuring (wait for an idle machine)")
    rows = run(quick, **options)
    after = load_average(load)
    for r in rows:
        r.update(load_before=before, load_after=after, cores=n, loaded=loaded, quick=quick)
    return rows


def describe(r: dict) -> str:
    """One line: the figure, its spread, the reference, the ratio against the target, roofline, load."""
    s = f"{r['name']}: {r['value']:.4g} {r['unit']}"
    if r.get("spread"):
        s += f" ({r['spread'][0]:.4g}–{r['spread'][1]:.4g})"
    if r.get("reference") is not None:
        s += f"; {r.get('reference_name') or 'reference'} {r['reference']:.4g} {r['unit']}"
        if r.get("reference_spread"):
            s += f" ({r['reference_spread'][0]:.4g}–{r['reference_spread'][1]:.4g})"
    if r.get("ratio") is not None:
        s += f"; ratio {r['ratio']:.3g}"
    if r.get("target"):
        op, bound = r["target"]
        s += f" (target {op} {bound:g}: {'met' if r['met'] else 'NOT met'})"
    if r.get("roofline") is not None:
        s += f"; {r['roofline']:.1%} of the matmul roofline"
    if "load_before" in r:
        s += f"; load {r['load_before']:.2f}/{r['load_after']:.2f} on {r['cores']} cores"
        s += " [LOADED: not comparable]" if r["loaded"] else ""
    return s


def cli(run: Callable[..., list[dict]], parser: argparse.ArgumentParser) -> list[dict]:
    """The command line of a benchmark: ``parser``'s own options (passed to ``run`` by name)
    plus ``--quick``, ``--strict`` and ``--json``; prints the rows, writes them as JSON."""
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, few repeats")
    parser.add_argument("--strict", action="store_true", help="refuse to measure on a loaded machine")
    parser.add_argument("--json", type=Path, default=None, help="write the rows to this JSON file")
    args = vars(parser.parse_args())
    quick, strict, out = args.pop("quick"), args.pop("strict"), args.pop("json")
    try:
        rows = guarded(run, quick, strict=strict, **args)
    except MachineLoaded as e:
        print(f"refused: {e}", file=sys.stderr)
        raise SystemExit(3) from None
    apply_targets(rows, _targets())
    if rows:
        print("\nrows:")
        for r in rows:
            print("  " + describe(r))
    if out is not None:
        out.write_text(json.dumps(rows, indent=1))
    return rows
