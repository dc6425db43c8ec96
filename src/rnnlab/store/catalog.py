"""The SQLite catalog of a runs folder: one row per run, so listings never walk directories."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

CATALOG_FILE = "catalog.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    task TEXT NOT NULL,
    model TEXT NOT NULL,
    params TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL,
    metrics TEXT NOT NULL DEFAULT '{}',
    created TEXT NOT NULL,
    duration REAL,
    path TEXT NOT NULL
)
"""

COLUMNS = ("id", "task", "model", "params", "seed", "status", "metrics", "created", "duration", "path")


def _connect(root: Path) -> sqlite3.Connection:
    root.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(root / CATALOG_FILE, timeout=30)
    con.execute(_SCHEMA)
    return con


def upsert(root: Path, row: dict[str, Any]) -> None:
    """Insert or update the row of run ``row['id']`` (dict/list values stored as JSON)."""
    row = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()}
    cols = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    updates = ", ".join(f"{k}=excluded.{k}" for k in row if k != "id")
    with closing(_connect(root)) as con, con:
        con.execute(
            f"INSERT INTO runs ({cols}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}",
            tuple(row.values()),
        )


def update(root: Path, run_id: str, **fields: Any) -> None:
    """Update some columns of an existing row."""
    fields = {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in fields.items()}
    sets = ", ".join(f"{k} = ?" for k in fields)
    with closing(_connect(root)) as con, con:
        con.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*fields.values(), run_id))


def query(root: Path | str, **filters: Any) -> list[dict[str, Any]]:
    """Rows matching all ``filters`` (column=value; ``None`` values ignored), newest first."""
    root = Path(root)
    if not (root / CATALOG_FILE).is_file():
        return []
    filters = {k: v for k, v in filters.items() if v is not None}
    bad = set(filters) - set(COLUMNS)
    if bad:
        raise ValueError(f"unknown catalog column(s) {sorted(bad)}; valid: {', '.join(COLUMNS)}")
    where = " AND ".join(f"{k} = ?" for k in filters) or "1"
    with closing(_connect(root)) as con:
        con.row_factory = sqlite3.Row
        rows = con.execute(f"SELECT * FROM runs WHERE {where} ORDER BY created DESC", tuple(filters.values()))
        out = [dict(r) for r in rows]
    for r in out:
        r["params"] = json.loads(r["params"])
        r["metrics"] = json.loads(r["metrics"])
    return out
