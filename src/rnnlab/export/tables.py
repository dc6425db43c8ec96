"""The run store, sweeps and studies as pandas DataFrames.

- ``runs_table(root, **filters)``: the catalog, one row per run.
- ``sweep_table(path)`` / ``sweep_groups_table(path)``: a sweep's runs / groups
  (``rnnlab.sweep.sweep_rows`` / ``sweep_group_rows``).
- ``study_tables(study_dir)``: a study folder's ``table.csv``, ``groups.csv`` and
  ``claims.json`` as read from disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from ..errors import ConfigError

__all__ = ["runs_table", "sweep_table", "sweep_groups_table", "study_tables", "StudyTables"]

_CATALOG = ("id", "task", "model", "seed", "status", "created", "duration", "path")


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as dotted keys (``{"a": {"b": 1}} -> {"a.b": 1}``); lists stay lists."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def runs_table(root: str | Path | None = None, **filters: Any):
    """The catalog of a runs folder as a DataFrame, one row per run, newest first.

    Args:
        root: the runs folder (default ``$RNNLAB_RUNS`` or ``./runs``).
        filters: column=value, as ``rnnlab.store.query`` takes them (``task``, ``model``,
            ``status``, ``seed``, ...).

    Returns:
        Columns ``id, task, model, seed, status, created`` (datetime), ``duration`` (s),
        ``path``; then each entry of the run's summary (``final_<metric>``,
        ``final_eval_loss``, ``steps``, ``members``, ``member_status``, ...; per-member values
        stay lists); then the run config flattened to dotted paths as sweeps name them
        (``model.params.hidden_size``, ``train.lr``, ``task.params.n_bits``, ...). ``status``
        is the catalog's, with a dead trainer's ``running`` read as ``interrupted``.
    """
    import pandas as pd

    from ..store import query, runs_root

    rows = []
    for r in query(runs_root(root), **filters):
        rec = {k: r[k] for k in _CATALOG}
        rec.update({k: v for k, v in (r["metrics"] or {}).items() if k not in rec})
        rec.update({k: v for k, v in _flat(r["params"] or {}).items() if k not in rec})
        rows.append(rec)
    df = pd.DataFrame(rows, columns=None if rows else list(_CATALOG))
    df["created"] = pd.to_datetime(df["created"])
    return df


def sweep_table(path: str | Path, root: str | Path | None = None):
    """A sweep's runs as a DataFrame (``rnnlab.sweep.sweep_rows``): one row per expanded run,
    columns ``id``, the swept values, ``seed``, ``status`` (``remaining`` if not started) and
    the scalar metrics and per-network analysis results."""
    import pandas as pd

    from ..sweep import sweep_rows

    return pd.DataFrame(sweep_rows(path, root))


def sweep_groups_table(path: str | Path, root: str | Path | None = None):
    """A sweep's groups as a DataFrame (``rnnlab.sweep.sweep_group_rows``): one row per grid
    point, its swept values, network count and group-analysis numbers."""
    import pandas as pd

    from ..sweep import sweep_group_rows

    return pd.DataFrame(sweep_group_rows(path, root))


class StudyTables(NamedTuple):
    """A study folder's tables: ``table`` (one row per network), ``groups`` (one row per
    condition) and ``claims`` (one row per claim), each a pandas DataFrame."""

    table: Any
    groups: Any
    claims: Any


def study_tables(study_dir: str | Path) -> StudyTables:
    """Read a study folder's ``table.csv``, ``groups.csv`` and ``claims.json`` (written by
    ``rnnlab.studies.run``/``load``) into DataFrames; ``null`` claims values become NaN.

    Raises:
        ConfigError: the folder lacks one of the files (named).
    """
    import json

    import pandas as pd

    d = Path(study_dir)
    for name in ("table.csv", "groups.csv", "claims.json"):
        if not (d / name).is_file():
            raise ConfigError(f"study_dir: {d / name} not found (run or load the study first)")
    try:
        claims = json.loads((d / "claims.json").read_text())
    except ValueError:
        raise ConfigError(f"study_dir: {d / 'claims.json'} is not JSON") from None
    return StudyTables(pd.read_csv(d / "table.csv"), pd.read_csv(d / "groups.csv"), pd.DataFrame(claims))
