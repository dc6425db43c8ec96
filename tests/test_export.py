"""rnnlab.export: activity as labelled arrays (xarray, netCDF, CSV, NWB) and the store as DataFrames,
each checked against an independent computation (run, task.sample, the catalog, the files)."""

import importlib.util
import json
import sys

import equinox as eqx
import jax
import numpy as np
import pandas as pd
import pytest
import typer
import xarray as xr
import yaml
from typer.testing import CliRunner

import rnnlab
from rnnlab import export, models, run, tasks
from rnnlab.cli import export_cmd
from rnnlab.errors import CheckpointError, ConfigError, NonFiniteLossError
from rnnlab.store import catalog, create_run, execute, open_run, train_run
from rnnlab.sweep import load_sweep, sweep_dir
from rnnlab.train import member

CFG = {
    "task": {"name": "perceptual_decision", "params": {}},
    "model": {"name": "leaky_rnn", "params": {"hidden_size": 8}},
    "train": {"steps": 20, "eval_every": 10, "batch_size": 8, "eval_batch_size": 8, "lr": 3e-3},
    "seed": 1,
}
FINAL = f"final_{tasks.get('perceptual_decision').metric_name}"  # the summary's final metric


def _model(task, name="leaky_rnn", seed=0, **params):
    return models.get(name, input_size=task.n_inputs, output_size=task.n_outputs, key=seed, hidden_size=8, **params)


def _ensemble(task, n=3):
    cfg = models.config("gru", hidden_size=6)
    return eqx.filter_vmap(lambda k: cfg.build(task.n_inputs, task.n_outputs, k))(
        jax.random.split(jax.random.PRNGKey(4), n))


def test_activity_is_run_on_the_batch_of_the_key_with_conditions_and_ms_clock():
    task = tasks.get("perceptual_decision", sigma=1.0)
    model = _model(task, noise=0.3)  # private noise: the key drives it too
    ds = export.activity(model, task, 7, n_trials=12)
    key = jax.random.PRNGKey(7)
    batch = task.sample(key, 12)
    act, out = run(model, batch.inputs, key)
    np.testing.assert_array_equal(ds.activity.values, np.asarray(act))
    np.testing.assert_array_equal(ds.outputs.values, np.asarray(out))
    for name in ("inputs", "targets", "mask"):
        np.testing.assert_array_equal(ds[name].values, np.asarray(getattr(batch, name)))
    assert ds.activity.dims == ("trial", "time", "unit") and ds.sizes["unit"] == 8
    # noise on: another key gives other activity (the key is not ignored)
    assert not np.array_equal(export.activity(model, task, 8, 12).activity.values, ds.activity.values)
    # every info entry is a per-trial coordinate equal to batch.info
    assert set(batch.info) <= set(ds.coords)
    for k, v in batch.info.items():
        assert ds[k].dims == ("trial",)
        np.testing.assert_array_equal(ds[k].values, np.asarray(v))
    # dt = 100 ms: time[t] = (t + 1) dt, the end of step t
    T = batch.inputs.shape[1]
    np.testing.assert_allclose(ds.time.values, 100.0 * np.arange(1, T + 1))
    np.testing.assert_array_equal(ds.step.values, np.arange(T))
    assert ds.time.attrs["units"] == "ms" and ds.attrs["dt"] == 100.0 and ds.attrs["time_units"] == "ms"
    assert ds.attrs["task"] == "perceptual_decision" and json.loads(ds.attrs["task_params"]) == task.params()
    assert ds.attrs["model"] == "leaky_rnn" and json.loads(ds.attrs["model_params"])["noise"] == 0.3
    assert ds.attrs["rnnlab_version"] == rnnlab.__version__ and ds.attrs["seed"] == 7
    # conditions group the activity: the mean per choice is the mean over those trials
    choice = np.asarray(batch.info["choice"])
    means = ds.activity.groupby("choice").mean("trial")
    for c in np.unique(choice):
        np.testing.assert_allclose(means.sel(choice=c).values, np.asarray(act)[choice == c].mean(0), rtol=1e-6)


