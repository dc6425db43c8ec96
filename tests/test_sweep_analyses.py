"""Per-network sweep analyses: closed-form answers on constructed networks, planted effects,
exact zeros, and the conventions of the registry (flat float columns, no '.', deterministic)."""

from typing import ClassVar

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

import rnnlab
from analysis_fixtures import random_model
from test_analysis_rich_lazy import _Linear  # h_t = W h_{t−1} + U x_t, y_t = R h_t
from rnnlab.errors import ConfigError
from rnnlab.sweep.analyses import ANALYSES, NetworkContext, param_column, run_analyses
from rnnlab.sweep.curriculum_analyses import _with_head
from rnnlab.tasks import Batch, Task
from rnnlab.train import History

FLIPFLOP1 = rnnlab.tasks.get("flipflop", n_bits=1, n_steps=50, p=0.1)


def _set(model, **fields):
    """``model`` with attributes replaced (``readout_layer.weight`` as ``readout_weight`` ...)."""
    get = {
        "W": lambda m: m.W, "U": lambda m: m.U, "b": lambda m: m.b, "tau_raw": lambda m: m.tau_raw,
        "readout_weight": lambda m: m.readout_layer.weight, "readout_bias": lambda m: m.readout_layer.bias,
    }
    for name, value in fields.items():
        model = eqx.tree_at(get[name], model, jnp.asarray(value, jnp.float32))
    return model


def _tau_raw(tau, dt=1.0):
    """The stored parameter of τ = dt + softplus(τ̃)."""
    return np.log(np.expm1(np.asarray(tau, np.float64) - dt))


def _check_columns(res):
    assert res and all(isinstance(v, float) for v in res.values()), res
    assert not any("." in k for k in res), list(res)


@pytest.fixture(scope="module")
def flipflop_net():
    cfg = rnnlab.models.config("leaky_rnn", hidden_size=16, tau_spread=1.0, self_connections=False)
    res = rnnlab.train(cfg, FLIPFLOP1, key=0, steps=300, lr=1e-2, batch_size=32, eval_every=100, progress=False)
    assert res.history.metric[-1][0] < 0.02
    return res.model


# ---- registry --------------------------------------------------------------------------------
def test_registry_has_every_entry_with_a_docstring():
    names = {"ood_loss", "weights_norm", "timescales", "network_timescales", "fixed_points", "rich_lazy",
             "ablation", "perturbation", "forgetting", "generalisation"}
    assert names <= set(ANALYSES)
    for name in names:
        assert len(ANALYSES[name].__doc__ or "") > 80, name


# ---- single-neuron τ -------------------------------------------------------------------------
def test_timescales_of_the_model_and_its_stages():
    taus = np.array([1.5, 2.0, 4.0, 9.0])
    model = _set(random_model("leaky_rnn", 1, 2, hidden_size=4), tau_raw=_tau_raw(taus))
    stage = _set(model, tau_raw=_tau_raw(taus / 2 + 1))
    res = ANALYSES["timescales"](model, FLIPFLOP1, NetworkContext(stage_models={3: stage, 2: model}))
    _check_columns(res)
    assert res["tau_mean"] == pytest.approx(taus.mean(), rel=1e-5)
    assert res["tau_median"] == pytest.approx(3.0, rel=1e-5) and res["tau_max"] == pytest.approx(9.0, rel=1e-5)
    assert res["tau_mean@N=2"] == res["tau_mean"]
    assert res["tau_mean@N=3"] == pytest.approx((taus / 2 + 1).mean(), rel=1e-5)
    assert res["tau_median@N=3"] == pytest.approx(2.5, rel=1e-5)
    gru = random_model("gru", 1, 2, hidden_size=4)
    assert ANALYSES["timescales"](gru, FLIPFLOP1, NetworkContext()) == {}


