"""Mixed memory (Hasani et al. 2022; the ``mixed_memory`` option of the ncps package).

A continuous-time cell (CfC or LTC) has no additive path that keeps a value unchanged over
many steps, so on its own it forgets over long gaps. With mixed memory an LSTM cell runs
first in every step and the continuous-time cell then acts on its output::

    (h'_t, c_t) = LSTM(x_t, (h_{t−1}, c_{t−1}))          (the LSTM's gated cell state c)
    h_t         = Cell(x_t, h'_t)                          (CfC or LTC update)

The state is ``(h, c)``; the activity is ``h``. These helpers give the three pieces of the
model interface for a model with a ``memory`` field (an ``LSTM`` or ``None``) and its own
cell ``_cell_update(h, drive)``.
"""

from __future__ import annotations

from typing import Any, Callable

import jax.numpy as jnp

from .gated import LSTM, LSTMConfig


def build_memory(enabled: bool, hidden_size: int, input_size: int, key) -> LSTM | None:
    """The LSTM of the mixed memory (its readout is unused), or ``None``."""
    return LSTMConfig(hidden_size=hidden_size).build(input_size, 1, key) if enabled else None


def initial_state(memory: LSTM | None, hidden_size: int) -> Any:
    h = jnp.zeros(hidden_size)
    return h if memory is None else (h, jnp.zeros(hidden_size))


def input_drive(memory: LSTM | None, x, cell_drive) -> Any:
    return cell_drive if memory is None else (memory.input_drive(x), cell_drive)


def update(memory: LSTM | None, state, drive, cell_update: Callable) -> tuple[Any, Any]:
    if memory is None:
        return cell_update(state, drive)
    (h, c), _ = memory.update(state, drive[0], None)
    h, activity = cell_update(h, drive[1])
    return (h, c), activity
