"""Cortico-cerebellar RNN: a cortex trained by truncated BPTT plus a cerebellum that supplies
synthetic gradients across the truncations (Pemberton, Boven et al. 2021, "Cortico-cerebellar
networks as decoupling neural interfaces", NeurIPS; repo ``neuralml/ccDNI``), built on the
decoupled neural interfaces of Jaderberg et al. 2017.

**Cortex** (the forward dynamics, unchanged): an ``LSTM`` (default, as in the paper) or a
``LeakyRNN`` (see ``gated`` and ``leaky_rnn`` for the equations)::

    s_t = F_θ(s_{t−1}, x_t),   y_t = W_out h_t + b_out,       s = (h, c) for the LSTM, s = h else

``initial_state``, ``input_drive``, ``update``, ``step`` and ``readout`` are exactly the cortex's,
so every value this model computes (activity, outputs, loss) equals the bare cortex's and every
analysis applies unchanged. Only the *gradients* used in training differ.

**Cerebellum**: a feed-forward ReLU network ``C_φ`` (``cerebellum_depth`` hidden layers of
``cerebellum_width`` units, last layer initialised to zero as in DNI, so ``ĝ ≡ 0`` at init)
that reads the flattened cortical state ``s`` (``[h, c]`` for the LSTM, dimension ``D``) and
predicts the gradient of the future loss with respect to it::

    ĝ(s) = ρ C_φ(s) ≈ ∂L_future / ∂s

``ρ = cerebellum_output_scale`` (default 0.1) is a fixed reparametrisation. The targets are
gradients of a batch-mean loss and so are small (~1e-2 on ``line_drawing``), while Adam moves
every weight by about ``lr`` per step whatever the gradient's size; with ``ρ = 1`` the
cerebellum's output then jumps by more than its target per step, and training with
synthetic gradients became unstable at ``lr ≥ 2e-3``. ``ρ = 0.1`` corresponds, for T = 10 and
K = 1, to ccDNI's normalisation, where each chunk's loss is a mean over its own ``K`` steps
(gradients ``T/K`` times larger than those of a mean over the trial).

**Truncation and synthetic gradients.** The trial is cut into chunks of ``K = truncation``
steps; at each boundary ``b`` (the state entering chunks 1, 2, …; never the initial state and
never the final one) the true gradient is stopped (truncated BPTT), and the cortex instead
receives the scaled, masked prediction. Equivalently the cortex's parameters descend the
surrogate loss::

    L̃(θ) = Σ_chunks L_chunk(θ; sg(s_start)) + λ Σ_b ⟨ sg(m ⊙ ĝ(s_b)), s_b ⟩

with ``sg`` stop-gradient, ``λ = sg_factor`` (0.1 in ccDNI) and ``m`` a fixed 0/1
``feedback_mask`` over the ``D`` state units (``feedback_fraction`` of them, drawn from the
key at build; a float leaf used only through ``m > ½``, so it never changes in training).

**Bootstrapped cerebellar objective.** At boundary ``b`` the cerebellum is trained by
``½ κ ‖ĝ(sg(s_b)) − sg(g_b)‖²`` (``κ = cerebellar_loss_scale``), where the target ``g_b`` is the
gradient that actually arrives at ``s_b`` from the chunk after it: the true gradient of that
chunk's loss plus the synthetic gradient ``λ m ⊙ ĝ(s_{b+1})`` injected at the next boundary,
propagated back through the chunk. This is DNI's bootstrapping (like a TD target with
discount ``λ``): the cerebellum learns to predict gradients beyond the window that true
backpropagation covers. Both pieces are one ``jax.custom_vjp`` identity ``boundary(s, ĝ)``:
forward ``s``; backward, given the incoming cotangent ``g``: ``ds = λ m ⊙ ĝ`` (replacing ``g``)
and ``dĝ = κ (ĝ − g)``. The cerebellum reads ``sg(s)``, so no cerebellar gradient reaches the
cortex. Summed over the trials of a batch (``run`` vmaps over trials), the cerebellar
gradient is the batch *sum*, and ``g`` is in the units of the task loss (a batch mean), as
in ccDNI up to a constant factor.

**Ablation.** ``ablate_cerebellum=True`` keeps the cerebellum's parameters (the same cortex
and cerebellum are built from the same key) but does not use it: ``ds = 0`` at every
boundary, i.e. plain truncated BPTT, and the cerebellum receives no gradient (the paper's
cerebellar lesion). With ``truncation ≥ T`` there is no boundary and training is full BPTT.

Unrolling (``scan_trial``): a nested ``lax.scan``, outer over the ``⌊T/K⌋`` full chunks and inner
over the ``K`` steps of a chunk, then a scan over the ``T mod K`` remaining steps, so the
cerebellum is evaluated only at boundaries (a per-step mask would evaluate it, or a ``select``
of it, at every step; padding ``T`` to a multiple of ``K`` would need a ``where`` per step).
The boundary is applied at the start of every chunk with a flag ``on`` that is 0 for chunk 0
(identity: the true gradient reaches ``state0``). The forward pass performs exactly the
operations of a plain scan of the cortex's ``update`` (XLA may round the nested loops
differently in the last bit). ``train(..., solver="parallel")`` uses ``step`` only, so it
trains the cortex by full BPTT-equivalent gradients and ignores the cerebellum.
"""

