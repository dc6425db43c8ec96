"""Run directories: create, execute (with periodic checkpoints), resume, load, reindex.

A run directory ``<root>/<id>/`` holds::

    config.yaml       the validated run config (+ config.yaml.sha256; written first)
    checkpoint-<k>.eqx, checkpoint.json
                      the latest training state, and its history, counter and checksums
                      (``checkpoint.py``; ``checkpoint.eqx`` in older runs)
    model.eqx         final weights (Equinox leaf serialisation; never pickle) (+ .sha256)
    initial_model.eqx the weights training started from (+ .sha256)
    stages/N{n}.eqx   curriculum: the model at the evaluation where it passed N (+ .sha256);
                      stages/m{e}-N{n}.eqx for member e of an ensemble run
    history.json      the evaluation record;  summary.json: status and final metrics (+ .sha256)
    figures/*.png     loss curve, example trials, τ histogram;  index.html gathers them
    run.lock          while a process trains the run: its flock, PID and host (``_lock.py``)

and the catalog ``<root>/catalog.sqlite`` has one row per run. A config is validated in
full before the directory is created. A run ends ``converged`` or ``budget`` (``status.py``);
a failed run (non-finite loss) is marked ``failed`` with its last good checkpoint kept; an
interrupted run is marked ``interrupted`` and ``resume`` continues it to the same end state.
The initial model and the stage models are written as training reaches them (from the
per-evaluation hook), so an interrupted run keeps them and its resumption reports them too.

Guarantees (a crash is a killed process, ``kill -9`` included, or a power loss: every file
is written to a temporary file, fsynced, renamed into place and its folder fsynced):

- Every file the store reads back is verified before use: ``<file>.sha256`` beside it
  (``checkpoint.write_checked``; the digest is written first, then the file) or, for
  ``checkpoint.json``, a checksum inside it. A changed byte or a truncation is a one-line
  ``CheckpointError`` naming the file; it is never read as other weights, history or config.
- A crash at any instant leaves a resumable run, and ``execute(run, resume=True)`` (``rnnlab
  train --resume``) ends bit-identical to an uninterrupted run (weights, optimiser state,
  history apart from wall times). Training resumes from the last committed checkpoint
  (``checkpoint.py``: a new pair is committed by one rename, the previous one deleted only
  afterwards), or from the start if the crash came before the first checkpoint committed.
  The initial and stage models are rewritten as training passes them again.
- A crash while creating a run leaves either no ``config.yaml`` (no run) or a complete run
  directory, which may lack its catalog row: ``runs reindex`` adds it.
- A crash while a run is finished (``_finish``: weights, history, page, summary, then the
  catalog) can leave one of those files missing or failing its checksum (the error names it)
  and the catalog row saying ``running``; resuming rewrites them all from the final
  checkpoint, which was committed before any of them.
- The catalog is an index, rebuilt from the run directories by ``reindex``
  (``rnnlab runs reindex``); a damaged one is reported by ``catalog.CatalogError`` with that
  advice. Only what the directories hold comes back: a sweep's analysis metrics return at the
  next ``rnnlab sweep run`` (from its cache), and sweep runs that left no directory are run again.

Run directories written before checksums existed (no ``config.yaml.sha256``) still load,
**unverified**: their config, weights, history and summary are read as they are (a file that
has a ``.sha256`` is still checked), and their format-1 checkpoint resumes.

Test hook: ``RNNLAB_FAULT=checkpoint:<stage>[@n]`` or ``write:<file name>[@n]`` makes the
process exit with status 137 at that point of a write (``_faults.py``).
"""

from __future__ import annotations

import datetime as _dt
import json
import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

import jax
import numpy as np
import yaml

from ..config import RunConfig, parse_config
from ..errors import CheckpointError, ConfigError, NonFiniteLossError, RnnlabError
from ..models import RecurrentModel
from ..train import Checkpoint, History, StageModels, TrainResult, final_task, initial_state, member, train
from . import catalog
from ._lock import run_lock, sigterm_interrupts
from .checkpoint import (digest_path, has_checkpoint, load_checkpoint, read_checked, read_meta, read_verified,
                         save_checkpoint, serialise, write_checked)
from ._paths import check_run_id, runs_root, writable_root
from .status import is_finished, run_status

CONFIG_FILE = "config.yaml"
INITIAL_FILE = "initial_model.eqx"

__all__ = ["Run", "runs_root", "create_run", "execute", "open_run", "train_run", "run_summary", "write_finished_run",
           "reindex"]


