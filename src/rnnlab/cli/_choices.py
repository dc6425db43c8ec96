"""Validated choices for command-line options: an ``Enum`` of strings, which Typer checks
and lists in ``--help`` (``[adam|adamw|sgd]``)."""

from __future__ import annotations

import enum
from typing import Iterable


def choice(name: str, values: Iterable[str]) -> type[enum.Enum]:
    """A string ``Enum`` named ``name`` whose members are ``values`` (member value = name)."""
    return enum.Enum(name, {v: v for v in values}, type=str)
