"""Rich/lazy measures: exact values for identical and rescaled networks, the kernel against a hand-written J."""

from types import SimpleNamespace

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import rnnlab
from rnnlab.analysis.rich_lazy import (
    RichLazy, RichLazyTrajectory, effective_rank, record_snapshots, rich_lazy, rich_lazy_over_training,
    tangent_kernel, weight_change,
)
from rnnlab.models import ModelConfig, RecurrentModel

TRAIN = dict(steps=300, lr=1e-2, batch_size=32, eval_every=100, progress=False)


class _Linear(RecurrentModel):
    """h_t = W h_{t−1} + U x_t, y_t = R h_t."""

    W: jax.Array
    U: jax.Array

    def __init__(self, W, U, R):
        n, o = W.shape[0], R.shape[0]
        self.cfg = ModelConfig(hidden_size=n)
        self.W, self.U = jnp.asarray(W, jnp.float32), jnp.asarray(U, jnp.float32)
        lin = eqx.nn.Linear(n, o, use_bias=False, key=jax.random.PRNGKey(0))
        self.readout_layer = eqx.tree_at(lambda l: l.weight, lin, jnp.asarray(R, jnp.float32))

    def initial_state(self):
        return jnp.zeros(self.W.shape[0])

    def input_drive(self, x):
        return self.U @ x

    def update(self, h, drive, key):
        h = self.W @ h + drive
        return h, h


def _linear_model(seed=0, n=3, i=2, o=2):
    rng = np.random.default_rng(seed)
    return _Linear(rng.normal(size=(n, n)) / 2, rng.normal(size=(n, i)), rng.normal(size=(o, n)))


def test_tangent_kernel_matches_the_hand_written_jacobian():
    m = _linear_model()
    W, U, R = (np.asarray(a, np.float64) for a in (m.W, m.U, m.readout_layer.weight))
    x = np.random.default_rng(1).normal(size=(4, 3, 2))
    rows = []
    for b in range(4):
        u = x[b] @ U.T  # [T, n] input drives
        h1 = u[0]
        h2 = W @ h1 + u[1]
        # y_t = R h_t:  ∂y_1/∂W = 0;  ∂y_2[o]/∂W_ij = R_oi h1_j;
        # y_3 = R (W h2 + u_3):  ∂y_3[o]/∂W_ij = R_oi h2_j + (R W)_oi h1_j
        J_t = [np.zeros((2, 3, 3)), np.einsum("oi,j->oij", R, h1), np.einsum("oi,j->oij", R, h2)
               + np.einsum("oi,j->oij", R @ W, h1)]
        rows += [J[o].ravel() for J in J_t for o in range(2)]
    J = np.array(rows)
    np.testing.assert_allclose(tangent_kernel(m, x), J @ J.T, rtol=1e-5, atol=1e-5)
    # a subset of times selects the matching rows and columns
    sel = np.array([b * 6 + t * 2 + o for b in range(4) for t in (2,) for o in range(2)])
    np.testing.assert_allclose(tangent_kernel(m, x, times=[2]), (J @ J.T)[np.ix_(sel, sel)], rtol=1e-5, atol=1e-5)


def test_identical_models_are_perfectly_lazy():
    task = rnnlab.tasks.get("flipflop", n_bits=1, n_steps=50, p=0.1)
    m = rnnlab.models.get("leaky_rnn", input_size=1, output_size=1, key=jax.random.PRNGKey(0), hidden_size=16)
    r = rich_lazy(m, m, task, 0, batch_size=8)
    assert r.weight_change == 0.0
    assert r.kernel_alignment == 1.0 and r.representation_alignment == 1.0
    assert r.effective_rank_0 == r.effective_rank_T
    # a readout scaled by 2 scales J (K by 4): alignments stay 1, the recurrent weights did not move
    big = eqx.tree_at(lambda mm: mm.readout_layer.weight, m, 2 * m.readout_layer.weight)
    r2 = rich_lazy(m, big, task, 0, batch_size=8)
    assert r2.weight_change == 0.0
    assert r2.kernel_alignment == pytest.approx(1.0, abs=1e-12)
    assert r2.representation_alignment == 1.0
    # recurrent weights scaled by 1.5: weight change 0.5, effective rank unchanged (scale-free)
    scaled = eqx.tree_at(lambda mm: mm.W, m, 1.5 * m.W)
    r3 = rich_lazy(m, scaled, task, 0, batch_size=8)
    assert r3.weight_change == pytest.approx(0.5, rel=1e-6)
    assert r3.effective_rank_T == pytest.approx(r3.effective_rank_0, rel=1e-6)
    assert r3.kernel_alignment < 1.0


