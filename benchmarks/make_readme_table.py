"""The README's performance table, generated from the latest results file of ``run_all.py``.

The table sits in README.md between the markers ``<!-- bench:start -->`` and
``<!-- bench:end -->`` and is never typed by hand: this script rewrites what lies between them
from ``benchmarks/results/<date>.json`` (the newest full run; smoke runs, ``--quick``, are
never used). It states the machine (CPU model, cores, OS), the library versions and commit,
the 1-minute load average at the start and end of the run, and for each row the rnnlab
figure with its spread (min–max of the repeats), the reference, the ratio, the target and
whether it is met, the roofline where measured and the load before/after; a row measured on a
loaded machine says "loaded".

    python benchmarks/make_readme_table.py [--results FILE] [--check]

``--check`` changes nothing and exits 1 when README.md is out of date.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
README = HERE.parent / "README.md"
PLACEHOLDER = ("No measurement recorded yet: on an idle machine, `python benchmarks/run_all.py --readme` "
               "measures every benchmark and writes this table.")
HEADER = ("| Benchmark | rnnlab | Reference | Ratio | Target | Roofline | Load before/after |\n"
          "| --- | --- | --- | --- | --- | --- | --- |")
_OPS = {">=": "≥", "<=": "≤"}


def latest(results_dir: Path = RESULTS) -> Path | None:
    """The newest full run's results file in ``results_dir`` (by its ``finished`` time), or None."""
    best: tuple[str, str] | None = None
    path = None
    for p in sorted(results_dir.glob("*.json")):
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or data.get("quick") or "rows" not in data:
            continue
        key = (str(data.get("finished", "")), p.name)
        if best is None or key > best:
            best, path = key, p
    return path


def num(x: float) -> str:
    """A figure to about three significant digits, without exponents for everyday magnitudes."""
    a = abs(x)
    if a >= 100:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def _with_spread(value: float, unit: str, spread: list[float] | None) -> str:
    s = f"{num(value)} {unit}"
    return s + (f" ({num(spread[0])}–{num(spread[1])})" if spread else "")


def table_row(r: dict[str, Any]) -> str:
    """One markdown row of the table (``HEADER``'s columns)."""
    ours = _with_spread(r["value"], r["unit"], r.get("spread"))
    ref = "—"
    if r.get("reference") is not None:
        ref = f"{r.get('reference_name') or 'reference'}: " + _with_spread(r["reference"], r["unit"],
                                                                          r.get("reference_spread"))
    ratio = f"{num(r['ratio'])}×" if r.get("ratio") is not None else "—"
    target = "—"
    if r.get("target"):
        op, bound = r["target"]
        target = f"{_OPS.get(op, op)} {bound:g}: " + ("met" if r.get("met") else "not met")
    if r.get("loaded"):
        target = "loaded" if target == "—" else f"{target} (loaded)"
    roof = f"{r['roofline']:.0%}" if r.get("roofline") is not None else "—"
    load = "—"
    if r.get("load_before") is not None:
        load = f"{r['load_before']:.2f}/{r['load_after']:.2f}" + (" loaded" if r.get("loaded") else "")
    return "| " + " | ".join([r["name"], ours, ref, ratio, target, roof, load]) + " |"


def machine_line(results: dict[str, Any], source: str | None = None) -> str:
    """The sentence above the table: when, on what, with which versions, under which load."""
    m = results.get("machine", {})
    v = m.get("versions", {})
    libs = ", ".join(f"{name} {v[p]}" for p, name in (("jax", "JAX"), ("jaxlib", "jaxlib"), ("equinox", "Equinox"),
                                                        ("torch", "PyTorch")) if v.get(p))
    cores = m.get("cores")
    limit = results.get("load_limit_per_core", 0.25)
    s = (f"Measured {str(results.get('finished', '?'))[:10]} on {m.get('cpu', '?')}, {cores} cores "
         f"({m.get('os', '?')}, Python {m.get('python', '?')}); rnnlab {v.get('rnnlab', '?')}"
         f" (commit {m.get('commit') or '?'}), {libs}. 1-minute load average {results['load_before']:.2f} "
         f"at the start and {results['load_after']:.2f} at the end (limit {limit:g} per core"
         + (f", {limit * cores:.2f} here" if cores else "") + ", read before each benchmark).")
    if results.get("quick"):
        s += " Smoke run (`--quick`: tiny sizes, few repeats): the figures only show that the benchmarks run."
    if source:
        s += f" Generated from `{source}` by `benchmarks/make_readme_table.py`."
    return s


def markdown(results: dict[str, Any], source: str | None = None) -> str:
    """The machine line, the table and the benchmarks that reported nothing (refused, failed)."""
    lines = [machine_line(results, source), "", HEADER, *(table_row(r) for r in results["rows"])]
    missing = [f"{name} ({b['error']})" for name, b in results.get("benchmarks", {}).items() if b.get("error")]
    if missing:
        lines += ["", "Not reported: " + "; ".join(missing) + "."]
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    """``text`` with what lies between ``START`` and ``END`` replaced by ``block``."""
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise SystemExit(f"README.md: expected one {START} followed by one {END}")
    head, rest = text.split(START)
    _, tail = rest.split(END)
    return f"{head}{START}\n{block}\n{END}{tail}"


def block_for(results_path: Path | None) -> str:
    """The text between the markers for ``results_path`` (the placeholder when None)."""
    if results_path is None:
        return PLACEHOLDER
    try:
        source = str(results_path.resolve().relative_to(HERE.parent))
    except ValueError:
        source = results_path.name
    results = json.loads(results_path.read_text())
    if results.get("quick"):
        raise SystemExit(f"{results_path}: a smoke run (--quick); its figures do not go into the README")
    return markdown(results, source)


def update_readme(readme: Path = README, results_path: Path | None = None, check: bool = False) -> bool:
    """Rewrite ``readme``'s table from ``results_path`` (default: ``latest()``); returns whether
    it changed (with ``check``, whether it would, writing nothing)."""
    text = readme.read_text()
    new = replace_block(text, block_for(results_path if results_path is not None else latest()))
    if new != text and not check:
        readme.write_text(new)
    return new != text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=None, help="results JSON (default: the newest full run)")
    ap.add_argument("--readme", type=Path, default=README)
    ap.add_argument("--check", action="store_true", help="exit 1 if the README's table is out of date")
    args = ap.parse_args()
    if args.results is not None and not args.results.is_file():
        raise SystemExit(f"--results: no such file {args.results}")
    changed = update_readme(args.readme, args.results, check=args.check)
    print(("out of date" if args.check else "rewritten") if changed else "up to date")
    if args.check and changed:
        sys.exit(1)


if __name__ == "__main__":
    main()
