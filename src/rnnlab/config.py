"""The run configuration: what a user writes in YAML is this schema, validated whole.

Example::

    task: {name: flipflop, params: {n_bits: 3}}
    model: {name: leaky_rnn, params: {hidden_size: 64}}
    train: {steps: 3000, lr: 0.003, threshold: 0.01}
    seed: 0
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from . import models, tasks
from ._registry import format_validation_error
from ._user_files import read_yaml
from .errors import ConfigError
from .train.config import TrainConfig
from .train.preflight import check_job

__all__ = ["TaskSpec", "ModelSpec", "RunConfig", "load_config"]


class TaskSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(description="registered task name")
    params: dict[str, Any] = Field(default_factory=dict, description="task parameters")


class ModelSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field("leaky_rnn", description="registered model name")
    params: dict[str, Any] = Field(default_factory=dict, description="model hyperparameters")


class RunConfig(BaseModel):
    """A whole run: task, model, training settings and seed."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    task: TaskSpec
    model: ModelSpec = ModelSpec()
    train: TrainConfig = TrainConfig()
    seed: int = Field(
        0, ge=0, lt=2**32,
        description="PRNG seed: key = PRNGKey(seed); initialisation from fold_in(key, 0), training data "
        "from fold_in(key, 1), evaluation batches from fold_in(key, 2). PRNGKey keeps 32 bits, so "
        "0 <= seed < 2**32 (one run per seed)",
    )

    def build_task(self) -> tasks.Task:
        try:
            return tasks.get(self.task.name, **self.task.params)
        except ValueError as e:
            raise ConfigError(f"task: {e}") from None

    def build_model_config(self) -> models.ModelConfig:
        try:
            return models.config(self.model.name, **self.model.params)
        except ValueError as e:
            raise ConfigError(f"model: {e}") from None

    def validate_all(self) -> "RunConfig":
        """Validate the task and model parameters too, and that the job fits this machine and
        the program's int32 limits (``train.preflight``); raises ``ConfigError`` naming the field."""
        check_job(self.build_model_config(), self.build_task(), self.train)
        if self.train.continual is not None:  # the stages, method, optimiser and model fit together
            from .continual.driver import check_config

            check_config(self.build_model_config(), self.build_task(), self.train)
        return self

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def parse_config(data: Any, source: str = "config") -> RunConfig:
    """Validate a config dict; errors are ``ConfigError`` naming ``source`` and the field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with task/model/train/seed, got {type(data).__name__}")
    try:
        cfg = RunConfig(**data)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, source, RunConfig)) from None
    try:
        return cfg.validate_all()
    except ConfigError as e:
        raise ConfigError(f"{source}: {e}") from None


def load_config(path: str | Path) -> RunConfig:
    """Read and validate a YAML run config."""
    return parse_config(read_yaml(path, "config file"), str(path))
