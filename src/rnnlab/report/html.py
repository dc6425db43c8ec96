"""The HTML page that gathers a run's (or a sweep's, a study's, a demo's) figures, tables and summary.

One Jinja2 template (``templates/page.html``, with its stylesheet and sorting script inlined so
the page is a single self-contained file next to its PNGs) renders every page, with autoescaping
on: any text, caption or cell is shown literally, never parsed as HTML.
"""

from __future__ import annotations

import functools
import json
import math
import numbers
import os
import platform
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2

from .._provenance import git_commit, version
from ..errors import ConfigError
from ..store._atomic import write_text_atomic

# A cell whose whole (case-insensitive) text is one of these gets a coloured badge.
_STATUS = {"pass": "good", "converged": "good", "completed": "good",
           "fail": "bad", "failed": "bad",
           "inconclusive": "neutral", "budget": "neutral"}
_SECTION_KEYS = {"heading", "intro", "summary", "tables", "figures", "links"}
_WIDE = 2.0  # a figure at least this many times wider than tall spans the whole grid row,
_WIDE_PX = 800  # as does one this many pixels wide (in a grid cell it would shrink below ~70%)


def write_page(path: Path, title: str, sections: list[dict[str, Any]], *,
               provenance: Mapping[str, Any] | None = None) -> Path:
    """Write the page ``path`` with one section per entry of ``sections``; returns ``path``.

    Each section is a dict with ``heading`` and, all optional:

    - ``intro``: text, shown as paragraphs (split at blank lines);
    - ``summary``: ``{name: value}``, a two-column table;
    - ``tables``: ``[{columns, rows, caption?, links?, sortable?}]``: ``rows`` are dicts keyed by
      column or sequences in column order; ``links`` ``{column: href_column}`` makes the cell in
      ``column`` a link to the row's ``href_column`` value (which need not be shown); with
      ``sortable`` a click on a header sorts the rows;
    - ``figures``: ``[(png, caption)]``, in a grid, captions below; a PNG at least twice as wide
      as tall, or 800 pixels wide, spans the whole row;
    - ``links``: ``[(href, text)]``.

    ``provenance`` (e.g. :func:`provenance`) is shown in a box under the title; with more than one
    section a table of contents links to each. Numbers are shown to 4 significant digits, and
    cells reading pass/fail/failed/converged/completed/inconclusive/budget as coloured badges.
    Paths (figures, and hrefs given as :class:`~pathlib.Path`) are written relative to the page's
    folder; string hrefs are used as given.
    """
    path = Path(path)
    page_dir = path.parent.resolve()
    ids: set[str] = set()
    secs = [_section(sec, i, page_dir, ids) for i, sec in enumerate(sections)]
    html = _environment().get_template("page.html").render(
        title=title,
        provenance=[(str(k), _fmt(v)) for k, v in (provenance or {}).items()],
        sections=secs,
        sortable=any(t["sortable"] for s in secs for t in s["tables"]),
    )
    write_text_atomic(path, html)
    return path


