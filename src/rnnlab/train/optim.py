"""Optax optimisers from a ``TrainConfig``."""

from __future__ import annotations

import optax

from .config import TrainConfig


def make_optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    """``clip_by_global_norm(clip)`` followed by Adam, AdamW or SGD(+momentum)."""
    if cfg.optimizer == "adam":
        opt = optax.adam(cfg.lr)
    elif cfg.optimizer == "adamw":
        opt = optax.adamw(cfg.lr, weight_decay=cfg.weight_decay)
    else:
        opt = optax.sgd(cfg.lr, momentum=cfg.momentum or None, nesterov=cfg.nesterov)
    if cfg.clip is None:
        return opt
    return optax.chain(optax.clip_by_global_norm(cfg.clip), opt)
