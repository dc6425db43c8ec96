"""A persistent XLA compilation cache, on by default.

Training programs take seconds to compile on a CPU and most runs of a study (seeds,
sweep workers, resumed runs, the CLI run again) compile exactly the same programs, so
rnnlab points JAX's persistent compilation cache at ``$RNNLAB_CACHE_DIR`` (default
``~/.cache/rnnlab/xla``). It is left alone if the user configured a cache already, and
switched off with ``RNNLAB_NO_CACHE=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax


def enable_compilation_cache() -> str | None:
    """Turn the cache on (unless disabled or already configured); returns its folder."""
    if os.environ.get("RNNLAB_NO_CACHE"):
        return None
    if jax.config.jax_compilation_cache_dir:
        return jax.config.jax_compilation_cache_dir
    path = Path(os.environ.get("RNNLAB_CACHE_DIR", Path.home() / ".cache" / "rnnlab" / "xla"))
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.3)
    return str(path)