# ---- network-mediated τ ----------------------------------------------------------------------
def test_network_timescales_of_uncoupled_units_match_their_leak():
    # W = 0 and i.i.d. inputs: each unit is an AR(1) with φ = 1 − 1/τ, timescale −1/ln(1 − 1/τ)
    task = rnnlab.tasks.get("flipflop", n_bits=2, p=0.5)
    base = _set(random_model("leaky_rnn", 2, 2, hidden_size=6, train_tau=False), W=np.zeros((6, 6)))
    model, stage = _set(base, tau_raw=_tau_raw(np.full(6, 5.0))), _set(base, tau_raw=_tau_raw(np.full(6, 3.0)))
    ctx = NetworkContext(stage_models={2: stage}, seed=1)
    res = ANALYSES["network_timescales"](model, task, ctx, n_steps=10_000, n_trials=4, burn_in=200)
    _check_columns(res)
    for suffix, tau in (("", 5.0), ("@N=2", 3.0)):
        leak = -1.0 / np.log(1 - 1 / tau)
        assert abs(res["tau_net_median" + suffix] / leak - 1) < 0.1, (suffix, res)
        assert res["tau_net_flagged" + suffix] == 0.0 and res["tau_net_reliable" + suffix] == 1.0
        assert res["tau_net_pop_flag" + suffix] == 0.0 and res["tau_net_faster" + suffix] == 0.0
    without = ANALYSES["network_timescales"](model, task, ctx, n_steps=10_000, n_trials=4, burn_in=200, stages=False)
    assert without == {k: v for k, v in res.items() if "@" not in k}  # same seed, same numbers


def test_network_timescales_flags_a_window_too_short():
    # τ = 60 with the paper's 30-lag window and τ ≤ 20: at the bound, flagged, not reliable
    task = rnnlab.tasks.get("flipflop", n_bits=2, p=0.5)
    model = _set(random_model("leaky_rnn", 2, 2, hidden_size=4), W=np.zeros((4, 4)), tau_raw=_tau_raw(np.full(4, 60.0)))
    res = ANALYSES["network_timescales"](model, task, NetworkContext(), n_steps=5000, n_trials=2, fit_lag=30,
                                         tau_max=20.0)
    assert res["tau_net_flagged"] == 1.0 and res["tau_net_reliable"] == 0.0
    assert res["tau_net_median"] == pytest.approx(20.0, rel=0.01)


# ---- fixed points ----------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 3])
def test_fixed_points_of_a_diagonal_tanh_network_are_counted_exactly(n):
    # h = (1 − α) h + α tanh(w h) per unit: every unit has the roots 0, ±h* of h = tanh(w h),
    # so 3^n fixed points; ∂F/∂h = diag((1 − α) + α w (1 − h²)) is < 1 at ±h* (w(1 − h*²) < 1)
    # and > 1 at 0 (w > 1): 2^n stable points (every unit at ±h*) and n·2^(n−1) saddles with
    # exactly one unstable direction (one unit at 0). Read out by I/h*, the stable points sit at
    # the corners of {−1, 1}^n and those saddles on the edges between two corners.
    w = 2.0
    h_star = brentq(lambda h: np.tanh(w * h) - h, 0.1, 1.0)
    model = _set(random_model("leaky_rnn", n, n, hidden_size=n, tau_spread=1.0),
                 W=w * np.eye(n), b=np.zeros(n), readout_weight=np.eye(n) / h_star, readout_bias=np.zeros(n))
    task = rnnlab.tasks.get("flipflop", n_bits=n, n_steps=50)
    res = ANALYSES["fixed_points"](model, task, NetworkContext(seed=2), corners=True)
    _check_columns(res)
    saddles1 = n * 2.0 ** (n - 1)
    assert res == {"fp_n": 3.0**n, "fp_n_stable": 2.0**n, "fp_n_saddles1": saddles1, "fp_stable_at_corners": 1.0,
                   "fp_corners_covered": 2.0**n, "fp_saddles_between": saddles1}
    # read out at half the scale, no stable point is near a corner, and a saddle's other
    # coordinates (±1/2) are off the cube's edges (for n = 1 the edge is [−1, 1] itself)
    half = _set(model, readout_weight=0.5 * np.eye(n) / h_star)
    res = ANALYSES["fixed_points"](half, task, NetworkContext(seed=2), corners=True)
    assert res["fp_n"] == 3.0**n and res["fp_stable_at_corners"] == 0.0 and res["fp_corners_covered"] == 0.0
    assert res["fp_saddles_between"] == (1.0 if n == 1 else 0.0)


