"""Training: BPTT with masked losses, curricula and ensembles, all under one jitted loop."""

from .config import CurriculumConfig, TrainConfig
from .curricula import layout_task
from .history import History
from .loop import (
    Checkpoint, TrainResult, TrainState, initial_state, make_step, member, member_keys, shard_members, train,
)
from .optim import make_optimizer

__all__ = [
    "CurriculumConfig", "TrainConfig", "History", "Checkpoint", "TrainResult", "TrainState",
    "initial_state", "layout_task", "make_optimizer", "make_step", "member", "member_keys", "shard_members", "train",
]