def test_steps_clock_time_resolved_info_and_seconds():
    ff = tasks.get("flipflop", n_bits=2, n_steps=20)
    ds = export.activity(_model(ff), ff, 0, 4)
    batch = ff.sample(jax.random.PRNGKey(0), 4)
    assert ds.time.attrs["units"] == "steps"
    np.testing.assert_array_equal(ds.time.values, np.arange(1, 21))  # dt = 1 step
    assert ds.pulses.dims == ("trial", "time", "pulses_dim2")  # [B, T, bits]: along time
    np.testing.assert_array_equal(ds.pulses.values, np.asarray(batch.info["pulses"]))
    cp = tasks.get("copy", n_tokens=4, delay=5)
    ds = export.activity(_model(cp), cp, 0, 3)
    assert ds.tokens.dims == ("trial", "tokens_dim1")  # [B, K] with K != T: its own dim
    assert ds.time.attrs["units"] == "steps"  # its dt counts steps ("durations in steps at dt=1")
    assert tasks.get("adding").clock() == (1.0, "steps")
    assert tasks.get("perceptual_decision").clock()[1] == "ms" and tasks.get("nparity").clock() == (1.0, "steps")
    sine = tasks.get("sine")
    ds = export.activity(_model(sine), sine, 0, 2)
    assert ds.time.attrs["units"] == "s"
    np.testing.assert_allclose(ds.time.values[:3], sine.dt * np.array([1, 2, 3]))


def test_multitask_info_names_map_back_to_their_keys():
    mt = tasks.multitask([tasks.get("go_nogo"), tasks.get("perceptual_decision")])
    ds = export.activity(_model(mt), mt, 2, 6)
    batch = mt.sample(jax.random.PRNGKey(2), 6)
    by_key = {ds[n].attrs["info_key"]: n for n in [*ds.coords, *ds.data_vars] if "info_key" in ds[n].attrs}
    assert set(by_key) == set(batch.info)
    for k, v in batch.info.items():
        assert "/" not in by_key[k]
        np.testing.assert_array_equal(ds[by_key[k]].values, np.asarray(v))


