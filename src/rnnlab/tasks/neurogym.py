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
  and ``mask`` is 1 on its real steps, 0 on the padding (a longer trial is cut, see Overflow).
* **trials cut across batch windows**: ``neurogym.Dataset`` concatenates trials into one
  stream and slices it into windows of ``seq_len``, so a window starts and ends mid-trial.
  Here every row of a batch is one whole trial from its first step (``env.new_trial()``,
  ``env.ob``, ``env.gt``) and ``info["length"]`` is its number of real steps.
* **no seed**: the environment (its RNG and timing distributions) is re-seeded for every
  batch with a seed derived from the key (``info["seed"]``), so the same key gives the same
  batch, and ``env.seed(seed)`` then ``B`` calls of ``env.new_trial()`` rebuild it in NumPy.

Targets are one-hot of the ground-truth action ``env.gt`` (``n_classes`` = the size of the
``Discrete`` action space, cross-entropy loss; the metric is the accuracy over all real steps,
fixation included, as in NeuroGym's supervised loss). ``harder(f)`` scales the environment's
numeric ``timing`` periods by ``f``.

**Trial length.** ``n_steps`` (the padded length), unless given, is sized at construction,
period by period, from the environment's declared ``timing``: a bounded period (a number, a
list, ``uniform``, ``choice``, ``constant``, a truncated exponential with a maximum) counts its
longest duration, floored to ``dt`` as NeuroGym draws it; an unbounded truncated exponential
counts its ``1 - _TAIL`` quantile (minimum plus ``mean * ln(1 / _TAIL)``: such an exponential is
memoryless above its minimum). A period the environment sets in code (no ``timing`` entry, a
callable, or a declared value that the ``_PROBE`` trials drawn at construction exceed, e.g.
ReadySetGo's production or OneTwoThreeGo's intervals) counts its longest probed duration times
``1 + _MARGIN``. ``n_steps`` is the sum over the periods, in steps, and at least the longest
probed trial. (The longest of a few hundred probes alone misses the rarer, longer trials.)

**Overflow.** A trial longer than ``n_steps`` all the same (an unbounded period's tail, or an
``n_steps`` passed too small) is truncated, never raised mid-run: its row holds the trial's first
``n_steps`` steps, all of them real (``mask`` 1, ``info["length"] == n_steps``), so the steps
cut off (often the decision period, which comes last) are simply not trained on;
``info["truncated"]`` is True for that row, and the task warns once (a ``RuntimeWarning`` naming
the environment and ``n_steps``; pass a larger ``n_steps`` if it comes often). Truncation keeps
the batch a function of ``info["seed"]``: ``env.seed(seed)`` and ``new_trial()`` still rebuild
every row, cut to ``n_steps``.

NeuroGym is an optional extra: ``pip install 'rnnlab[neurogym]'`` (it also installs the CPU
PyTorch that NeuroGym 2.3 imports without declaring it).
"""

from __future__ import annotations

import json
import math
import threading
import warnings
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from pydantic import Field, PrivateAttr, model_validator

from ._base import Batch, Task

_PROBE = 500  # trials drawn at construction to see the periods the environment sets in code
_TAIL = 1e-3  # an unbounded declared period is sized to its (1 - _TAIL) quantile
_MARGIN = 0.25  # a period set in code is sized to its longest probed duration times 1 + _MARGIN
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


def _trunc_exp_args(args) -> tuple[float, float, float]:
    """``(vmean, vmin, vmax)`` of NeuroGym's ``trunc_exp(rng, vmean, vmin=0, vmax=inf)`` arguments."""
    args = list(np.atleast_1d(args))
    return tuple(args + [0.0, np.inf][len(args) - 1 :])[:3]


def _longest(value: Any) -> float:
    """The longest duration a declared timing spec draws; for an unbounded truncated exponential its
    ``1 - _TAIL`` quantile; inf where undeclared (``None``: set in code) or of an unknown form."""
    if value is None or isinstance(value, int | float):
        return np.inf if value is None else value
    if not isinstance(value[0], str):
        return max(value)
    dist, args = value
    if dist == "truncated_exponential":  # trunc_exp(rng, vmean, vmin=0, vmax=inf)
        vmean, vmin, vmax = _trunc_exp_args(args)
        return vmax if np.isfinite(vmax) else vmin + vmean * math.log(1 / _TAIL)
    bound = {"uniform": lambda: max(args), "choice": lambda: max(args), "constant": lambda: args}
    return bound.get(dist, lambda: np.inf)()


