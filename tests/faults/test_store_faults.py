"""Run store under faults: a process killed at every stage of a checkpoint write resumes to a
bit-identical run; every file the store reads is checksummed (a flipped byte or a truncation
is an error naming the file); a damaged catalog is reported in one line and rebuilt from the
run directories by ``runs reindex``."""

import fnmatch
import json
import os
import shutil
import sqlite3
import subprocess
import sys

import jax
import numpy as np
import pytest
from typer.testing import CliRunner

from rnnlab.cli import app
from rnnlab.errors import CheckpointError, RnnlabError, StoreWriteError
from rnnlab.store import _faults
from rnnlab.store import catalog as store_catalog
from rnnlab.store import CatalogError, Run, create_run, execute, query, reindex, train_run, write_finished_run
from rnnlab.store.checkpoint import META_FILE, STATE_FILE, digest_path

CFG = {
    "task": {"name": "flipflop", "params": {"n_bits": 1, "n_steps": 20}},
    "model": {"name": "leaky_rnn", "params": {"hidden_size": 8}},
    "train": {"steps": 60, "eval_every": 20, "batch_size": 8, "eval_batch_size": 8},
    "seed": 0,
}
# The child trains the run without the figure page (not part of what is checked, and slow to
# draw); it compiles nothing new: rnnlab's persistent compilation cache holds the programs.
_CHILD = ("import sys, rnnlab.report as r; r.write_run_report = lambda *a, **k: None\n"
          "from rnnlab.store import Run, execute\n"
          "from pathlib import Path\n"
          "p = Path(sys.argv[1]); execute(Run(p.parent, p.name), progress=False)\n")


@pytest.fixture(scope="module")
def no_report():
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("rnnlab.report.write_run_report", lambda *a, **k: None)
        yield


@pytest.fixture(scope="module")
def reference(tmp_path_factory, no_report):
    run, _ = train_run(CFG, tmp_path_factory.mktemp("ref"), progress=False)
    return run


def _versions(run):
    return sorted(int(p.name[len("checkpoint-"):-len(".eqx")]) for p in run.dir.glob("checkpoint-*.eqx"))


def _committed(run):
    """``(n_evals, file)`` of the committed checkpoint, or None."""
    meta = run.dir / META_FILE
    return (json.loads(meta.read_text())["n_evals"], json.loads(meta.read_text())["file"]) if meta.is_file() else None


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _assert_same_run(run, ref):
    """Bit-identical end state: weights, checkpointed training state, history and summary
    (wall times apart: a resumed run's clock restarts from its checkpoint's)."""
    assert (run.dir / "model.eqx").read_bytes() == (ref.dir / "model.eqx").read_bytes()
    state = [(r.dir / _committed(r)[1]).read_bytes() for r in (run, ref)]
    assert state[0] == state[1]  # model, optimiser state, keys and counters
    for a, b in zip(_leaves(run.load_model()), _leaves(ref.load_model())):
        np.testing.assert_array_equal(a, b)
    hist = [{k: v for k, v in r.history().to_dict().items() if k != "wall_time"} for r in (run, ref)]
    assert hist[0] == hist[1]
    summ = [{k: v for k, v in r.summary().items() if k != "wall_time_s"} for r in (run, ref)]
    assert summ[0] == summ[1] and summ[0]["status"] == "budget"


# fault -> what the killed child leaves: (committed n_evals, state files on disk, a temporary file left)
# 60 steps / eval_every 20: three evaluations, each followed by a checkpoint; "@2" = the second one.
CRASHES = {
    "checkpoint:begin@2": (1, [1], False),
    "checkpoint:state-tmp@2": (1, [1], True),
    "checkpoint:state@2": (1, [1, 2], False),
    "checkpoint:meta-tmp@2": (1, [1, 2], True),
    "checkpoint:meta@2": (2, [1, 2], False),
    "checkpoint:done@2": (2, [2], False),
    "checkpoint:state@1": (None, [1], False),  # before the first commit: resume starts over
    "write:model.eqx": (3, [4], False),  # while finishing: the model's digest written, not the model
}


@pytest.mark.parametrize("fault", list(CRASHES))
def test_killed_at_any_stage_resumes_bit_identical(fault, reference, tmp_path):
    run = create_run(CFG, tmp_path, run_id="r")
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(run.dir)], env={**os.environ, "RNNLAB_FAULT": fault},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 137, proc.stderr[-2000:]
    n_evals, versions, tmp = CRASHES[fault]
    assert (_committed(run) or (None,))[0] == n_evals
    assert _versions(run) == versions
    assert any(run.dir.glob(".checkpoint*.tmp")) == tmp
    if fault.startswith("write:"):
        with pytest.raises(CheckpointError, match="model.eqx"):
            run.load_model()
    execute(run, resume=True, progress=False)
    _assert_same_run(run, reference)
    assert len(_versions(run)) == 1 and not any(run.dir.glob(".*.tmp"))  # leftovers cleaned up


