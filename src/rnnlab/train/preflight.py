"""Can this training job run here? Checked before anything is created or compiled.

A config can be valid field by field and still impossible: a hidden size of 10⁹ makes XLA
abort the process natively (no Python exception, a run left ``running``), a trial of 10⁹
steps asks for tens of terabytes. ``check_job`` refuses such jobs with a ``ConfigError``
naming the field at fault, from the shapes alone:

* **int32 limits of the program.** Step counters, levels and time indices are ``int32``
  inside the jitted loop, so the step budget plus one evaluation interval, the trial length
  ``T`` and the batch sizes must stay below 2³¹ (checked by the schema's bounds and here).
* **memory.** Training stores, for back-propagation through time, each step's state for
  every trial of the batch: about ``E · B · T · (c·S + I + 2·O)`` floats, ``S`` the size of
  the model's state, ``I``/``O`` inputs and outputs, ``c = 3`` (state, pre-activation and
  the activation's derivative; ``c = 1`` with rematerialisation) and ``E`` the ensemble
  size; parameters cost ``4·P`` floats (weights, gradient, Adam's two moments). The
  parameter count ``P`` and the state size ``S`` are read exactly from the model built
  abstractly (``jax.eval_shape``, nothing allocated). A job whose estimate exceeds the
  machine's physical memory cannot run and is refused; the message names the term that
  dominates (``model.params.hidden_size`` or ``train.batch_size`` and the trial length).

The estimate is a lower bound of XLA's real peak (which adds temporaries), so a refusal is
never wrong about the machine; a job just under it may still run out of memory, which the
run store then records as ``failed``.
"""

from __future__ import annotations

import math
import os
from typing import Any

import jax
import numpy as np

from ..errors import ConfigError
from ..models import ModelConfig, RecurrentModel
from ..tasks import Task
from .config import TrainConfig

__all__ = ["INT32_MAX", "check_job", "machine_memory", "estimate_bytes", "check_types"]

INT32_MAX = 2**31 - 1
_FLOAT = 4  # bytes per float32


def machine_memory() -> int:
    """Physical memory of this machine in bytes (``$RNNLAB_MEMORY_BYTES`` overrides it)."""
    if "RNNLAB_MEMORY_BYTES" in os.environ:
        return int(os.environ["RNNLAB_MEMORY_BYTES"])
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_types(model: Any, task: Any) -> None:
    """``ConfigError`` naming the argument when ``model``/``task`` are not rnnlab objects
    (a name string instead of ``models.config(name)`` / ``tasks.get(name)``, say)."""
    if not isinstance(model, ModelConfig | RecurrentModel):
        hint = f" (for a name use models.config({model!r}, ...))" if isinstance(model, str) else ""
        raise ConfigError(f"model: expected a ModelConfig or a built model, got {type(model).__name__}{hint}")
    if not isinstance(task, Task):
        hint = f" (for a name use tasks.get({task!r}, ...))" if isinstance(task, str) else ""
        raise ConfigError(f"task: expected an rnnlab Task, got {type(task).__name__}{hint}")


def _sizes(model: ModelConfig | RecurrentModel, task: Task) -> tuple[int, int]:
    """``(P, S)``: parameter count and state size of the model on ``task`` (nothing allocated)."""
    def build():
        m = model if isinstance(model, RecurrentModel) else model.build(task.n_inputs, task.n_outputs,
                                                                         jax.random.PRNGKey(0))
        return m, m.initial_state()

    shapes = jax.eval_shape(build)
    m_shapes, s_shapes = shapes
    count = lambda tree: sum(  # noqa: E731
        math.prod(x.shape) for x in jax.tree.leaves(tree) if np.issubdtype(x.dtype, np.inexact))
    return count(m_shapes), count(s_shapes)


def estimate_bytes(model: ModelConfig | RecurrentModel, task: Task, cfg: TrainConfig) -> dict[str, float]:
    """Lower bound of the bytes a training step needs: ``{"params": ..., "batch": ...}`` (see module doc)."""
    P, S = _sizes(model, task)
    E = cfg.ensemble or 1
    c = 1 if cfg.uses_remat(model) else 3
    T, I, O = task.n_steps, task.n_inputs, task.n_outputs
    B = max(cfg.batch_size, cfg.eval_batch_size)
    return {"params": _FLOAT * 4.0 * P * E, "batch": _FLOAT * float(E) * B * T * (c * S + I + 2 * O)}


def check_job(model: Any, task: Any, cfg: TrainConfig) -> None:
    """Refuse (``ConfigError`` naming the field) a job that cannot run; see the module doc."""
    check_types(model, task)
    if cfg.curriculum is not None and not task.has_levels:
        raise ConfigError(f"train.curriculum: task '{task.name}' has no levels (use nparity or ndms)")
    if cfg.curriculum is not None and cfg.curriculum.start > cfg.curriculum.max_n:
        raise ConfigError(f"train.curriculum.start: must be <= max_n = {cfg.curriculum.max_n} "
                          f"(got {cfg.curriculum.start})")
    if cfg.steps + cfg.eval_every > INT32_MAX:
        raise ConfigError(f"train.steps: steps + eval_every must be < 2**31 (the program's step counter is "
                          f"int32; got {cfg.steps} + {cfg.eval_every})")
    T = int(task.n_steps)
    if T > INT32_MAX:
        raise ConfigError(f"task: a trial of {T} steps is over the int32 limit of the program's time index")
    if isinstance(model, ModelConfig) and model.hidden_size > INT32_MAX:
        raise ConfigError(f"model.params.hidden_size: must be < 2**31 (got {model.hidden_size})")
    need = estimate_bytes(model, task, cfg)
    have = machine_memory()
    if sum(need.values()) > have:
        if need["params"] >= need["batch"]:
            field = f"model.params.hidden_size: {model.hidden_size} units" + (
                f" x ensemble {cfg.ensemble}" if cfg.ensemble else "")
        else:
            which = "batch_size" if cfg.batch_size >= cfg.eval_batch_size else "eval_batch_size"
            field = (f"train.{which}: {getattr(cfg, which)} trials of {T} steps "
                     f"(task '{task.name}') x {model.hidden_size} units"
                     + (f" x ensemble {cfg.ensemble}" if cfg.ensemble else ""))
        raise ConfigError(f"{field} would need at least {_gib(sum(need.values()))} to train, more than "
                          f"this machine's {_gib(have)}")
