"""Ensembles spread over several local devices train exactly as on one device, and
``use_host_devices`` makes those devices on a CPU."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from rnnlab import use_host_devices

_CHILD = """
import json, os, sys
import rnnlab
rnnlab.use_host_devices(int(sys.argv[1]), replace=True)
import jax, numpy as np
from rnnlab import models, tasks
from rnnlab.train import train
task = tasks.get("flipflop", n_bits=2, n_steps=20)
res = train(models.config("leaky_rnn", hidden_size=8), task, key=3, ensemble=4, steps=6, eval_every=3,
            batch_size=8, eval_batch_size=16, lr=1e-2, progress=False)
W = res.model.W

import equinox as eqx
from rnnlab.train import TrainConfig, loop

def compacted(E):  # the rows an ensemble of E trains once only member 0 is still training
    st = loop.initial_state(models.config("leaky_rnn", hidden_size=8), task, TrainConfig(ensemble=E, steps=6),
                            jax.random.PRNGKey(0))
    st = eqx.tree_at(lambda s: s.done, loop.shard_members(st, E), jax.numpy.arange(E) > 0)
    rows = loop._training_rows(st, 6)
    return None if rows is None else rows.tolist()

print(json.dumps({"devices": len(jax.devices()), "flags": os.environ["XLA_FLAGS"],
                  "shards": len({s.device for s in W.addressable_shards}), "W": np.asarray(W).tolist(),
                  "loss": res.history.train_loss,
                  "compacted": {E: compacted(E) for E in (3, 4)}}))
"""


def _python(code: str, *args, xla_flags: str = "") -> str:
    env = {**os.environ, "XLA_FLAGS": xla_flags}
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def _train_with(devices: int) -> dict:
    return json.loads(_python(_CHILD, devices))


def test_members_sharded_over_two_host_devices_match_one_device():
    one, two = _train_with(1), _train_with(2)
    assert one["devices"] == 1 and two["devices"] == 2
    assert two["shards"] == 2  # the members really were split over both devices
    np.testing.assert_allclose(two["W"], one["W"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-5)
    assert "--xla_cpu_multi_thread_eigen=false" in two["flags"]
    # members still training train alone (``loop._training_rows``) unless they are sharded: on
    # two devices an ensemble of 4 is split over both and keeps its layout; one of 3 is not split
    assert one["compacted"] == {"3": [0], "4": [0]}
    assert two["compacted"] == {"3": [0], "4": None}


def test_use_host_devices_keeps_a_count_the_user_set_and_defaults_to_the_cores():
    code = "import rnnlab, jax; n = rnnlab.use_host_devices(); print(n, len(jax.devices('cpu')))"
    assert _python(code, xla_flags="--xla_force_host_platform_device_count=3") == "3 3"
    cores = len(os.sched_getaffinity(0))
    assert _python(code) == f"{cores} {cores}"


def test_use_host_devices_after_jax_started_is_refused_clearly():
    code = (
        "import jax, rnnlab; jax.numpy.zeros(1)\n"
        "try:\n    rnnlab.use_host_devices(len(jax.devices('cpu')) + 1)\n"
        "except RuntimeError as e:\n    print('refused:', e)\n"
        "print('same count ok:', rnnlab.use_host_devices(len(jax.devices('cpu'))))"
    )
    env = {**os.environ, "XLA_FLAGS": ""}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert "refused: use_host_devices: JAX has already started with 1 CPU device(s)" in out
    assert "same count ok: 1" in out
    with pytest.raises(ValueError, match="n: must be >= 1"):
        use_host_devices(0)


def test_core_shares_split_the_cores_into_disjoint_near_equal_sets():
    from rnnlab._host_devices import core_shares

    cores = set(os.sched_getaffinity(0))
    for n in (1, 2, 3, len(cores) + 2):
        shares = core_shares(n)
        assert len(shares) == min(n, len(cores))
        assert set().union(*shares) == cores  # every core used once ...
        assert sum(map(len, shares)) == len(cores)  # ... and no core twice
        assert max(map(len, shares)) - min(map(len, shares)) <= 1


def _worker_placement(_):
    import time

    time.sleep(1.5)  # keep this worker busy so that the other task goes to the other worker
    return os.getpid(), sorted(os.sched_getaffinity(0)), os.environ["XLA_FLAGS"]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two cores")
def test_sweep_workers_run_on_disjoint_cores_with_one_device_per_core():
    from rnnlab.sweep.executors import _worker_pool

    with _worker_pool(2) as pool:
        placed = list(pool.map(_worker_placement, range(2)))
    (pid_a, cores_a, flags_a), (pid_b, cores_b, flags_b) = placed
    assert pid_a != pid_b
    assert not set(cores_a) & set(cores_b)
    assert set(cores_a) | set(cores_b) == set(os.sched_getaffinity(0))
    for cores, flags in ((cores_a, flags_a), (cores_b, flags_b)):
        assert f"--xla_force_host_platform_device_count={len(cores)}" in flags