@dataclass(frozen=True)
class Run:
    """A handle on one run directory. Every reader verifies the file's checksum (a run written
    before checksums existed reads back unverified; see the module docstring)."""

    root: Path
    id: str

    @property
    def dir(self) -> Path:
        return self.root / self.id

    @property
    def page(self) -> Path:
        return self.dir / "index.html"

    @property
    def checked(self) -> bool:
        """Whether the run records checksums (``config.yaml.sha256``); if not, reads are unverified."""
        return digest_path(self.dir / CONFIG_FILE).is_file()

    def _read(self, name: str) -> bytes:
        return read_verified(self.dir / name, required=self.checked)

    def _json(self, name: str) -> Any:
        try:
            return json.loads(self._read(name))
        except ValueError as e:  # only an unverified (old) run gets here with a damaged file
            raise CheckpointError(f"{self.dir / name}: not valid JSON ({e.__class__.__name__})") from None

    def config(self) -> RunConfig:
        path = self.dir / CONFIG_FILE
        if not path.is_file():
            raise CheckpointError(f"{path}: run config missing")
        try:
            data = yaml.safe_load(read_verified(path, required=False))
        except yaml.YAMLError as e:
            raise CheckpointError(f"{path}: not valid YAML ({e.__class__.__name__})") from None
        return parse_config(data, str(path))

    def summary(self) -> dict[str, Any]:
        """``summary.json`` (``{}`` if the run has none yet, or was killed between writing its
        digest and the file)."""
        path = self.dir / "summary.json"
        if not path.is_file():
            return {}
        out = self._json(path.name)
        if not isinstance(out, dict):
            raise CheckpointError(f"{path}: not a run summary")
        return out

    def history(self) -> History:
        return _history(self._json("history.json"), self.dir / "history.json")

    def load_model(self) -> RecurrentModel:
        """The trained model (stacked over members for an ensemble run).

        Raises:
            CheckpointError: ``model.eqx`` is missing, fails its checksum or does not fit the config.
        """
        cfg = self.config()
        path = self.dir / "model.eqx"
        if not path.is_file():
            raise CheckpointError(f"{path}: no trained weights (run status: {self.summary().get('status', 'unknown')})")
        return read_checked(path, _skeleton(cfg).model, required=self.checked)

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
        if has_checkpoint(self.dir):
            return _history(read_meta(self.dir)["history"], self.dir / "checkpoint.json")
        return History(1, "")


def _history(d: Any, path: Path) -> History:
    try:
        return History.from_dict(d)
    except TypeError as e:
        raise CheckpointError(f"{path}: not a training history ({e.__class__.__name__})") from None


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


def _write_json(run: Run, name: str, data: Any, **kw: Any) -> None:
    write_checked(run.dir / name, json.dumps(data, **kw).encode())


def _now() -> str:
    return _dt.datetime.now().isoformat(timespec="seconds")


def _row(run: Run, cfg: RunConfig, **extra: Any) -> dict[str, Any]:
    return {
        "id": run.id, "task": cfg.task.name, "model": cfg.model.name, "params": cfg.model_dump(mode="json"),
        "seed": cfg.seed, "path": str(run.dir), **extra,
    }


def create_run(cfg: RunConfig | dict, root: str | Path | None = None, run_id: str | None = None) -> Run:
    """Validate ``cfg`` in full, then create the run directory (config and its checksum) and
    its catalog row."""
    cfg = parse_config(cfg.model_dump() if isinstance(cfg, RunConfig) else cfg)
    if run_id is not None:
        check_run_id(run_id)
    root = writable_root(root)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    run = Run(root, run_id or f"{stamp}-{cfg.task.name}-{cfg.model.name}-{secrets.token_hex(2)}")
    if run.dir.exists():
        raise ConfigError(f"run id '{run.id}': directory {run.dir} already exists")
    try:
        run.dir.mkdir(parents=True)
    except OSError as e:
        raise ConfigError(f"runs folder (--out, $RNNLAB_RUNS) {root}: cannot create {run.id} "
                          f"({e.strerror or e.__class__.__name__})") from None
    write_checked(run.dir / CONFIG_FILE, cfg.to_yaml().encode())
    catalog.upsert(root, _row(run, cfg, status="created", created=_now()))
    return run