def test_rescaled_weights_with_a_weight_independent_kernel():
    # the output at step 2 of the linear model has ∂y_2/∂W = R ⊗ h_1, independent of W: scaling W
    # by 3 leaves the kernel unchanged (alignment 1) while the weight change is 3 − 1 = 2
    m = _linear_model(seed=3)
    scaled = eqx.tree_at(lambda mm: mm.W, m, 3 * m.W)
    x = np.random.default_rng(0).normal(size=(5, 2, 2))
    r = rich_lazy(m, scaled, inputs=x, times=[1])
    assert r.weight_change == pytest.approx(2.0, rel=1e-6)
    assert r.kernel_alignment == pytest.approx(1.0, abs=1e-12)


def test_effective_rank():
    assert effective_rank(np.eye(7)) == pytest.approx(7.0)
    assert effective_rank(np.outer(np.arange(1, 6), np.ones(4))) == pytest.approx(1.0)
    s = np.array([3.0, 2.0, 1.0])
    p = s / s.sum()
    Q = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]
    assert effective_rank(Q @ np.diag(s) @ Q.T) == pytest.approx(np.exp(-np.sum(p * np.log(p))))


def test_snapshots_over_training(tmp_path):
    task = rnnlab.tasks.get("flipflop", n_bits=1, n_steps=50, p=0.1)
    cfg = rnnlab.models.config("leaky_rnn", hidden_size=16, tau_spread=1.0, self_connections=False)
    model0 = cfg.build(task.n_inputs, task.n_outputs, jax.random.fold_in(jax.random.PRNGKey(0), 0))
    rec = record_snapshots(every=1, initial=model0)
    res = rnnlab.train(model0, task, key=0, on_eval=rec, **TRAIN)
    assert rec.steps == [0, 100, 200, 300] and len(rec) == 4
    np.testing.assert_array_equal(np.asarray(rec.models[-1].W), np.asarray(res.model.W))
    np.testing.assert_array_equal(np.asarray(rec.models[0].W), np.asarray(model0.W))
    traj = rich_lazy_over_training(rec, task, 1, batch_size=8)
    np.testing.assert_array_equal(traj.steps, [0, 100, 200, 300])
    assert traj.weight_change[0] == 0.0 and traj.kernel_alignment[0] == 1.0 and traj.representation_alignment[0] == 1.0
    assert traj.weight_change[-1] == pytest.approx(weight_change(model0, res.model), rel=1e-12)
    assert traj.weight_change[-1] > 0.05 and traj.kernel_alignment[-1] < 0.99
    assert traj.effective_rank[0] == pytest.approx(effective_rank(model0))
    r = rich_lazy(model0, res.model, task, 1, batch_size=8)
    assert r.kernel_alignment == pytest.approx(traj.kernel_alignment[-1], rel=1e-9)
    # chosen evaluations only (fed with checkpoint-like records)
    rec2, rec3 = record_snapshots(at=[2]), record_snapshots(every=2)
    for n in range(1, 6):
        ckpt = SimpleNamespace(n_evals=n, state=SimpleNamespace(step=jnp.asarray(50 * n), model=model0))
        rec2(ckpt)
        rec3(ckpt)
    assert rec2.steps == [100] and rec3.steps == [100, 200]
    traj.save(tmp_path / "t")
    np.testing.assert_array_equal(RichLazyTrajectory.load(tmp_path / "t").kernel_alignment, traj.kernel_alignment)
    r.save(tmp_path / "r")
    assert RichLazy.load(tmp_path / "r").weight_change == r.weight_change
    traj.plot(tmp_path / "t.png")
    r.plot(tmp_path / "r.png")
