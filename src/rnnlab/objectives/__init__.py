"""Training objectives beyond the task's per-step loss (see ``rnnlab.objectives._base``)."""

from ._base import (FunctionLoss, Objective, TaskLoss, build_objective, objective_class, objective_names,
                    validate_spec)

__all__ = ["Objective", "TaskLoss", "FunctionLoss", "objective_names", "objective_class", "validate_spec",
           "build_objective"]
