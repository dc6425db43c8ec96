"""Targets of the task library against independent NumPy recomputations.

Each case is compiled once (``jax.jit`` with a traced ``level``, as the training loop calls
it) and its batches are shared by the generic checks and the task's own recomputation.
"""

from functools import lru_cache

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rnnlab import tasks

B = 16
CASES = {
    "sine": ("sine", dict(dt=0.01, duration=(0.2, 0.5), n_channels=2, split="test")),
    "delayed_discrimination": ("delayed_discrimination", dict(n_channels=2)),
    "path_2d_reflect": ("path_integration", dict(dim=2, box=0.5, duration=(3.0, 5.0), boundary="reflect")),
    "path_3d_clip": ("path_integration", dict(dim=3, box=0.5, duration=5.0, max_speed=2.0)),
    "perceptual_decision": ("perceptual_decision", dict(coherences=(6.4, 51.2), sigma=0.1, delay=(0.0, 300.0))),
    "context_decision": ("context_decision", dict(sigma=0.1)),
    "delay_match_sample": ("delay_match_sample", dict(sigma=0.0, delay=(200.0, 600.0))),
    "go_nogo": ("go_nogo", dict(delay=(100.0, 500.0))),
    "ready_set_go": ("ready_set_go", dict(gain=1.5)),
    "hmm_linear": ("hmm", dict(family="linear", n_states=3, duration=40.0)),
    "hmm_cyclic": ("hmm", dict(family="cyclic", duration=40.0)),
    "reaching": ("reaching", dict(n_teacher=12, n_recorded=3)),
    "line_drawing": ("line_drawing", dict(seqlen=(5.0, 12.0))),
    "streaming_parity": ("streaming_parity", dict(length=(5.0, 30.0))),
    "copy": ("copy", dict(n_tokens=4, delay=(3.0, 10.0))),
    "adding": ("adding", dict(length=(10.0, 30.0))),
    "selective_copy": ("selective_copy", dict(n_tokens=4, length=(12.0, 30.0))),
}
BIG = {"hmm_linear": 256, "hmm_cyclic": 256}


@lru_cache(maxsize=None)
def sampled(case):
    """``(task, batch(key 0), batch(key 0) again, batch(key 1), metric of perfect outputs)``, as NumPy."""
    name, params = CASES[case]
    task = tasks.get(name, **params)
    n = BIG.get(case, B)

    @jax.jit
    def run(key, level):
        b = task.sample(key, n, level)
        return b, task.metric(b.targets if task.loss == "mse" else 10 * b.targets, b)

    level = jnp.asarray(1, jnp.int32)
    (b0, m0), (b1, _), (b2, _) = (run(jax.random.PRNGKey(s), level) for s in (0, 0, 1))
    return task, *(jax.tree.map(np.asarray, b) for b in (b0, b1, b2)), float(m0)


@pytest.mark.parametrize("case", list(CASES))
def test_batch_shapes_determinism_and_perfect_metric(case):
    task, b, again, other, perfect = sampled(case)
    T = task.n_steps
    assert b.inputs.shape == (b.inputs.shape[0], T, task.n_inputs)
    assert b.targets.shape == b.mask.shape == (b.inputs.shape[0], T, task.n_outputs)
    assert all(v.shape[0] == b.inputs.shape[0] for v in b.info.values())
    assert np.isfinite(b.inputs).all() and np.isfinite(b.targets).all()
    assert set(np.unique(b.mask)) <= {0.0, 1.0} and b.mask.any()
    assert np.all(b.targets[b.mask == 0] == 0), "unscored targets are zero padding"
    for x, y in zip(jax.tree.leaves(b), jax.tree.leaves(again)):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(b.targets, other.targets) or not np.array_equal(b.inputs, other.inputs)
    assert perfect == (1.0 if task.higher_is_better else 0.0)
    if task.loss == "cross_entropy":
        heads = b.targets.reshape(*b.targets.shape[:2], -1, task.n_classes)
        scored = b.mask.reshape(heads.shape)[..., 0] > 0
        np.testing.assert_array_equal(heads.sum(-1)[scored], 1.0)


def _live(b, end):
    """[B, T] bool: the steps before each trial's end."""
    return np.arange(b.inputs.shape[1])[None, :] < np.asarray(end)[:, None]


# ---- Huang et al. tasks -------------------------------------------------------------


def test_sine_is_sine_of_the_coded_frequency():
    task, b, *_ = sampled("sine")
    f = b.inputs[:, 0, :] * 30.0  # the static input codes f / 30
    np.testing.assert_allclose(f, b.info["freq"], rtol=1e-5)
    assert set(np.round(f.ravel()).tolist()) <= set(task.test_freqs)
    t = np.arange(task.n_steps) * task.dt
    expected = np.sin(2 * np.pi * f[:, None, :] * t[None, :, None]) * _live(b, b.info["end"])[..., None]
    np.testing.assert_allclose(b.targets, expected, atol=2e-4)
    assert set(np.unique(b.info["end"])) <= set(range(20, 51))