def test_ensemble_has_a_member_dim_each_member_run_alone():
    task = tasks.get("go_nogo")
    ens = _ensemble(task)
    ds = export.activity(ens, task, 3, 5)
    assert ds.activity.dims == ("member", "trial", "time", "unit") and ds.sizes["member"] == 3
    assert ds.inputs.dims == ("trial", "time", "input") and ds.attrs["n_members"] == 3
    key = jax.random.PRNGKey(3)
    batch = task.sample(key, 5)
    for e in range(3):  # vmapped over members: equal up to float rounding of batched products
        act, out = run(member(ens, e), batch.inputs, key)
        np.testing.assert_allclose(ds.activity.values[e], np.asarray(act), rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(ds.outputs.values[e], np.asarray(out), rtol=1e-6, atol=1e-6)


def test_bad_arguments_are_one_line_config_errors():
    task = tasks.get("go_nogo")
    with pytest.raises(ConfigError, match="n_trials"):
        export.activity(_model(task), task, 0, 0)
    with pytest.raises(ConfigError, match="output_size"):
        export.activity(_model(tasks.get("flipflop")), task, 0, 2)
    with pytest.raises(ConfigError, match="key"):
        export.activity(_model(task), task, -1, 2)
    with pytest.raises(ConfigError, match="task"):
        export.activity(_model(task), "go_nogo", 0, 2)


def test_netcdf_round_trip_and_wide_table(tmp_path):
    task = tasks.get("nparity", n=3)
    ds = export.activity(_ensemble(task, 2), task, 1, 4)
    back = xr.open_dataset(export.to_netcdf(ds, tmp_path / "a.nc"), engine="scipy")
    for name in [*ds.data_vars, *ds.coords]:
        np.testing.assert_array_equal(back[name].values, ds[name].values)
        assert back[name].dims == ds[name].dims
    assert {k: back.attrs[k] for k in ds.attrs} == ds.attrs
    back.close()
    table = export.activity_table(ds)
    E, B, T, N = (ds.sizes[d] for d in ("member", "trial", "time", "unit"))
    assert len(table) == E * B * T
    row = table[(table.member == 1) & (table.trial == 2) & (table.step == 3)].iloc[0]
    np.testing.assert_array_equal(row[[f"activity_{u}" for u in range(N)]].to_numpy(float),
                                  ds.activity.values[1, 2, 3])
    assert row["bits"] == ds.bits.values[2, 3] and row["labels_0"] == ds.labels.values[2, 0]
    assert row["p"] == ds.p.values[2] and row["time"] == ds.time.values[3]


def _nwb_arrays(path):
    pynwb = pytest.importorskip("pynwb", reason="pynwb is not installed: pip install -e '.[nwb]'")
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        series = {**{k: v for k, v in f.processing["rnn"].data_interfaces.items()},
                  **{k: v for k, v in f.processing["task"].data_interfaces.items()}, "inputs": f.stimulus["inputs"]}
        out = {k: (np.asarray(s.data[:]), s.rate, s.starting_time) for k, s in series.items()}
        return out, f.trials.to_dataframe(), f.session_description, json.loads(f.notes)


def test_nwb_round_trip_is_identical(tmp_path):
    pytest.importorskip("pynwb", reason="pynwb is not installed: pip install -e '.[nwb]'")
    task = tasks.get("perceptual_decision")
    ds = export.activity(_ensemble(task, 2), task, 5, 6)
    arrays, trials, description, notes = _nwb_arrays(export.to_nwb(ds, tmp_path / "a.nwb"))
    B, T = ds.sizes["trial"], ds.sizes["time"]
    def flat(a):  # [trial, time, ...] -> trials end to end
        return a.reshape(B * T, *a.shape[2:])

    for e in range(2):
        np.testing.assert_array_equal(arrays[f"activity_member{e}"][0], flat(ds.activity.values[e]))
        np.testing.assert_array_equal(arrays[f"outputs_member{e}"][0], flat(ds.outputs.values[e]))
    for name in ("inputs", "targets", "mask"):
        data, rate, start = arrays[name]
        np.testing.assert_array_equal(data, flat(ds[name].values))
        assert rate == pytest.approx(10.0) and start == pytest.approx(0.1)  # dt = 100 ms
    np.testing.assert_allclose(trials.start_time, 0.1 * T * np.arange(B))
    np.testing.assert_allclose(trials.stop_time, 0.1 * T * np.arange(1, B + 1))
    for k in ("choice", "coherence", "stimulus_on", "decision_off"):
        np.testing.assert_array_equal(trials[k].to_numpy(), ds[k].values)
    assert "gru" in description and "perceptual_decision" in description
    assert notes["task"] == "perceptual_decision" and notes["model"] == "gru"


def test_nwb_without_pynwb_is_a_one_line_config_error(tmp_path, monkeypatch):
    task = tasks.get("go_nogo")
    ds = export.activity(_model(task), task, 0, 2)
    monkeypatch.setitem(sys.modules, "pynwb", None)
    with pytest.raises(ConfigError, match=r"pynwb is not installed \(pip install 'rnnlab\[nwb\]'\)"):
        export.to_nwb(ds, tmp_path / "a.nwb")


def test_run_activity_and_cli_formats(tmp_path):
    cfg = {**CFG, "train": {**CFG["train"], "ensemble": 2}}
    run_, res = train_run(cfg, tmp_path, progress=False)
    task = tasks.get("perceptual_decision")
    ds = export.run_activity(run_.id, 5, 3, root=tmp_path)
    ref = export.activity(res.model, task, 3, 5)
    np.testing.assert_array_equal(ds.activity.values, ref.activity.values)
    assert ds.attrs["run_id"] == run_.id and ds.attrs["run_seed"] == 1 and ds.sizes["member"] == 2

    app = typer.Typer()
    app.callback()(lambda: None)
    app.command("export")(export_cmd.export)
    cli = CliRunner()
    base = ["export", run_.id, "--out", str(tmp_path), "--trials", "5", "--seed", "3"]
    r = cli.invoke(app, [*base, "--format", "netcdf", "--file", str(tmp_path / "a.nc")])
    assert r.exit_code == 0, r.output
    with xr.open_dataset(tmp_path / "a.nc", engine="scipy") as back:
        np.testing.assert_array_equal(back.activity.values, ds.activity.values)
    r = cli.invoke(app, [*base, "--format", "csv", "--file", str(tmp_path / "a.csv")])
    assert r.exit_code == 0, r.output
    table = pd.read_csv(tmp_path / "a.csv")
    expect = export.activity_table(ds)
    assert list(table.columns) == list(expect.columns)
    np.testing.assert_allclose(table.filter(like="activity_").to_numpy(), expect.filter(like="activity_").to_numpy(),
                               rtol=1e-6)
    np.testing.assert_array_equal(table["choice"], expect["choice"])
    if importlib.util.find_spec("pynwb") is not None:  # in the test extra; its own test skips without it
        r = cli.invoke(app, [*base, "--format", "nwb", "--file", str(tmp_path / "a.nwb")])
        assert r.exit_code == 0, r.output
        arrays = _nwb_arrays(tmp_path / "a.nwb")[0]
        np.testing.assert_array_equal(arrays["activity_member1"][0], ds.activity.values[1].reshape(-1, 8))
    r = cli.invoke(app, [*base, "--format", "hdf5", "--file", str(tmp_path / "a.x")])
    assert r.exit_code == 2 and "'netcdf'" in r.output  # a validated choice: Click names the choices
    r = cli.invoke(app, [*base, "--file", str(tmp_path / "no" / "a.nc")])
    assert isinstance(r.exception, ConfigError) and "--file" in str(r.exception)


def test_runs_table_one_row_per_run_with_statuses_metrics_and_config(tmp_path):
    trained, _ = train_run(CFG, tmp_path, progress=False)
    created = create_run({**CFG, "seed": 2}, tmp_path)
    bad = {"task": {"name": "flipflop", "params": {"n_bits": 2, "n_steps": 30, "p": 0.1}}, "seed": 3,
           "model": CFG["model"],
           "train": {**CFG["train"], "lr": 1e30, "clip": None, "optimizer": "sgd", "momentum": 0.0}}
    failed = create_run(bad, tmp_path)
    with pytest.raises(NonFiniteLossError):
        execute(failed, progress=False)
    dead = create_run({**CFG, "seed": 4}, tmp_path)
    catalog.update(tmp_path, dead.id, status="running")  # no live trainer holds its lock
    df = export.runs_table(tmp_path)
    assert len(df) == 4 and df.id.is_unique
    status = dict(zip(df.id, df.status))
    assert status == {trained.id: "budget", created.id: "created", failed.id: "failed", dead.id: "interrupted"}
    row = df.set_index("id").loc[trained.id]
    summary = open_run(trained.id, tmp_path).summary()
    assert row[FINAL] == pytest.approx(summary[FINAL]) and row["steps"] == summary["steps"]
    assert row["model.params.hidden_size"] == 8 and row["train.lr"] == 3e-3 and row["seed"] == 1
    assert row["task.name"] == "perceptual_decision"
    assert pd.api.types.is_datetime64_any_dtype(df.created)
    assert list(export.runs_table(tmp_path, status="failed").id) == [failed.id]
    assert export.runs_table(tmp_path / "empty").empty


def test_sweep_table_rows_are_the_expanded_runs(tmp_path):
    spec = {"name": "tiny", "base": {**CFG, "train": {**CFG["train"], "steps": 10}},
            "grid": {"model.params.hidden_size": [4, 6]}, "seeds": 1}
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    sp, runs = load_sweep(path)
    root = tmp_path / "runs"
    one = create_run(runs[0].config, sweep_dir(sp, root), run_id=runs[0].id)
    execute(one, progress=False)
    df = export.sweep_table(path, root)
    assert list(df.id) == [r.id for r in runs]
    assert list(df["model.params.hidden_size"]) == [4, 6]
    assert list(df.status) == [one.summary()["status"], "remaining"]
    assert df[FINAL].iloc[0] == pytest.approx(one.summary()[FINAL]) and np.isnan(df[FINAL].iloc[1])
    groups = export.sweep_groups_table(path, root)
    assert len(groups) == 2


def test_study_tables_read_what_the_study_runner_writes(tmp_path):
    from rnnlab.studies.runner import _finite, _json

    table = pd.DataFrame({"condition": ["a", "b"], "seed": [0, 1], "status": ["converged", "failed"],
                          "metric": [0.5, float("nan")]})
    groups = pd.DataFrame({"condition": ["a", "b"], "networks": [1, 1]})
    claims = pd.DataFrame({"id": ["c1", "c2"], "value": [0.25, float("nan")], "p": [0.01, float("nan")],
                           "outcome": ["pass", "inconclusive"], "needs": [["metric"], ["metric"]]})
    (tmp_path / "claims.json").write_text(json.dumps(_finite(claims.to_dict(orient="records")), default=_json))
    table.to_csv(tmp_path / "table.csv", index=False)
    groups.to_csv(tmp_path / "groups.csv", index=False)
    got = export.study_tables(tmp_path)
    pd.testing.assert_frame_equal(got.table, table, check_dtype=False)
    pd.testing.assert_frame_equal(got.groups, groups, check_dtype=False)
    pd.testing.assert_frame_equal(got.claims, claims, check_dtype=False)
    (tmp_path / "groups.csv").unlink()
    with pytest.raises(ConfigError, match=r"groups\.csv"):
        export.study_tables(tmp_path)


def test_run_without_weights_is_named(tmp_path):
    r = create_run(CFG, tmp_path)
    with pytest.raises(CheckpointError, match="no trained weights"):
        export.run_activity(r.id, 2, root=tmp_path)
