"""Exceptions with one-line messages that name the field, file or run at fault."""

from __future__ import annotations


class RnnlabError(Exception):
    """Base class of rnnlab's errors."""


class ConfigError(RnnlabError, ValueError):
    """A configuration value is invalid; the message names the field."""


class NonFiniteLossError(RnnlabError):
    """The loss or its gradient became NaN or infinite; training stopped.

    ``step`` is the number of good steps done before it; ``result`` holds the last good
    state and history (parameters are never updated with a non-finite gradient).
    """

    def __init__(self, step: int, result=None):
        super().__init__(f"loss: non-finite (NaN or inf) at step {step}; training stopped, last good state kept")
        self.step = step
        self.result = result


class CheckpointError(RnnlabError):
    """A checkpoint is missing or unreadable; the message names the file."""


class StoreWriteError(RnnlabError):
    """A file of the run store could not be written (a full disk, say); the message names it.
    The file's previous version, if any, is intact, so an interrupted run stays resumable."""