def open_run(run_id: str, root: str | Path | None = None) -> Run:
    """The run ``run_id`` (a directory name under the runs folder, or a path to one)."""
    p = Path(run_id)
    run = Run(p.parent, p.name) if (p / CONFIG_FILE).is_file() else Run(runs_root(root), run_id)
    if not (run.dir / CONFIG_FILE).is_file():
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

    With ``resume=True`` training continues from the run's checkpoint, or starts from the
    beginning if none was ever committed (a crash before the first one); ``CheckpointError``
    if the checkpoint or a stage model it lists is corrupt. ``on_eval`` is an extra
    per-evaluation hook. The initial model and each new stage model are written at every
    evaluation, before the checkpoint that lists them.

    While it trains, the process holds ``run.lock`` in the run directory (``_lock.py``): a
    second ``execute`` of the run, ``resume`` included, is refused with ``ConfigError`` naming
    the owner's PID while the owner lives, and takes over once it is dead (``kill -9``
    included). SIGTERM is handled as Ctrl-C (in the main thread; the previous handler is
    restored afterwards): either one marks the run ``interrupted`` in its summary and the
    catalog, keeps its last committed checkpoint and re-raises ``KeyboardInterrupt``.

    Raises:
        ConfigError: another live process is training the run.
    """
    with run_lock(run.dir, f"run '{run.id}'"), sigterm_interrupts():
        return _execute(run, resume, progress, checkpoint_every, on_eval)


def _execute(run: Run, resume: bool, progress: bool, checkpoint_every: int,
             on_eval: Callable[[Checkpoint], None] | None) -> TrainResult:
    cfg = run.config()
    task, model_cfg = cfg.build_task(), cfg.build_model_config()
    key = jax.random.PRNGKey(cfg.seed)
    continual = cfg.train.continual is not None
    start, written = None, set()
    if resume and has_checkpoint(run.dir):
        skeleton = _continual_skeleton(cfg) if continual else _skeleton(cfg)
        start = load_checkpoint(run.dir, skeleton)
        initial = run.load_initial_model() if (run.dir / INITIAL_FILE).is_file() else None
        start = replace(start, initial_model=initial, stage_models=_load_stages(run.dir, cfg, start.history))
        written = set(start.stage_models) | ({"initial"} if initial is not None else set())

    def hook(ckpt: Checkpoint) -> None:
        ckpt = _continual_checkpoint(ckpt) if continual else ckpt
        _write_new_stages(run.dir, ckpt, written)
        if ckpt.n_evals % checkpoint_every == 0:
            save_checkpoint(run.dir, ckpt)
        if on_eval is not None:
            on_eval(ckpt)

    catalog.update(run.root, run.id, status="running", **({} if resume else {"created": _now()}))
    try:
        if continual:
            from ..continual import ContinualCheckpoint, train_continual

            start = start and ContinualCheckpoint.from_tree(start.state, start.history, start.initial_model,
                                                            start.stage_models)
            result = train_continual(model_cfg, task, cfg.train, key=key, progress=progress, on_eval=hook,
                                     resume=start)
        else:
            result = train(model_cfg, task, cfg.train, key=key, progress=progress, on_eval=hook, resume=start)
    except NonFiniteLossError as err:
        _finish(run, cfg, task, err.result, status="failed", error=str(err), progress=progress)
        raise
    except BaseException as err:
        _mark_interrupted(run, err)
        raise
    try:  # the final checkpoint is committed before any finished file (resume rewrites them)
        if continual:  # the last stage's model, then the stage's final checkpoint (ContinualResult.checkpoint)
            _write_new_stages(run.dir, Checkpoint(None, result.history, 0, result.initial_model,
                                                  dict(result.passed_models)), written)
            save_checkpoint(run.dir, _continual_checkpoint(result.checkpoint))
        else:
            save_checkpoint(run.dir, Checkpoint(result.state, result.history, len(result.history.step)))
        _finish(run, cfg, task, result, status=run_status(result.history), progress=progress)
    except BaseException as err:
        _mark_interrupted(run, err)
        raise
    return result


def _continual_skeleton(cfg: RunConfig):
    """The checkpoint arrays of a continual run (``train.continual``; ``rnnlab.continual``): the
    stage index, the stage's training state, the method's arrays and the accuracy rows
    (``ContinualCheckpoint.tree``), kept in the ordinary checkpoint files; the model after each
    stage s is a stage model (``stages/N<s>.eqx``, s = 1..S)."""
    from ..continual.driver import skeleton

    return skeleton(cfg.build_model_config(), cfg.build_task(), cfg.train, jax.random.PRNGKey(cfg.seed))


def _continual_checkpoint(c: Any) -> Checkpoint:
    """A ``ContinualCheckpoint`` as the store's ``Checkpoint`` (its arrays as the state)."""
    return Checkpoint(c.tree(), c.history, len(c.history.step), c.initial_model, dict(c.stage_models))


def _mark_interrupted(run: Run, err: BaseException) -> None:
    """Summary and catalog say ``interrupted`` (Ctrl-C, SIGTERM, or an error outside training).

    Best effort: when the disk is full these writes fail too, and the error that stopped the
    run is what the caller sees (the run lock is released, so the run is taken over later)."""
    try:
        catalog.update(run.root, run.id, status="interrupted")
        _write_json(run, "summary.json", {"status": "interrupted", "error": str(err) or repr(err)})
    except (OSError, RnnlabError):
        pass


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


