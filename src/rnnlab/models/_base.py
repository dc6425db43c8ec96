"""The model interface shared by every recurrent network, and ``run``.

A model is an Equinox module (a pytree of arrays plus a static, validated config) with::

    initial_state()                  -> state                 (one trial, no batch axis)
    input_drive(x [I])               -> drive                 (the part of a step that depends on x only)
    update(state, drive, key)        -> (state, activity [N])
    step(state, x, key)              =  update(state, input_drive(x), key)
    readout(activity [N])            -> y [O]

``step`` is the pure one-step map ``h_t = F(h_{t-1}, x_t)`` that analyses (fixed points,
Jacobians) and the parallel-in-time solver work on. ``run`` evaluates a model over a batch: the
model's ``scan_trial`` runs ``step`` and ``readout`` over time, ``vmap``-ed over trials. ``key``
is only split per step for models with private noise.

Layout: ``run`` works time-major inside (``[T, B, ...]``; ``lax.scan`` batches its sequence axis
there anyway) and applies the input drive and the readout inside the time loop, so that the
only ``[T, B, N]`` arrays of a training step are the recorded activity and what autodiff
stores. On CPU an ensemble's ``[T, E, B, N]`` arrays do not fit in cache, and each extra pass
over them (hoisting ``U x`` out of the loop, transposing the activity for a readout matrix
product) cost more than the small per-step products it saved. ``benchmarks/run_layout.py``
measures both layouts in one run; on 2 cores: the forward pass of 64 leaky networks (N = 32,
T = 100, batch 32) 28 ms against 76 ms hoisted, the gradient of one GRU (N = 128, T = 500,
batch 64) 394 against 433 ms.

Rematerialisation (``remat=True``): the step is wrapped in ``jax.checkpoint`` with nothing
saveable, so the backward pass stores only the state of each step and recomputes the rest
(one more recurrent product per step). Autodiff otherwise stores every intermediate of the
step (for a leaky RNN four ``[T, B, N]`` arrays: pre-activation, its nonlinearity twice, the
previous state), and for an ensemble writing and re-reading them costs more than the
recomputation. For one network it depends on the model: the leaky RNN and the GRU train
faster with it at the lengths of memory tasks (the leaky RNN from a few hundred steps on, at
shorter ones about as fast), the LSTM, whose batched reverse pass it replaces by the per-trial
scan, slower. ``train`` turns it on for ensembles and for single networks of the models whose
config sets ``remat_single`` (``TrainConfig.uses_remat``; ``TrainConfig.remat`` overrides).
``benchmarks/run_layout.py`` times the gradient both ways for ensembles and single networks.

``scan_trial`` is by default a plain ``lax.scan``. A model may override it to change how the
trial is unrolled for *differentiation* while computing the same forward values (the
cortico-cerebellar model cuts the gradient every few steps and injects synthetic gradients
there); ``run``, and so training, then use that unrolling. A model may also override
``scan_batch`` to run a whole batch as one program (same values), where its gradient is
cheaper over the batch than per trial under ``vmap``: the LSTM's hand-written reverse pass
forms its weight gradients as one contraction over all steps and trials
(``rnnlab.models._lstm_vjp``, ``benchmarks/lstm_vjp.py``).
"""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ModelConfig", "RecurrentModel", "run", "run_trial"]


