"""NeuroGym bridge: any NeuroGym environment as a seeded, masked, batched rnnlab task.

``from_neurogym("PerceptualDecisionMaking-v0", dt=100)`` (or ``tasks.get("neurogym",
env_id=..., env_kwargs=...)``, or ``task: {name: neurogym, params: {...}}`` in a config)
wraps a NeuroGym (Molano-Mazon et al. 2022) environment. It answers four complaints about
training on NeuroGym directly:

* **one trial at a time, in NumPy**: NeuroGym builds trials one by one in stateful NumPy.
  Here ``sample(key, B)`` returns a whole ``Batch`` ``[B, T, ·]``, and it works inside
  ``jax.jit`` / ``lax.scan`` / ``vmap`` (the training loop) through ``jax.pure_callback``: the
  trials are still made by NumPy on the host, with static shapes.
* **no loss mask**: trials have different lengths; each is padded with zeros to ``n_steps``
  and ``mask`` is 1 on its real steps, 0 on the padding.
* **trials cut across batch windows**: ``neurogym.Dataset`` concatenates trials into one
  stream and slices it into windows of ``seq_len``, so a window starts and ends mid-trial.
  Here every row of a batch is one whole trial from its first step (``env.new_trial()``,
  ``env.ob``, ``env.gt``) and ``info["length"]`` is its number of real steps.
* **no seed**: the environment (its RNG and timing distributions) is re-seeded for every
  batch with a seed derived from the key (``info["seed"]``), so the same key gives the same
  batch, and ``env.seed(seed)`` then ``B`` calls of ``env.new_trial()`` rebuild it in NumPy.

Targets are one-hot of the ground-truth action ``env.gt`` (``n_classes`` = the size of the
``Discrete`` action space, cross-entropy loss; the metric is the accuracy over all real steps,
fixation included, as in NeuroGym's supervised loss). ``n_steps`` (the padded length), unless
given, is measured at construction: the sum of the longest durations of the environment's
``timing`` periods where all are bounded, and at least the longest of ``_PROBE`` trials drawn
(periods set by code, e.g. ReadySetGo's production, are only seen there); a longer trial later
raises ``ValueError`` (pass a larger ``n_steps``). ``harder(f)`` scales the environment's
numeric ``timing`` periods by ``f``.
NeuroGym is an optional extra: ``pip install 'rnnlab[neurogym]'``.
"""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from pydantic import Field, PrivateAttr, model_validator

from ._base import Batch, Task

_PROBE = 500  # trials drawn at construction to measure n_steps
_LOCK = threading.Lock()  # the environment is stateful: one batch at a time


def _make_env(env_id: str, env_kwargs: dict):
    try:
        import neurogym
    except ImportError as e:
        raise ValueError(f"NeuroGym cannot be imported ({e}): pip install 'rnnlab[neurogym]'") from e
    try:
        return neurogym.make(env_id, **env_kwargs).unwrapped
    except Exception as e:  # gymnasium's errors for unknown ids / bad kwargs
        raise ValueError(f"cannot make NeuroGym environment {env_id!r} with {env_kwargs}: {e}") from None


def _seed(key_data) -> int:
    """A 32-bit NumPy seed from the raw key data."""
    return int(np.random.SeedSequence(np.asarray(key_data, np.uint32).ravel().tolist()).generate_state(1)[0])


def _trials(env, seed: int, n: int):
    """``n`` whole trials ``[(ob [T_i, I], gt [T_i])]`` of ``env`` seeded with ``seed``."""
    env.seed(seed)
    top = getattr(env, "_top", env)
    out = []
    for _ in range(n):
        top.new_trial()
        out.append((np.asarray(env.ob, np.float32).reshape(len(env.ob), -1), np.asarray(env.gt).reshape(-1)))
    return out


def _spec(value: Any) -> Any:
    """A NeuroGym timing value as a number, a list or ``[dist, args]``; None for a callable."""
    if all(hasattr(value, a) for a in ("vmean", "vmin", "vmax")):  # neurogym's TruncExp
        return ["truncated_exponential", [value.vmean, value.vmin, value.vmax]]
    return None if callable(value) else value


def _scale(value: Any, f: float) -> Any:
    if isinstance(value, int | float):
        return value * f
    if isinstance(value[0], str):  # [dist, args]
        return [value[0], _scale(value[1], f)]
    return [v * f for v in value]


def _longest(value: Any) -> float:
    """The longest duration a timing spec can draw (inf if unbounded or unknown)."""
    if value is None or isinstance(value, int | float):
        return np.inf if value is None else value
    if not isinstance(value[0], str):
        return max(value)
    dist, args = value
    bound = {"uniform": lambda: max(args), "choice": lambda: max(args), "constant": lambda: args,
             "truncated_exponential": lambda: args[2] if len(args) > 2 else np.inf}
    return bound.get(dist, lambda: np.inf)()


