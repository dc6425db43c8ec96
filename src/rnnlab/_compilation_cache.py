"""A persistent XLA compilation cache, on by default.

Training programs take seconds to compile on a CPU and most runs of a study (seeds,
sweep workers, resumed runs, the CLI run again) compile exactly the same programs, so
rnnlab points JAX's persistent compilation cache at ``$RNNLAB_CACHE_DIR`` (default
``~/.cache/rnnlab/xla``). It is left alone if the user configured a cache already, and
switched off with ``RNNLAB_NO_CACHE=1``. Set before JAX is imported, it goes through JAX's
own environment variables, so that ``import rnnlab`` does not import JAX (the command line's
start-up, ``benchmarks/cli_startup.py``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_MIN_SECS = 0.3  # programs compiled faster than this are not worth a disk round trip


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
    if jax is None:
        os.environ["JAX_COMPILATION_CACHE_DIR"] = str(path)
        os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", str(_MIN_SECS))
    else:
        jax.config.update("jax_compilation_cache_dir", str(path))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", _MIN_SECS)
    return str(path)
