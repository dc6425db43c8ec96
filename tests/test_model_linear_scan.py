"""Linear-recurrence models: LRU and S4D parallel modes equal their sequential ones, the
prefix scans, and each model's defining property (LRU ring and |λ| ≤ 1, S4D zero-order hold,
LMU Legendre delay, minGRU's element-wise positive recurrence)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.linalg
import scipy.special

from rnnlab import models
from rnnlab.models import _scan
from rnnlab.models.lmu import legendre_memory
from test_model_parallel_parity import check_parity

KEY = jax.random.PRNGKey(0)


@pytest.mark.parametrize("name, params", [
    ("lru", dict(r_min=0.9, r_max=0.999, encoder="mlp")),
    ("s4d", dict(state_size=12)),
])
def test_parallel_mode_matches_sequential_outputs_and_gradients(name, params):
    check_parity(name, params)


def test_prefix_scan_methods_agree_and_match_a_loop():
    rng = np.random.default_rng(0)
    a, b, h0 = rng.uniform(0.5, 1.0, (11, 4)), rng.normal(size=(11, 4)), rng.normal(size=4)
    h, ref, ref_pos = h0, [], []
    for t in range(11):
        h = a[t] * h + b[t]
        ref.append(h)
    h = h0
    for t in range(11):
        h = a[t] * h + abs(b[t])
        ref_pos.append(h)

    @jax.jit
    def both(a, b, h0):
        out = {}
        for method in ("doubling", "associative"):
            # log space takes positive a, b and any sign of h0 (minGRU-pytorch#9 used log h0)
            log = _scan.log_scan(jnp.log(a), jnp.log(jnp.abs(b)), h0, method)
            out[method] = (_scan.linear_scan(a, b, h0, method), log)
        return out

    for lin, log in both(*(jnp.asarray(v, jnp.float32) for v in (a, b, h0))).values():
        np.testing.assert_allclose(lin, np.stack(ref), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(log, np.stack(ref_pos), rtol=1e-5, atol=1e-5)


def test_lru_ring_initialisation_and_stability():
    cfg = dict(r_min=0.4, r_max=0.9, max_phase=np.pi / 5, state_size=500)
    m = models.get("lru", input_size=3, output_size=2, key=KEY, hidden_size=16, **cfg)
    lam = np.asarray(m.eigenvalues())
    r = np.abs(lam)
    assert np.all(r >= 0.4 - 1e-6) and np.all(r <= 0.9 + 1e-6)
    assert np.all(np.angle(lam) >= 0) and np.all(np.angle(lam) <= np.pi / 5 + 1e-6)
    # density ∝ r on the ring: E[r²] is the midpoint of [r_min², r_max²]
    assert abs(np.mean(r**2) - (0.4**2 + 0.9**2) / 2) < 0.02
    np.testing.assert_allclose(np.exp(np.asarray(m.gamma_log)), np.sqrt(1 - r**2), rtol=1e-5)
    # |λ| = exp(−exp(ν)) never exceeds 1, whatever the parameters (= 1 only when float32 rounds)
    wild = eqx.tree_at(lambda m: m.nu_log, m, m.nu_log + jnp.linspace(-40.0, 5.0, 500))
    assert np.all(np.abs(np.asarray(wild.eigenvalues())) <= 1 + 2e-7)
    with pytest.raises(ValueError, match="r_max: must be >= r_min"):
        models.config("lru", r_min=0.9, r_max=0.5)
    with pytest.raises(ValueError, match="r_max: Input should be less than 1"):
        models.config("lru", r_max=1.0)


def test_s4d_is_stable_and_zoh_exact():
    m = models.get("s4d", input_size=3, output_size=2, key=KEY, hidden_size=16, state_size=12)
    lam = np.asarray(m.continuous_eigenvalues(), np.complex128)
    dt = np.exp(np.asarray(m.log_dt, np.float64))
    np.testing.assert_allclose(m.eigenvalues(), np.exp(dt * lam), rtol=1e-5)
    B = np.asarray(m.B_re) + 1j * np.asarray(m.B_im)
    zoh = ((np.exp(dt * lam) - 1) / lam)[:, None] * B  # ∫_0^Δ e^{λs} ds · B
    np.testing.assert_allclose(m.input_matrix(), zoh, rtol=1e-4, atol=1e-7)
    wild = eqx.tree_at(lambda m: (m.log_neg_re, m.log_dt), m, (m.log_neg_re - 20.0, m.log_dt + 5.0))
    assert np.all(np.abs(np.asarray(wild.eigenvalues())) <= 1 + 2e-7)
    with pytest.raises(ValueError, match="dt_max: must be >= dt_min"):
        models.config("s4d", dt_min=0.1, dt_max=0.01)


def test_lmu_matrices_are_the_zoh_legendre_delay_and_decode_the_delayed_input():
    d, theta = 12, 50.0
    Ad, Bd = legendre_memory(d, theta, 1.0)
    i, j = np.meshgrid(np.arange(d), np.arange(d), indexing="ij")
    A = (2 * i + 1) * np.where(i < j, -1.0, (-1.0) ** (i - j + 1)) / theta
    B = (2 * np.arange(d) + 1) * (-1.0) ** np.arange(d) / theta
    np.testing.assert_allclose(Ad, scipy.linalg.expm(A), atol=1e-10)  # zero-order hold, dt = 1
    np.testing.assert_allclose(Bd, np.linalg.solve(A, (Ad - np.eye(d)) @ B), atol=1e-8)  # A⁻¹(e^A − I) B
    # the memory holds the input's last θ steps: Legendre polynomials at r = 1 decode u(t − θ)
    t = np.arange(400)
    u = np.sin(2 * np.pi * t / 97.0)
    m = np.zeros(d)
    for k in range(len(t)):
        m = Ad @ m + Bd * u[k]
    for lag in (0, 25, 50):  # u(t − θ') ≈ Σ_i P_i(2θ'/θ − 1) m_i (Voelker et al. 2019, eq. 3)
        decoder = scipy.special.eval_legendre(np.arange(d), 2 * lag / theta - 1)
        assert abs(m @ decoder - u[-1 - lag]) < 0.05, lag


def test_lmu_feedback_variant_is_sequential_only():
    with pytest.raises(ValueError, match="mode: 'parallel' needs hidden_feedback=False"):
        models.config("lmu", hidden_feedback=True, mode="parallel")
    m = models.get("lmu", input_size=3, output_size=2, key=KEY, hidden_size=16, hidden_feedback=True)
    (m_state, h), act = m.step(m.initial_state(), jnp.ones(3))
    assert m_state.shape == (1, 16) and h.shape == (16,) and np.all(np.isfinite(np.asarray(act)))


def test_min_gru_hidden_state_stays_positive_and_gates_ignore_the_state():
    m = models.get("min_gru", input_size=3, output_size=2, key=KEY, hidden_size=16)
    act, _ = eqx.filter_jit(models.run)(m, jax.random.normal(KEY, (2, 50, 3)) * 5)
    assert np.all(np.asarray(act) > 0)
    d = m.input_drive(jnp.ones(3))
    J = eqx.filter_jit(jax.jacobian(lambda h: m.update(h, d, None)[0]))(jnp.ones(16))
    np.testing.assert_allclose(J, np.diag(np.diag(J)), atol=0)  # element-wise: diagonal Jacobian
