"""The run page's fixed-margin layout (``figures.place_grid``): the axes sit where the margins in
inches put them, and every label, tick label and title of the drawn figures (loss, trials, τ,
spikes) lies inside the canvas and clear of its neighbours (what a layout engine would have
ensured)."""

import jax
import matplotlib
import numpy as np
import pytest

import rnnlab
from rnnlab.report import figures
from rnnlab.train import History

matplotlib.use("Agg")
plt = figures.plt


def test_place_grid_puts_margins_and_gaps_in_inches():
    fig, axes = plt.subplots(3, 2, figsize=(7.0, 6.0), gridspec_kw={"height_ratios": [2, 1, 1]})
    figures.place_grid(fig, left=0.9, right=0.3, top=0.5, bottom=0.7, wgap=1.1, hgap=0.4)
    box = [[fig.dpi_scale_trans.inverted().transform_bbox(fig.transFigure.transform_bbox(ax.get_position()))
            for ax in row] for row in axes]
    assert box[0][0].x0 == pytest.approx(0.9)
    assert 7.0 - box[0][1].x1 == pytest.approx(0.3)
    assert 6.0 - box[0][0].y1 == pytest.approx(0.5)
    assert box[2][0].y0 == pytest.approx(0.7)
    assert box[0][1].x0 - box[0][0].x1 == pytest.approx(1.1)
    assert box[0][0].y0 - box[1][0].y1 == pytest.approx(0.4)
    assert box[1][0].y0 - box[2][0].y1 == pytest.approx(0.4)
    assert box[0][0].height == pytest.approx(2 * box[1][0].height)  # height ratios kept
    plt.close(fig)


def _drawn(monkeypatch, draw, module=figures):
    """The figures ``draw()`` saves (through ``module._save``), drawn and kept open."""
    kept = []
    save = module._save

    def keep(fig, path, tight=False):
        out = save(fig, path, tight)
        fig.canvas.draw()  # again at the figure's own dpi: saving placed the labels at the file's
        kept.append(fig)
        return out

    monkeypatch.setattr(module, "_save", keep)
    monkeypatch.setattr(figures.plt, "close", lambda fig=None: None)
    draw()
    return kept


def _tick_labels(axis):
    """The tick labels Matplotlib draws: those of ticks inside the view limits (major and minor)."""
    lo, hi = sorted(axis.get_view_interval())
    return [lab for minor in (False, True)
            for loc, lab in zip(axis.get_ticklocs(minor=minor), axis.get_ticklabels(minor=minor))
            if lo - 1e-9 * abs(hi - lo) <= loc <= hi + 1e-9 * abs(hi - lo) and lab.get_text().strip()]


def _texts(fig):
    """Every drawn text: the figure's (suptitle), the legends' and each axes' title, axis labels
    and tick labels."""
    out = list(fig.texts) + [t for leg in fig.legends for t in leg.get_texts()]
    for ax in fig.axes:
        out += [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.texts]
        out += [t for leg in ([ax.get_legend()] if ax.get_legend() else []) for t in leg.get_texts()]
        out += _tick_labels(ax.xaxis) + _tick_labels(ax.yaxis)
    r = fig.canvas.get_renderer()
    return [(t, t.get_window_extent(r)) for t in out if t.get_visible() and t.get_text().strip()]


def _assert_laid_out(fig):
    """Every text inside the canvas; each axes' y label left of its y tick labels and its title
    above the axes; no axes' y label or tick labels running into the axes on its left."""
    W, H = fig.bbox.width, fig.bbox.height
    for t, b in _texts(fig):
        assert b.x0 >= -1 and b.x1 <= W + 1 and b.y0 >= -1 and b.y1 <= H + 1, (t.get_text(), b)
    r = fig.canvas.get_renderer()
    for ax in fig.axes:
        ticks = [lab.get_window_extent(r) for lab in _tick_labels(ax.yaxis)]
        if ax.get_ylabel() and ticks:
            assert ax.yaxis.label.get_window_extent(r).x1 <= min(b.x0 for b in ticks) + 1, ax.get_ylabel()
        if ax.get_title():
            assert ax.title.get_window_extent(r).y0 >= ax.bbox.y1 - 1, ax.get_title()
        left = ticks + ([ax.yaxis.label.get_window_extent(r)] if ax.get_ylabel() else [])
        for other in fig.axes:
            beside = other.bbox.x1 <= ax.bbox.x0 and other.bbox.y0 < ax.bbox.y1 and other.bbox.y1 > ax.bbox.y0
            if beside and left:
                assert min(b.x0 for b in left) >= other.bbox.x1, (ax.get_ylabel(), other.get_ylabel())


@pytest.mark.parametrize("curriculum", [False, True])
@pytest.mark.parametrize("span", [(0.2, 0.7), (1e-5, 1.0)])  # under a decade (minor labels); many decades
def test_loss_figure_labels_fit(tmp_path, monkeypatch, curriculum, span):
    steps = list(range(100, 1300, 100))
    loss = np.geomspace(span[1], span[0], len(steps))
    h = History(n_members=1, metric_name="accuracy" if curriculum else "mse", step=steps,
                wall_time=[0.0] * len(steps), train_loss=[[v] for v in loss], eval_loss=[[v * 0.9] for v in loss],
                metric=[[v] for v in (np.linspace(0.5, 1, len(steps)) if curriculum else loss)],
                level=[[2 + i // 3] for i in range(len(steps))] if curriculum else [],
                stages=[{"member": 0, "n": 3, "step": 300, "taus": []}] if curriculum else [])
    (fig,) = _drawn(monkeypatch, lambda: figures.loss_curve(h, tmp_path / "loss.png"))
    _assert_laid_out(fig)


@pytest.mark.parametrize("task_args", [("flipflop", {"n_bits": 3}), ("flipflop", {"n_bits": 12}),
                                       ("nparity", {"n": 4, "heads": "multi"})])
def test_trial_figure_labels_fit(tmp_path, monkeypatch, task_args):
    name, params = task_args
    task = rnnlab.tasks.get(name, **params)
    model = rnnlab.models.config("leaky_rnn", hidden_size=8).build(task.n_inputs, task.n_outputs,
                                                                   jax.random.PRNGKey(0))
    batch = task.sample(jax.random.PRNGKey(1), 3)
    _, outputs = rnnlab.models.run(model, batch.inputs, jax.random.PRNGKey(2))
    (fig,) = _drawn(monkeypatch, lambda: figures.example_trials(model, task, None, tmp_path / "t.png",
                                                                batch=batch, outputs=outputs))
    _assert_laid_out(fig)


def test_tau_histogram_labels_fit(tmp_path, monkeypatch):
    taus = np.random.default_rng(0).uniform(1, 300, 500)
    (fig,) = _drawn(monkeypatch, lambda: figures.tau_histogram(taus, tmp_path / "taus.png", unit="ms"))
    _assert_laid_out(fig)


@pytest.mark.parametrize("task_name", ["flipflop", "perceptual_decision"])  # steps; ms (rates in Hz)
def test_spike_figure_labels_fit(tmp_path, monkeypatch, task_name):
    from rnnlab.report import spikes

    task = rnnlab.tasks.get(task_name)
    model = rnnlab.models.config("spiking_rnn", hidden_size=16).build(task.n_inputs, task.n_outputs,
                                                                      jax.random.PRNGKey(0))
    (fig,) = _drawn(monkeypatch, lambda: spikes.spike_figure(model, task, jax.random.PRNGKey(1),
                                                             tmp_path / "spikes.png", n_rate=8), spikes)
    _assert_laid_out(fig)
