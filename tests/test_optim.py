"""Learning-rate schedules of ``make_optimizer``, checked against the closed-form cosine decay."""

import jax.numpy as jnp
import numpy as np
import pytest

from rnnlab.train import TrainConfig, make_optimizer


@pytest.mark.parametrize("final", [0.0, 0.1])
def test_cosine_schedule_decays_adam_steps_from_lr_to_final_fraction(final):
    steps, lr = 50, 0.02
    opt = make_optimizer(TrainConfig(lr=lr, lr_schedule="cosine", lr_final=final, steps=steps, clip=None))
    params = {"w": jnp.zeros(3)}
    state = opt.init(params)
    sizes = []
    for _ in range(steps + 5):
        # a constant gradient makes Adam's normalised step m̂/√v̂ equal to 1, so |update| = lr(t)
        upd, state = opt.update({"w": jnp.ones(3)}, state, params)
        sizes.append(float(-upd["w"][0]))
    t = np.minimum(np.arange(steps + 5), steps)
    expected = lr * (final + (1 - final) * 0.5 * (1 + np.cos(np.pi * t / steps)))
    np.testing.assert_allclose(sizes, expected, rtol=1e-4, atol=1e-9)


def test_constant_schedule_is_the_default():
    opt = make_optimizer(TrainConfig(lr=0.01, clip=None))
    params = {"w": jnp.zeros(2)}
    state = opt.init(params)
    for _ in range(20):
        upd, state = opt.update({"w": jnp.ones(2)}, state, params)
        np.testing.assert_allclose(-upd["w"], 0.01, rtol=1e-4)


def test_bad_schedule_is_named():
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="step")
