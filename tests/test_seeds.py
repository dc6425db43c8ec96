"""One seed, one run: the command line and Python train the same network from the same seed,
and a seed maps to its keys as documented (``PRNGKey(seed)``; init from ``fold_in(key, 0)``)."""

import os
import subprocess
import sys

import equinox as eqx
import jax
import numpy as np
import pytest

import rnnlab
from rnnlab import models, tasks
from rnnlab.config import parse_config
from rnnlab.errors import ConfigError
from rnnlab.store import open_run

# The same settings as `rnnlab train --task flipflop --hidden-size 8 --steps 50 --seed 0`, every
# other setting at its default (the CLI's defaults are TrainConfig's).
_PYTHON = """
import sys
import equinox as eqx, jax, rnnlab
from rnnlab import models, tasks

result = rnnlab.train(models.config("leaky_rnn", hidden_size=8), tasks.get("flipflop"), key=0, steps=50,
                      progress=False)
eqx.tree_serialise_leaves(sys.argv[1], result.model)
print(jax.devices())
"""


def _arrays(model) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(eqx.filter(model, eqx.is_array))]


def test_command_line_and_python_train_the_same_network_from_one_seed(tmp_path):
    # Each in a process of its own, as a user runs them, with no XLA flags from outside.
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    cli = subprocess.run([sys.executable, "-c", "from rnnlab.cli import main; main()", "train", "--task", "flipflop",
                          "--hidden-size", "8", "--steps", "50", "--seed", "0", "--out", str(tmp_path / "runs"),
                          "--no-progress"], env=env, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr[-2000:]
    py = subprocess.run([sys.executable, "-c", _PYTHON, str(tmp_path / "python.eqx")], env=env,
                        capture_output=True, text=True, timeout=300)
    assert py.returncode == 0, py.stderr[-2000:]
    (run_dir,) = [p.parent for p in (tmp_path / "runs").glob("*/model.eqx")]
    from_cli = open_run(str(run_dir)).load_model()
    from_python = eqx.tree_deserialise_leaves(tmp_path / "python.eqx", from_cli)
    a, b = _arrays(from_cli), _arrays(from_python)
    assert len(a) == len(b) > 0
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("seed", [0, 7])
def test_initial_network_is_built_from_fold_in_of_the_seed_key(seed):
    cfg, task = models.config("leaky_rnn", hidden_size=5), tasks.get("flipflop")
    result = rnnlab.train(cfg, task, key=seed, steps=1, eval_every=1, eval_batch_size=4, batch_size=2, progress=False)
    expected = cfg.build(task.n_inputs, task.n_outputs, jax.random.fold_in(jax.random.PRNGKey(seed), 0))
    for x, y in zip(_arrays(result.initial_model), _arrays(expected)):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_seed_outside_the_key_range_is_refused(seed):
    # PRNGKey keeps a seed's low 32 bits, so -1 and 2**32 would repeat the runs of 2**32 - 1 and 0.
    assert np.array_equal(jax.random.PRNGKey(seed), jax.random.PRNGKey(seed % 2**32))
    with pytest.raises(ConfigError, match="seed"):
        parse_config({"task": {"name": "flipflop"}, "seed": seed})
    assert parse_config({"task": {"name": "flipflop"}, "seed": seed % 2**32}).seed == seed % 2**32


@pytest.mark.parametrize("given, kept", [("", "--xla_cpu_multi_thread_eigen=false"),
                                         ("--xla_cpu_multi_thread_eigen=true", "--xla_cpu_multi_thread_eigen=true")])
def test_import_turns_eigen_threads_off_unless_xla_flags_choose(given, kept):
    code = "import os, rnnlab, jax; jax.numpy.zeros(1); print(os.environ['XLA_FLAGS'])"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "XLA_FLAGS": given},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == kept