from __future__ import annotations

import functools
from typing import ClassVar, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from pydantic import Field, model_validator

from ._base import ModelConfig, RecurrentModel, _loop_body
from .gated import LSTMConfig
from .leaky_rnn import LeakyRNNConfig

__all__ = ["CorticoCerebellarConfig", "CorticoCerebellar"]


class CorticoCerebellarConfig(ModelConfig):
    name: ClassVar[str] = "cortico_cerebellar"
    description: ClassVar[str] = (
        "cortex (LSTM/leaky RNN) trained by truncated BPTT + cerebellar MLP predicting its future gradients (DNI)"
    )
    paper: ClassVar[str] = "Pemberton, Boven et al. 2021, NeurIPS; Jaderberg et al. 2017"

    cortex: Literal["lstm", "leaky_rnn"] = Field("lstm", description="cortical network")
    activation: Literal["tanh", "relu", "leaky_relu", "softplus"] | None = Field(
        None, description="leaky_rnn cortex: nonlinearity (None: its default)")
    tau: float | None = Field(
        None, ge=1.0, description="leaky_rnn cortex: initial time constant, dt = 1 (None: default)")
    noise: float | None = Field(None, ge=0, description="leaky_rnn cortex: private noise std (None: default)")
    truncation: int = Field(
        1, ge=1, description="truncated-BPTT window K (steps); a synthetic gradient every K steps")
    sg_factor: float = Field(0.1, ge=0, description="scale λ of the synthetic gradient given to the cortex")
    cerebellar_loss_scale: float = Field(
        1.0, gt=0, description="weight κ of the cerebellum's ½‖ĝ − g‖² objective")
    feedback_fraction: float = Field(
        1.0, ge=0, le=1, description="fraction of cortical state units that receive the synthetic gradient")
    cerebellum_width: int = Field(400, gt=0, description="units per cerebellar hidden layer (400 in ccDNI)")
    cerebellum_depth: int = Field(2, ge=0, description="cerebellar hidden layers (2 in ccDNI)")
    cerebellum_output_scale: float = Field(
        0.1, gt=0, description="ρ in ĝ = ρ·MLP(s): keeps the cerebellum's Adam steps commensurate with its targets")
    ablate_cerebellum: bool = Field(False, description="lesion: plain truncated BPTT, cerebellum unused")

    @model_validator(mode="after")
    def _check(self):
        if self.cortex == "lstm":
            for f in ("activation", "tau", "noise"):
                if getattr(self, f) is not None:
                    raise ValueError(f"{f}: only for cortex='leaky_rnn'")
        return self

    def cortex_config(self) -> ModelConfig:
        """The config of the bare cortex."""
        if self.cortex == "lstm":
            return LSTMConfig(hidden_size=self.hidden_size)
        kw = {f: getattr(self, f) for f in ("activation", "tau", "noise") if getattr(self, f) is not None}
        return LeakyRNNConfig(hidden_size=self.hidden_size, **kw)

    def build(self, input_size, output_size, key):
        return CorticoCerebellar(self, input_size, output_size, key)


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def _boundary(s, pred, on, mask, sg_factor, loss_scale):
    """Identity on ``s``; see ``_boundary_bwd`` for the gradients."""
    return s


def _boundary_fwd(s, pred, on, mask, sg_factor, loss_scale):
    return s, (pred, on, mask)


def _boundary_bwd(sg_factor, loss_scale, res, g):
    # on = 1: the cortex gets λ m ⊙ ĝ instead of the true g; the cerebellum gets κ (ĝ − g),
    # the gradient of ½ κ ‖ĝ − sg(g)‖². on = 0 (chunk 0): a plain identity.
    pred, on, mask = res
    live = on > 0.5
    ds = jnp.where(live, sg_factor * mask * pred, g)
    dpred = jnp.where(live, loss_scale * (pred - g), 0.0)
    return ds, dpred, jnp.zeros_like(on), jnp.zeros_like(mask)


_boundary.defvjp(_boundary_fwd, _boundary_bwd)