def _finish(run: Run, cfg: RunConfig, task, result: TrainResult, status: str, error: str | None = None,
            progress: bool = False) -> None:
    """Write weights, history, figures and page, then the summary; update the catalog (with a
    spinner saying so when ``progress``: drawing the figures takes seconds)."""
    import contextlib

    from ..report import write_run_report

    spinner = contextlib.nullcontext()
    if progress:
        from rich.console import Console

        spinner = Console(stderr=True).status("writing weights, figures and the report page")
    with spinner:
        if is_finished(status):
            write_checked(run.dir / "model.eqx", serialise(result.model))
        _write_json(run, "history.json", result.history.to_dict())
        summary = run_summary(cfg, result.history, status)
        if error:
            summary["error"] = error
        if result.history.step:
            shown = final_task(task, cfg.train.curriculum, result.history.level)
            write_run_report(run.dir, f"rnnlab run {run.id}", result.model, shown, result.history, summary,
                             ensemble=cfg.train.ensemble is not None)
        _write_json(run, "summary.json", summary, indent=1)
        catalog.update(run.root, run.id, status=status, metrics=summary, duration=summary["wall_time_s"])


def write_finished_run(
    root: Path, run_id: str, cfg: RunConfig, model_bytes: bytes, history: History, summary: dict[str, Any],
    *, initial_model: bytes | None = None, stage_models: dict[int, bytes] | None = None,
) -> Run:
    """Write a run trained elsewhere (a sweep worker): config, weights, history, summary, catalog row.

    ``initial_model`` and ``stage_models`` (``{N: bytes}``, the files ``history.passed`` names)
    are the serialised initial and curriculum stage models. Every file is written atomically
    with its checksum, the catalog row last; writing the same run again replaces it.
    """
    run = Run(Path(root), check_run_id(run_id))
    run.dir.mkdir(parents=True, exist_ok=True)
    write_checked(run.dir / CONFIG_FILE, cfg.to_yaml().encode())
    if initial_model is not None:
        write_checked(run.dir / INITIAL_FILE, initial_model)
    for p in history.passed:
        if stage_models and p["n"] in stage_models:
            write_checked(run.dir / p["file"], stage_models[p["n"]])
    if is_finished(summary["status"]):
        write_checked(run.dir / "model.eqx", model_bytes)
    _write_json(run, "history.json", history.to_dict())
    _write_json(run, "summary.json", summary, indent=1)
    catalog.upsert(run.root, _row(run, cfg, status=summary["status"], metrics=summary, created=_now(),
                                  duration=summary.get("wall_time_s")))
    return run


def _catalog_row(run: Run) -> dict[str, Any]:
    """The catalog row of ``run`` as its directory tells it (config and summary verified).

    Without a summary the run was killed (``interrupted``) if it committed a checkpoint, else
    it never trained (``created``); ``created`` is the time of ``config.yaml``. An interrupted
    run's metrics and duration are empty, as ``execute`` leaves them.
    """
    cfg, summary = run.config(), run.summary()
    status = summary.get("status") or ("interrupted" if has_checkpoint(run.dir) else "created")
    done = status != "interrupted" and bool(summary)
    created = _dt.datetime.fromtimestamp((run.dir / CONFIG_FILE).stat().st_mtime).isoformat(timespec="seconds")
    return _row(run, cfg, status=status, metrics=summary if done else {}, created=created,
                duration=summary.get("wall_time_s") if done else None)


def reindex(root: str | Path | None = None) -> tuple[list[str], dict[str, str], Path | None]:
    """Rebuild ``<root>/catalog.sqlite`` from the run directories under ``root``.

    Every folder with a ``config.yaml`` is read back (config and summary verified) into a row;
    a run that fails verification is left out and reported. The new catalog is built aside and
    renamed into place; the previous file, damaged or not, is kept as
    ``catalog.sqlite.damaged-<time>`` or ``catalog.sqlite.previous-<time>``. Run it while no
    run of ``root`` is training (a run without a summary is listed as ``interrupted``).

    Returns:
        ``(ids, skipped, aside)``: the run ids indexed, ``{id: error}`` for those left out, and
        where the previous catalog went (``None`` if there was none).
    """
    root = runs_root(root)
    rows, skipped = [], {}
    for run_dir in catalog.run_dirs(root):
        try:
            rows.append(_catalog_row(Run(root, run_dir.name)))
        except (CheckpointError, ConfigError) as e:
            skipped[run_dir.name] = str(e)
    aside = catalog.rebuild(root, rows)
    return [r["id"] for r in rows], skipped, aside


def train_run(cfg: RunConfig | dict, root: str | Path | None = None, **kw: Any) -> tuple[Run, TrainResult]:
    """Create a run for ``cfg`` and execute it; returns ``(run, result)``."""
    run = create_run(cfg, root)
    return run, execute(run, **kw)
