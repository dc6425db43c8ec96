"""Fault injection for crash tests: ``RNNLAB_FAULT=<scope>:<stage>[@<n>]`` ends the process.

The store calls ``fault_point(scope, stage)`` at each stage of a write; when the variable
names that point, the process exits at once with ``os._exit(137)`` (what ``kill -9`` leaves:
no ``finally`` blocks, no buffered output, no catalog update), the ``n``-th time the point
is reached (default the first). Points: ``checkpoint:begin|state-tmp|state|meta-tmp|meta|done``
(``store.checkpoint.save_checkpoint``) and ``write:<file name>`` (``write_checked``: the
digest written, the file not yet). Unset, it costs one dictionary look-up.

``RNNLAB_FAULT_ENOSPC=<file glob>[@<n>]`` simulates a full disk: the ``n``-th atomic write of
a file whose name matches the glob (``checkpoint-*.eqx``, ``summary.json`` ...) raises
``OSError(ENOSPC)`` after its bytes went to the temporary file, where a real full disk
fails (``_atomic.write_atomic``), and so does every later write of a matching file.
"""

from __future__ import annotations

import errno
import fnmatch
import os

FAULT_ENV = "RNNLAB_FAULT"
ENOSPC_ENV = "RNNLAB_FAULT_ENOSPC"
_seen: dict[str, int] = {}


def fault_point(scope: str, stage: str) -> None:
    """Exit with status 137 if ``$RNNLAB_FAULT`` names ``<scope>:<stage>`` (at its ``@n``-th visit)."""
    spec = os.environ.get(FAULT_ENV)
    if not spec:
        return
    point, _, nth = spec.partition("@")
    if point != f"{scope}:{stage}":
        return
    _seen[point] = _seen.get(point, 0) + 1
    if _seen[point] == int(nth or 1):
        os._exit(137)


def disk_full_point(name: str) -> None:
    """Raise ``OSError(ENOSPC)`` if ``$RNNLAB_FAULT_ENOSPC`` matches file ``name`` (from its ``@n``-th write on)."""
    spec = os.environ.get(ENOSPC_ENV)
    if not spec:
        return
    pattern, _, nth = spec.partition("@")
    if not fnmatch.fnmatch(name, pattern):
        return
    key = f"enospc:{pattern}"
    _seen[key] = _seen.get(key, 0) + 1
    if _seen[key] >= int(nth or 1):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
