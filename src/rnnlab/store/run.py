"""Run directories: create, execute (with periodic checkpoints), resume, load.

A run directory ``<root>/<id>/`` holds::

    config.yaml       the validated run config (written first, atomically)
    checkpoint.eqx    the latest training state (+ checkpoint.json: history, counter, checksum)
    model.eqx         final weights (Equinox leaf serialisation; never pickle)
    initial_model.eqx the weights training started from (+ .sha256)
    stages/N{n}.eqx   curriculum: the model at the evaluation where it passed N (+ .sha256);
                      stages/m{e}-N{n}.eqx for member e of an ensemble run
    history.json      the evaluation record;  summary.json: status and final metrics
    figures/*.png     loss curve, example trials, τ histogram;  index.html gathers them

and the catalog ``<root>/catalog.sqlite`` has one row per run. A config is validated in
full before the directory is created. A run ends ``converged`` or ``budget`` (``status.py``);
a failed run (non-finite loss) is marked ``failed`` with its last good checkpoint kept; an
interrupted run is marked ``interrupted`` and ``resume`` continues it to the same end state.
The initial model and the stage models are written as training reaches them (from the
per-evaluation hook), so an interrupted run keeps them and its resumption reports them too.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import equinox as eqx
import jax
import numpy as np
import yaml

from ..config import RunConfig, parse_config
from ..errors import CheckpointError, ConfigError, NonFiniteLossError
from ..models import RecurrentModel
from ..train import Checkpoint, History, StageModels, TrainResult, initial_state, layout_task, member, train
from . import catalog
from ._atomic import write_atomic, write_text_atomic
from .checkpoint import META_FILE, load_checkpoint, read_checked, save_checkpoint, serialise, write_checked
from .status import is_finished, run_status

INITIAL_FILE = "initial_model.eqx"

__all__ = ["Run", "runs_root", "create_run", "execute", "open_run", "train_run", "run_summary", "write_finished_run"]


def runs_root(root: str | Path | None = None) -> Path:
    """The runs folder: ``root``, else ``$RNNLAB_RUNS``, else ``./runs``."""
    return Path(root or os.environ.get("RNNLAB_RUNS", "runs"))


@dataclass(frozen=True)
class Run:
    """A handle on one run directory."""

    root: Path
    id: str

    @property
    def dir(self) -> Path:
        return self.root / self.id

    @property
    def page(self) -> Path:
        return self.dir / "index.html"

    def config(self) -> RunConfig:
        path = self.dir / "config.yaml"
        if not path.is_file():
            raise CheckpointError(f"{path}: run config missing")
        return parse_config(yaml.safe_load(path.read_text()), str(path))

    def summary(self) -> dict[str, Any]:
        path = self.dir / "summary.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def history(self) -> History:
        return History.from_dict(json.loads((self.dir / "history.json").read_text()))

    def load_model(self) -> RecurrentModel:
        """The trained model (stacked over members for an ensemble run)."""
        cfg = self.config()
        path = self.dir / "model.eqx"
        if not path.is_file():
            raise CheckpointError(f"{path}: no trained weights (run status: {self.summary().get('status', 'unknown')})")
        skeleton = _skeleton(cfg).model
        try:
            return eqx.tree_deserialise_leaves(path, skeleton)
        except Exception as e:
            raise CheckpointError(f"{path}: weights do not match the run's config ({e})") from None

    def load_initial_model(self) -> RecurrentModel:
        """The model training started from (stacked over members for an ensemble run).

        Raises:
            CheckpointError: ``initial_model.eqx`` is missing or fails its checksum.
        """
        return read_checked(self.dir / INITIAL_FILE, _skeleton(self.config()).model)

    def stage_models(self, member: int = 0) -> dict[int, RecurrentModel]:
        """Curriculum: ``{N: model}``, member ``member``'s model where it passed level N
        (``History.passed``; the history so far for a run still training or interrupted).

        Raises:
            CheckpointError: a stage file is missing or fails its checksum (named).
        """
        stages = _load_stages(self.dir, self.config(), self._history_so_far())
        return {n: m for (e, n), m in sorted(stages.items()) if e == member}

    def _history_so_far(self) -> History:
        if (self.dir / "history.json").is_file():
            return self.history()
        meta = self.dir / META_FILE
        return History.from_dict(json.loads(meta.read_text())["history"]) if meta.is_file() else History(1, "")


def _skeleton(cfg: RunConfig):
    return initial_state(cfg.build_model_config(), cfg.build_task(), cfg.train, jax.random.PRNGKey(cfg.seed))


def _load_stages(run_dir: Path, cfg: RunConfig, history: History) -> StageModels:
    """The stage models listed in ``history.passed``, read from their files (checksums verified)."""
    if not history.passed:
        return {}
    model = _skeleton(cfg).model
    one = member(model, 0) if cfg.train.ensemble else model
    return {(p["member"], p["n"]): read_checked(run_dir / p["file"], one) for p in history.passed}


def _write_new_stages(run_dir: Path, ckpt: Checkpoint, written: set) -> None:
    """Write the initial model if not yet written, and each stage model of ``ckpt`` not in ``written``."""
    if "initial" not in written and ckpt.initial_model is not None:
        write_checked(run_dir / INITIAL_FILE, serialise(ckpt.initial_model))
        written.add("initial")
    for p in ckpt.history.passed:
        k = (p["member"], p["n"])
        if k not in written:
            write_checked(run_dir / p["file"], serialise(ckpt.stage_models[k]))
            written.add(k)


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def _row(run: Run, cfg: RunConfig, **extra: Any) -> dict[str, Any]:
    return {
        "id": run.id, "task": cfg.task.name, "model": cfg.model.name, "params": cfg.model_dump(mode="json"),
        "seed": cfg.seed, "path": str(run.dir), **extra,
    }


def create_run(cfg: RunConfig | dict, root: str | Path | None = None, run_id: str | None = None) -> Run:
    """Validate ``cfg`` in full, then create the run directory and its catalog row."""
    cfg = parse_config(cfg.model_dump() if isinstance(cfg, RunConfig) else cfg)
    root = runs_root(root)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run = Run(root, run_id or f"{stamp}-{cfg.task.name}-{cfg.model.name}-{secrets.token_hex(2)}")
    if run.dir.exists():
        raise ConfigError(f"run id '{run.id}': directory {run.dir} already exists")
    run.dir.mkdir(parents=True)
    write_text_atomic(run.dir / "config.yaml", cfg.to_yaml())
    catalog.upsert(root, _row(run, cfg, status="created", created=_now()))
    return run


def open_run(run_id: str, root: str | Path | None = None) -> Run:
    """The run ``run_id`` (a directory name under the runs folder, or a path to one)."""
    p = Path(run_id)
    run = Run(p.parent, p.name) if (p / "config.yaml").is_file() else Run(runs_root(root), run_id)
    if not (run.dir / "config.yaml").is_file():
        raise CheckpointError(f"{run.dir}: no such run (no config.yaml)")
    return run


def execute(
    run: Run,
    *,
    resume: bool = False,
    progress: bool = True,
    checkpoint_every: int = 1,
    on_eval: Callable[[Checkpoint], None] | None = None,
) -> TrainResult:
    """Train the run's config, checkpointing every ``checkpoint_every`` evaluations.

    With ``resume=True`` training continues from the run's checkpoint (``CheckpointError``
    if it or a stage model it lists is missing or corrupt). ``on_eval`` is an extra
    per-evaluation hook. The initial model and each new stage model are written at every
    evaluation, before the checkpoint that lists them.
    """
    cfg = run.config()
    task, model_cfg = cfg.build_task(), cfg.build_model_config()
    key = jax.random.PRNGKey(cfg.seed)
    start, written = None, set()
    if resume:
        start = load_checkpoint(run.dir, _skeleton(cfg))
        initial = run.load_initial_model() if (run.dir / INITIAL_FILE).is_file() else None
        start = replace(start, initial_model=initial, stage_models=_load_stages(run.dir, cfg, start.history))
        written = set(start.stage_models) | ({"initial"} if initial is not None else set())

    def hook(ckpt: Checkpoint) -> None:
        _write_new_stages(run.dir, ckpt, written)
        if ckpt.n_evals % checkpoint_every == 0:
            save_checkpoint(run.dir, ckpt)
        if on_eval is not None:
            on_eval(ckpt)

    catalog.update(run.root, run.id, status="running", **({} if resume else {"created": _now()}))
    try:
        result = train(model_cfg, task, cfg.train, key=key, progress=progress, on_eval=hook, resume=start)
    except NonFiniteLossError as err:
        _finish(run, cfg, task, err.result, status="failed", error=str(err))
        raise
    except BaseException as err:
        catalog.update(run.root, run.id, status="interrupted")
        write_text_atomic(run.dir / "summary.json", json.dumps({"status": "interrupted", "error": repr(err)}))
        raise
    save_checkpoint(run.dir, Checkpoint(result.state, result.history, len(result.history.step)))
    _finish(run, cfg, task, result, status=run_status(result.history))
    return result


def run_summary(cfg: RunConfig, h: History, status: str | None = None) -> dict[str, Any]:
    """The ``summary.json`` of a run: status (default ``run_status(h)``; per member in
    ``member_status``), final metrics, and for a curriculum the N each member reached
    (``max_n_reached``)."""
    final = h.final("metric")
    out: dict[str, Any] = {
        "status": status or run_status(h),
        "task": cfg.task.name,
        "model": cfg.model.name,
        "members": h.n_members,
        "steps": max((s or 0) for s in h.stop_step) if h.stop_step else 0,
        "wall_time_s": round(h.wall_time[-1], 2) if h.wall_time else 0.0,
        f"final_{h.metric_name}": float(np.nanmean(final)),
        "final_eval_loss": float(np.nanmean(h.final("eval_loss"))),
        "member_status": h.status,
    }
    if h.n_members > 1:
        out[f"final_{h.metric_name}_per_member"] = final.tolist()
    if h.stages:
        out["max_n_reached"] = [max(h.reached(e), default=0) for e in range(h.n_members)]
        if cfg.train.curriculum and all(s == "converged" for s in h.status):
            out["max_n_passed"] = cfg.train.curriculum.max_n
    return out


def _finish(run: Run, cfg: RunConfig, task, result: TrainResult, status: str, error: str | None = None) -> None:
    """Write weights, history, summary, figures and page; update the catalog."""
    from ..report import write_run_report

    if is_finished(status):
        data = serialise(result.model)
        write_atomic(run.dir / "model.eqx", lambda f: f.write(data))
    write_text_atomic(run.dir / "history.json", json.dumps(result.history.to_dict()))
    summary = run_summary(cfg, result.history, status)
    if error:
        summary["error"] = error
    if result.history.step:
        shown = task
        if cfg.train.curriculum:
            shown = layout_task(task, cfg.train.curriculum).model_copy(
                update={"n": int(np.max(result.history.level[-1]))})
        write_run_report(run.dir, f"rnnlab run {run.id}", result.model, shown, result.history, summary,
                         ensemble=cfg.train.ensemble is not None)
    write_text_atomic(run.dir / "summary.json", json.dumps(summary, indent=1))
    catalog.update(run.root, run.id, status=status, metrics=summary, duration=summary["wall_time_s"])


def write_finished_run(
    root: Path, run_id: str, cfg: RunConfig, model_bytes: bytes, history: History, summary: dict[str, Any],
    *, initial_model: bytes | None = None, stage_models: dict[int, bytes] | None = None,
) -> Run:
    """Write a run trained elsewhere (a sweep worker): config, weights, history, summary, catalog row.

    ``initial_model`` and ``stage_models`` (``{N: bytes}``, the files ``history.passed`` names)
    are the serialised initial and curriculum stage models, written with their checksums.
    Files are written atomically, the catalog row last; writing the same run again replaces it.
    """
    run = Run(Path(root), run_id)
    run.dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(run.dir / "config.yaml", cfg.to_yaml())
    if initial_model is not None:
        write_checked(run.dir / INITIAL_FILE, initial_model)
    for p in history.passed:
        if stage_models and p["n"] in stage_models:
            write_checked(run.dir / p["file"], stage_models[p["n"]])
    if is_finished(summary["status"]):
        write_atomic(run.dir / "model.eqx", lambda f: f.write(model_bytes))
    write_text_atomic(run.dir / "history.json", json.dumps(history.to_dict()))
    write_text_atomic(run.dir / "summary.json", json.dumps(summary, indent=1))
    catalog.upsert(run.root, _row(run, cfg, status=summary["status"], metrics=summary, created=_now(),
                                  duration=summary.get("wall_time_s")))
    return run


def train_run(cfg: RunConfig | dict, root: str | Path | None = None, **kw: Any) -> tuple[Run, TrainResult]:
    """Create a run for ``cfg`` and execute it; returns ``(run, result)``."""
    run = create_run(cfg, root)
    return run, execute(run, **kw)
