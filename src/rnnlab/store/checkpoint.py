"""Checkpoints: Equinox leaf serialisation (no pickle) plus a JSON sidecar, written atomically.

``checkpoint.eqx`` holds the arrays of the ``TrainState`` (model, optimiser state, keys,
counters) in the order of a skeleton rebuilt from the run's config; ``checkpoint.json``
holds the history, the evaluation counter and a SHA-256 of the ``.eqx`` file, so that a
truncated or mismatched pair is detected and reported by file name.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import equinox as eqx

from ..errors import CheckpointError
from ..train import Checkpoint, History, TrainState
from ._atomic import write_atomic, write_text_atomic

STATE_FILE = "checkpoint.eqx"
META_FILE = "checkpoint.json"


def save_checkpoint(run_dir: Path, ckpt: Checkpoint) -> None:
    """Write ``ckpt`` into ``run_dir`` (the ``.eqx`` first, then the sidecar that vouches for it)."""
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, ckpt.state)
    data = buf.getvalue()
    write_atomic(run_dir / STATE_FILE, lambda f: f.write(data))
    meta = {"n_evals": ckpt.n_evals, "sha256": hashlib.sha256(data).hexdigest(), "history": ckpt.history.to_dict()}
    write_text_atomic(run_dir / META_FILE, json.dumps(meta))


def load_checkpoint(run_dir: Path, skeleton: TrainState) -> Checkpoint:
    """Read the checkpoint of ``run_dir`` into the structure of ``skeleton``.

    Raises:
        CheckpointError: a file is missing, unreadable, or does not match the config.
    """
    state_path, meta_path = run_dir / STATE_FILE, run_dir / META_FILE
    for p in (state_path, meta_path):
        if not p.is_file():
            raise CheckpointError(f"{p}: checkpoint file missing (nothing to resume from)")
    try:
        meta = json.loads(meta_path.read_text())
        n_evals, digest, history = meta["n_evals"], meta["sha256"], History.from_dict(meta["history"])
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{meta_path}: corrupt checkpoint metadata ({e.__class__.__name__})") from None
    data = state_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        raise CheckpointError(f"{state_path}: corrupt checkpoint (checksum does not match {meta_path.name})")
    try:
        state = eqx.tree_deserialise_leaves(io.BytesIO(data), skeleton)
    except Exception as e:  # equinox raises several types for a structure mismatch
        raise CheckpointError(f"{state_path}: checkpoint does not match the run's config ({e})") from None
    return Checkpoint(state=state, history=history, n_evals=n_evals)