def _unbounded(value: Any) -> bool:
    """Whether a declared timing spec is a truncated exponential without a maximum."""
    if value is None or isinstance(value, int | float) or not isinstance(value[0], str):
        return False
    dist, args = value
    return dist == "truncated_exponential" and not np.isfinite(_trunc_exp_args(args)[2])


def _measure_steps(env) -> int:
    """The padded length: the sum of each period's longest duration (see the module doc), at least
    the longest of ``_PROBE`` trials."""
    env.seed(0)
    top = getattr(env, "_top", env)
    longest_trial, probed = 0, {}
    for _ in range(_PROBE):
        top.new_trial()
        longest_trial = max(longest_trial, len(env.gt))
        for period, d in getattr(env, "_duration", {}).items():  # the durations add_period set
            probed[period] = max(probed.get(period, 0.0), float(d))
    if not probed:  # no period record: the probe alone, with the margin
        return math.ceil((1 + _MARGIN) * longest_trial)
    total = 0.0
    for period, seen in probed.items():
        spec = _spec(env.timing.get(period))
        declared = _longest(spec)
        if np.isfinite(declared) and (declared // env.dt * env.dt >= seen or _unbounded(spec)):
            # floored to dt as sample_time draws it; a probe may pass an unbounded period's quantile
            total += max(declared // env.dt * env.dt, seen)
        else:  # set in code
            total += (1 + _MARGIN) * seen
    return max(longest_trial, math.ceil(total / env.dt - 1e-9))


class NeuroGym(Task):
    name: ClassVar[str] = "neurogym"
    description: ClassVar[str] = "any NeuroGym environment: whole, padded, masked, seeded trials"
    paper: ClassVar[str] = "Molano-Mazon et al. 2022, NeuroGym (neurogym.github.io)"
    loss: ClassVar[str] = "cross_entropy"
    metric_name: ClassVar[str] = "accuracy"
    higher_is_better: ClassVar[bool] = True

    env_id: str = Field("PerceptualDecisionMaking-v0", description="NeuroGym environment id")
    env_kwargs: dict[str, Any] = Field({}, description="keyword arguments of neurogym.make (dt, timing, ...)")
    n_steps: int | None = Field(None, gt=0, description="padded trial length (None: sized from the timing)")

    _env: Any = PrivateAttr(None)
    _warned: bool = PrivateAttr(False)  # a truncated trial was reported

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
        truncated = np.array([len(gt) > T for _, gt in trials])
        for i, (ob, gt) in enumerate(trials):  # a longer trial keeps its first T steps (module doc)
            L = min(len(gt), T)
            inputs[i, :L], gts[i, :L], lengths[i] = ob[:L], gt[:L], L
        if truncated.any() and not self._warned:
            self._warned = True
            longest = max(len(gt) for _, gt in trials)
            warnings.warn(f"{self.env_id}: a trial of {longest} steps is longer than n_steps={T}; it is cut to "
                          f"n_steps (info['truncated']); pass a larger n_steps if this comes often",
                          RuntimeWarning, stacklevel=2)
        real = (np.arange(T) < lengths[:, None]).astype(np.float32)
        targets = np.eye(C, dtype=np.float32)[gts] * real[..., None]
        mask = np.repeat(real[..., None], C, axis=-1)
        return inputs, targets, mask, lengths, np.full(B, seed, np.uint32), truncated

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
            jax.ShapeDtypeStruct((B,), jnp.bool_),
        )
        host = lambda d: self._host_batch(d, B)  # noqa: E731
        inputs, targets, mask, length, seed, cut = jax.pure_callback(host, shapes, data, vmap_method="sequential")
        return Batch(inputs, targets, mask, {"length": length, "seed": seed, "truncated": cut})

    def harder(self, factor: float = 2.0) -> "NeuroGym":
        """The same environment with its numeric ``timing`` periods times ``factor`` (n_steps re-sized)."""
        if not factor > 0:
            raise ValueError(f"factor: must be > 0 (got {factor})")
        specs = {k: _spec(v) for k, v in self._env.timing.items()}
        timing = {k: _scale(v, factor) for k, v in specs.items() if v is not None}
        return NeuroGym(env_id=self.env_id, env_kwargs={**self.env_kwargs, "timing": timing})


def from_neurogym(env_id: str, n_steps: int | None = None, **env_kwargs: Any) -> NeuroGym:
    """The NeuroGym environment ``env_id`` (made with ``env_kwargs``) as an rnnlab task; see the module doc."""
    return NeuroGym(env_id=env_id, env_kwargs=env_kwargs, n_steps=n_steps)
