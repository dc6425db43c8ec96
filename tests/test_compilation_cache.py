"""The persistent compilation cache (rnnlab._compilation_cache): bounded, and therefore locked.

Each check runs in a fresh interpreter with its own cache folder, since the cache is set up
when rnnlab (or JAX) is first imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

_PROBE = r"""
import json, sys
import rnnlab, jax, jax.numpy as jnp
from jax._src import compilation_cache as cc

@jax.jit
def f(x):
    for _ in range(int(sys.argv[1])):   # enough operations to take longer than the threshold
        x = jnp.tanh(x @ x.T + 1.0) * 0.5
    return x

f(jnp.ones((8, 8))).block_until_ready()
cache = cc._get_cache(jax.devices()[0].client)
print(json.dumps({
    "dir": jax.config.jax_compilation_cache_dir,
    "max_size": jax.config.jax_compilation_cache_max_size,
    "locked": bool(getattr(cache, "eviction_enabled", False)),
    "lock": type(getattr(cache, "lock", None)).__name__,
}))
"""


def _probe(tmp_path: Path, n_ops: int = 2, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RNNLAB_", "JAX_"))}
    base.update(RNNLAB_CACHE_DIR=str(tmp_path / "xla"), **env)
    return subprocess.run([sys.executable, "-c", _PROBE, str(n_ops)], env=base, capture_output=True, text=True,
                          timeout=300)


def test_cache_is_bounded_and_locked(tmp_path):
    p = _probe(tmp_path)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout.strip().splitlines()[-1])
    assert got["dir"] == str(tmp_path / "xla")
    assert got["max_size"] == 4 * 2**30
    # with a size limit JAX's LRU cache takes a file lock around each read and write
    assert got["locked"] and got["lock"].endswith("FileLock")


def test_cache_size_from_the_environment(tmp_path):
    p = _probe(tmp_path, RNNLAB_CACHE_MAX_BYTES=str(2**20))
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1])["max_size"] == 2**20


@pytest.mark.parametrize("bad", ["0", "-5", "lots"])
def test_bad_cache_size_is_named(tmp_path, bad):
    p = _probe(tmp_path, RNNLAB_CACHE_MAX_BYTES=bad)
    assert p.returncode != 0
    assert f"RNNLAB_CACHE_MAX_BYTES must be a positive number of bytes, got {bad!r}" in p.stderr


def test_concurrent_processes_share_entries(tmp_path):
    """Two processes compiling the same program at once into one empty cache both finish with
    the right answer, and the cache then holds the program once, readable by a third."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("RNNLAB_", "JAX_"))}
    # every program is written, however fast it compiled
    base.update(RNNLAB_CACHE_DIR=str(tmp_path / "xla"), JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")
    code = _PROBE
    procs = [subprocess.Popen([sys.executable, "-c", code, "40"], env=base, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    entries = [e for e in (tmp_path / "xla").glob("jit_f-*-cache")]
    assert len(entries) == 1
    third = subprocess.run([sys.executable, "-c", code, "40"], env=base, capture_output=True, text=True, timeout=300)
    assert third.returncode == 0, third.stderr
    assert len(list((tmp_path / "xla").glob("jit_f-*-cache"))) == 1