class CorticoCerebellar(RecurrentModel):
    cortex: RecurrentModel  # the bare cortex, its readout moved to ``readout_layer``
    cerebellum: tuple[eqx.nn.Linear, ...]  # ReLU between layers (a tuple of arrays only: plain jax.grad works)
    feedback_mask: jax.Array | None  # [D] 0/1 floats, None = all units

    def __init__(self, cfg: CorticoCerebellarConfig, input_size: int, output_size: int, key):
        kc, kb, km = jax.random.split(key, 3)
        self.cfg = cfg
        cortex = cfg.cortex_config().build(input_size, output_size, kc)
        self.readout_layer = cortex.readout_layer
        self.cortex = eqx.tree_at(lambda c: c.readout_layer, cortex, None)
        d = self.state_dim
        sizes = [d] + [cfg.cerebellum_width] * cfg.cerebellum_depth + [d]
        ks = jax.random.split(kb, len(sizes) - 1)
        layers = [eqx.nn.Linear(a, b, key=k) for a, b, k in zip(sizes[:-1], sizes[1:], ks)]
        last = layers[-1]  # zero-initialised, as in DNI: ĝ ≡ 0 at init
        zeros = (jnp.zeros_like(last.weight), jnp.zeros_like(last.bias))
        layers[-1] = eqx.tree_at(lambda lin: (lin.weight, lin.bias), last, zeros)
        self.cerebellum = tuple(layers)
        self.feedback_mask = None
        if cfg.feedback_fraction < 1:
            n_on = round(cfg.feedback_fraction * d)
            self.feedback_mask = (jax.random.permutation(km, d) < n_on).astype(jnp.float32)

    @property
    def state_dim(self) -> int:
        """Dimension ``D`` of the flattened cortical state (what the cerebellum reads and predicts)."""
        return ravel_pytree(self.cortex.initial_state())[0].shape[0]

    def cortex_model(self) -> RecurrentModel:
        """The bare cortex with this model's readout (a plain ``LSTM``/``LeakyRNN``)."""
        return eqx.tree_at(lambda c: c.readout_layer, self.cortex, self.readout_layer, is_leaf=lambda x: x is None)

    @property
    def stochastic(self) -> bool:
        return self.cortex.stochastic

    def taus(self):
        return self.cortex.taus()

    def regularization(self, activity):
        return self.cortex.regularization(activity)

    def initial_state(self):
        return self.cortex.initial_state()

    def input_drive(self, x):
        return self.cortex.input_drive(x)

    def update(self, state, drive, key):
        return self.cortex.update(state, drive, key)

    def _cerebellum(self, flat):
        for layer in self.cerebellum[:-1]:
            flat = jax.nn.relu(layer(flat))
        return self.cfg.cerebellum_output_scale * self.cerebellum[-1](flat)

    def synthetic_gradient(self, state) -> jax.Array:
        """The cerebellum's prediction ``ĝ(s)`` (flattened, ``[D]``) for one cortical state."""
        return self._cerebellum(ravel_pytree(state)[0])

    def _cut(self, state, on):
        """The boundary at a chunk start (``on`` = 0. for chunk 0: identity)."""
        flat, unravel = ravel_pytree(state)
        if self.cfg.ablate_cerebellum:
            return unravel(jnp.where(on > 0.5, jax.lax.stop_gradient(flat), flat))
        pred = self._cerebellum(jax.lax.stop_gradient(flat))
        mask = jnp.ones_like(flat) if self.feedback_mask is None else jnp.where(self.feedback_mask > 0.5, 1.0, 0.0)
        return unravel(_boundary(flat, pred, on, mask, self.cfg.sg_factor, self.cfg.cerebellar_loss_scale))

    def scan_trial(self, inputs, state0, keys, remat=False):
        K = self.cfg.truncation
        T = inputs.shape[0]
        if K >= T:  # one chunk: full BPTT
            return super().scan_trial(inputs, state0, keys, remat)
        n, rest = divmod(T, K)

        def part(a, start, stop, shape):
            return None if a is None else jax.tree.map(lambda v: v[start:stop].reshape(*shape, *v.shape[1:]), a)

        inner = _loop_body(self, remat)

        def outer(s, xs):
            x, k, on = xs
            return jax.lax.scan(inner, self._cut(s, on), (x, k))

        on = (jnp.arange(n) > 0).astype(jnp.float32)
        xs = (part(inputs, 0, n * K, (n, K)), part(keys, 0, n * K, (n, K)), on)
        state, (activity, outputs) = jax.lax.scan(outer, state0, xs)
        activity, outputs = (a.reshape(n * K, *a.shape[2:]) for a in (activity, outputs))
        if rest:  # the last, shorter chunk
            xs = (part(inputs, n * K, T, (rest,)), part(keys, n * K, T, (rest,)))
            state, (last, last_out) = jax.lax.scan(inner, self._cut(state, jnp.float32(1.0)), xs)
            activity = jnp.concatenate([activity, last])
            outputs = jnp.concatenate([outputs, last_out])
        return state, activity, outputs
