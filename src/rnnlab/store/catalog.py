"""The SQLite catalog of a runs folder: one row per run, so listings never walk directories.

The catalog is an index of the run directories, not the record itself: ``rebuild`` (``runs
reindex``) writes it again from them. A damaged file (``sqlite3.DatabaseError``: not a
database, malformed pages), or an empty or missing catalog while run directories exist, is
reported by ``CatalogError``, one line naming the file and the command that rebuilds it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sqlite3
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any, Iterator

from ..errors import RnnlabError, StoreWriteError

__all__ = ["CatalogError", "CATALOG_FILE", "COLUMNS", "upsert", "update", "query", "check", "rebuild", "run_dirs"]

CATALOG_FILE = "catalog.sqlite"
#: the files SQLite keeps beside a database (moved aside with it)
_COMPANIONS = ("-journal", "-wal", "-shm")

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


class CatalogError(RnnlabError):
    """The catalog of a runs folder is damaged, or empty while run directories exist; the
    message names the file and the command that rebuilds it (``rnnlab runs reindex``)."""


def _advice(root: Path) -> str:
    return f"rebuild it from the run directories with `rnnlab runs reindex --out {root}`"


@contextmanager
def _db(root: Path) -> Iterator[sqlite3.Connection]:
    """A connection to the catalog (created if missing), committed on success; a damaged
    database file becomes a ``CatalogError``, a full disk a ``StoreWriteError`` (a locked or
    unreachable one is left as it is)."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / CATALOG_FILE
    try:
        with closing(sqlite3.connect(path, timeout=30)) as con, con:
            con.execute(_SCHEMA)
            yield con
    except sqlite3.OperationalError as e:
        if getattr(e, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            raise StoreWriteError(f"{path}: could not be written ({e}); the run folders are intact: "
                                  "`rnnlab runs reindex` rebuilds the catalog once there is space") from None
        raise
    except sqlite3.DatabaseError as e:
        raise CatalogError(f"{path}: damaged catalog ({e}); {_advice(root)}") from None


def _encode(row: dict[str, Any]) -> dict[str, Any]:
    return {k: json.dumps(v) if isinstance(v, (dict, list)) else v for k, v in row.items()}


def _insert(con: sqlite3.Connection, row: dict[str, Any]) -> None:
    row = _encode(row)
    cols, marks = ", ".join(row), ", ".join("?" for _ in row)
    updates = ", ".join(f"{k}=excluded.{k}" for k in row if k != "id")
    con.execute(f"INSERT INTO runs ({cols}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}",
                tuple(row.values()))


def upsert(root: Path, row: dict[str, Any]) -> None:
    """Insert or update the row of run ``row['id']`` (dict/list values stored as JSON)."""
    with _db(root) as con:
        _insert(con, row)


def update(root: Path, run_id: str, **fields: Any) -> None:
    """Update some columns of an existing row."""
    fields = _encode(fields)
    sets = ", ".join(f"{k} = ?" for k in fields)
    with _db(root) as con:
        con.execute(f"UPDATE runs SET {sets} WHERE id = ?", (*fields.values(), run_id))


def run_dirs(root: Path) -> list[Path]:
    """The run directories of ``root``: its folders that hold a ``config.yaml``, by name."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
                  and (p / "config.yaml").is_file())


def _empty(root: Path, n_rows: int) -> str | None:
    """What is wrong with a catalog of ``n_rows`` rows (``None``: nothing): no rows while run
    directories exist."""
    n = len(run_dirs(root)) if n_rows == 0 else 0
    if n:
        return f"catalog {'empty' if (root / CATALOG_FILE).is_file() else 'missing'} but {n} run directories exist"
    return None


def _check_not_empty(root: Path, n_rows: int) -> None:
    if problem := _empty(root, n_rows):
        raise CatalogError(f"{root / CATALOG_FILE}: {problem}; {_advice(root)}")


def query(root: Path | str, **filters: Any) -> list[dict[str, Any]]:
    """Rows matching all ``filters`` (column=value; ``None`` values ignored), newest first.

    A row saying ``running`` whose trainer is gone (no live holder of the run's lock, nor of
    the lock of the sweep or study driver owning ``root``) is reported ``interrupted``: a
    killed process cannot update its row, but it can be told dead (``_lock.is_held``).

    Raises:
        CatalogError: the catalog is damaged, or missing or empty while run directories exist.
    """
    root = Path(root)
    filters = {k: v for k, v in filters.items() if v is not None}
    bad = set(filters) - set(COLUMNS)
    if bad:
        raise ValueError(f"unknown catalog column(s) {sorted(bad)}; valid: {', '.join(COLUMNS)}")
    if not (root / CATALOG_FILE).is_file():
        _check_not_empty(root, 0)
        return []
    status = filters.pop("status", None)  # matched after dead trainers' rows are relabelled
    where = " AND ".join(f"{k} = ?" for k in filters) or "1"
    with _db(root) as con:
        con.row_factory = sqlite3.Row
        out = [dict(r) for r in con.execute(f"SELECT * FROM runs WHERE {where} ORDER BY created DESC",
                                            tuple(filters.values()))]
        if not out:
            _check_not_empty(root, con.execute("SELECT count(*) FROM runs").fetchone()[0])
    driver_alive = None
    for r in out:
        r["params"] = json.loads(r["params"])
        r["metrics"] = json.loads(r["metrics"])
        if r["status"] == "running":  # left by a killed trainer unless its lock is held
            if driver_alive is None:
                from ._lock import is_held  # here, not at the top: `runs list` start-up

                driver_alive = is_held(root)
            if not (driver_alive or is_held(root / r["id"])):
                r["status"] = "interrupted"
    return out if status is None else [r for r in out if r["status"] == status]


def check(root: Path) -> str | None:
    """What is wrong with the catalog file of ``root`` (``None``: sound, or absent): SQLite's
    ``PRAGMA quick_check`` fails, or it has no rows while run directories exist. Read only."""
    path = root / CATALOG_FILE
    if not path.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)) as con:
            result = con.execute("PRAGMA quick_check").fetchone()[0]
            n_rows = con.execute("SELECT count(*) FROM runs").fetchone()[0]
    except sqlite3.DatabaseError as e:
        return str(e)
    return _empty(root, n_rows) if result == "ok" else result


def rebuild(root: Path, rows: list[dict[str, Any]]) -> Path | None:
    """Replace the catalog of ``root`` by one holding exactly ``rows``.

    The new database is written to a temporary file, fsynced and renamed into place; the old
    file (and its journal) is first moved to ``catalog.sqlite.damaged-<time>`` if ``check``
    finds it damaged, else ``catalog.sqlite.previous-<time>``. Returns that path, or ``None``.
    """
    root.mkdir(parents=True, exist_ok=True)
    path = root / CATALOG_FILE
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{CATALOG_FILE}.", suffix=".tmp")
    os.close(fd)
    try:
        with closing(sqlite3.connect(tmp)) as con, con:
            con.execute(_SCHEMA)
            for row in rows:
                _insert(con, row)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        aside = None
        if path.is_file():
            stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
            aside = root / f"{CATALOG_FILE}.{'damaged' if check(root) else 'previous'}-{stamp}"
            while aside.exists():
                aside = aside.with_name(aside.name + "x")
            for suffix in _COMPANIONS:  # a journal left by the old file must not meet the new one
                if (root / (CATALOG_FILE + suffix)).exists():
                    os.replace(root / (CATALOG_FILE + suffix), root / (aside.name + suffix))
            os.replace(path, aside)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    from ._atomic import _fsync_dir

    _fsync_dir(root)
    return aside
