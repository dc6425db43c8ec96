"""Tasks: pure, jit-able batch samplers keyed by a PRNG key.

``get(name, **params)`` builds any registered task; ``REGISTRY`` maps names to classes
(each carries a one-line ``description``, its ``paper`` and its parameter schema).
"""

from __future__ import annotations

import importlib.util
from typing import Any

from pydantic import ValidationError

from .._registry import format_validation_error, unknown_name_error
from ._base import Batch, Task
from .compiled import sample_batch
from .adding import Adding
from .context_decision import ContextDecision
from .copy_task import Copy
from .delay_match_sample import DelayMatchSample
from .delayed_discrimination import DelayedDiscrimination
from .flipflop import FlipFlop
from .go_nogo import GoNogo
from .hmm import HMM
from .line_drawing import LineDrawing
from .memory import NDMS, NParity
from .multitask import MultiTask, multitask
from .neurogym import NeuroGym, from_neurogym
from .path_integration import PathIntegration
from .perceptual_decision import PerceptualDecision
from .plot import plot_examples
from .reaching import Reaching
from .recorded import Recorded
from .ready_set_go import ReadySetGo
from .selective_copy import SelectiveCopy
from .sine import Sine
from .streaming_parity import StreamingParity

REGISTRY: dict[str, type[Task]] = {
    cls.name: cls
    for cls in (
        FlipFlop, NParity, NDMS,
        Sine, DelayedDiscrimination, PathIntegration,
        PerceptualDecision, ContextDecision, DelayMatchSample, GoNogo, ReadySetGo,
        HMM, Reaching, LineDrawing,
        StreamingParity, Copy, Adding, SelectiveCopy,
    )
}
if importlib.util.find_spec("neurogym") is not None:  # optional extra: registered only where installed
    REGISTRY[NeuroGym.name] = NeuroGym

__all__ = [
    "Batch", "Task", "FlipFlop", "NParity", "NDMS", "REGISTRY", "get", "names",
    "Sine", "DelayedDiscrimination", "PathIntegration",
    "PerceptualDecision", "ContextDecision", "DelayMatchSample", "GoNogo", "ReadySetGo",
    "HMM", "Reaching", "LineDrawing", "Recorded",
    "StreamingParity", "Copy", "Adding", "SelectiveCopy",
    "MultiTask", "multitask", "plot_examples", "NeuroGym", "from_neurogym", "sample_batch",
]


def names() -> list[str]:
    """Names of all registered tasks."""
    return sorted(REGISTRY)


def get(name: str, **params: Any) -> Task:
    """Build the task ``name`` with ``params``.

    ``get("multitask", tasks=[{"name": ..., "params": {...}}, ...])`` builds a
    ``multitask`` of the listed tasks (how run configs and sweep files declare one).

    Raises:
        ValueError: unknown task name (the message lists the valid ones) or a bad
            parameter (the message names it and lists the valid parameters).
    """
    if name == MultiTask.name:
        return _multitask(**params)
    # `recorded` serves a user's data file: built by name, but not in REGISTRY, whose tasks build from defaults
    if name not in REGISTRY and name != Recorded.name:
        raise unknown_name_error("task", name, names() + [MultiTask.name, Recorded.name])
    cls = Recorded if name == Recorded.name else REGISTRY[name]
    try:
        return cls(**params)
    except ValidationError as e:
        raise ValueError(format_validation_error(e, f"task '{name}'", cls)) from None


def _multitask(tasks: Any = None, **extra: Any) -> Task:
    if extra:
        raise ValueError(f"task 'multitask': unknown parameter(s) {', '.join(sorted(extra))}; valid: tasks")
    if not isinstance(tasks, (list, tuple)) or not tasks:
        raise ValueError("task 'multitask': tasks: give a non-empty list of {name, params} entries")
    subs = []
    for i, t in enumerate(tasks):
        if isinstance(t, Task):
            subs.append(t)
            continue
        if not isinstance(t, dict) or "name" not in t or set(t) - {"name", "params"}:
            raise ValueError(f"task 'multitask': tasks[{i}]: expected {{name, params}}, got {t!r}")
        subs.append(get(t["name"], **(t.get("params") or {})))
    return multitask(subs)