def _to_format_1(run):
    """Rewrite ``run`` as a run directory of before this change: ``checkpoint.eqx`` plus a
    ``checkpoint.json`` without format or checksum of its own, and no checksums beside the
    config, weights, history or summary (stage and initial models had them already)."""
    meta = json.loads((run.dir / META_FILE).read_text())
    (run.dir / meta["file"]).rename(run.dir / STATE_FILE)
    (run.dir / META_FILE).write_text(json.dumps({k: meta[k] for k in ("n_evals", "sha256", "history")}))
    for name in ("config.yaml", "summary.json", "history.json", "model.eqx"):
        digest_path(run.dir / name).unlink(missing_ok=True)


def test_old_format_run_directories_still_load_and_resume(reference, no_report, tmp_path):
    run = create_run(CFG, tmp_path, run_id="old")

    def interrupt(ckpt):
        if ckpt.n_evals == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute(run, progress=False, on_eval=interrupt)
    _to_format_1(run)
    assert not run.checked and run.config() == reference.config() and run.summary()["status"] == "interrupted"
    execute(run, resume=True, progress=False)
    _assert_same_run(run, reference)
    assert not (run.dir / STATE_FILE).exists() and _versions(run)  # the first save moved it to format 2
    # finished old runs load, unverified
    done = Run(tmp_path, "done")
    shutil.copytree(reference.dir, done.dir)
    _to_format_1(done)
    for a, b in zip(_leaves(done.load_model()), _leaves(reference.load_model())):
        np.testing.assert_array_equal(a, b)
    assert done.history().to_dict() == reference.history().to_dict() and done.summary() == reference.summary()


def _copy(run, tmp_path, name):
    copy = Run(tmp_path, name)
    shutil.copytree(run.dir, copy.dir)
    return copy


def _flip(path, at):
    blob = bytearray(path.read_bytes())
    blob[at] ^= 0x01
    path.write_bytes(bytes(blob))


def _one_line_naming(err, path):
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg, msg


READERS = {
    "config.yaml": lambda run: run.config(),
    "summary.json": lambda run: run.summary(),
    "history.json": lambda run: run.history(),
    "model.eqx": lambda run: run.load_model(),
    "initial_model.eqx": lambda run: run.load_initial_model(),
    META_FILE: lambda run: execute(run, resume=True, progress=False),
    "checkpoint-*.eqx": lambda run: execute(run, resume=True, progress=False),
}


