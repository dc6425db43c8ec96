"""The unit of work of a sweep: train one group (runs differing only in seed) as one program.

``train_group`` is a plain function of plain data, so it runs the same in a local worker
process or as a Ray task; it returns, per run, the serialised weights (Equinox leaves, no
pickle) of the trained, the initial and (with a curriculum) each stage model, the history and
the summary. Only the driver writes files and the catalog.
"""

from __future__ import annotations

import traceback
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..config import parse_config
from ..errors import NonFiniteLossError
from ..store.checkpoint import serialise
from ..store.run import run_summary
from ..train import member, train


def train_group(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """Train ``payload["runs"]`` (``[(run_id, config_dict), ...]``, equal but for the seed).

    One run trains alone; several train as one ensemble whose member keys are the runs'
    ``PRNGKey(seed)``, so each member equals the run trained on its own. Each result is
    ``{id, model, initial_model, stage_models: {N: bytes}, history, summary}`` (only ``id`` and
    ``summary`` for a group that could not train); the summary's status is the member's
    (``converged``, ``budget`` or ``failed``).
    """
    items = [(rid, parse_config(c)) for rid, c in payload["runs"]]
    cfg0 = items[0][1]
    task, model_cfg = cfg0.build_task(), cfg0.build_model_config()
    E = len(items)
    keys = jnp.stack([jax.random.PRNGKey(c.seed) for _, c in items])
    train_cfg = cfg0.train.model_copy(update={"ensemble": E if E > 1 else None})
    try:
        fit = train
        if train_cfg.continual is not None:  # learn the multitask's sub-tasks one after another
            from ..continual import train_continual as fit
        result = fit(model_cfg, task, train_cfg, key=keys if E > 1 else keys[0], progress=False)
    except NonFiniteLossError as err:
        result = err.result
    except Exception:  # a broken group must not take the sweep down: report it per run
        msg = traceback.format_exc(limit=3)
        return [{"id": rid, "summary": {"status": "failed", "error": msg}} for rid, _ in items]
    out = []
    for e, (rid, cfg) in enumerate(items):
        hist = result.history.member(e) if E > 1 else result.history
        model, initial = ((member(result.model, e), member(result.initial_model, e)) if E > 1
                          else (result.model, result.initial_model))
        summary = run_summary(cfg, hist)
        summary = {k: (float(v) if isinstance(v, np.floating) else v) for k, v in summary.items()}
        out.append({"id": rid, "model": serialise(model), "initial_model": serialise(initial),
                    "stage_models": {n: serialise(m) for n, m in result.stage_models(e).items()},
                    "history": hist.to_dict(), "summary": summary})
    return out
