"""Ensembles spread over several local devices train exactly as on one device."""

import json
import os
import subprocess
import sys

import numpy as np

_CHILD = """
import json, sys
import jax, numpy as np
from rnnlab import models, tasks
from rnnlab.train import train
task = tasks.get("flipflop", n_bits=2, n_steps=20)
res = train(models.config("leaky_rnn", hidden_size=8), task, key=3, ensemble=4, steps=6, eval_every=3,
            batch_size=8, eval_batch_size=16, lr=1e-2, progress=False)
W = res.model.W
print(json.dumps({"devices": len(jax.devices()), "shards": len({s.device for s in W.addressable_shards}),
                  "W": np.asarray(W).tolist(), "loss": res.history.train_loss}))
"""


def _train_with(devices: int) -> dict:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}"}
    out = subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_members_sharded_over_two_host_devices_match_one_device():
    one, two = _train_with(1), _train_with(2)
    assert one["devices"] == 1 and two["devices"] == 2
    assert two["shards"] == 2  # the members really were split over both devices
    np.testing.assert_allclose(two["W"], one["W"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-5)
