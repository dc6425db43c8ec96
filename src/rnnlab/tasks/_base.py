"""The task interface: a pure, jit-able batch sampler keyed by a PRNG key.

A task is a frozen, validated parameter set (a Pydantic model: the YAML a user
writes and the object the code uses are one schema) with a pure method::

    task.sample(key, batch_size) -> Batch(inputs [B,T,I], targets [B,T,O], mask [B,T,O], info)

The same key gives the same batch. A task also names its loss (``"mse"`` or
``"cross_entropy"``) and its performance metric, so that training, evaluation and
analyses need nothing else from it.

Tasks with a difficulty *level* (the memory tasks of a curriculum) accept a traced
``level`` argument in ``sample``: the array shapes are set by the task's static
parameters, the level picks which part of them is used, so that members of an
ensemble can sit at different levels inside one vmapped program.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float, Int, PRNGKeyArray
from pydantic import BaseModel, ConfigDict

from .. import losses

__all__ = ["Batch", "Task"]


class Batch(eqx.Module):
    """One batch of trials.

    Attributes:
        inputs: ``[B, T, I]`` network inputs.
        targets: ``[B, T, O]`` desired outputs (one-hot per head for cross-entropy tasks).
        mask: ``[B, T, O]`` weight of each target entry in the loss (0 = not scored).
        info: per-trial variables (latent bits, labels, lengths, ...), arrays with leading ``B``.
    """

    inputs: Float[Array, "batch time n_in"]
    targets: Float[Array, "batch time n_out"]
    mask: Float[Array, "batch time n_out"]
    info: dict[str, Array]


class Task(BaseModel):
    """Base class of all tasks. Subclasses declare their parameters as fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: ClassVar[str]
    description: ClassVar[str]
    paper: ClassVar[str]
    loss: ClassVar[Literal["mse", "cross_entropy"]]
    metric_name: ClassVar[str]
    higher_is_better: ClassVar[bool]
    #: for cross-entropy tasks, classes per readout head
    n_classes: ClassVar[int | None] = None
    #: True for tasks whose ``sample`` honours a traced ``level`` (curriculum tasks)
    has_levels: ClassVar[bool] = False
    #: the fields (durations, lengths) that ``harder`` scales
    harder_fields: ClassVar[tuple[str, ...]] = ()

    @property
    def n_inputs(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def n_outputs(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def clock(self) -> tuple[float, str]:
        """``(dt, unit)`` of a time step: the ``dt`` field and the unit its description names
        (``"ms"``, ``"s"``; ``"steps"`` where durations are counted "in steps"; ``"task time
        units"`` where none is named); ``(1.0, "steps")`` for a task without ``dt``. Figures and
        exports label time with it."""
        field = type(self).model_fields.get("dt")
        if field is None:
            return 1.0, "steps"
        text = field.description or ""
        unit = ("ms" if "(ms)" in text else "s" if "(s)" in text else "steps" if "in steps" in text
                else "task time units")
        return float(self.dt), unit

    # Every task also exposes ``n_steps``, the number of time steps T of its batches
    # (a parameter field or a property derived from its parameters).

    def sample(
        self, key: PRNGKeyArray, batch_size: int, level: Int[Array, ""] | int | None = None
    ) -> Batch:  # pragma: no cover - abstract
        raise NotImplementedError

    # ---- objective -------------------------------------------------------
    def loss_fn(self, outputs: Float[Array, "b t o"], batch: Batch) -> Float[Array, ""]:
        """The task's training loss on model ``outputs``."""
        if self.loss == "mse":
            return losses.masked_mse(outputs, batch.targets, batch.mask)
        return losses.masked_cross_entropy(outputs, batch.targets, batch.mask, self.n_classes)

    def head_metrics(self, outputs: Float[Array, "b t o"], batch: Batch) -> Float[Array, " h"]:
        """The metric per readout head (NaN for heads not scored in this batch)."""
        if self.loss == "cross_entropy":
            return losses.head_accuracy(outputs, batch.targets, batch.mask, self.n_classes)
        return jnp.reshape(self.metric(outputs, batch), (1,))

    def metric(self, outputs: Float[Array, "b t o"], batch: Batch) -> Float[Array, ""]:
        """The task's performance metric (``metric_name``), averaged over scored heads."""
        if self.loss == "mse":
            return losses.masked_mse(outputs, batch.targets, batch.mask)
        return jnp.nanmean(self.head_metrics(outputs, batch))

    def passes(self, metric: Any, threshold: float) -> Any:
        """Whether ``metric`` is at least as good as ``threshold``."""
        return metric >= threshold if self.higher_is_better else metric <= threshold

    def harder(self, factor: float = 2.0) -> "Task":
        """A longer/harder version for out-of-distribution tests: ``harder_fields`` times ``factor``."""
        if not factor > 0:
            raise ValueError(f"factor: must be > 0 (got {factor})")
        params = dict(self)
        params.update({f: _scale(params[f], factor) for f in self.harder_fields})
        return type(self)(**params)

    def params(self) -> dict[str, Any]:
        """The task's parameters as plain Python values."""
        return self.model_dump(mode="json")


def _scale(value: Any, factor: float) -> Any:
    if isinstance(value, tuple):
        return tuple(v * factor for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return max(int(round(value * factor)), value)
    return value * factor
