"""``sample_batch``: a task's sampler as one compiled program, for samples drawn outside ``jit``.

Called outside a compiled program, ``task.sample(key, n)`` runs operation by operation and JAX
compiles each operation on its first use in a process: seconds for one task and batch size,
paid again in every process (a sweep's workers, each command-line call). Compiled as one
program it costs one compilation, which JAX's persistent compilation cache
(``rnnlab._compilation_cache``) then spares later processes. Training samples inside its own
compiled step and does not go through here; the analyses and the report pages do.

The batch is the same draw as ``task.sample(key, n)``: the same keys and the same random
bits; floating-point values may differ from the uncompiled call in their last bits where XLA
fuses operations. ``rnnlab.export.activity`` therefore keeps ``task.sample``: its batch is
documented as that call's, bit for bit.
"""

from __future__ import annotations

from typing import Any

import equinox as eqx

from ._base import Batch, Task


@eqx.filter_jit
def _sample(task: Task, key: Any, n: int) -> Batch:
    return task.sample(key, n)


def sample_batch(task: Task, key: Any, n: int) -> Batch:
    """``task.sample(key, n)`` compiled once per task and ``n``.

    The task is a static argument of the compiled program, so it must be hashable; one whose
    parameters cannot be hashed (a dict among them) is sampled uncompiled.
    """
    try:
        hash(task)
    except TypeError:
        return task.sample(key, n)
    return _sample(task, key, int(n))
