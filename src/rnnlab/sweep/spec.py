"""Sweep files: a base run config, a grid and/or a list of cases, seeds and analyses.

Example (YAML)::

    name: flipflop-sizes
    base:
      task: {name: flipflop, params: {n_bits: 3}}
      model: {name: leaky_rnn, params: {hidden_size: 64}}
      train: {steps: 4000, lr: 0.003, threshold: 0.001}
    grid:                                # Cartesian product over dotted paths
      model.params.hidden_size: [32, 64, 128, 256]
    cases: []                            # or explicit override dicts, each crossed with the grid
    seeds: 50                            # 0..49, or a list
    analyses: [weights_norm]             # run on every finished network
    group_analyses: [degeneracy]         # run across the seeds of each grid point

Every expanded run is validated before anything runs; an error names the sweep file, the
case and the field. Run ids are deterministic (a hash of the config without the seed, plus
the seed), which is what makes a sweep resumable and idempotent.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .._registry import format_validation_error
from .._user_files import read_yaml
from ..config import RunConfig, parse_config
from ..errors import ConfigError
from .analyses import ANALYSES, analysis_names
from .group_analyses import GROUP_ANALYSES

__all__ = ["SweepSpec", "SweepRun", "apply_overrides", "expand", "load_sweep", "swept_values", "numbers"]


MAX_RUNS = 1_000_000  # every run is a folder and a catalog row; beyond this a sweep is a mistake


class SweepSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", description="sweep name (folder name)")
    base: dict[str, Any] = Field(description="a run config (task, model, train) shared by all runs")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="dotted path -> values (product)")
    cases: list[dict[str, Any]] = Field(default_factory=list, description="override dicts (dotted paths)")
    seeds: int | list[int] = Field(1, description="number of seeds (0..n-1, n >= 1) or a non-empty list of "
                                   "distinct seeds, each 0 <= seed < 2**32")
    analyses: list[str | dict[str, Any]] = Field(
        default_factory=list,
        description=f"per-network analyses (a name, or {{name, params}}): {', '.join(ANALYSES)}",
    )
    group_analyses: list[str] = Field(
        default_factory=list, description=f"analyses across the seeds of each grid point: {', '.join(GROUP_ANALYSES)}"
    )
    group_seeds: bool = Field(True, description="train runs differing only in seed as one ensemble program")

    @field_validator("seeds")
    @classmethod
    def _seeds(cls, v: int | list[int]) -> int | list[int]:
        if isinstance(v, int):
            if v < 1:
                raise ValueError("must be a count >= 1 or a list of seeds")
            return v
        if not v:
            raise ValueError("the list of seeds is empty")
        bad = [s for s in v if not 0 <= s < 2**32]
        if bad:
            raise ValueError(f"each seed must be 0 <= seed < 2**32 ({bad[0]} is not)")
        if len(set(v)) != len(v):
            raise ValueError(f"seed {next(s for s in v if v.count(s) > 1)} is listed twice")
        return v

    @property
    def n_seeds(self) -> int:
        return self.seeds if isinstance(self.seeds, int) else len(self.seeds)

    def seed_list(self) -> list[int]:
        return list(range(self.seeds)) if isinstance(self.seeds, int) else list(self.seeds)


@dataclass(frozen=True)
class SweepRun:
    """One network of a sweep: its deterministic id, its config, its group and the index of
    the case it came from (0 without cases)."""

    id: str
    group: str
    config: RunConfig
    case: int = 0


def swept_values(spec: SweepSpec, run: SweepRun) -> dict[str, Any]:
    """The value of each grid path (``model.params.hidden_size`` ...) in ``run``'s config."""
    flat = run.config.model_dump(mode="json")
    out: dict[str, Any] = {}
    for key in spec.grid:
        v: Any = flat
        for k in key.split("."):
            v = v.get(k) if isinstance(v, dict) else None
        out[key] = v
    return out


def numbers(d: dict[str, Any]) -> dict[str, float]:
    """The int/float entries of ``d`` (booleans excluded): what goes in a results table."""
    return {k: v for k, v in d.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def _set(d: dict, path: str, value: Any) -> None:
    keys = path.split(".")
    for k in keys[:-1]:
        d = d.setdefault(k, {})
        if not isinstance(d, dict):
            raise ConfigError(f"grid/cases: '{path}' goes through a non-mapping at '{k}'")
    d[keys[-1]] = value


def apply_overrides(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of the config ``base`` with each dotted-path override set (no seed)."""
    cfg = copy.deepcopy(base)
    for path, value in overrides.items():
        _set(cfg, path, value)
    cfg.pop("seed", None)
    return cfg


def _digest(obj: Any) -> str:
    return hashlib.sha1(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:10]


def expand(spec: SweepSpec, source: str = "sweep") -> list[SweepRun]:
    """All runs of the sweep, validated, in a stable order."""
    for name in analysis_names(spec.analyses):
        if name not in ANALYSES:
            raise ConfigError(f"{source}: analyses: unknown analysis '{name}'; valid: {', '.join(ANALYSES)}")
    for name in spec.group_analyses:
        if name not in GROUP_ANALYSES:
            raise ConfigError(
                f"{source}: group_analyses: unknown analysis '{name}'; valid: {', '.join(GROUP_ANALYSES)}"
            )
    keys = list(spec.grid)
    cases = spec.cases or [{}]
    n_runs = math.prod(len(v) for v in spec.grid.values()) * len(cases) * spec.n_seeds
    if n_runs > MAX_RUNS:
        raise ConfigError(f"{source}: seeds/grid/cases: {n_runs} runs, more than one sweep holds ({MAX_RUNS})")
    combos = list(itertools.product(*(spec.grid[k] for k in keys))) or [()]
    runs = []
    for ci, case in enumerate(cases):
        for combo in combos:
            cfg = apply_overrides(spec.base, {**case, **dict(zip(keys, combo))})
            where = f"{source} (case {ci}, {dict(zip(keys, combo))})"
            group = f"{spec.name}-{_digest(cfg)}"
            for seed in spec.seed_list():
                run_cfg = parse_config({**cfg, "seed": seed}, where)
                runs.append(SweepRun(f"{group}-s{seed}", group, run_cfg, ci))
    ids = [r.id for r in runs]
    if len(set(ids)) != len(ids):
        raise ConfigError(f"{source}: some grid points/cases give identical runs (duplicate configs)")
    return runs


def load_sweep(path: str | Path) -> tuple[SweepSpec, list[SweepRun]]:
    """Read, validate and expand a sweep file."""
    data = read_yaml(path, "sweep file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with name/base/grid/seeds, got {type(data).__name__}")
    try:
        spec = SweepSpec(**data)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, str(path), SweepSpec)) from None
    return spec, expand(spec, str(path))