def test_delayed_discrimination_outputs_sign_of_f2_minus_f1():
    task, b, *_ = sampled("delayed_discrimination")
    for i in range(b.inputs.shape[0]):
        pulses = np.flatnonzero(np.abs(b.inputs[i]).sum(-1) > 0)
        assert len(pulses) == 2 and 5 <= pulses[1] - pulses[0] - 1 <= 20
        f1, f2 = b.inputs[i, pulses[0]] / task.input_scale, b.inputs[i, pulses[1]] / task.input_scale
        assert np.all((f1 >= 2) & (f1 <= 10) & (f2 >= 2) & (f2 <= 10))
        resp = slice(pulses[1] + 1, pulses[1] + 6)
        np.testing.assert_array_equal(b.targets[i, resp], np.broadcast_to(np.sign(f2 - f1), (5, 2)))
        assert np.all(b.targets[i, : pulses[1] + 1] == 0)
        assert b.mask[i, : pulses[1] + 6].all() and not b.mask[i, pulses[1] + 6 :].any()


def _integrate(inputs, n, dim, dt, box, boundary):
    pos = np.zeros((inputs.shape[0], inputs.shape[1], dim))
    for i in range(inputs.shape[0]):
        p = np.zeros(dim)
        for t in range(n[i]):
            x = inputs[i, t]
            if dim == 2:
                u = x[2] * np.array([x[0], x[1]])
            else:
                u = x[4] * np.array([x[2] * x[0], x[2] * x[1], x[3]])
            p = p + dt * u
            if boundary == "clip":
                p = np.clip(p, -box, box)
            else:
                p = np.where(p > box, 2 * box - p, np.where(p < -box, -2 * box - p, p))
            pos[i, t] = p
    return pos


@pytest.mark.parametrize("case", ["path_2d_reflect", "path_3d_clip"])
def test_path_integration_integrates_velocity_inputs(case):
    task, b, *_ = sampled(case)
    n = b.info["end"]
    expected = _integrate(b.inputs.astype(np.float64), n, task.dim, task.dt, task.box, task.boundary)
    np.testing.assert_allclose(b.targets, expected, atol=1e-4)
    assert np.abs(b.targets).max() <= task.box + 1e-6
    assert np.isclose(np.abs(b.targets).max(), task.box, atol=0.05), "trajectories reach the walls"
    angles = b.info["angles"]
    np.testing.assert_allclose(b.inputs[..., 0], np.cos(angles[..., 0]) * _live(b, n), atol=1e-5)
    assert np.all((b.inputs[..., -1] >= 0) & (b.inputs[..., -1] <= task.max_speed))


# ---- decision tasks ---------------------------------------------------------------


def _decision_labels(b):
    """Label and window recomputed from targets/mask: (label [B], decision steps [B, T])."""
    scored = b.mask[..., 0] > 0
    label = np.array([b.targets[i, scored[i]].argmax(-1)[0] for i in range(len(scored))])
    return label, scored


def _check_decision_window(b):
    label, scored = _decision_labels(b)
    t = np.arange(b.inputs.shape[1])
    for i in range(len(label)):
        on, off = b.info["decision_on"][i], b.info["decision_off"][i]
        np.testing.assert_array_equal(scored[i], (t >= on) & (t < off))
        np.testing.assert_array_equal(b.inputs[i, :, 0], (t < on).astype(float))  # fixation input
    return label


def test_perceptual_decision_follows_coherence_sign():
    task, b, *_ = sampled("perceptual_decision")
    label = _check_decision_window(b)
    np.testing.assert_array_equal(label, (b.info["signed_coherence"] > 0).astype(int))
    for i in range(len(label)):
        stim = slice(b.info["stimulus_on"][i], b.info["stimulus_off"][i])
        diff = b.inputs[i, stim, 2] - b.inputs[i, stim, 1]
        assert np.sign(diff.mean()) == (1 if label[i] == 1 else -1)
        assert abs(diff.mean() - b.info["signed_coherence"][i] / 100) < 0.02  # mean evidence = coh
        outside = np.ones(task.n_steps, bool)
        outside[stim] = False
        assert np.all(b.inputs[i, outside, 1:] == 0)
    assert set(np.unique(b.info["delay_off"] - b.info["delay_on"])) <= {0, 1, 2, 3}