@pytest.mark.parametrize("pattern", list(READERS))
def test_a_flipped_byte_in_any_file_is_named(pattern, reference, tmp_path):
    """One changed bit at the start, a third, the middle and the end of each file the store
    reads (and of its checksum file) is caught before use, by an error naming that file."""
    name = next(reference.dir.glob(pattern)).name
    targets = [name] + ([digest_path(reference.dir / name).name] if pattern != META_FILE
                        and not pattern.startswith("checkpoint-") else [])
    for target in targets:
        size = (reference.dir / target).stat().st_size
        for at in sorted({0, size // 3, size // 2, size - 1}):
            copy = _copy(reference, tmp_path, f"{target}-{at}")
            _flip(copy.dir / target, at)
            with pytest.raises(CheckpointError) as err:
                READERS[pattern](copy)
            _one_line_naming(err, copy.dir / name)


def test_truncated_config_is_refused_by_show_resume_and_analyze(reference, tmp_path):
    run = _copy(reference, tmp_path, "cut")
    path = run.dir / "config.yaml"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError) as err:
        run.config()
    _one_line_naming(err, path)
    for args in (["runs", "show", run.id], ["train", "--resume", run.id, "--no-progress"], ["analyze", run.id]):
        res = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
        assert isinstance(res.exception, CheckpointError), (args, res.output)
        assert str(res.exception).startswith(f"{path}: corrupt file"), args


@pytest.fixture(scope="module")
def runs(tmp_path_factory, reference, no_report):
    """A runs folder with a finished, an interrupted, a never-started and a sweep-written run."""
    root = tmp_path_factory.mktemp("runs")
    train_run(CFG, root, progress=False)
    stopped = create_run(CFG, root)

    def interrupt(ckpt):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        execute(stopped, progress=False, on_eval=interrupt)
    create_run(CFG, root)
    write_finished_run(root, "sweep-0", reference.config(), (reference.dir / "model.eqx").read_bytes(),
                       reference.history(), {**reference.summary(), "status": "converged"})
    return root


def _rows(root):
    return {r["id"]: r for r in query(root)}


def _invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


@pytest.mark.parametrize("damage", ["garbage", "empty", "missing"])
def test_damaged_catalog_is_named_and_reindex_rebuilds_it(damage, runs, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(runs, root)
    before = _rows(root)
    assert sorted(r["status"] for r in before.values()) == ["budget", "converged", "created", "interrupted"]
    path = root / "catalog.sqlite"
    if damage == "garbage":  # the header and the first page overwritten
        with open(path, "r+b") as f:
            f.write(b"\x5a" * 4096)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
    with pytest.raises(CatalogError) as err:
        query(root)
    _one_line_naming(err, path)
    assert f"rnnlab runs reindex --out {root}" in str(err.value)
    res = _invoke("runs", "list", "--out", root)
    assert isinstance(res.exception, RnnlabError) and str(res.exception) == str(err.value)  # `main` prints it as one line
    res = _invoke("runs", "reindex", "--out", root)
    assert res.exit_code == 0, res.output
    after = _rows(root)
    assert after.keys() == before.keys()
    for rid, row in before.items():  # all but the creation time (the config's) and the copied folder's path
        assert {k: v for k, v in after[rid].items() if k not in ("created", "path")} == \
            {k: v for k, v in row.items() if k not in ("created", "path")}
        assert after[rid]["path"] == str(root / rid)
    aside = sorted(p.name for p in root.glob("catalog.sqlite.*"))
    assert aside == ([] if damage == "missing" else [aside[0]]) and all(n.startswith("catalog.sqlite.damaged-")
                                                                      for n in aside)


def test_reindex_leaves_out_a_damaged_run_and_names_it(runs, tmp_path):
    root = tmp_path / "runs"
    shutil.copytree(runs, root)
    _flip(root / "sweep-0" / "summary.json", 5)
    res = _invoke("runs", "reindex", "--out", root)
    assert res.exit_code == 1 and "sweep-0" in res.output and "summary.json: corrupt file" in res.output
    assert "sweep-0" not in _rows(root) and len(_rows(root)) == 3
    ids, skipped, aside = reindex(root)  # a sound catalog is kept too, as .previous-<time>
    assert list(skipped) == ["sweep-0"] and aside.name.startswith("catalog.sqlite.previous-")


# ---- a full disk -----------------------------------------------------------------------------
# file glob (its @n-th write and every later one fail with ENOSPC) -> committed n_evals when it stops
DISK_FULL = {
    "checkpoint-*.eqx@2": 1,  # the second checkpoint's state file
    "checkpoint.json@2": 1,  # the second checkpoint's commit
    "model.eqx": 3,  # while finishing, after the final checkpoint
    "summary.json": 3,
}


@pytest.mark.parametrize("pattern", list(DISK_FULL))
def test_a_full_disk_stops_the_run_resumably_and_names_the_file(pattern, reference, no_report, tmp_path, monkeypatch):
    run = create_run(CFG, tmp_path, run_id="r")
    monkeypatch.setenv("RNNLAB_FAULT_ENOSPC", pattern)
    monkeypatch.setattr(_faults, "_seen", {})
    with pytest.raises(StoreWriteError) as info:
        execute(run, progress=False)
    msg = str(info.value)
    assert "No space left on device" in msg and "\n" not in msg
    assert fnmatch.fnmatch(msg.split(":")[0].rsplit("/", 1)[-1], pattern.split("@")[0])  # names the file
    assert _committed(run)[0] == DISK_FULL[pattern]  # what was reported saved is still there
    assert not any(run.dir.glob(".*.tmp"))  # a failed write leaves no temporary file
    monkeypatch.delenv("RNNLAB_FAULT_ENOSPC")  # space freed
    execute(run, resume=True, progress=False)
    _assert_same_run(run, reference)


def test_a_full_disk_under_the_catalog_is_named_and_reindex_restores_it(reference, no_report, tmp_path, monkeypatch):
    """SQLite's own full-database error (``PRAGMA max_page_count`` caps the file as a full disk
    would) is a one-line error naming the catalog; the run's files are complete and
    ``reindex`` rebuilds its row."""
    run = create_run(CFG, tmp_path, run_id="r")
    connect = sqlite3.connect

    def full(path, *a, **k):
        con = connect(path, *a, **k)
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        con.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        return con

    monkeypatch.setattr("rnnlab.store.catalog.sqlite3.connect", full)
    with pytest.raises(StoreWriteError, match=r"catalog\.sqlite: could not be written .*full.*reindex"):
        # a hook writing a long row needs pages the capped file cannot get
        execute(run, progress=False,
                on_eval=lambda c: store_catalog.update(run.root, run.id, metrics={"pad": "x" * 20000}))
    monkeypatch.setattr("rnnlab.store.catalog.sqlite3.connect", connect)
    (run.root / "catalog.sqlite").unlink()
    reindex(run.root)
    assert [r["status"] for r in query(run.root)] == ["interrupted"]
    execute(run, resume=True, progress=False)
    _assert_same_run(run, reference)
    assert [r["status"] for r in query(run.root)] == ["budget"]
