"""The training objective: what a whole batch pays, seen after the network has run.

Per-step supervision is one objective among several. An objective sees the batch (inputs,
targets, mask, info), the network's activity ``[B, T, N]`` and outputs ``[B, T, O]``, the model
and a PRNG key, and returns one scalar; training adds the model's own regulariser
(``model.regularization(activity)``) and differentiates the sum::

    L(θ) = objective(model_θ, task, batch, activity_θ, outputs_θ, key) + R_θ(activity_θ)

So an objective may compare *distributions* of whole output sequences with those of the
targets (``rnnlab.objectives.distribution``: Sinkhorn divergence, MMD; Torre et al. 2025),
constrain hidden units to recordings (``data_constrained``; Salatiello & Giese 2020), or add
a penalty that depends on the parameters alone (EWC; Kirkpatrick et al. 2017). An objective
may also transform the gradient before the optimiser sees it (``transform_grads``: gradient
projection for continual learning, Zeng et al. 2019). Both run inside the jitted training
program: an objective is an Equinox module whose arrays are traced and whose other fields
are static.

Objectives selectable by name in a run config (``train.objective: {name: sinkhorn, blur:
0.2}``) are listed in ``_REGISTRY``; ``train(..., loss=fn)`` takes a user's own function
``fn(outputs, batch, *, activity, model, key) -> scalar`` (wrapped in ``FunctionLoss``).

Ensembles: an objective whose ``per_member`` is True holds arrays stacked along a leading
member axis (one set per ensemble member, e.g. each member's EWC anchor); otherwise the
same objective is shared by every member.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, ClassVar

import equinox as eqx
from jaxtyping import Array, Float, PRNGKeyArray
from pydantic import BaseModel, ConfigDict, ValidationError

from ..errors import ConfigError

__all__ = ["Objective", "TaskLoss", "FunctionLoss", "objective_names", "objective_class", "validate_spec",
           "build_objective"]


class Objective(eqx.Module):
    """Base class of training objectives.

    Subclasses implement ``__call__``; those selectable by name also set ``name`` and a
    Pydantic ``Params`` schema, and build themselves with ``from_params(params, task)``.
    """

    #: the config name (``train.objective.name``)
    name: ClassVar[str] = ""
    #: the validated parameters of a named objective (``extra="forbid"``)
    Params: ClassVar[type[BaseModel] | None] = None
    #: arrays carry a leading ensemble-member axis
    per_member: ClassVar[bool] = False

    def __call__(
        self,
        model: Any,
        task: Any,
        batch: Any,
        activity: Float[Array, "b t n"],
        outputs: Float[Array, "b t o"],
        key: PRNGKeyArray,
    ) -> Float[Array, ""]:  # pragma: no cover - abstract
        raise NotImplementedError

    def transform_grads(self, grads: Any, model: Any) -> Any:
        """The gradient the optimiser sees (identity unless overridden)."""
        return grads

    def check(self, task: Any, model: Any) -> None:
        """Raise ``ConfigError`` naming the field when this objective cannot train ``model`` on
        ``task`` (called before anything is compiled or written)."""

    @classmethod
    def from_params(cls, params: BaseModel, task: Any) -> "Objective":  # pragma: no cover - abstract
        raise NotImplementedError


class TaskLoss(Objective):
    """The task's own per-step loss (masked MSE or cross-entropy, ``task.loss_fn``): the default."""

    name: ClassVar[str] = "task"

    class Params(BaseModel):
        model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


    def __call__(self, model, task, batch, activity, outputs, key):
        return task.loss_fn(outputs, batch)

    @classmethod
    def from_params(cls, params, task) -> "TaskLoss":
        return cls()


class FunctionLoss(Objective):
    """A user's function ``fn(outputs, batch, *, activity, model, key) -> scalar`` as an objective
    (``train(..., loss=fn)``). ``fn`` must be a pure JAX function; it is a static part of the
    compiled program (a new function object compiles anew)."""

    fn: Callable = eqx.field(static=True)

    def __call__(self, model, task, batch, activity, outputs, key):
        return self.fn(outputs, batch, activity=activity, model=model, key=key)


# name -> "module:Class" (imported on first use, so that `rnnlab` starts without them)
_REGISTRY: dict[str, str] = {
    "task": "rnnlab.objectives._base:TaskLoss",
    "sinkhorn": "rnnlab.objectives.distribution:SinkhornLoss",
    "mmd": "rnnlab.objectives.distribution:MMDLoss",
    "data_constrained": "rnnlab.objectives.data_constrained:DataConstrainedLoss",
}


def objective_names() -> list[str]:
    """The names valid in ``train.objective.name``."""
    return list(_REGISTRY)


def objective_class(name: str) -> type[Objective]:
    """The objective class registered as ``name`` (``ConfigError`` naming the valid ones)."""
    if name not in _REGISTRY:
        raise ConfigError(f"train.objective.name: unknown objective '{name}'; valid: {', '.join(_REGISTRY)}")
    module, cls = _REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), cls)


def validate_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """``{"name": ..., **params}`` checked against the named objective's ``Params`` (defaults
    filled in); raises ``ValueError`` naming the field (pydantic reports it under
    ``train.objective``)."""
    if not isinstance(spec, dict) or "name" not in spec:
        raise ValueError("expected a mapping with a 'name' (one of: " + ", ".join(_REGISTRY) + ")")
    params = {k: v for k, v in spec.items() if k != "name"}
    try:
        cls = objective_class(spec["name"])
    except ConfigError as e:
        raise ValueError(str(e).split(": ", 1)[1]) from None
    try:
        checked = cls.Params(**params)
    except ValidationError as e:
        err = e.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ValueError(f"{where}: {err['msg']}") from None
    return {"name": spec["name"], **checked.model_dump()}


def build_objective(spec: dict[str, Any] | None, task: Any) -> Objective:
    """The objective a validated spec names (``TaskLoss`` for None)."""
    if spec is None:
        return TaskLoss()
    cls = objective_class(spec["name"])
    return cls.from_params(cls.Params(**{k: v for k, v in spec.items() if k != "name"}), task)