def test_context_decision_reports_the_cued_modality():
    task, b, *_ = sampled("context_decision")
    label = _check_decision_window(b)
    for i in range(len(label)):
        stim = slice(b.info["stimulus_on"][i], b.info["stimulus_off"][i])
        m = b.inputs[i, stim, 1:5].mean(0)
        choices = [int(m[1] > m[0]), int(m[3] > m[2])]
        context = int(b.inputs[i, 0, 6] > b.inputs[i, 0, 5])
        assert label[i] == choices[context] == b.info["label"][i]
        assert context == b.info["context"][i]
    assert 0 < label.mean() < 1


def _decode(code):
    phi = 2 * np.pi * np.arange(code.shape[-1]) / code.shape[-1]
    return np.arctan2((code * np.sin(phi)).sum(-1), (code * np.cos(phi)).sum(-1)) % (2 * np.pi)


def test_delay_match_sample_match_is_recomputed_from_ring_inputs():
    task, b, *_ = sampled("delay_match_sample")
    label = _check_decision_window(b)
    for i in range(len(label)):
        s = _decode(b.inputs[i, b.info["sample_on"][i], 1:])
        t = _decode(b.inputs[i, b.info["test_on"][i], 1:])
        assert abs(np.angle(np.exp(1j * (s - b.info["sample_dir"][i])))) < 1e-4
        same = abs(np.angle(np.exp(1j * (s - t)))) < 1e-3
        assert label[i] == int(same)
        delay = slice(b.info["delay_on"][i], b.info["delay_off"][i])
        assert np.all(b.inputs[i, delay, 1:] == 0)
    assert 0 < label.mean() < 1


def test_go_nogo_label_is_the_cue():
    task, b, *_ = sampled("go_nogo")
    label = _check_decision_window(b)
    cue = np.array([b.inputs[i, b.info["stimulus_on"][i], 1:].argmax() for i in range(len(label))])
    np.testing.assert_array_equal(label, 1 - cue)  # channel 1 = go cue, channel 2 = no-go cue
    np.testing.assert_array_equal(label, b.info["go"])


def test_ready_set_go_ramps_to_one_at_the_reproduced_time():
    task, b, *_ = sampled("ready_set_go")
    t = np.arange(task.n_steps)
    for i in range(b.inputs.shape[0]):
        ready = np.flatnonzero(b.inputs[i, :, 0])[0]
        set_on = np.flatnonzero(b.inputs[i, :, 1])[0]
        m = set_on - ready
        assert 10 <= m <= 20  # measure (500, 1000) ms at dt 50
        go = set_on + max(int(np.floor(task.gain * m + 0.5)), 1)
        end = go + 5
        expected = np.where(t < set_on, 0.0, np.minimum((t - set_on) / (go - set_on), 1.0)) * (t < end)
        np.testing.assert_allclose(b.targets[i, :, 0], expected, atol=1e-6)
        np.testing.assert_array_equal(b.mask[i, :, 0], (t < end).astype(float))
        assert b.info["go"][i] == go


# ---- HMM, reaching, line drawing -------------------------------------------------------


@pytest.mark.parametrize("case", ["hmm_linear", "hmm_cyclic"])
def test_hmm_empirical_frequencies_match_the_matrices(case):
    task, b, *_ = sampled(case)
    A, E = task.transition_matrix(), task.emission_matrix()
    states, symbols = b.info["states"], b.targets.argmax(-1)
    S = A.shape[0]
    counts = np.zeros((S, S))
    np.add.at(counts, (states[:, :-1].ravel(), states[:, 1:].ravel()), 1)
    emit = np.zeros((S, 3))
    np.add.at(emit, (states.ravel(), symbols.ravel()), 1)
    for observed, P in ((counts, A), (emit, E)):
        n = observed.sum(1, keepdims=True)
        freq = observed / n
        se = np.sqrt(P * (1 - P) / n) + 1e-9
        assert np.all(np.abs(freq - P) <= 5 * se + 1e-3), (freq, P)
        assert np.all(observed[P == 0] == 0)
    start = np.bincount(states[:, 0], minlength=S) / len(states)
    assert np.all(np.abs(start - 1 / S) < 5 * np.sqrt(1 / S / len(states)))
    assert abs(b.inputs.std() - 1) < 0.05 and abs(b.inputs.mean()) < 0.05


def test_reaching_targets_come_from_the_oscillatory_teacher():
    task, b, *_ = sampled("reaching")
    p = task.teacher_params()
    T = task.n_steps
    t = np.arange(T)
    for i in range(b.inputs.shape[0]):
        k, go, end = b.info["target"][i], b.info["movement_on"][i], b.info["movement_off"][i]
        tau = t - go
        env = np.where((t >= go) & (t < end), np.sin(np.pi * (tau + 1) / (end - go + 1)), 0.0)
        r = env[:, None] * np.sin(2 * np.pi * p["freqs"] * tau[:, None] * task.dt / 1000 + p["phases"][:, k])
        np.testing.assert_allclose(b.info["teacher"][i], r, atol=1e-4)
        muscles = np.maximum(r @ p["readout"].T, 0)
        np.testing.assert_allclose(b.targets[i, :, : task.n_muscles], muscles, atol=1e-4)
        np.testing.assert_allclose(b.targets[i, :, task.n_muscles :], r[:, p["recorded"]], atol=1e-4)
        theta = 2 * np.pi * k / task.n_targets
        shown = (t >= b.info["delay_on"][i]) & (t < end)
        np.testing.assert_allclose(b.inputs[i, :, 0], np.cos(theta) * shown, atol=1e-6)
        np.testing.assert_array_equal(b.inputs[i, :, 2], (t < go).astype(float))
    assert len(p["recorded"]) == 3


