"""rnnlab: train recurrent neural networks on neuroscience tasks, then take them apart.

The one path data takes::

    task.sample(key, B) -> Batch -> run(model, inputs) -> loss -> grads -> Optax update
    -> history, checkpoints, figures -> run directory + SQLite catalog

Public API: ``tasks``, ``models``, ``train``, ``store``, ``report`` and the names below.
"""

from ._compilation_cache import enable_compilation_cache
from ._host_devices import single_threaded_eigen

enable_compilation_cache()
single_threaded_eigen()  # one seed, one run: the command line's XLA CPU numerics (rnnlab._host_devices)

from . import models, tasks  # noqa: E402
from ._host_devices import use_host_devices
from .errors import CheckpointError, ConfigError, NonFiniteLossError, RnnlabError
from .evaluate import Evaluation, evaluate
from .models import ModelConfig, RecurrentModel, run, run_trial
from .tasks import Batch, Task
from .train import CurriculumConfig, History, TrainConfig, TrainResult, train

__version__ = "0.1.0"


def __getattr__(name: str):
    """``rnnlab.studies`` is imported on first use (it brings pandas and SciPy's statistics)."""
    if name in ("studies", "export"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'rnnlab' has no attribute {name!r}")


__all__ = [
    "models", "tasks", "use_host_devices",
    "CheckpointError", "ConfigError", "NonFiniteLossError", "RnnlabError",
    "ModelConfig", "RecurrentModel", "run", "run_trial",
    "Batch", "Task",
    "CurriculumConfig", "History", "TrainConfig", "TrainResult", "train",
    "Evaluation", "evaluate", "studies",
]