class ModelConfig(BaseModel):
    """Validated hyperparameters of a model family; ``build`` makes the module."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    name: ClassVar[str]
    description: ClassVar[str]
    paper: ClassVar[str]
    #: whether a single network trains faster with ``remat`` (``TrainConfig.uses_remat``)
    remat_single: ClassVar[bool] = False

    hidden_size: int = Field(64, gt=0, lt=2**31, description="number of recurrent units N")

    def build(self, input_size: int, output_size: int, key: PRNGKeyArray) -> "RecurrentModel":
        raise NotImplementedError  # pragma: no cover - abstract

    def params(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class RecurrentModel(eqx.Module):
    """Base class of all recurrent models (see the module docstring for the interface)."""

    cfg: ModelConfig = eqx.field(static=True)
    readout_layer: eqx.nn.Linear

    @property
    def hidden_size(self) -> int:
        return self.cfg.hidden_size

    @property
    def output_size(self) -> int:
        return self.readout_layer.out_features

    @property
    def stochastic(self) -> bool:
        """Whether ``update`` consumes its key (private noise)."""
        return False

    def initial_state(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def input_drive(self, x: Float[Array, " n_in"]) -> Any:
        return x

    def update(self, state: Any, drive: Any, key: PRNGKeyArray | None) -> tuple[Any, Float[Array, " n"]]:
        raise NotImplementedError  # pragma: no cover - abstract

    def step(self, state: Any, x: Float[Array, " n_in"], key: PRNGKeyArray | None = None):
        """One time step ``(h_{t-1}, x_t) -> (h_t, activity_t)``."""
        return self.update(state, self.input_drive(x), key)

    def readout(self, activity: Float[Array, " n"]) -> Float[Array, " n_out"]:
        return self.readout_layer(activity)

    def update_diagonal(self, state: Any, drive: Any) -> tuple[Any, Any] | None:
        """``(update(state, drive)[0], diag ∂update/∂state)`` for a deterministic update, the
        diagonal shaped like the state; ``None`` (the default): no closed form.

        Quasi-DEER (``rnnlab.parallel``, ``jacobian="diagonal"``) needs only this diagonal. Where
        a model gives it in closed form it costs one step; otherwise the solver takes it from
        the full Jacobian (n JVPs per step).
        """
        return None

    def taus(self) -> Float[Array, " n"] | None:
        """Single-neuron time constants, for models that have them."""
        return None

    def regularization(self, activity: Float[Array, "batch time n"]) -> Float[Array, ""]:
        """A penalty added to the task loss in training (e.g. a firing-rate term); 0 by default."""
        return jnp.zeros(())

    def parallel_trial(self, drives: Any, state0: Any) -> tuple[Any, Float[Array, "time n"]] | None:
        """Evaluate a whole trial at once (associative scan) from its input ``drives``.

        Models with a linear-in-state recurrence override this and return
        ``(final_state, activity [T, N])``; ``run_trial`` uses it when ``self.parallel`` is
        True. The default ``None`` means: no parallel mode.
        """
        return None

    def scan_trial(
        self, inputs: Float[Array, "time n_in"], state0: Any, keys: PRNGKeyArray | None, remat: bool = False
    ) -> tuple[Any, Float[Array, "time n"], Float[Array, "time n_out"]]:
        """Run ``step`` and ``readout`` over one trial's ``inputs`` from ``state0``.

        Returns ``(final_state, activity [T, N], outputs [T, O])``; ``keys`` holds one key per
        step for stochastic models (else ``None``); ``remat``: see the module docstring. The
        default is a ``lax.scan``. An override must compute the same values (it may change
        only the gradients).
        """
        final, (activity, outputs) = jax.lax.scan(_loop_body(self, remat), state0, (inputs, keys))
        return final, activity, outputs

    def scan_batch(
        self, inputs: Float[Array, "time batch n_in"], remat: bool = False
    ) -> tuple[Float[Array, "time batch n"], Float[Array, "time batch n_out"]] | None:
        """Run a whole batch from the initial state at once, time-major; ``None`` (the default):
        ``run`` maps ``scan_trial`` over the trials instead.

        A model overrides it where one program over the batch differentiates faster than the
        per-trial scan under ``vmap`` (the LSTM's hand-written reverse pass, whose weight
        gradients contract over all trials at once). It must compute the values of the
        per-trial scan, and is used only for models without private noise.
        """
        return None

    @property
    def parallel(self) -> bool:
        """Whether ``run`` uses ``parallel_trial`` (models with a ``mode`` setting)."""
        return getattr(self.cfg, "mode", "sequential") == "parallel"


def _loop_body(model: RecurrentModel, remat: bool):
    """The scan body ``(state, (x_t, key_t)) -> (state, (activity_t, output_t))``."""

    def body(s, xk):
        s, a = model.step(s, *xk)
        return s, (a, model.readout(a))

    return jax.checkpoint(body, policy=jax.checkpoint_policies.nothing_saveable) if remat else body


def run_trial(
    model: RecurrentModel,
    inputs: Float[Array, "time n_in"],
    key: PRNGKeyArray | None = None,
    state0: Any = None,
    *,
    remat: bool = False,
) -> tuple[Float[Array, "time n"], Float[Array, "time n_out"], Any]:
    """Run one trial; returns ``(activity, outputs, final_state)``. ``remat``: see the module docstring."""
    state = model.initial_state() if state0 is None else state0
    if model.parallel:
        drives = jax.vmap(model.input_drive)(inputs)
        final, activity = model.parallel_trial(drives, state)
        return activity, jax.vmap(model.readout)(activity), final
    keys = jax.random.split(key, inputs.shape[0]) if model.stochastic else None
    final, activity, outputs = model.scan_trial(inputs, state, keys, remat)
    return activity, outputs, final


def run(
    model: RecurrentModel,
    inputs: Float[Array, "batch time n_in"],
    key: PRNGKeyArray | None = None,
    *,
    remat: bool = False,
) -> tuple[Float[Array, "batch time n"], Float[Array, "batch time n_out"]]:
    """Run a batch of trials from the model's initial state; returns ``(activity, outputs)``.

    The model's ``scan_batch`` where it has one, else ``vmap(run_trial)`` over trials, laid out
    time-major inside (module docstring): trials are mapped over axis 1 of ``[T, B, I]``, and the
    ``[B, T, N]`` activity is transposed only if the caller uses it. ``remat``: recompute each
    step in the backward pass instead of storing its intermediates (module docstring).
    """
    if not model.parallel and not model.stochastic:
        batched = model.scan_batch(jnp.swapaxes(inputs, 0, 1), remat)
        if batched is not None:
            return jnp.swapaxes(batched[0], 0, 1), jnp.swapaxes(batched[1], 0, 1)
    if key is None:
        key = jax.random.PRNGKey(0)
    keys = jax.random.split(key, inputs.shape[0])
    trials = jax.vmap(partial(run_trial, remat=remat), in_axes=(None, 1, 0), out_axes=(1, 1, 0))
    activity, outputs, _ = trials(model, jnp.swapaxes(inputs, 0, 1), keys)
    return jnp.swapaxes(activity, 0, 1), jnp.swapaxes(outputs, 0, 1)


def _inverse_softplus(y: Array) -> Array:
    return y + jnp.log(-jnp.expm1(-y))
