"""Optax optimisers from a ``TrainConfig``."""

from __future__ import annotations

import functools

import optax

from .config import TrainConfig


def make_optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    """``clip_by_global_norm(clip)`` followed by Adam, AdamW or SGD(+momentum).

    The same settings give the same (cached) object, so that jitted training programs,
    which take the optimiser as a static argument, are compiled once per setting.
    """
    return _optimizer(cfg.optimizer, cfg.lr, cfg.momentum, cfg.nesterov, cfg.weight_decay, cfg.clip)


@functools.lru_cache(maxsize=64)
def _optimizer(name: str, lr: float, momentum: float, nesterov: bool, weight_decay: float, clip: float | None):
    if name == "adam":
        opt = optax.adam(lr)
    elif name == "adamw":
        opt = optax.adamw(lr, weight_decay=weight_decay)
    else:
        opt = optax.sgd(lr, momentum=momentum or None, nesterov=nesterov)
    if clip is None:
        return opt
    return optax.chain(optax.clip_by_global_norm(clip), opt)