def test_teacher_is_deterministic_in_its_seed():
    a, b = tasks.get("reaching"), tasks.get("reaching", teacher_seed=1)
    np.testing.assert_array_equal(a.teacher_params()["freqs"], tasks.get("reaching").teacher_params()["freqs"])
    assert not np.array_equal(a.teacher_params()["phases"], b.teacher_params()["phases"])


def test_line_drawing_draws_straight_lines_to_the_cued_target():
    task, b, *_ = sampled("line_drawing")
    a = np.linspace(0, 2 * np.pi, 6, endpoint=False)
    points = np.concatenate([[[0.0, 0.0]], 10 * np.stack([np.sin(a), np.cos(a)], -1)])
    for i in range(b.inputs.shape[0]):
        k = b.inputs[i, 0].argmax()
        assert b.inputs[i, 0].sum() == 1 and not b.inputs[i, 1:].any()
        n = int(b.mask[i, :, 0].sum())
        assert 5 <= n <= 12
        line = np.stack([np.linspace(0, points[k, 0], n), np.linspace(0, points[k, 1], n)], -1)
        np.testing.assert_allclose(b.targets[i, :n], line, atol=1e-4)


# ---- long-memory benchmarks ----------------------------------------------------------


def test_streaming_parity_is_running_parity_of_raw_bits():
    task, b, *_ = sampled("streaming_parity")
    bits = b.inputs[..., 0].astype(int)
    n = b.info["end"]
    for i in range(len(bits)):
        parity, expected = 0, []
        for x in bits[i, : n[i]]:
            parity ^= x
            expected.append(parity)
        np.testing.assert_array_equal(b.targets[i, : n[i]].argmax(-1), expected)
        assert b.mask[i, : n[i]].all() and not b.mask[i, n[i] :].any() and not bits[i, n[i] :].any()


def test_copy_recalls_the_first_tokens_after_the_marker():
    task, b, *_ = sampled("copy")
    K = task.n_tokens
    codes = b.inputs.argmax(-1)
    for i in range(len(codes)):
        mark = np.flatnonzero(b.inputs[i, :, 9])
        assert len(mark) == 1 and 3 <= mark[0] - K <= 10
        recall = np.flatnonzero(b.mask[i, :, 0])
        np.testing.assert_array_equal(recall, np.arange(mark[0] + 1, mark[0] + 1 + K))
        np.testing.assert_array_equal(b.targets[i, recall].argmax(-1), codes[i, :K])
        assert np.all(codes[i, K : mark[0]] == 8) and np.all(codes[i, recall] == 8)


def test_adding_sums_the_two_marked_values():
    task, b, *_ = sampled("adding")
    for i in range(b.inputs.shape[0]):
        n = b.info["end"][i]
        marks = np.flatnonzero(b.inputs[i, :, 1])
        assert len(marks) == 2 and marks[0] < n // 2 <= marks[1] < n
        np.testing.assert_array_equal(np.flatnonzero(b.mask[i, :, 0]), [n - 1])
        assert np.isclose(b.targets[i, n - 1, 0], b.inputs[i, marks, 0].sum(), atol=1e-6)
        assert np.all((b.inputs[i, :n, 0] >= 0) & (b.inputs[i, :n, 0] < 1)) and not b.inputs[i, n:].any()


def test_selective_copy_targets_the_scattered_tokens_in_order():
    task, b, *_ = sampled("selective_copy")
    K = task.n_tokens
    codes = b.inputs.argmax(-1)
    for i in range(len(codes)):
        pred = np.flatnonzero(b.inputs[i, :, 0])  # PRED = 0
        assert len(pred) == K and np.all(np.diff(pred) == 1)
        L = pred[0]
        data = codes[i, :L]
        tokens = data[data != 15]  # EMPTY = 15
        assert len(tokens) == K and np.all((tokens >= 1) & (tokens <= 14))
        np.testing.assert_array_equal(np.flatnonzero(b.mask[i, :, 0]), pred)
        np.testing.assert_array_equal(b.targets[i, pred].argmax(-1), tokens)
        assert not b.inputs[i, L + K :].any()
