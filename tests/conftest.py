import atexit
import importlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

# Small SVDs/eigendecompositions in the analyses are far slower with a multithreaded BLAS on a
# busy 2-core machine (and pytest-xdist already runs two workers).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

# JAX's persistent compilation cache of this test session's own (a temporary folder, removed at
# the end), not the user's ~/.cache/rnnlab/xla: pytest's main process makes it before it starts
# the xdist workers, which inherit the variable and share the folder (and its lock, see
# rnnlab._compilation_cache); the CLI and sweep subprocesses of the tests inherit it too.
if "RNNLAB_CACHE_DIR" not in os.environ:
    os.environ["RNNLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="rnnlab-test-xla-")
    _own_cache, _cache_owner = os.environ["RNNLAB_CACHE_DIR"], os.getpid()

    @atexit.register
    def _remove_cache() -> None:
        if os.getpid() == _cache_owner:
            shutil.rmtree(_own_cache, ignore_errors=True)

import matplotlib

matplotlib.use("Agg")


def peer(name: str, install: str):
    """The module ``name`` of a peer library that a cross-check compares rnnlab against (PyTorch,
    snnTorch, NeuroGym): skipped with ``install`` as the reason where it is not installed, as in
    the README's plain test run. With ``RNNLAB_REQUIRE_PEERS=1`` (set by ``.ci/run``'s peer steps)
    a missing peer fails the test instead, so CI cannot pass with the cross-checks skipped."""
    if os.environ.get("RNNLAB_REQUIRE_PEERS") != "1":
        return pytest.importorskip(name, reason=f"{name} is not installed: {install}")
    try:
        return importlib.import_module(name)
    except ImportError as e:
        pytest.fail(f"RNNLAB_REQUIRE_PEERS=1 but {name} cannot be imported ({e}): {install}", pytrace=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_group(pgid: int, grace: float = 2.0) -> None:
    """SIGTERM the process group ``pgid``, then SIGKILL whatever is left after ``grace`` seconds
    (Ray's GCS server ignores SIGTERM; ``ray stop --force`` kills at once)."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (just now)."""
    return _free_port()


@pytest.fixture
def ray_cluster(monkeypatch):
    """The address of a Ray head node of this test's own, started by ``ray start`` as a user's
    cluster is, with this process set up to connect to it.

    Ray keeps state in the home folder: ``ray start`` turns token authentication on when it
    finds ``~/.ray/auth_token`` (a local ``ray.init`` writes one), and a client given an explicit
    address does not send it, so a token left by an earlier session made the cluster refuse the
    tests. Here the cluster and this process share a temporary HOME, a Ray temp folder and a
    token made for the test (``RAY_AUTH_MODE=token``, ``RAY_AUTH_TOKEN``), whatever the user's
    home holds. The cluster is stopped through its own process group: ``ray stop`` would stop
    every Ray cluster of the user on the machine.
    """
    pytest.importorskip("ray", reason="Ray is an optional extra (pip install -e '.[ray]')")
    from rnnlab.sweep.executors import _reload_ray_auth

    ray_bin = Path(sys.executable).parent / "ray"
    if not ray_bin.exists():
        pytest.skip("the `ray` command is not installed next to this Python")
    home = tempfile.mkdtemp(prefix="rayhome", dir="/tmp")
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    settings = {"HOME": home, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(32),
                "RAY_USAGE_STATS_ENABLED": "0"}
    unset = ("RAY_AUTH_TOKEN_PATH", "RAY_ADDRESS")
    env = {k: v for k, v in {**os.environ, **settings}.items() if k not in unset}
    port = _free_port()
    proc = subprocess.Popen([str(ray_bin), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}",
                             "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
                             f"--temp-dir={ray_tmp}"], env=env, start_new_session=True, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err[-2000:]
        with monkeypatch.context() as m:
            for k, v in settings.items():
                m.setenv(k, v)
            for k in unset:
                m.delenv(k, raising=False)
            _reload_ray_auth()
            yield f"127.0.0.1:{port}"
    finally:
        _reload_ray_auth()
        _stop_group(proc.pid)
        shutil.rmtree(ray_tmp, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
