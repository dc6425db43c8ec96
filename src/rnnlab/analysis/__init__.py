"""Analyses of trained networks: timescales, fixed points, geometry and similarity.

Each analysis is a function returning a small frozen result (NumPy arrays and scalars) with
``plot(path=None)`` (a Matplotlib figure, Agg), ``to_dict()``, ``summary()`` and
``save(path)`` / ``load(path)`` (``.npz`` + ``.json``, never pickle).

* ``timescales``: single-neuron τ and network-mediated τ_net from autocorrelations
  (Khajehabdollahi, Zeraati et al. 2024).
* ``fixed_points``: fixed/slow points, Jacobians and stability (Sussillo & Barak 2013).
* ``geometry``: PCA, participation ratio, weight and Jacobian eigenspectra.
* ``similarity``: linear CKA, Procrustes shape distance, permutation-aligned weight distance,
  and ``dsa``: Dynamical Similarity Analysis (Ostrow et al. 2023).
* ``degeneracy``: behavioural, dynamical and weight degeneracy of an ensemble (Huang et al. 2025).
* ``perturbation``: ablation of units and normalised weight/τ perturbations, with retraining
  (Khajehabdollahi, Zeraati et al. 2024).
* ``pruning``: magnitude pruning of recurrent weights, with or without fine-tuning.
* ``automata``: finite automata extracted from hidden-state clusters, minimised.
* ``rich_lazy``: weight change, tangent-kernel and representation alignment, effective rank
  (Liu et al. 2024; Huang et al. 2025).
"""

from ._dynamics import state_trajectories
from .degeneracy import DegeneracyResult, degeneracy
from .dsa import DMD, DSAResult, delay_embed, dmd, dsa, similarity_transform_distance, similarity_transform_distances
from .fixed_points import FixedPoints, find_fixed_points
from .neural_fit import NeuralFit, StateR2, cca, neural_fit, state_r2, teacher_trials
from .geometry import PCA, JacobianSpectrum, Spectrum, jacobian_spectrum, participation_ratio, pca, weight_spectrum
from .similarity import DistanceMatrix, WeightDistance, linear_cka, pairwise, procrustes_distance, weight_distance
from .automata import Automaton, extract_automaton, minimize_dfa, run_dfa
from .perturbation import (
    AblationCurve,
    PerturbationCurve,
    Retraining,
    ablate,
    ablation_curve,
    perturb,
    perturbation_curve,
    retrain_after,
)
from .pruning import PruningCurve, finetune, prune, pruning_curve, recurrent_sparsity
from .rich_lazy import (
    RichLazy,
    RichLazyTrajectory,
    SnapshotRecorder,
    effective_rank,
    record_snapshots,
    rich_lazy,
    rich_lazy_over_training,
    tangent_kernel,
    weight_change,
)
from .timescales import (
    RELIABLE_MAX_FLAGGED,
    TIMESCALE_FLAGS,
    NetworkTimescales,
    TimescaleFit,
    auto_fit_lag,
    autocorrelation,
    fit_timescale,
    network_timescales,
    single_neuron_taus,
    timescales_from_activity,
)

__all__ = [
    "state_trajectories",
    # timescales
    "TimescaleFit", "NetworkTimescales", "TIMESCALE_FLAGS", "RELIABLE_MAX_FLAGGED", "single_neuron_taus",
    "autocorrelation", "auto_fit_lag", "fit_timescale", "timescales_from_activity", "network_timescales",
    # fixed points
    "FixedPoints", "find_fixed_points",
    # geometry
    "PCA", "Spectrum", "JacobianSpectrum", "pca", "participation_ratio", "weight_spectrum", "jacobian_spectrum",
    # similarity
    "linear_cka", "procrustes_distance", "WeightDistance", "weight_distance", "DistanceMatrix", "pairwise",
    "DMD", "DSAResult", "delay_embed", "dmd", "dsa", "similarity_transform_distance", "similarity_transform_distances",
    # comparison with recordings
    "NeuralFit", "StateR2", "cca", "neural_fit", "state_r2", "teacher_trials",
    # degeneracy
    "DegeneracyResult", "degeneracy",
    # perturbation, pruning
    "AblationCurve", "PerturbationCurve", "Retraining", "ablate", "ablation_curve", "perturb",
    "perturbation_curve", "retrain_after",
    "PruningCurve", "finetune", "prune", "pruning_curve", "recurrent_sparsity",
    # automata
    "Automaton", "extract_automaton", "minimize_dfa", "run_dfa",
    # rich vs lazy
    "RichLazy", "RichLazyTrajectory", "SnapshotRecorder", "effective_rank", "record_snapshots", "rich_lazy",
    "rich_lazy_over_training", "tangent_kernel", "weight_change",
]