def _measure_steps(env) -> int:
    """Longest trial: the sum of the longest periods if all are bounded, at least the longest of ``_PROBE``."""
    probed = max(len(gt) for _, gt in _trials(env, 0, _PROBE))
    bound = sum(_longest(_spec(v)) for v in env.timing.values())
    return max(probed, int(bound / env.dt)) if np.isfinite(bound) else probed


class NeuroGym(Task):
    name: ClassVar[str] = "neurogym"
    description: ClassVar[str] = "any NeuroGym environment: whole, padded, masked, seeded trials"
    paper: ClassVar[str] = "Molano-Mazon et al. 2022, NeuroGym (neurogym.github.io)"
    loss: ClassVar[str] = "cross_entropy"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True

    env_id: str = Field("PerceptualDecisionMaking-v0", description="NeuroGym environment id")
    env_kwargs: dict[str, Any] = Field({}, description="keyword arguments of neurogym.make (dt, timing, ...)")
    n_steps: int | None = Field(None, gt=0, description="padded trial length (None: measured at construction)")

    _env: Any = PrivateAttr(None)

    @model_validator(mode="after")
    def _build(self):
        env = _make_env(self.env_id, self.env_kwargs)
        if not hasattr(env.action_space, "n") or not hasattr(env, "new_trial"):
            raise ValueError(f"env_id: {self.env_id!r} is not a trial-based environment with discrete actions")
        self._env = env
        if self.n_steps is None:
            object.__setattr__(self, "n_steps", _measure_steps(env))
        return self

    def _fields(self) -> tuple:  # env_kwargs is a dict: compared and hashed as JSON; the env is not
        return self.env_id, json.dumps(self.env_kwargs, sort_keys=True, default=repr), self.n_steps

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    @property
    def n_classes(self) -> int:
        return int(self._env.action_space.n)

    @property
    def n_inputs(self) -> int:
        return int(np.prod(self._env.observation_space.shape))

    @property
    def n_outputs(self) -> int:
        return self.n_classes

    def _host_batch(self, key_data, batch_size: int):
        B, T, C = batch_size, self.n_steps, self.n_classes
        seed = _seed(key_data)
        inputs = np.zeros((B, T, self.n_inputs), np.float32)
        gts = np.zeros((B, T), np.int64)
        lengths = np.zeros(B, np.int32)
        with _LOCK:
            trials = _trials(self._env, seed, B)
        for i, (ob, gt) in enumerate(trials):
            if len(gt) > T:
                raise ValueError(
                    f"{self.env_id}: a trial of {len(gt)} steps is longer than n_steps={T}; pass a larger n_steps"
                )
            inputs[i, : len(gt)], gts[i, : len(gt)], lengths[i] = ob, gt, len(gt)
        real = (np.arange(T) < lengths[:, None]).astype(np.float32)
        targets = np.eye(C, dtype=np.float32)[gts] * real[..., None]
        mask = np.repeat(real[..., None], C, axis=-1)
        return inputs, targets, mask, lengths, np.full(B, seed, np.uint32)

    def sample(self, key, batch_size, level=None) -> Batch:
        typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
        data = jax.random.key_data(key) if typed else jnp.asarray(key)
        B, T = batch_size, self.n_steps
        shapes = (
            jax.ShapeDtypeStruct((B, T, self.n_inputs), jnp.float32),
            jax.ShapeDtypeStruct((B, T, self.n_classes), jnp.float32),
            jax.ShapeDtypeStruct((B, T, self.n_classes), jnp.float32),
            jax.ShapeDtypeStruct((B,), jnp.int32),
            jax.ShapeDtypeStruct((B,), jnp.uint32),
        )
        host = lambda d: self._host_batch(d, B)  # noqa: E731
        inputs, targets, mask, length, seed = jax.pure_callback(host, shapes, data, vmap_method="sequential")
        return Batch(inputs, targets, mask, {"length": length, "seed": seed})

    def harder(self, factor: float = 2.0) -> "NeuroGym":
        """The same environment with its numeric ``timing`` periods times ``factor`` (n_steps re-measured)."""
        if not factor > 0:
            raise ValueError(f"factor: must be > 0 (got {factor})")
        specs = {k: _spec(v) for k, v in self._env.timing.items()}
        timing = {k: _scale(v, factor) for k, v in specs.items() if v is not None}
        return NeuroGym(env_id=self.env_id, env_kwargs={**self.env_kwargs, "timing": timing})


def from_neurogym(env_id: str, n_steps: int | None = None, **env_kwargs: Any) -> NeuroGym:
    """The NeuroGym environment ``env_id`` (made with ``env_kwargs``) as an rnnlab task; see the module doc."""
    return NeuroGym(env_id=env_id, env_kwargs=env_kwargs, n_steps=n_steps)
