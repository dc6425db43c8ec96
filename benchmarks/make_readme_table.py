"""The README's performance table, generated from the results files of ``run_all.py``.

The table sits in README.md between the markers ``<!-- bench:start -->`` and
``<!-- bench:end -->`` and is never typed by hand: this script rewrites what lies between them
from ``benchmarks/results/<date>.json``: each benchmark's rows come from the newest full run
that ran it (``latest_per_benchmark``), so that re-running a few benchmarks
(``run_all.py --only ...``) updates their rows and keeps the others; smoke runs
(``--quick``) and benchmarks whose script is gone are never used. It states, for each results
file used, the machine (CPU model, cores, OS), the library versions and commit,
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


def _full_runs(results_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The full runs' results files in ``results_dir``, newest first (by ``finished`` time)."""
    runs = []
    for p in sorted(results_dir.glob("*.json")):
        try:
            data = json.loads(p.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and not data.get("quick") and "rows" in data:
            runs.append(((str(data.get("finished", "")), p.name), p, data))
    return [(p, data) for _, p, data in sorted(runs, key=lambda r: r[0], reverse=True)]


def latest(results_dir: Path = RESULTS) -> Path | None:
    """The newest full run's results file in ``results_dir`` (by its ``finished`` time), or None."""
    runs = _full_runs(results_dir)
    return runs[0][0] if runs else None


def latest_per_benchmark(results_dir: Path = RESULTS, scripts: Path | None = HERE) -> list[tuple[Path, list[str]]]:
    """``[(results file, [benchmark, ...]), ...]``: each benchmark from the newest full run that
    ran it, newest file first, benchmarks in their file's order; with ``scripts``, only the
    benchmarks whose ``<name>.py`` is still there."""
    taken: set[str] = set()
    out = []
    for p, data in _full_runs(results_dir):
        names = [n for n in data.get("benchmarks", {}) if n not in taken
                 and (scripts is None or (scripts / f"{n}.py").is_file())]
        taken.update(names)
        if names:
            out.append((p, names))
    return out


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


def _rows_of(results: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The rows benchmark ``name`` wrote in ``results`` (its row ids, or the ids prefixed ``name.``)."""
    ids = {r["id"] for r in results.get("benchmarks", {}).get(name, {}).get("rows") or []}
    return [r for r in results["rows"] if r["id"] in ids or r["id"].split(".")[0] == name]


def markdown(results: dict[str, Any], source: str | None = None) -> str:
    """The machine line, the table and the benchmarks that reported nothing (refused, failed)."""
    return markdown_merged([(results, source, list(results.get("benchmarks", {})))], all_rows=True)


def markdown_merged(parts: list[tuple[dict[str, Any], str | None, list[str]]], all_rows: bool = False) -> str:
    """The table from several results files, ``[(results, source, [benchmark, ...]), ...]``: one
    machine line per file (naming its benchmarks when there are several files), then every
    benchmark's rows (``all_rows``: every row of the one file) and those that reported nothing."""
    lines, rows, missing = [], [], []
    for results, source, names in parts:
        lead = f"- Rows of {', '.join(f'`{n}`' for n in names)}: " if len(parts) > 1 else ""
        lines.append(lead + machine_line(results, source))
        rows += results["rows"] if all_rows else [(n, r) for n in names for r in _rows_of(results, n)]
        missing += [f"{n} ({results['benchmarks'][n]['error']})" for n in names
                    if results.get("benchmarks", {}).get(n, {}).get("error")]
    if not all_rows:  # in run_all's order of the benchmarks, whichever file each comes from
        order = {n: i for i, n in enumerate(_benchmark_order())}
        rows = [r for _, r in sorted(rows, key=lambda nr: order.get(nr[0], len(order)))]
    lines += ["", HEADER, *(table_row(r) for r in rows)]
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


def _source(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(HERE.parent))
    except ValueError:
        return path.name


def block_for(results_path: Path | None) -> str:
    """The text between the markers for one results file ``results_path`` (the placeholder when None)."""
    if results_path is None:
        return PLACEHOLDER
    results = json.loads(results_path.read_text())
    if results.get("quick"):
        raise SystemExit(f"{results_path}: a smoke run (--quick); its figures do not go into the README")
    return markdown(results, _source(results_path))


def _benchmark_order() -> list[str]:
    """``run_all.BENCHMARKS`` (the order the table lists the benchmarks in)."""
    import run_all

    return [*run_all.BENCHMARKS, *run_all.OPT_IN]


def merged_block(results_dir: Path = RESULTS, scripts: Path | None = HERE) -> str:
    """The text between the markers from ``latest_per_benchmark`` (the placeholder when there is no full run)."""
    parts = latest_per_benchmark(results_dir, scripts)
    if not parts:
        return PLACEHOLDER
    return markdown_merged([(json.loads(p.read_text()), _source(p), names) for p, names in parts])


def update_readme(readme: Path = README, results_path: Path | None = None, check: bool = False) -> bool:
    """Rewrite ``readme``'s table from ``results_path`` alone, or by default from each benchmark's
    newest full run (``merged_block``); returns whether it changed (with ``check``, whether it
    would, writing nothing)."""
    text = readme.read_text()
    new = replace_block(text, block_for(results_path) if results_path is not None else merged_block())
    if new != text and not check:
        readme.write_text(new)
    return new != text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--results", type=Path, default=None, help="results JSON alone (default: each benchmark's newest full run)")
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
