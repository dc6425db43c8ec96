"""Training: BPTT with masked losses, curricula and ensembles, all under one jitted loop."""

from .config import CurriculumConfig, TrainConfig
from .curricula import final_task, layout_task
from .history import History, stage_file
from .loop import (
    Checkpoint, StageModels, TrainResult, TrainState, initial_state, make_step, member, member_keys, shard_members,
    train,
)
from .optim import make_optimizer

__all__ = [
    "CurriculumConfig", "TrainConfig", "History", "Checkpoint", "StageModels", "TrainResult", "TrainState",
    "final_task", "initial_state", "layout_task", "make_optimizer", "make_step", "member", "member_keys", "shard_members",
    "stage_file", "train",
]