def provenance(extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    """What made a page: rnnlab and JAX versions, the git commit of the working directory (when it
    is a git checkout; ``(modified)`` when tracked files differ from it), the date, the machine
    and platform, and Python's version; then ``extra``'s entries (which win on a clash).

    Best effort: a value that cannot be found is left out; nothing here imports JAX.
    """
    info = {
        "rnnlab": version("rnnlab"),
        "jax": version("jax"),
        "git commit": git_commit(),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": platform.node() or None,
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    info = {k: v for k, v in info.items() if v}
    info.update({str(k): _fmt(v) for k, v in (extra or {}).items()})
    return info


def _fmt(v: Any) -> str:
    """A value as text: real numbers to 4 significant digits (also inside lists and dicts, shown as JSON)."""
    if hasattr(v, "tolist"):  # NumPy / JAX scalars and arrays
        v = v.tolist()
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return f"{float(v):.4g}"
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(_round(v), default=str)
    return str(v)


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return float(f"{v:.4g}")
    if isinstance(v, (list, tuple)):
        return [_round(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _round(x) for k, x in v.items()}
    return v


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.PackageLoader("rnnlab.report", "templates"),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


def _section(sec: Mapping[str, Any], i: int, page_dir: Path, ids: set[str]) -> dict[str, Any]:
    field = f"sections[{i}]"
    if "heading" not in sec:
        raise ConfigError(f"{field}.heading: missing")
    unknown = set(sec) - _SECTION_KEYS
    if unknown:
        raise ConfigError(f"{field}: unknown key(s) {sorted(unknown)}; expected {sorted(_SECTION_KEYS)}")
    heading = str(sec["heading"])
    intro = sec.get("intro") or ""
    return {
        "heading": heading,
        "id": _anchor(heading, ids),
        "intro": [p.strip() for p in re.split(r"\n\s*\n", str(intro)) if p.strip()],
        "summary": [(str(k), _cell(v)) for k, v in (sec.get("summary") or {}).items()],
        "tables": [_table(t, f"{field}.tables[{j}]", page_dir) for j, t in enumerate(sec.get("tables") or [])],
        "figures": [_figure(png, caption, page_dir) for png, caption in sec.get("figures") or []],
        "links": [(_href(h, page_dir), str(text)) for h, text in sec.get("links") or []],
    }


def _anchor(heading: str, ids: set[str]) -> str:
    """A unique ``id`` for the section: its heading in lower case, runs of other characters as ``-``."""
    base = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-") or "section"
    anchor, n = base, 1
    while anchor in ids:
        n += 1
        anchor = f"{base}-{n}"
    ids.add(anchor)
    return anchor


def _table(t: Mapping[str, Any], field: str, page_dir: Path) -> dict[str, Any]:
    if "columns" not in t:
        raise ConfigError(f"{field}.columns: missing")
    columns = [str(c) for c in t["columns"]]
    links = dict(t.get("links") or {})
    for col in links:
        if col not in columns:
            raise ConfigError(f"{field}.links: column {col!r} is not one of the table's columns")
    rows = []
    for r, row in enumerate(t.get("rows") or []):
        if not isinstance(row, Mapping):
            if not isinstance(row, Sequence) or len(row) != len(columns):
                raise ConfigError(f"{field}.rows[{r}]: expected a dict or {len(columns)} values, got {row!r}")
            row = dict(zip(columns, row))
        rows.append([_cell(row.get(c, ""), _href(row.get(links[c]), page_dir) if c in links else None)
                     for c in columns])
    return {"caption": str(t.get("caption") or ""), "columns": columns, "rows": rows,
            "sortable": bool(t.get("sortable", False))}


def _cell(value: Any, href: str | None = None) -> dict[str, Any]:
    """``text`` to show, ``num`` (full precision, for sorting) for finite real numbers, ``status`` badge class."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    num = None
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
        num = repr(float(value))
    status = _STATUS.get(value.strip().lower()) if isinstance(value, str) else None
    return {"text": _fmt(value), "num": num, "status": status, "href": href}


def _href(target: Any, page_dir: Path) -> str | None:
    """A link target: a :class:`~pathlib.Path` relative to the page's folder and URL-quoted; text as given."""
    if target is None or target == "":
        return None
    if isinstance(target, os.PathLike):
        rel = os.path.relpath(Path(target).resolve(), page_dir)
        return quote(Path(rel).as_posix(), safe="/!$&'()*+,;=@~")
    return str(target)


def _figure(png: str | os.PathLike, caption: str, page_dir: Path) -> dict[str, Any]:
    size = _png_size(Path(png))
    return {"src": _href(Path(png), page_dir), "caption": str(caption),
            "width": size[0] if size else None, "height": size[1] if size else None,
            "wide": bool(size and (size[0] >= _WIDE * size[1] or size[0] >= _WIDE_PX))}


def _png_size(png: Path) -> tuple[int, int] | None:
    """(width, height) in pixels from the PNG's IHDR chunk, or None when it is not a readable PNG."""
    try:
        with open(png, "rb") as f:
            head = f.read(24)
    except OSError:
        return None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