# ---- rich vs lazy ----------------------------------------------------------------------------
_X0 = np.random.default_rng(5).normal(size=(16, 2))


class _Pulse(Task):
    """One input pulse at step 0, then silence for two steps; the same 16 pulses for every key."""

    name: ClassVar[str] = "pulse"
    description: ClassVar[str] = "a fixed input pulse (test task)"
    paper: ClassVar[str] = ""
    loss: ClassVar[str] = "mse"
    metric_name: ClassVar[str] = "mse"
    higher_is_better: ClassVar[bool] = False
    n_steps: int = 3

    @property
    def n_inputs(self):
        return 2

    @property
    def n_outputs(self):
        return 2

    def sample(self, key, batch_size, level=None):
        x = jnp.zeros((batch_size, self.n_steps, 2)).at[:, 0].set(jnp.asarray(_X0[:batch_size], jnp.float32))
        zeros = jnp.zeros((batch_size, self.n_steps, 2))
        return Batch(inputs=x, targets=zeros, mask=jnp.ones_like(zeros), info={})


def test_rich_lazy_needs_the_initial_model():
    with pytest.raises(ConfigError, match="rich_lazy: needs the initial model"):
        ANALYSES["rich_lazy"](_Linear(np.eye(3), np.ones((3, 2)), np.ones((2, 3))), _Pulse(), NetworkContext())


def test_rich_lazy_of_an_unchanged_and_a_doubled_network():
    rng = np.random.default_rng(0)
    W, U, R = rng.normal(size=(3, 3)) / 2, rng.normal(size=(3, 2)), rng.normal(size=(2, 3))
    m0, m2 = _Linear(W, U, R), _Linear(2 * W, U, R)
    same = ANALYSES["rich_lazy"](m0, _Pulse(), NetworkContext(initial_model=m0))
    _check_columns(same)
    assert same["weight_change_rel"] == 0.0
    assert same["kernel_alignment"] == 1.0 and same["representation_alignment"] == 1.0
    assert same["eff_rank_0"] == same["eff_rank_T"]

    # h_0 = U x, h_1 = W h_0, h_2 = W² h_0 and y_t = R h_t. Per trial and output o:
    #   ∂y_1[o]/∂W_ij = R_oi h0_j                      (independent of W)
    #   ∂y_2[o]/∂W_ij = R_oi (W h0)_j + (R W)_oi h0_j  (doubles with W)
    # so with W_T = 2 W_0 and the kernel on steps 1 and 2, K = [[A, B], [Bᵀ, C]] becomes
    # [[A, 2B], [2Bᵀ, 4C]]; the Gram matrix of h_2 = W² h0 grows 4² times (alignment 1).
    res = ANALYSES["rich_lazy"](m2, _Pulse(), NetworkContext(initial_model=m0), times=[1, 2], probe_time=2)
    h0 = _X0 @ U.T
    J1 = np.stack([np.einsum("oi,j->oij", R, h).reshape(2, -1) for h in h0])
    J2 = np.stack([(np.einsum("oi,j->oij", R, W @ h) + np.einsum("oi,j->oij", R @ W, h)).reshape(2, -1) for h in h0])
    J1, J2 = J1.reshape(-1, 9), J2.reshape(-1, 9)
    A, B, C = (np.sum((P @ Q.T) ** 2) for P, Q in ((J1, J1), (J1, J2), (J2, J2)))
    expected = (A + 4 * B + 4 * C) / np.sqrt((A + 8 * B + 16 * C) * (A + 2 * B + C))
    assert res["kernel_alignment"] == pytest.approx(expected, rel=1e-5)
    assert expected < 0.99  # the measure sees the change
    assert res["weight_change_rel"] == pytest.approx(1.0, rel=1e-6)
    assert res["representation_alignment"] == pytest.approx(1.0, abs=1e-6)
    assert res["eff_rank_T"] == pytest.approx(res["eff_rank_0"], rel=1e-6)
    # the default kernel steps: 10 evenly spaced over 3 steps are the 3 steps
    every = ANALYSES["rich_lazy"](m2, _Pulse(), NetworkContext(initial_model=m0), n_times=None, probe_time=2)
    assert ANALYSES["rich_lazy"](m2, _Pulse(), NetworkContext(initial_model=m0), probe_time=2) == every


