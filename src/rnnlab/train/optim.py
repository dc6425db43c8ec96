"""Optax optimisers from a ``TrainConfig``."""

from __future__ import annotations

import functools

import optax

from .config import TrainConfig


def make_optimizer(cfg: TrainConfig) -> optax.GradientTransformation:
    """``clip_by_global_norm(clip)`` followed by Adam, AdamW or SGD(+momentum).

    The learning rate is constant, or (``lr_schedule="cosine"``) follows a cosine decay from
    ``lr`` to ``lr_final · lr`` over the step budget (``optax.cosine_decay_schedule``),
    counted in applied updates of each member.

    The same settings give the same (cached) object, so that jitted training programs,
    which take the optimiser as a static argument, are compiled once per setting.
    """
    lr = cfg.lr if cfg.lr_schedule == "constant" else ("cosine", cfg.lr, cfg.steps, cfg.lr_final)
    return _optimizer(cfg.optimizer, lr, cfg.momentum, cfg.nesterov, cfg.weight_decay, cfg.clip)


@functools.lru_cache(maxsize=64)
def _optimizer(name: str, lr, momentum: float, nesterov: bool, weight_decay: float, clip: float | None):
    if isinstance(lr, tuple):
        _, peak, steps, final = lr
        lr = optax.cosine_decay_schedule(peak, steps, alpha=final)
    if name == "adam":
        opt = optax.adam(lr)
    elif name == "adamw":
        opt = optax.adamw(lr, weight_decay=weight_decay)
    else:
        opt = optax.sgd(lr, momentum=momentum or None, nesterov=nesterov)
    if clip is None:
        return opt
    return optax.chain(optax.clip_by_global_norm(clip), opt)
