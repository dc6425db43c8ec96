"""A user's own recorded trials as a task: fit networks to behaviour and neural recordings.

The data (``rnnlab.data.Recordings``: ``recordings [K, T, R]``, ``inputs [K, T, I]``,
``behaviour [K, T, O]``, built from arrays or an NWB file) live in a ``.npz`` file named by
``path``; ``digest`` (its SHA-256, filled in when omitted) guards against a changed file and
makes two tasks on different data distinct (the compiled training program is keyed by the task).

A batch draws ``B`` trials uniformly with replacement from the ``split``'s trials (PRNG key):
``inputs`` are the trial's inputs (or one constant 1 without inputs); targets are laid out as
``[behaviour | recordings]`` (``n_behaviour = O`` columns first), so the ``data_constrained``
objective can split them; mask 0 marks missing (NaN) samples. Without that objective the loss
is the masked MSE over all target columns (the recordings then fit through the readout).
``test_fraction`` of the trials (a fixed random subset from ``split_seed``) is held out:
``split="test"`` serves them, for evaluation on trials not trained on.

The trials are constants of the compiled program: keep a data set to a few hundred MB.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import jax
import jax.numpy as jnp
import numpy as np
from pydantic import Field, model_validator

from ._base import Batch, Task

__all__ = ["Recorded"]

_CACHE: dict[str, Any] = {}


def _load(path: str, digest: str):
    from ..data.recordings import Recordings

    if digest not in _CACHE:
        _CACHE[digest] = Recordings.load(path)
    return _CACHE[digest]


class Recorded(Task):
    name: ClassVar[str] = "recorded"
    description: ClassVar[str] = "a user's recorded trials (arrays or NWB): inputs, behaviour and recorded units"
    paper: ClassVar[str] = "fitting RNNs to recordings: Salatiello & Giese 2020; Versteeg et al. 2024 (CtD benchmark)"
    loss: ClassVar[str] = "mse"
    metric_name: ClassVar[str] = "mse"
    higher_is_better: ClassVar[bool] = False

    path: str = Field(description="the .npz file of the trials (rnnlab.data.Recordings.save)")
    digest: str = Field("", description="SHA-256 of the file (filled in when empty)")
    split: Literal["train", "test", "all"] = Field("train", description="which trials a batch draws from")
    test_fraction: float = Field(0.0, ge=0, lt=1, description="fraction of trials held out for split='test'")
    split_seed: int = Field(0, ge=0, description="seed of the held-out trials")

    @model_validator(mode="after")
    def _file(self):
        from ..data.recordings import file_digest

        try:
            actual = file_digest(self.path)
        except OSError as e:
            raise ValueError(f"path: cannot read {self.path} ({e.strerror})") from None
        if self.digest and self.digest != actual:
            raise ValueError(f"digest: {self.path} has changed since this task was made (digest {actual[:12]}…, "
                             f"expected {self.digest[:12]}…)")
        object.__setattr__(self, "digest", actual)
        data = _load(self.path, actual)
        if len(self._trials(data.shape[0])) == 0:
            raise ValueError(f"test_fraction: leaves no {self.split} trials of {data.shape[0]}")
        return self

    def data(self):
        """The ``rnnlab.data.Recordings`` of this task (all trials)."""
        return _load(self.path, self.digest)

    def _trials(self, K: int) -> np.ndarray:
        n_test = int(round(self.test_fraction * K))
        order = np.random.default_rng(self.split_seed).permutation(K)
        return {"train": np.sort(order[n_test:]), "test": np.sort(order[:n_test]), "all": np.arange(K)}[self.split]

    def trials(self) -> np.ndarray:
        """Indices of the trials this task's batches draw from."""
        return self._trials(self.data().shape[0])

    @property
    def dt(self) -> float:
        return self.data().dt

    def clock(self) -> tuple[float, str]:
        return float(self.data().dt), "ms"

    @property
    def n_behaviour(self) -> int:
        b = self.data().behaviour
        return 0 if b is None else b.shape[-1]

    @property
    def n_recorded(self) -> int:
        return self.data().shape[-1]

    @property
    def n_inputs(self) -> int:
        x = self.data().inputs
        return 1 if x is None else x.shape[-1]

    @property
    def n_outputs(self) -> int:
        return self.n_behaviour + self.n_recorded

    @property
    def n_steps(self) -> int:
        return self.data().shape[1]

    def _arrays(self):
        d = self.data()
        K, T, _ = d.shape
        x = np.ones((K, T, 1), np.float32) if d.inputs is None else d.inputs
        y = d.recordings if d.behaviour is None else np.concatenate([d.behaviour, d.recordings], -1)
        m = np.isfinite(y).astype(np.float32)
        return x, np.nan_to_num(y, nan=0.0), m

    def sample(self, key, batch_size, level=None) -> Batch:
        x, y, m = self._arrays()
        pool = jnp.asarray(self.trials())
        idx = pool[jax.random.randint(key, (batch_size,), 0, pool.shape[0])]
        x, y, m = jnp.asarray(x), jnp.asarray(y), jnp.asarray(m)
        return Batch(x[idx], y[idx], m[idx], {"trial": idx})
