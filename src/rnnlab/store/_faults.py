"""Fault injection for crash tests: ``RNNLAB_FAULT=<scope>:<stage>[@<n>]`` ends the process.

The store calls ``fault_point(scope, stage)`` at each stage of a write; when the variable
names that point, the process exits at once with ``os._exit(137)`` (what ``kill -9`` leaves:
no ``finally`` blocks, no buffered output, no catalog update), the ``n``-th time the point
is reached (default the first). Points: ``checkpoint:begin|state-tmp|state|meta-tmp|meta|done``
(``store.checkpoint.save_checkpoint``) and ``write:<file name>`` (``write_checked``: the
digest written, the file not yet). Unset, it costs one dictionary look-up.
"""

from __future__ import annotations

import os

FAULT_ENV = "RNNLAB_FAULT"
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
