"""Run statuses, one vocabulary for summaries, the catalog, the CLI, pages and sweep tables.

A run is ``created``, then ``running``, and ends as one of:

- ``converged``: it reached its threshold (``train.threshold``) or passed the last level of
  its curriculum; for an ensemble run, every member did;
- ``budget``: it spent its step budget without converging (also a run without a threshold,
  and an ensemble run in which some member did not converge);
- ``failed``: the loss became non-finite (every member, for an ensemble);
- ``interrupted``: stopped from outside (Ctrl-C, a killed process); resumable.

Catalogs written before these statuses existed say ``completed`` for a run that ended on
either of the first two; it counts as finished.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:  # not imported at run time: reading statuses must not import JAX
    from ..train import History

__all__ = ["FINISHED", "STATUSES", "is_finished", "run_status"]

STATUSES = ("created", "running", "converged", "budget", "failed", "interrupted")
#: statuses of a run whose training ended with usable weights (``completed``: legacy catalogs)
FINISHED = ("converged", "budget", "completed")


def is_finished(status: str | None) -> bool:
    """Whether ``status`` is that of a run whose training ended normally (``FINISHED``)."""
    return status in FINISHED


def run_status(history: "History | Sequence[str]") -> str:
    """The status of a run from its members' statuses (``History.status``, or the list itself).

    ``failed`` if every member failed, ``converged`` if every member converged, ``running``
    while any member still trains, else ``budget``.
    """
    members = list(getattr(history, "status", history))
    if all(s == "failed" for s in members):
        return "failed"
    if all(s == "converged" for s in members):
        return "converged"
    return "running" if "running" in members else "budget"
