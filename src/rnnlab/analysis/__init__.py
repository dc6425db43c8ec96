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
"""

from ._dynamics import state_trajectories
from .degeneracy import DegeneracyResult, degeneracy
from .dsa import DMD, DSAResult, delay_embed, dmd, dsa, similarity_transform_distance
from .fixed_points import FixedPoints, find_fixed_points
from .geometry import PCA, JacobianSpectrum, Spectrum, jacobian_spectrum, participation_ratio, pca, weight_spectrum
from .similarity import DistanceMatrix, WeightDistance, linear_cka, pairwise, procrustes_distance, weight_distance
from .timescales import (
    NetworkTimescales,
    TimescaleFit,
    autocorrelation,
    fit_timescale,
    network_timescales,
    single_neuron_taus,
    timescales_from_activity,
)

__all__ = [
    "state_trajectories",
    # timescales
    "TimescaleFit", "NetworkTimescales", "single_neuron_taus", "autocorrelation", "fit_timescale",
    "timescales_from_activity", "network_timescales",
    # fixed points
    "FixedPoints", "find_fixed_points",
    # geometry
    "PCA", "Spectrum", "JacobianSpectrum", "pca", "participation_ratio", "weight_spectrum", "jacobian_spectrum",
    # similarity
    "linear_cka", "procrustes_distance", "WeightDistance", "weight_distance", "DistanceMatrix", "pairwise",
    "DMD", "DSAResult", "delay_embed", "dmd", "dsa", "similarity_transform_distance",
    # degeneracy
    "DegeneracyResult", "degeneracy",
]
