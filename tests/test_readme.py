"""Every code block of README.md is a tested example.

Blocks are found by their fence (```python, ```bash, ```yaml); a block of any other language
fails this file until it is handled here.

* ``python`` blocks run in subprocesses, in temporary working directories. A block
  continues the blocks before it in its own section, and the sections in ``CONTINUES``
  continue another section (the README's analyses use ``task``, ``result`` and ``ens`` from
  its Python example), so each such chain of blocks runs in one process; the chains run
  concurrently with each other and with the bash blocks.
* ``bash`` blocks: each line is one ``rnnlab ...`` command, run in order with the venv's
  ``rnnlab`` first on PATH, in one temporary working directory that holds a copy of
  ``examples/`` and, as ``run.yaml``, the README's run config; the blocks run concurrently.
  A block with another command must be exempted in ``EXEMPT`` with its reason. Placeholders
  (``RUN_ID``, ...) name runs that earlier commands made (``PLACEHOLDERS``); a command that
  holds one waits for them.
* ``yaml`` blocks are parsed by the project's own loaders: run configs (``task`` and
  ``model`` keys) by ``rnnlab.config.load_config``, sweep files (``base``) by
  ``rnnlab.sweep.load_sweep``, and a list of ``analyses`` as the analyses of a sweep file. A
  sweep block whose paragraph names an ``examples/`` file must equal that file.

Small sizes: before a block runs, each (README text, replacement) pair of ``SUBSTITUTIONS``
is applied to it, and ``SWEEP_SUBSTITUTIONS`` to the copied ``examples/sweep_small.yaml``;
the README keeps the real example. ``EXEMPT`` lists the blocks and commands that do not run,
``SLOW`` those that run only under ``-m slow`` (``test_readme_slow_examples``), each with its
reason. Claims of the README text that can be checked are checked here too:
``ens.member(3)`` is the separately trained member's network, ``store.train_run`` returns
``(run, result)`` whose weights ``open_run(id).load_model()`` reads back, and the tasks listed
as taking ``dt`` have it.

Isolation: HOME, TMPDIR, XDG and Matplotlib folders are the test's own; RNNLAB_RUNS is unset
(runs go to ``./runs`` in the temporary folder, as the README says). JAX's persistent
compilation cache stays where it is (``RNNLAB_CACHE_DIR``, default ``~/.cache/rnnlab/xla``
of the real HOME): it is keyed by the compiled program alone and spares this test most of
its compile time.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BIN = Path(sys.executable).parent

SUBSTITUTIONS: list[tuple[str, str]] = [
    ("steps=3000, on_eval=rec)", "steps=20, eval_every=1, on_eval=rec)"),  # snapshots need evaluations
    ("steps=3000", "steps=20"),
    ("steps=300, loss=loss", "steps=20, loss=loss"),
    ("steps=100, batch_size=128, lr=1e-2", "steps=20, batch_size=32, lr=1e-2"),  # Sinkhorn: three OT solves a step
    ("steps=200, eval_every=100, batch_size=16", "steps=20, eval_every=10, batch_size=16"),
    ("hidden_size=64", "hidden_size=8"),
    ("hidden_size=32", "hidden_size=8"),
    ("ensemble=32", "ensemble=4"),
    ("finetune_steps=200", "finetune_steps=5"),
    ("A.network_timescales(model, task, key=0)", "A.network_timescales(model, task, key=0, n_steps=2000, n_trials=2)"),
    ("A.find_fixed_points(model, states)", "A.find_fixed_points(model, states, n_init=64, adam_steps=50)"),
    ("eps=0.5, key=0, threshold=0.01)", "eps=0.5, key=0, threshold=0.01, max_steps=20)"),  # retraining budget
    ("A.degeneracy(ens.model, task, key=0)", "A.degeneracy(ens.model, task, key=0, n_trials=8, n_null=2, dsa_starts=1, dsa_steps=20)"),
    ("n_delays=10, rank=10)", "n_delays=10, rank=10, n_starts=1, steps=20)"),
    ("--hidden-size 64 --steps 3000", "--hidden-size 8 --steps 20"),
    ("rnnlab analyze RUN_ID", "rnnlab analyze --quick RUN_ID"),  # the CLI's switch for smaller simulations
    ("rnnlab degeneracy ENSEMBLE_RUN_ID", "rnnlab degeneracy --trials 8 --n-null 2 ENSEMBLE_RUN_ID"),
    ("rnnlab sweep run examples/sweep_small.yaml ", "rnnlab sweep run --workers 1 examples/sweep_small.yaml "),
    ("--max-n 8", "--max-n 3 --steps 20 -m hidden_size=8"),
    ("--ensemble 16 --steps 2000", "--ensemble 4 --steps 20 --hidden-size 8"),
    ("steps: 8000", "steps: 20"),
    ("hidden_size: 64", "hidden_size: 8"),
    ("max_n: 6", "max_n: 3"),
]
SWEEP_SUBSTITUTIONS: list[tuple[str, str]] = [("[8, 16]", "[8]"), ("steps: 300", "steps: 20")]

#: a piece of a block (or of one bash line) -> why it does not run here
EXEMPT: dict[str, str] = {
    "python3 -m venv": "set-up: creates the virtual environment this test runs in and installs rnnlab into it "
                       "(.ci/run runs the second of these blocks itself)",
    "--ray auto": "needs a running Ray cluster to connect to; the Ray executor is tested on a local cluster in "
                  "tests/test_sweep.py",
}
#: a piece of a bash line or python block -> why it runs only under -m slow
SLOW: dict[str, str] = {
    "rnnlab demo": "trains the demo's two networks to their thresholds at full size (minutes)",
    "--what all --quick": "runs every analysis again after the two commands above (about 30 s of CPU; the "
                          "fast run stays under its time budget without it)",
    "rnnlab study run sussillo2013": "trains and analyses the quick scale of a study (minutes)",
    "rnnlab study report runs/studies/sussillo2013-quick": "needs the study run above",
    'rnnlab.studies.run("sussillo2013", scale="quick")': "runs the quick scale of a study (minutes; "
                                                          "after the command line's run it only reads it back)",
}
#: section -> the section whose Python blocks it continues
CONTINUES = {"Analyses": "Python"}

# test-owned checks run after the README block that contains the key, in its namespace
_CHECKS: dict[str, str] = {
    "ens.member(3)": """
        # README: member 3 is the network of a separate train call with key split(PRNGKey(0), E)[3],
        # up to float rounding (tolerances of tests/test_train.py's ensemble test)
        import numpy as _np, equinox as _eqx
        _E, _steps = len(ens.history.status), int(max(ens.history.stop_step))  # the substituted sizes
        _keys = jax.random.split(jax.random.PRNGKey(0), _E)
        _single = rnnlab.train(cfg, task, key=_keys[3], steps=_steps, lr=3e-3, progress=False)
        _leaves = lambda m: [_np.asarray(x) for x in jax.tree.leaves(_eqx.filter(m, _eqx.is_inexact_array))]
        for _a, _b in zip(_leaves(model3), _leaves(_single.model), strict=True):
            _np.testing.assert_allclose(_a, _b, rtol=1e-3, atol=5e-4)
        assert not _np.allclose(_leaves(ens.member(2))[0], _leaves(model3)[0])  # members differ
        # README: train_run returns (run, result); open_run(id).load_model() reads the weights back
        from rnnlab.store import Run, open_run, train_run
        from rnnlab.train import TrainResult
        _out = train_run({"task": {"name": "flipflop"}, "model": {"name": "leaky_rnn", "params": {"hidden_size": 8}},
                          "train": {"steps": 2, "eval_every": 1}}, "runs", progress=False)
        assert isinstance(_out, tuple) and len(_out) == 2
        assert isinstance(_out[0], Run) and isinstance(_out[1], TrainResult)
        for _a, _b in zip(_leaves(open_run(_out[0].id, "runs").load_model()), _leaves(_out[1].model), strict=True):
            _np.testing.assert_array_equal(_a, _b)
    """,
}


def _log(tmp: Path, line: str) -> None:
    """Times of the commands and blocks, in ``<tmp>/times.log`` (pytest's temporary folder)."""
    with open(tmp / "times.log", "a") as f:
        f.write(line + "\n")


def _runs(cwd: Path) -> list[Path]:
    return sorted((p.parent for p in (cwd / "runs").glob("*/config.yaml")), key=lambda p: p.stat().st_mtime)


class Made:
    """What the bash commands made so far, shared by the blocks' threads: a placeholder waits
    until the command that makes its run has finished (or no other block is left running)."""

    def __init__(self, cwd: Path, n_blocks: int):
        self.cwd, self.active, self.waiting = cwd, n_blocks, 0
        self.done: dict[str, list[Path]] = {}  # command -> the top-level runs it made
        self.cond = threading.Condition()

    def record(self, cmd: str, new: list[Path]) -> None:
        with self.cond:
            self.done[cmd] = new
            self.cond.notify_all()

    def block_finished(self) -> None:
        with self.cond:
            self.active -= 1
            self.cond.notify_all()

    def wait(self, find, what: str, timeout: float):
        with self.cond:
            self.waiting += 1
            try:
                self.cond.wait_for(lambda: find() is not None or self.active <= self.waiting, timeout)
            finally:
                self.waiting -= 1
        found = find()
        assert found is not None, f"{what}: the command that makes it did not succeed"
        return found


def _ensemble_run(made: Made) -> str:
    runs = made.wait(lambda: next((r[0].name for c, r in made.done.items() if "--ensemble" in c and r), None),
                     "the ensemble run of `rnnlab train --ensemble`", timeout=900)
    return runs


def _sweep_runs(made: Made) -> str:
    def find():
        if not any(c.startswith("rnnlab sweep run") for c in made.done):
            return None
        runs = sorted((made.cwd / "runs" / "sweeps").glob("*/*/config.yaml"))
        return " ".join(str(p.parent) for p in runs[:3]) if len(runs) >= 3 else None
    return made.wait(find, "three runs of `rnnlab sweep run`", timeout=900)


#: placeholder -> the runs an earlier command made (longest placeholders replaced first)
PLACEHOLDERS = {
    "RUN_A RUN_B RUN_C": _sweep_runs,  # three networks of one task: the sweep's three seeds
    "ENSEMBLE_RUN_ID": _ensemble_run,
    "RUN_ID": _ensemble_run,  # an ensemble run with 4 members (`--member 3` below)
}


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int
    section: str
    index: int  # its number among the section's blocks of that language
    before: str  # the paragraph just above it

    @property
    def id(self) -> str:
        return f"{self.lang}-{re.sub(r'[^A-Za-z]+', '_', self.section).strip('_')}-{self.index}"


def readme_blocks(text: str | None = None) -> list[Block]:
    """The fenced code blocks of README.md, with their section and line."""
    text = README.read_text() if text is None else text
    blocks, section, counts = [], "", {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section = line[3:].strip()
        m = re.match(r"^```(\S*)\s*$", line)
        if m:
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            k = i - 1
            while k >= 0 and not lines[k].strip():
                k -= 1
            para = []
            while k >= 0 and lines[k].strip() and not lines[k].startswith("```"):
                para.insert(0, lines[k])
                k -= 1
            key = (section, m.group(1))
            counts[key] = counts.get(key, 0) + 1
            blocks.append(Block(m.group(1), "\n".join(lines[i + 1:j]) + "\n", i + 1, section, counts[key], "\n".join(para)))
            i = j
        i += 1
    return blocks


BLOCKS = readme_blocks()


def substitute(code: str) -> str:
    for old, new in SUBSTITUTIONS:
        code = code.replace(old, new)
    return code


def _reason(text: str, table: dict[str, str]) -> str | None:
    return next((why for key, why in table.items() if key in text), None)


def _block_exempt(block: Block) -> str | None:
    """Why a whole block does not run: a Python block that matches ``EXEMPT``, or a bash block
    whose every command does."""
    if block.lang != "bash":
        return _reason(block.code, EXEMPT)
    reasons = [_reason(c, EXEMPT) for c in bash_commands(block)]
    return reasons[0] if reasons and all(reasons) else None


def bash_commands(block: Block) -> list[str]:
    """The block's commands, one per logical line (comment-only and empty lines dropped)."""
    out, cur = [], ""
    for line in block.code.splitlines():
        cur += line
        if line.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        if cur.strip() and not cur.strip().startswith("#"):
            out.append(cur.strip())
        cur = ""
    return out


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RNNLAB_", "PYTEST_", "RAY_"))}
    home = tmp / "home"
    for d in (home, tmp / "tmp", tmp / "xdg-cache", tmp / "xdg-config", tmp / "mpl"):
        d.mkdir(parents=True, exist_ok=True)
    cache = os.environ.get("RNNLAB_CACHE_DIR") or str(Path.home() / ".cache" / "rnnlab" / "xla")
    env.update(HOME=str(home), TMPDIR=str(tmp / "tmp"), XDG_CACHE_HOME=str(tmp / "xdg-cache"),
               XDG_CONFIG_HOME=str(tmp / "xdg-config"), MPLCONFIGDIR=str(tmp / "mpl"),
               PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", COLUMNS="100", PYTHONUNBUFFERED="1")
    for k in ("RNNLAB_NO_CACHE", "RNNLAB_MEMORY_BYTES"):
        if k in os.environ:
            env[k] = os.environ[k]
    env["RNNLAB_CACHE_DIR"] = cache
    return env


# ---- python ---------------------------------------------------------------------------------
_DRIVER = r'''
import json, sys, time, traceback
blocks = json.load(open(sys.argv[1]))
ns = {"__name__": "__main__"}
results = {}
failed = None
for b in blocks:
    if failed is not None:
        results[b["id"]] = {"ok": False, "error": f"not run: {failed} failed first"}
    else:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            exec(compile(b["code"], f"README.md:{b['line']} ({b['id']})", "exec"), ns)
            results[b["id"]] = {"ok": True, "seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0}
        except BaseException:
            failed = b["id"]
            results[b["id"]] = {"ok": False, "error": traceback.format_exc(limit=-6)}
    json.dump(results, open(sys.argv[2], "w"))
'''


def python_chains(blocks: list[Block], slow: bool) -> list[list[Block]]:
    """The Python blocks grouped into the processes they run in (see the module docstring)."""
    chains: dict[str, list[Block]] = {}
    for b in blocks:
        if b.lang != "python" or _block_exempt(b) or bool(_reason(b.code, SLOW)) != slow:
            continue
        chains.setdefault(CONTINUES.get(b.section, b.section), []).append(b)
    return list(chains.values())


def run_python_chain(chain: list[Block], tmp: Path, timeout: float, cwd: Path | None = None) -> dict[str, dict]:
    cwd = cwd or tmp / f"py-{chain[0].id}"
    cwd.mkdir(parents=True, exist_ok=True)
    items = []
    for b in chain:
        items.append({"id": b.id, "line": b.line, "code": substitute(b.code)})
        for key, check in _CHECKS.items():
            if key in b.code:
                items.append({"id": f"{b.id}:check", "line": b.line, "code": textwrap.dedent(check)})
    (cwd / "blocks.json").write_text(json.dumps(items))
    (cwd / "driver.py").write_text(_DRIVER)
    rc, output = _run_command(f"{shlex.quote(sys.executable)} driver.py blocks.json results.json", cwd, _env(tmp),
                              tmp, timeout)
    res = json.loads((cwd / "results.json").read_text()) if (cwd / "results.json").exists() else {}
    for k, r in res.items():
        _log(tmp, f"{r.get('seconds', float('nan')):6.1f} s  cpu {r.get('cpu', float('nan')):6.1f} s  python {k}")
    for it in items:
        res.setdefault(it["id"], {"ok": False, "error": f"the process ended (status {rc}) before it ran:\n{output}"})
    return res


# ---- bash -----------------------------------------------------------------------------------
def _prepare_shell_dir(cwd: Path, blocks: list[Block]) -> None:
    cwd.mkdir(parents=True)
    shutil.copytree(ROOT / "examples", cwd / "examples")
    sweep = cwd / "examples" / "sweep_small.yaml"
    text = sweep.read_text()
    for old, new in SWEEP_SUBSTITUTIONS:
        assert old in text, f"examples/sweep_small.yaml no longer holds {old!r}: update SWEEP_SUBSTITUTIONS"
        text = text.replace(old, new)
    sweep.write_text(text)
    configs = [b for b in blocks if b.lang == "yaml" and {"task", "model"} <= set(yaml.safe_load(b.code))]
    assert configs, "the README has no run config block for `rnnlab train --config run.yaml`"
    (cwd / "run.yaml").write_text(substitute(configs[0].code))


def _run_command(cmd: str, cwd: Path, env: dict[str, str], tmp: Path, timeout: float) -> tuple[int, str]:
    """Run ``cmd`` with bash; its status and the tail of its output. Logs its wall and CPU time."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(["bash", "-c", cmd], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace")
    _log(tmp, f"{time.perf_counter() - t0:6.1f} s  cpu {usage.ru_utime + usage.ru_stime:6.1f} s  {cmd}")
    return proc.returncode, text[-4000:]


def _run_shell_block(b: Block, made: Made, env: dict[str, str], tmp: Path, slow: bool, timeout: float) -> dict:
    res = {"ok": True, "ran": [], "skipped": []}
    for cmd in bash_commands(b):
        if not cmd.startswith("rnnlab "):
            res.update(ok=False, error=f"`{cmd}` is not an rnnlab command: make it one, or exempt the block "
                                        "in EXEMPT with its reason")
            break
        why = _reason(cmd, EXEMPT) or (None if slow else _reason(cmd, SLOW))
        if why:
            res["skipped"].append((cmd, why))
            continue
        run_cmd = substitute(cmd)
        try:
            for ph, resolve in PLACEHOLDERS.items():
                if ph in run_cmd:
                    run_cmd = run_cmd.replace(ph, resolve(made))
        except AssertionError as e:
            res.update(ok=False, error=f"`{cmd}` (README.md:{b.line}): {e}")
            break
        before = set(_runs(made.cwd))
        rc, output = _run_command(run_cmd, made.cwd, env, tmp, timeout)
        res["ran"].append(run_cmd)
        if rc != 0:
            res.update(ok=False, error=f"`{run_cmd}` (README.md:{b.line}) exited {rc}:\n{output}")
            break
        made.record(cmd, [p for p in _runs(made.cwd) if p not in before])
    return res


def run_shell_blocks(blocks: list[Block], tmp: Path, slow: bool, timeout: float) -> dict[str, dict]:
    """Run each bash block's commands in order, the blocks concurrently (a placeholder waits
    for the run it names); results per block: ok, the commands run and those skipped. With
    ``slow`` the commands of ``SLOW`` run too (and with them all the others they may need). Only
    the command line's ``rnnlab train`` commands make top-level runs, so the runs a command
    made are those that appeared while it ran."""
    cwd = tmp / "sh"
    _prepare_shell_dir(cwd, blocks)
    env = _env(tmp)
    todo = [b for b in blocks if b.lang == "bash" and not _block_exempt(b)]
    made = Made(cwd, len(todo))
    results: dict[str, dict] = {}

    def work(b: Block) -> None:
        try:
            results[b.id] = _run_shell_block(b, made, env, tmp, slow, timeout)
        except Exception as e:  # a timeout: the block fails, the others go on
            results[b.id] = {"ok": False, "error": f"README.md:{b.line}: {e!r}", "ran": [], "skipped": []}
        finally:
            made.block_finished()

    threads = [threading.Thread(target=work, args=(b,)) for b in todo]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ---- the fast examples ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, dict]:
    """Every block's result: each Python chain in a thread, the bash blocks in others."""
    tmp = tmp_path_factory.mktemp("readme")
    out: dict[str, dict] = {}
    threads = []
    for chain in python_chains(BLOCKS, slow=False):
        def work(chain=chain):
            out.update(run_python_chain(chain, tmp, timeout=900))
        threads.append(threading.Thread(target=work))
        threads[-1].start()
    out.update(run_shell_blocks(BLOCKS, tmp, slow=False, timeout=600))
    for t in threads:
        t.join()
    return out


def _runnable(lang: str) -> list[Block]:
    return [b for b in BLOCKS if b.lang == lang]


def test_readme_has_only_known_block_languages():
    unknown = [f"README.md:{b.line} ```{b.lang}" for b in BLOCKS if b.lang not in ("python", "bash", "yaml")]
    assert not unknown, f"code blocks this test does not run (handle or exempt them): {unknown}"
    for table in (SUBSTITUTIONS,):
        for old, _ in table:
            assert any(old in b.code for b in BLOCKS), f"SUBSTITUTIONS: {old!r} is in no README block any more"
    for key in (*EXEMPT, *SLOW, *_CHECKS, *PLACEHOLDERS):
        assert any(key in b.code for b in BLOCKS), f"{key!r} is in no README block any more"


@pytest.mark.parametrize("block", _runnable("python"), ids=lambda b: b.id)
def test_readme_python_block(block, results):
    if why := _block_exempt(block):
        pytest.skip(why)
    if why := _reason(block.code, SLOW):
        pytest.skip(f"slow (test_readme_slow_examples): {why}")
    res = results[block.id]
    assert res["ok"], f"README.md:{block.line}:\n{res['error']}"
    check = results.get(f"{block.id}:check")
    if check is not None:
        assert check["ok"], f"the claim of README.md:{block.line} does not hold:\n{check['error']}"


@pytest.mark.parametrize("block", _runnable("bash"), ids=lambda b: b.id)
def test_readme_bash_block(block, results):
    if why := _block_exempt(block):
        pytest.skip(why)
    res = results[block.id]
    assert res["ok"], res["error"]
    assert res["ran"], f"README.md:{block.line}: no command ran (skipped: {res['skipped']})"


@pytest.mark.parametrize("block", _runnable("yaml"), ids=lambda b: b.id)
def test_readme_yaml_block(block, tmp_path):
    from rnnlab.config import load_config
    from rnnlab.sweep import load_sweep

    data = yaml.safe_load(block.code)
    if {"task", "model"} <= set(data):
        (tmp_path / "run.yaml").write_text(block.code)
        load_config(tmp_path / "run.yaml")
    elif "base" in data:
        (tmp_path / "sweep.yaml").write_text(block.code)
        spec, runs = load_sweep(tmp_path / "sweep.yaml")
        assert runs
        for named in re.findall(r"examples/[\w.-]+\.ya?ml", block.before):
            assert yaml.safe_load((ROOT / named).read_text()) == data, f"README.md:{block.line} differs from {named}"
    elif set(data) == {"analyses"}:
        # a sweep file's analyses: put them into the example sweep and load that
        sweep = yaml.safe_load((ROOT / "examples" / "sweep_small.yaml").read_text())
        sweep["analyses"] = data["analyses"]
        (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(sweep))
        spec, _ = load_sweep(tmp_path / "sweep.yaml")
        assert len(spec.analyses) == len(data["analyses"])
    else:
        pytest.fail(f"README.md:{block.line}: a yaml block that is neither a run config, a sweep file nor a "
                    "list of analyses; teach this test to load it")


def test_readme_tasks_taking_dt_have_it():
    """The README lists the library's tasks as taking ``dt``, and says flip-flop, N-parity and
    N-DMS count in steps; every task has ``harder``."""
    from rnnlab import tasks

    text = README.read_text()
    para = text[text.index("The library also has"):]
    para = para[: para.index("Each task of this list takes `dt`")]
    listed = [n for n in re.findall(r"`(\w+)`", para) if n in tasks.REGISTRY]
    assert len(listed) >= 10, para
    for name in listed:
        assert "dt" in tasks.REGISTRY[name].model_fields, f"README says {name} takes dt"
    for name in ("flipflop", "nparity", "ndms"):
        assert "dt" not in tasks.REGISTRY[name].model_fields, f"README says {name} counts in steps"
    for name, cls in tasks.REGISTRY.items():
        harder = tasks.get(name).harder(2.0)
        assert type(harder) is cls and harder != tasks.get(name), name


def test_docs_getting_started_blocks_are_readme_blocks():
    """The docs' getting-started page shows README examples only, so this file tests them too."""
    page = ROOT / "docs" / "getting-started.md"
    text = README.read_text()
    for b in readme_blocks(page.read_text()):
        if b.lang in ("python", "bash", "yaml"):
            assert b.code in text, f"docs/getting-started.md:{b.line}: a ```{b.lang} block that is not in README.md"


# ---- the slow examples ----------------------------------------------------------------------
@pytest.mark.slow
def test_readme_slow_examples(tmp_path):
    """The commands and blocks of ``SLOW``, at the README's own sizes, in README order (with the
    fast commands they may need)."""
    shell = run_shell_blocks(BLOCKS, tmp_path, slow=True, timeout=3600)
    for r in shell.values():
        assert r["ok"], r.get("error")
    ran = " ".join(c for r in shell.values() for c in r["ran"])
    for key in SLOW:
        assert key in ran or any(key in b.code for b in BLOCKS if b.lang == "python"), f"{key!r} did not run"
    # the study's Python example, in the folder where the command line ran the study
    for chain in python_chains(BLOCKS, slow=True):
        res = run_python_chain(chain, tmp_path, timeout=3600, cwd=tmp_path / "sh")
        for k, r in res.items():
            assert r["ok"], f"{k}: {r['error']}"
