"""A user's recordings as a task (rnnlab.data, the `recorded` task): arrays, NWB round trip,
named errors, and fitting a network to them with the data_constrained objective."""

import datetime

import jax
import numpy as np
import pytest

import rnnlab
from rnnlab.data import Recordings, from_arrays, load_nwb
from rnnlab.errors import ConfigError

RNG = np.random.default_rng(0)
K, T = 12, 25
REC = RNG.normal(size=(K, T, 4)).astype(np.float32)
INP = RNG.normal(size=(K, T, 2)).astype(np.float32)
BEH = RNG.normal(size=(K, T, 1)).astype(np.float32)


def test_arrays_make_a_jittable_task(tmp_path):
    rec = REC.copy()
    rec[3, 5:9, 1] = np.nan  # missing samples
    task = from_arrays(rec, INP, BEH, dt=10.0).task(tmp_path / "d.npz", test_fraction=0.25)
    assert (task.n_inputs, task.n_outputs, task.n_steps, task.n_behaviour, task.n_recorded) == (2, 5, T, 1, 4)
    assert task.clock() == (10.0, "ms") and len(task.digest) == 64
    same = rnnlab.tasks.get("recorded", **task.params())
    assert same == task and hash(same) == hash(task)
    b = jax.jit(lambda k: task.sample(k, 64))(jax.random.PRNGKey(1))
    trials = np.asarray(b.info["trial"])
    assert set(trials) <= set(task.trials().tolist()) and len(task.trials()) == 9
    test = task.model_copy(update={"split": "test"})
    assert not set(test.trials().tolist()) & set(task.trials().tolist())
    np.testing.assert_array_equal(b.inputs, INP[trials])
    np.testing.assert_array_equal(b.targets[..., :1], BEH[trials])
    np.testing.assert_array_equal(b.mask[..., 1:], np.isfinite(rec[trials]).astype(np.float32))
    np.testing.assert_array_equal(b.targets[..., 1:], np.nan_to_num(rec[trials]))


def test_bad_arrays_and_files_are_named(tmp_path):
    with pytest.raises(ConfigError, match="recordings: must be a non-empty array"):
        from_arrays(REC[0])
    with pytest.raises(ConfigError, match="behaviour: must have the recordings' 12 trials × 25"):
        from_arrays(REC, behaviour=BEH[:, :10])
    with pytest.raises(ConfigError, match="inputs: NaN"):
        from_arrays(REC, np.full_like(INP, np.nan))
    with pytest.raises(ConfigError, match="dt: must be a positive"):
        from_arrays(REC, dt=0.0)
    task = from_arrays(REC).task(tmp_path / "a.npz")
    assert task.n_inputs == 1 and task.n_behaviour == 0
    from_arrays(REC * 2).save(tmp_path / "a.npz")
    with pytest.raises(ValueError, match="digest: .* has changed"):
        rnnlab.tasks.get("recorded", **task.params())
    with pytest.raises(ValueError, match="path: cannot read"):
        rnnlab.tasks.get("recorded", path=str(tmp_path / "missing.npz"))


def _write_nwb(path, rate=100.0):
    pynwb = pytest.importorskip("pynwb")
    from pynwb import NWBHDF5IO, NWBFile, TimeSeries

    n = 400
    nwb = NWBFile(session_description="test", identifier="rnnlab-test",
                  session_start_time=datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
    rates = RNG.normal(size=(n, 3))
    cue, hand = RNG.normal(size=(n, 2)), RNG.normal(size=n)
    nwb.add_acquisition(TimeSeries(name="rates", data=rates, unit="Hz", rate=rate, starting_time=0.0))
    nwb.add_stimulus(TimeSeries(name="cue", data=cue, unit="a.u.", rate=rate, starting_time=0.0))
    mod = nwb.create_processing_module("behavior", "hand")
    mod.add(TimeSeries(name="hand", data=hand, unit="m", timestamps=np.arange(n) / rate))
    starts = [0.1, 1.0, 2.5]
    for s in starts:
        nwb.add_trial(start_time=s, stop_time=s + 0.5)
    spikes = [np.sort(RNG.uniform(0, 4, 60)) for _ in range(2)]
    for st in spikes:
        nwb.add_unit(spike_times=st)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    assert pynwb is not None
    return rates, cue, hand, starts, spikes


def test_nwb_round_trip(tmp_path):
    path = tmp_path / "s.nwb"
    rates, cue, hand, starts, spikes = _write_nwb(path)
    r = load_nwb(path, "rates", inputs=["cue"], behaviour=["hand"])
    first = [int(round(s * 100)) for s in starts]
    assert r.dt == pytest.approx(10.0) and r.shape == (3, 50, 3)
    np.testing.assert_allclose(r.recordings, np.stack([rates[i:i + 50] for i in first]), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(r.inputs, np.stack([cue[i:i + 50] for i in first]), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(r.behaviour[..., 0], np.stack([hand[i:i + 50] for i in first]), rtol=1e-6, atol=1e-6)
    # saved and reloaded through the task file: the same arrays
    task = r.task(tmp_path / "s.npz")
    assert Recordings.load(task.path) == r
    # spike times binned to rates (spikes/s) in 50 ms bins
    s = load_nwb(path, "units", dt=50.0)
    edges = starts[1] + np.arange(11) * 0.05
    np.testing.assert_allclose(s.recordings[1, :, 0], np.histogram(spikes[0], edges)[0] / 0.05, rtol=1e-6)


def test_nwb_errors_are_named(tmp_path):
    path = tmp_path / "s.nwb"
    _write_nwb(path)
    with pytest.raises(ConfigError, match="recordings: no TimeSeries named 'rate'.*it has: cue, hand, rates"):
        load_nwb(path, "rate")
    with pytest.raises(ConfigError, match="dt: give the bin width"):
        load_nwb(path, "units")
    with pytest.raises(ConfigError, match="align: no trials column 'go'"):
        load_nwb(path, "rates", align="go")
    with pytest.raises(ConfigError, match="path: no such file"):
        load_nwb(tmp_path / "none.nwb", "rates")


def test_fit_a_network_to_recorded_arrays(tmp_path):
    """A network trains on a user's arrays with the ridge-mapped data loss: the evaluation loss falls."""
    task = from_arrays(REC, INP, BEH, dt=10.0).task(tmp_path / "d.npz")
    model = rnnlab.models.config("leaky_rnn", hidden_size=16, dt=10.0, tau=20.0)
    r = rnnlab.train(model, task, key=0, steps=200, eval_every=100, batch_size=8, lr=0.02, progress=False,
                     objective={"name": "data_constrained", "mapping": "ridge"})
    assert r.history.eval_loss[-1][0] < r.history.eval_loss[0][0]