# ---- ablation --------------------------------------------------------------------------------
def test_ablation_of_disconnected_fast_units_changes_nothing():
    # units 0–3: slow (τ = 10) and wired; units 4–7: fast (τ ≈ 1) with no outgoing weights at
    # all (recurrent columns and readout columns zero): silencing them leaves every output
    # bit-identical, silencing the slow ones does not.
    n = 8
    m = random_model("leaky_rnn", 1, 1, hidden_size=n)
    W, R = np.array(m.W), np.array(m.readout_layer.weight)
    W[:, 4:], R[:, 4:] = 0.0, 0.0
    m = _set(m, W=W, readout_weight=R, tau_raw=_tau_raw(np.r_[np.full(4, 10.0), np.full(4, 1.001)]))
    res = ANALYSES["ablation"](m, FLIPFLOP1, NetworkContext(seed=4), k=4, k_single=4, batch_size=64)
    _check_columns(res)
    assert res["ablate_fast_drop"] == 0.0 and res["ablate_fast_single_drop"] == 0.0
    assert res["ablate_slow_drop"] != 0.0 and res["ablate_slow_single_drop"] != 0.0
    assert res["ablate_tau_ratio"] == pytest.approx(10.0 / 1.001, rel=1e-4)
    # k is capped at half the units, so the two sets never overlap
    assert ANALYSES["ablation"](m, FLIPFLOP1, NetworkContext(seed=4), k=7, k_single=7, batch_size=64) == res
    none = ANALYSES["ablation"](m, FLIPFLOP1, NetworkContext(seed=4), k=0, k_single=0, batch_size=64)
    assert none["ablate_slow_drop"] == none["ablate_fast_drop"] == 0.0
    assert none["ablate_intact"] == res["ablate_intact"]
    with pytest.raises(ConfigError, match="ablation: GRU"):
        ANALYSES["ablation"](random_model("gru", 1, 1, hidden_size=4), FLIPFLOP1, NetworkContext())


# ---- perturbation ----------------------------------------------------------------------------
def test_perturbation_is_zero_at_zero_and_grows_with_eps(flipflop_net):
    ctx = NetworkContext(seed=5)
    res = ANALYSES["perturbation"](flipflop_net, FLIPFLOP1, ctx, eps=[0.0, 0.05, 0.5], n_draws=8, batch_size=128)
    _check_columns(res)
    assert res["perturb_drop@eps=0"] == 0.0 and res["perturb_drop_se@eps=0"] == 0.0
    big, small = res["perturb_drop@eps=0p5"], res["perturb_drop@eps=0p05"]
    assert big - small > 2 * (res["perturb_drop_se@eps=0p5"] + res["perturb_drop_se@eps=0p05"]), res
    # deterministic given the seed; another seed draws other directions and trials
    assert ANALYSES["perturbation"](flipflop_net, FLIPFLOP1, ctx, eps=[0.0, 0.05, 0.5], n_draws=8,
                                    batch_size=128) == res
    other = ANALYSES["perturbation"](flipflop_net, FLIPFLOP1, NetworkContext(seed=6), eps=[0.0, 0.05, 0.5],
                                     n_draws=8, batch_size=128)
    assert other["perturb_drop@eps=0p5"] != big
    with pytest.raises(ConfigError, match="perturbation.n_draws"):
        ANALYSES["perturbation"](flipflop_net, FLIPFLOP1, ctx, n_draws=0)


# ---- curricula -------------------------------------------------------------------------------
NPARITY = rnnlab.tasks.get("nparity", n=2)  # as a sweep's config gives it: one head, N = start


