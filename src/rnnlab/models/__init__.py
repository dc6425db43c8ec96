"""Models: Equinox recurrent networks sharing one interface (see ``_base``).

``get(name, input_size=..., output_size=..., key=..., **params)`` builds any registered
model; ``config(name, **params)`` validates its hyperparameters without building it.
"""

from __future__ import annotations

import numbers
from typing import Any

import jax

from pydantic import ValidationError

from .._registry import format_validation_error, unknown_name_error
from ._base import ModelConfig, RecurrentModel, run, run_trial
from .cfc import CfC, CfCConfig
from .cortico_cerebellar import CorticoCerebellar, CorticoCerebellarConfig
from .elm import ELM, ELMConfig
from .gated import GRU, LSTM, GRUConfig, LSTMConfig
from .leaky_rnn import LeakyRNN, LeakyRNNConfig
from .lmu import LMU, LMUConfig
from .low_rank_rnn import LowRankRNN, LowRankRNNConfig
from .lru import LRU, LRUConfig
from .ltc import LTC, LTCConfig
from .min_rnn import MinGRU, MinGRUConfig, MinLSTM, MinLSTMConfig
from .s4d import S4D, S4DConfig
from .spiking import SpikingRNN, SpikingRNNConfig

REGISTRY: dict[str, type[ModelConfig]] = {
    c.name: c
    for c in (
        LeakyRNNConfig, GRUConfig, LSTMConfig, LowRankRNNConfig,
        LRUConfig, MinGRUConfig, MinLSTMConfig, S4DConfig, LMUConfig, SpikingRNNConfig,
        ELMConfig, CfCConfig, LTCConfig,
        CorticoCerebellarConfig,
    )
}

__all__ = [
    "ModelConfig", "RecurrentModel", "run", "run_trial",
    "LeakyRNN", "LeakyRNNConfig", "GRU", "GRUConfig", "LSTM", "LSTMConfig",
    "LowRankRNN", "LowRankRNNConfig", "LRU", "LRUConfig", "MinGRU", "MinGRUConfig",
    "MinLSTM", "MinLSTMConfig", "S4D", "S4DConfig", "LMU", "LMUConfig", "SpikingRNN", "SpikingRNNConfig",
    "ELM", "ELMConfig", "CfC", "CfCConfig", "LTC", "LTCConfig",
    "CorticoCerebellar", "CorticoCerebellarConfig",
    "REGISTRY", "config", "get", "names",
]


def names() -> list[str]:
    """Names of all registered models."""
    return sorted(REGISTRY)


def config(name: str, **params: Any) -> ModelConfig:
    """Validate ``params`` for model ``name``; errors name the bad field and the valid ones."""
    if name not in REGISTRY:
        raise unknown_name_error("model", name, names())
    cls = REGISTRY[name]
    try:
        return cls(**params)
    except ValidationError as e:
        raise ValueError(format_validation_error(e, f"model '{name}'", cls)) from None


def get(name: str, *, input_size: int, output_size: int, key, **params: Any) -> RecurrentModel:
    """Build model ``name`` for the given input/output sizes from PRNG ``key`` (or an integer
    seed: ``PRNGKey(seed)``)."""
    cfg = config(name, **params)
    for field, n in (("input_size", input_size), ("output_size", output_size)):
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"{field}: must be a positive integer (got {n!r})")
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        if not 0 <= key < 2**32:
            raise ValueError(f"key: an integer seed must be 0 <= seed < 2**32 (got {key})")
        key = jax.random.PRNGKey(int(key))
    elif not hasattr(key, "dtype"):
        raise ValueError(f"key: expected a PRNG key or an integer seed, got {type(key).__name__}")
    return cfg.build(input_size, output_size, key)
