"""Run-page trial figures: a multi-head cross-entropy task gets one row per scored head, whose
points are the probability of the correct class computed independently from the outputs."""

import jax
import matplotlib
import numpy as np

import rnnlab
from rnnlab.report import figures

matplotlib.use("Agg")


def test_multi_head_trials_have_one_row_per_scored_head(tmp_path, monkeypatch):
    task = rnnlab.tasks.get("nparity", n=4, heads="multi")
    model = rnnlab.models.config("leaky_rnn", hidden_size=8).build(task.n_inputs, task.n_outputs,
                                                                   jax.random.PRNGKey(0))
    batch = task.sample(jax.random.PRNGKey(1), 2)
    _, outputs = rnnlab.models.run(model, batch.inputs, jax.random.PRNGKey(2))
    grids = []
    save = figures._save
    monkeypatch.setattr(figures, "_save", lambda fig, path, tight=False: (grids.append(fig), save(fig, path))[1])
    figures.example_trials(model, task, None, tmp_path / "trials.png", n=2, batch=batch, outputs=outputs)
    fig = grids[0]
    axes = np.asarray(fig.axes).reshape(5, 2)  # inputs + one row per head N = 1..4, two trials
    assert [ax.get_ylabel().split("\n")[0] for ax in axes[1:, 0]] == ["N=1", "N=2", "N=3", "N=4"]
    # the plotted points are P(correct class) at the scored steps, from a plain softmax
    logits = np.asarray(outputs)[0].reshape(task.n_steps, 4, 2)
    p = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    onehot = np.asarray(batch.targets)[0].reshape(task.n_steps, 4, 2)
    scored = np.asarray(batch.mask)[0].reshape(task.n_steps, 4, 2)[..., 0] > 0
    for h in range(4):
        want = np.sort((p * onehot).sum(-1)[scored[:, h], h])
        got = np.sort(np.concatenate([c.get_offsets()[:, 1] for c in axes[1 + h, 0].collections
                                      if hasattr(c, "get_offsets") and c.get_offsets().shape[1] == 2
                                      and type(c).__name__ == "PathCollection"]))
        np.testing.assert_allclose(got, want, rtol=1e-5)
    assert (tmp_path / "trials.png").stat().st_size > 0