def _curriculum_net(heads=4, hidden=12, seed=0):
    m = random_model("leaky_rnn", 1, 2 * heads, seed=seed, hidden_size=hidden)
    return _set(m, readout_bias=np.zeros(2 * heads))


def test_forgetting_of_a_network_against_itself_is_zero():
    m = _curriculum_net()
    res = ANALYSES["forgetting"](m, NPARITY, NetworkContext(stage_models={2: m, 3: m}, seed=1))
    _check_columns(res)
    assert res["forgetting_mean"] == 0.0
    assert all(res[f"acc_stage@N={n}"] == res[f"acc_final@N={n}"] for n in (2, 3))


def test_forgetting_reads_head_n_at_level_n():
    # the final model = the stage model with the two logits of head 2 swapped: every level-2
    # prediction flips (accuracy a → 1 − a), head 3 is untouched
    stage = _curriculum_net()
    R = np.array(stage.readout_layer.weight)
    R[[2, 3]] = R[[3, 2]]
    final = _set(stage, readout_weight=R)
    history = History(n_members=1, metric_name="accuracy", level=[[3]])
    res = ANALYSES["forgetting"](final, NPARITY, NetworkContext(stage_models={2: stage, 3: stage}, history=history))
    a2 = res["acc_stage@N=2"]
    assert 0.1 < a2 < 0.9 and res["acc_final@N=2"] == pytest.approx(1 - a2, abs=1e-6)
    assert res["acc_final@N=3"] == res["acc_stage@N=3"]
    assert res["forgetting_mean"] == pytest.approx(2 * a2 - 1, abs=1e-6)  # N = 3 is the final level, not earlier


def test_forgetting_needs_levels_and_stages():
    m = _curriculum_net()
    with pytest.raises(ConfigError, match="forgetting: needs the curriculum stage models"):
        ANALYSES["forgetting"](m, NPARITY, NetworkContext())
    with pytest.raises(ConfigError, match="forgetting: task 'flipflop' has no levels"):
        ANALYSES["forgetting"](m, FLIPFLOP1, NetworkContext(stage_models={2: m}))
    with pytest.raises(ConfigError, match="forgetting: the model has 4 heads, none for N = 5"):
        ANALYSES["forgetting"](m, NPARITY, NetworkContext(stage_models={5: m}))


def _last_bit_net():
    """One unit, α ≈ 1: h_t = tanh(10 x_t − 5) ≈ ±1 follows the current bit; logits (−h, h):
    1-parity (the last bit) exactly, at any sequence length."""
    m = random_model("leaky_rnn", 1, 2, hidden_size=1)
    return _set(m, W=[[0.0]], U=[[10.0]], b=[-5.0], tau_raw=[-30.0], readout_weight=[[-1.0], [1.0]],
                readout_bias=[0.0, 0.0])


def test_generalisation_to_longer_sequences():
    task = rnnlab.tasks.get("nparity", n=1)
    res = ANALYSES["generalisation"](_last_bit_net(), task, NetworkContext(seed=3), factors=[1.0, 2.0, 8.0])
    _check_columns(res)
    assert res == {"gen_metric": 1.0, "gen_metric@x=1": 1.0, "gen_metric@x=2": 1.0, "gen_metric@x=8": 1.0}
    # factor 1 is the trained distribution itself: the same trials, the same number
    m = _curriculum_net()
    res = ANALYSES["generalisation"](m, NPARITY, NetworkContext(seed=3), factors=[1.0, 3.0])
    assert res["gen_metric@x=1"] == res["gen_metric"] and res["gen_metric@x=3"] != res["gen_metric"]


def test_next_level_head_is_added_only_when_missing():
    key = jax.random.PRNGKey(0)
    m = _curriculum_net(heads=2)
    grown = _with_head(m, 3, 2, key)
    assert grown.output_size == 6
    np.testing.assert_array_equal(grown.readout_layer.weight[:4], m.readout_layer.weight)
    np.testing.assert_array_equal(grown.readout_layer.bias[:4], m.readout_layer.bias)
    assert _with_head(m, 2, 2, key) is m  # head 2 exists
    single = _last_bit_net()
    assert _with_head(single, 2, 2, key) is single  # one head: retrained for the next N


