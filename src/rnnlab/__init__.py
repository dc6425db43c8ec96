"""rnnlab: train recurrent neural networks on neuroscience tasks, then take them apart.

The one path data takes::

    task.sample(key, B) -> Batch -> run(model, inputs) -> loss -> grads -> Optax update
    -> history, checkpoints, figures -> run directory + SQLite catalog

Public API: ``tasks``, ``models``, ``train``, ``objectives``, ``continual``, ``data``, ``store``,
``report``, ``studies``, ``export`` and the names below. Everything is imported on first use (``lazy_loader``, the scientific
Python packages' lazy-import helper), so that ``import rnnlab`` and the command line start
without importing JAX (``benchmarks/cli_startup.py`` measures it).
"""

import sys as _sys
import types as _types

import lazy_loader as _lazy

from ._compilation_cache import enable_compilation_cache
from ._host_devices import single_threaded_eigen
from .errors import CheckpointError, ConfigError, NonFiniteLossError, RnnlabError

enable_compilation_cache()
single_threaded_eigen()  # one seed, one run: the command line's XLA CPU numerics (rnnlab._host_devices)

__version__ = "0.1.0"

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["analysis", "config", "continual", "data", "export", "losses", "models", "objectives", "parallel",
                "report", "store", "studies", "sweep", "tasks"],
    submod_attrs={
        "_host_devices": ["use_host_devices"],
        "evaluate": ["Evaluation", "evaluate"],
        "models": ["ModelConfig", "RecurrentModel", "run", "run_trial"],
        "tasks": ["Batch", "Task"],
        "train": ["CurriculumConfig", "History", "TrainConfig", "TrainResult", "train"],
    },
)
__all__ += ["CheckpointError", "ConfigError", "NonFiniteLossError", "RnnlabError", "__version__"]


class _Package(_types.ModuleType):
    """``rnnlab.train`` and ``rnnlab.evaluate`` are functions, and stay so: importing the
    submodule of the same name (which any module may do first) makes Python bind the module
    on its parent, and this turns that binding into the module's function."""

    def __setattr__(self, name, value):
        if name in ("train", "evaluate") and isinstance(value, _types.ModuleType) and hasattr(value, name):
            value = getattr(value, name)
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _Package
