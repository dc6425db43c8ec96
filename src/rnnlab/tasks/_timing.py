"""Trial timing shared by the task library: durations, period layouts and ``harder()``.

A *duration* is a fixed time ``d`` or a range ``(low, high)`` in the task's time unit (the
unit of its ``dt``). It lasts ``round(d / dt)`` steps; a range is drawn per trial, uniformly
over the whole numbers of steps ``round(low/dt) … round(high/dt)``. Array shapes use the
largest possible number of steps, so they stay static: a trial shorter than the arrays is
followed by zeros that the mask never scores.

Periods are laid out back to back; ``layout`` returns for each period ``name`` its first
step ``on`` and its end ``off`` (one past its last step), int arrays ``[B]``. Durations are
drawn from uniforms (see ``_random``).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Sequence, Union

import jax.numpy as jnp
from pydantic import AfterValidator, ConfigDict, ValidationInfo, field_validator

from ._base import Task
from ._random import integers


def _check_duration(d):
    low, high = d if isinstance(d, tuple) else (d, d)
    if low < 0:
        raise ValueError("durations must be >= 0")
    if high < low:
        raise ValueError("a range (low, high) needs low <= high")
    return d


#: a fixed duration or a (low, high) range drawn per trial, in the unit of ``dt``
Duration = Annotated[Union[float, tuple[float, float]], AfterValidator(_check_duration)]


def step_range(d, dt: float) -> tuple[int, int]:
    """Smallest and largest number of steps of duration ``d``."""
    low, high = d if isinstance(d, tuple) else (d, d)
    return int(round(low / dt)), int(round(high / dt))


def max_steps(d, dt: float) -> int:
    return step_range(d, dt)[1]


def total_steps(periods, dt: float) -> int:
    """Static length ``T`` of back-to-back ``periods`` ``[(name, duration), ...]``."""
    return sum(max_steps(d, dt) for _, d in periods)


def draw_steps(u, d, dt: float):
    """Number of steps of duration ``d`` per trial, from uniforms ``u [B]`` (int32 ``[B]``)."""
    low, high = step_range(d, dt)
    return integers(u, low, high + 1)


def layout(u, periods: Sequence[tuple[str, object]], dt: float):
    """Back-to-back periods from uniforms ``u [len(periods), B]``: ``({name: (on, off)}, T)``."""
    on = jnp.zeros(u.shape[1:], jnp.int32)
    bounds = {}
    for u_k, (name, d) in zip(u, periods):
        off = on + draw_steps(u_k, d, dt)
        bounds[name] = (on, off)
        on = off
    return bounds, total_steps(periods, dt)


def window(on, off, n_steps: int):
    """``[B, T]`` float, 1 where ``on <= t < off``."""
    t = jnp.arange(n_steps)[None, :]
    return ((t >= on[:, None]) & (t < off[:, None])).astype(jnp.float32)


def bounds_info(bounds) -> dict:
    """``{name_on: on, name_off: off}`` for ``Batch.info``."""
    info = {}
    for name, (on, off) in bounds.items():
        info[f"{name}_on"], info[f"{name}_off"] = on, off
    return info


def min_steps(*fields: str, minimum: int = 1):
    """A field validator: each duration in ``fields`` lasts at least ``minimum`` steps of ``dt``.

    ``dt`` must be declared before ``fields`` (Pydantic validates fields in order).
    """

    def check(cls, d, info: ValidationInfo):
        dt = info.data.get("dt")
        if dt is not None and step_range(d, dt)[0] < minimum:
            raise ValueError(f"must last at least {minimum} step(s) of dt={dt}")
        return d

    return field_validator(*fields)(check)


class TimedTask(Task):
    """A task whose ``harder()`` multiplies the durations listed in ``harder_fields``.

    Defaults are validated too, so that a ``dt`` too coarse for a default duration is caught.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False, validate_default=True)

    #: the trial's periods in order, as ``(label, field holding its duration)``
    periods: ClassVar[tuple[tuple[str, str], ...]] = ()

    def _periods(self):
        return [(label, getattr(self, field)) for label, field in self.periods]

    @property
    def n_steps(self) -> int:
        return total_steps(self._periods(), self.dt)

