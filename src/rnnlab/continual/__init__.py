"""Continual learning: a sequence of tasks learned one after another, and the forgetting it causes.

* ``sequence``: the stages (the sub-tasks of a ``multitask``, in its shared layout).
* ``train_continual``: the driver (each stage by ``rnnlab.train`` with the method's objective),
  resumable, for single networks and ensembles; ``accuracy`` matrix ``R[s, j]``.
* methods (``rnnlab.continual.methods``): ``Finetune``, ``EWC`` (Kirkpatrick et al. 2017),
  ``Projection`` (OWM / GPM / Duncker et al. 2020), ``HLOP`` (Xiao et al. 2024).
* metrics: ``average_accuracy``, ``backward_transfer`` (Lopez-Paz & Ranzato 2017),
  ``accuracy_matrix_metrics``; the sweep analysis ``continual`` (``analysis.continual_analysis``).

A run config selects it with ``train.continual: {method: ewc, ewc_lambda: 100}`` and a
``multitask`` task; ``rnnlab.store`` and sweeps dispatch such runs to ``train_continual``.
"""

from .driver import EVAL_KEY, ContinualCheckpoint, ContinualResult, train_continual
from .methods import EWC, HLOP, Finetune, Projection, fisher_diagonal, gpm_update, hebbian_subspace
from .sequence import (SequenceTask, accuracy_matrix_metrics, average_accuracy, backward_transfer, sequence,
                       stage_accuracies)

__all__ = ["SequenceTask", "sequence", "stage_accuracies", "average_accuracy", "backward_transfer",
           "accuracy_matrix_metrics", "train_continual", "ContinualCheckpoint", "ContinualResult", "EVAL_KEY",
           "Finetune", "EWC", "Projection", "HLOP", "fisher_diagonal", "gpm_update", "hebbian_subspace"]
