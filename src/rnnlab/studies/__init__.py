"""Studies: each seed paper's central claims as a runnable study with a claim table and a page.

A study (``Study``) names the paper, its conditions at two scales (``quick``: minutes on a
laptop; ``paper``: the paper's sizes), the per-network and group analyses, and the claims,
each a falsifiable statement tested across seeds with an outcome ``pass``/``fail``/
``inconclusive`` (``rnnlab.studies.claims``). ``run(name, scale)`` trains the networks on the
sweep machinery, analyses them, evaluates the claims and writes ``claims.json``, ``table.csv``
and ``index.html``.

Registered studies: ``sussillo2013`` (3-bit flip-flop fixed points), ``khajehabdollahi2024``
(timescales and curricula), ``liu2024`` (connectivity rank and rich/lazy learning),
``huang2025`` (solution degeneracy across widths and task complexity), ``torre2025`` (RNNs
emulating HMMs by distribution matching), ``salatiello2020`` (fitting networks to sparse
recordings), ``xiao2024`` (continual learning by orthogonal projection, HLOP).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ._base import Claim, Condition, Scale, Study, StudyData, product

if TYPE_CHECKING:
    from .runner import StudyResult, load, run, study_dir

__all__ = ["Claim", "Condition", "Scale", "Study", "StudyData", "StudyResult", "product",
           "get", "names", "register", "run", "load", "study_dir"]

#: names read from ``.runner`` on first use: the runner imports the sweep machinery (JAX, the
#: analyses), which ``rnnlab study list`` and ``study show`` do not need
_RUNNER = ("StudyResult", "load", "run", "study_dir")


def __getattr__(name: str) -> Any:
    if name in _RUNNER:
        from . import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_MODULES = ("sussillo2013", "khajehabdollahi2024", "liu2024", "huang2025", "torre2025", "salatiello2020", "xiao2024")
_REGISTRY: dict[str, Study] = {}


def register(study: Study) -> Study:
    """Add ``study`` to the registry (its name must be new)."""
    if study.name in _REGISTRY and _REGISTRY[study.name] is not study:
        raise ValueError(f"study '{study.name}' is already registered")
    _REGISTRY[study.name] = study
    return study


def _load_all() -> None:
    for m in _MODULES:
        importlib.import_module(f"{__name__}.{m}")


def names() -> list[str]:
    """The registered studies' names."""
    _load_all()
    return list(_REGISTRY)


def get(name: str) -> Study:
    """The study called ``name`` (``ConfigError`` naming the valid ones otherwise)."""
    _load_all()
    if name not in _REGISTRY:
        raise ConfigError(f"study: unknown study '{name}'; valid: {', '.join(_REGISTRY)}")
    return _REGISTRY[name]