def test_generalisation_finetunes_the_next_level():
    # an 8-unit network on 1-parity, fine-tuned on 2-parity (head reused): it reaches the
    # threshold within the budget (steps counted at evaluations), and not within one step
    task = rnnlab.tasks.get("nparity", n=1)
    base = random_model("leaky_rnn", 1, 2, hidden_size=8, seed=1)
    res = ANALYSES["generalisation"](base, task, NetworkContext(seed=0), factors=[], finetune_steps=1500,
                                     finetune_lr=1e-2, finetune_eval_every=50)
    assert res["gen_finetune_metric"] >= 0.98 and res["gen_zero_shot"] < 0.9
    assert res["gen_finetune_steps"] % 50 == 0 and 0 < res["gen_finetune_steps"] <= 1500
    short = ANALYSES["generalisation"](base, task, NetworkContext(seed=0), factors=[], finetune_steps=1,
                                       finetune_lr=1e-2, finetune_eval_every=1)
    assert np.isnan(short["gen_finetune_steps"]) and short["gen_zero_shot"] == res["gen_zero_shot"]
    with pytest.raises(ConfigError, match="generalisation.finetune_steps"):
        ANALYSES["generalisation"](random_model("leaky_rnn", 1, 1, hidden_size=4), FLIPFLOP1, NetworkContext(),
                                   finetune_steps=10)


# ---- the existing entries, through run_analyses ----------------------------------------------
def test_ood_loss_and_weights_norm_on_a_curriculum_layout():
    # the sweep's config task has one head; the model has four: the analyses lay it out anew
    m = _curriculum_net()
    res = run_analyses(["ood_loss", "weights_norm"], m, NPARITY, NetworkContext())
    assert np.isfinite(res["ood_loss"])
    assert res["w_frobenius"] == pytest.approx(np.linalg.norm(np.asarray(m.recurrent_weights())), rel=1e-6)


def test_stage_runs_use_the_stage_task_not_the_final_level():
    # at: stages hands each stage model the task at its own level; the last-bit network solves
    # level 1 exactly, whatever level the history ended at
    net = _last_bit_net()
    ctx = NetworkContext(stage_models={1: net}, history=History(n_members=1, metric_name="accuracy", level=[[3]]),
                         task_at=lambda n: rnnlab.tasks.get("nparity", n=n))
    spec = {"name": "generalisation", "params": {"at": "stages", "factors": [4.0]}}
    assert run_analyses([spec], net, rnnlab.tasks.get("nparity", n=3), ctx) == {"gen_metric@N=1": 1.0,
                                                                                 "gen_metric@x=4@N=1": 1.0}


def test_parameter_columns_hold_no_dot():
    assert param_column("perturb_drop", "eps", 0.1) == "perturb_drop@eps=0p1"
    assert param_column("perturb_drop", "eps", 2) == "perturb_drop@eps=2"
    assert param_column("gen_metric", "x", 1e-5) == "gen_metric@x=1e-05"


def test_dimensionality_of_a_network_without_recurrence_is_one():
    """With W = 0 and τ = dt, h_t = tanh(U x_t + b); N-parity inputs are bits, so the activity
    takes two values only: one principal component, participation ratio exactly 1."""
    task = rnnlab.tasks.get("nparity", n=3)

    def build(gain):
        return rnnlab.models.config("leaky_rnn", hidden_size=16, gain=gain).build(
            task.n_inputs, task.n_outputs, jax.random.PRNGKey(0))

    out = ANALYSES["dimensionality"](build(0.0), task, NetworkContext(seed=0))
    assert out["dim_pcs"] == 1 and out["dim_pr"] == pytest.approx(1.0, abs=1e-9)
    assert ANALYSES["dimensionality"](build(1.5), task, NetworkContext(seed=0))["dim_pr"] > 1.5
