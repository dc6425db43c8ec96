"""A persistent XLA compilation cache, on by default.

Training programs take seconds to compile on a CPU and most runs of a study (seeds,
sweep workers, resumed runs, the CLI run again) compile exactly the same programs, so
rnnlab points JAX's persistent compilation cache at ``$RNNLAB_CACHE_DIR`` (default
``~/.cache/rnnlab/xla``). It is left alone if the user configured a cache already, and
switched off with ``RNNLAB_NO_CACHE=1``. Set before JAX is imported, it goes through JAX's
own environment variables, so that ``import rnnlab`` does not import JAX (the command line's
start-up, ``benchmarks/cli_startup.py``).

The cache is bounded (``RNNLAB_CACHE_MAX_BYTES``, default 4 GiB, least recently used
entries evicted first), and that is also what makes it safe to share between processes: with
a size limit JAX holds a file lock (``filelock``) around every read and write of an entry,
while without one it writes entries in place (``Path.write_bytes``) and reads them unlocked,
so one process can read an entry another is still writing. Sweep workers, Ray tasks on one
machine and parallel test workers all compile the same programs at the same moment.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_MIN_SECS = 0.3  # programs compiled faster than this are not worth a disk round trip
_MAX_BYTES = 4 * 2**30


def enable_compilation_cache() -> str | None:
    """Turn the cache on (unless disabled or already configured); returns its folder."""
    if os.environ.get("RNNLAB_NO_CACHE"):
        return None
    jax = sys.modules.get("jax")
    configured = jax.config.jax_compilation_cache_dir if jax else os.environ.get("JAX_COMPILATION_CACHE_DIR")
    if configured:
        return configured
    path = Path(os.environ.get("RNNLAB_CACHE_DIR", Path.home() / ".cache" / "rnnlab" / "xla"))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    max_bytes = max_cache_bytes()
    if jax is None:
        os.environ["JAX_COMPILATION_CACHE_DIR"] = str(path)
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", str(_MIN_SECS))
        os.environ.setdefault("JAX_COMPILATION_CACHE_MAX_SIZE", str(max_bytes))
    else:
        jax.config.update("jax_compilation_cache_dir", str(path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", _MIN_SECS)
        if jax.config.jax_compilation_cache_max_size == -1:
            jax.config.update("jax_compilation_cache_max_size", max_bytes)
    return str(path)


def max_cache_bytes() -> int:
    """The cache's size limit in bytes: ``RNNLAB_CACHE_MAX_BYTES`` or 4 GiB (must be positive:
    an unbounded cache is also an unlocked one, see the module's docstring)."""
    raw = os.environ.get("RNNLAB_CACHE_MAX_BYTES")
    if raw is None:
        return _MAX_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"RNNLAB_CACHE_MAX_BYTES must be a positive number of bytes, got {raw!r}")
    return value
