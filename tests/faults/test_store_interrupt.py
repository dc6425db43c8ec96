"""Interrupted runs end ``interrupted``, and a run is trained by one process at a time.

Every trainer is an ``rnnlab train`` process (the CLI's ``main``) with the figure page turned
off. A trainer that is to be stopped also sleeps ``_PAUSE`` s after each checkpoint, so it is
still training 20+ s after its first checkpoint on any machine; the resumptions run at full
speed. SIGTERM must leave the run ``interrupted`` (summary and catalog) with its checkpoint,
and ``--resume`` finish it; a second ``--resume`` is refused (exit 2, one line naming the
owner's PID) while the owner lives, and takes over once it was killed with ``kill -9``.
In a worker thread ``execute`` trains without a handler; in the main thread the previous
SIGTERM handler is back afterwards.
"""

import json
import os
import signal
import subprocess
import sys
import time

import yaml

from rnnlab.store import Run, query

STEPS, EVAL_EVERY = 1000, 20
CFG = {
    "task": {"name": "flipflop", "params": {"n_bits": 1, "n_steps": 20}},
    "model": {"name": "leaky_rnn", "params": {"hidden_size": 8}},
    "train": {"steps": STEPS, "eval_every": EVAL_EVERY, "batch_size": 8, "eval_batch_size": 8},
    "seed": 0,
}
_PAUSE = 0.4  # s after each of the 50 checkpoints: an unstopped slow trainer takes > 20 s
_CHILD = ("import sys, time\n"
          "import rnnlab.report as r; r.write_run_report = lambda *a, **k: None\n"
          "import rnnlab.store.run as run\n"
          "if sys.argv[1] == 'slow':\n"
          "    save = run.save_checkpoint\n"
          "    run.save_checkpoint = lambda *a: (save(*a), time.sleep(%r))[0]\n"
          "from rnnlab.cli import main\n"
          "sys.argv = ['rnnlab', 'train', '--no-progress', *sys.argv[2:]]\n"
          "main()\n") % _PAUSE


def _train(speed, *args, **kw):
    return subprocess.Popen([sys.executable, "-c", _CHILD, speed, *map(str, args)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def _finish(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _start_slow(tmp_path):
    """A slow trainer of a new run under ``tmp_path/runs``, once its first checkpoint committed."""
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(CFG))
    root = tmp_path / "runs"
    proc = _train("slow", "--config", cfg, "--out", root)
    deadline = time.monotonic() + 60
    while not list(root.glob("*/checkpoint.json")):
        assert proc.poll() is None, _finish(proc)
        assert time.monotonic() < deadline, "no checkpoint within 60 s"
        time.sleep(0.1)
    run_dir = next(root.glob("*/checkpoint.json")).parent
    return proc, Run(root, run_dir.name)


def _status(run):
    (row,) = query(run.root, id=run.id)
    return row["status"], run.summary().get("status")  # no summary while training


def _assert_finished(run, rc_out_err):
    rc, out, err = rc_out_err
    assert rc == 0, err
    assert _status(run) == ("budget", "budget")
    assert run.summary()["steps"] == STEPS and len(run.history().step) == STEPS // EVAL_EVERY
    assert not (run.dir / "run.lock").exists()


def test_sigterm_marks_interrupted_and_resume_finishes(tmp_path):
    proc, run = _start_slow(tmp_path)
    assert _status(run)[0] == "running"
    proc.send_signal(signal.SIGTERM)
    rc, _, err = _finish(proc)
    assert rc == 130 and f"--resume {run.id}" in err  # the CLI's Ctrl-C exit
    assert _status(run) == ("interrupted", "interrupted")
    assert "SIGTERM" in run.summary()["error"]
    meta = json.loads((run.dir / "checkpoint.json").read_text())
    assert 1 <= meta["n_evals"] < STEPS // EVAL_EVERY  # the last committed checkpoint is kept
    assert not (run.dir / "run.lock").exists()  # released on the way out
    _assert_finished(run, _finish(_train("fast", "--resume", run.dir)))


def test_resume_refused_while_owner_lives_and_takes_over_after_kill9(tmp_path):
    proc, run = _start_slow(tmp_path)
    rc, _, err = _finish(_train("fast", "--resume", run.dir))
    assert proc.poll() is None, "the owner ended before the refusal was checked"
    assert rc == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and run.id in lines[0] and f"PID {proc.pid} " in lines[0], err
    assert _status(run)[0] == "running"  # the refused process changed nothing
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert (run.dir / "run.lock").read_text().split()[0] == str(proc.pid)  # stale file, free lock
    _assert_finished(run, _finish(_train("fast", "--resume", run.dir)))


_RESTORE = """
import signal, sys, threading
import rnnlab.report as r; r.write_run_report = lambda *a, **k: None
from rnnlab.store import train_run
cfg = {"task": {"name": "flipflop", "params": {"n_bits": 1, "n_steps": 20}},
       "model": {"name": "leaky_rnn", "params": {"hidden_size": 8}},
       "train": {"steps": 20, "eval_every": 20, "batch_size": 8, "eval_batch_size": 8}, "seed": 0}
def mine(signum, frame): pass
signal.signal(signal.SIGTERM, mine)
run, _ = train_run(cfg, sys.argv[1], progress=False)
assert signal.getsignal(signal.SIGTERM) is mine, "previous handler not restored"
out = []
t = threading.Thread(target=lambda: out.append(train_run(cfg, sys.argv[1], progress=False)[0]))
t.start(); t.join()
assert out and out[0].summary()["status"] == "budget", "execute failed outside the main thread"
assert not (run.dir / "run.lock").exists() and not (out[0].dir / "run.lock").exists()
"""


def test_handler_restored_and_worker_thread_trains(tmp_path):
    proc = subprocess.run([sys.executable, "-c", _RESTORE, str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
