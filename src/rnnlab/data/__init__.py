"""A user's own recordings as rnnlab data: arrays (trials × time × units) and NWB files.

``from_arrays(recordings, inputs=..., behaviour=..., dt=...)`` or ``load_nwb(path, ...)``
gives a ``Recordings``; ``Recordings.task()`` the ``recorded`` task that serves its trials
(``rnnlab.tasks.recorded``), to train a network on the behaviour and the recordings with the
``data_constrained`` objective (``rnnlab.objectives.data_constrained``).
"""

from .nwb import load_nwb
from .recordings import Recordings, from_arrays

__all__ = ["Recordings", "from_arrays", "load_nwb"]
