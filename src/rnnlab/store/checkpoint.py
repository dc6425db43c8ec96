"""Checkpoints: Equinox leaf serialisation (no pickle) plus a JSON sidecar, written atomically.

``checkpoint.eqx`` holds the arrays of the ``TrainState`` (model, optimiser state, keys,
counters) in the order of a skeleton rebuilt from the run's config; ``checkpoint.json``
holds the history, the evaluation counter and a SHA-256 of the ``.eqx`` file, so that a
truncated or mismatched pair is detected and reported by file name.

Other weight files of a run (``initial_model.eqx``, the curriculum stage models
``stages/*.eqx``) are written by ``write_checked``: the file, then ``<file>.sha256`` in
``sha256sum`` format (``<hex digest>  <name>``, so ``sha256sum -c`` checks it too);
``read_checked`` verifies the digest before anything is deserialised.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import equinox as eqx

from ..errors import CheckpointError
from ..train import Checkpoint, History, TrainState
from ._atomic import write_atomic, write_text_atomic

STATE_FILE = "checkpoint.eqx"
META_FILE = "checkpoint.json"


def serialise(tree: Any) -> bytes:
    """The Equinox leaf serialisation of ``tree`` (arrays only; never pickle)."""
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, tree)
    return buf.getvalue()


def _digest_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def write_checked(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` and its SHA-256 to ``<path>.sha256``, each atomically."""
    write_atomic(path, lambda f: f.write(data))
    write_text_atomic(_digest_path(path), f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")


def read_checked(path: Path, skeleton: Any) -> Any:
    """Read a file written by ``write_checked`` into the structure of ``skeleton``.

    Raises:
        CheckpointError: naming ``path``, if it or its digest is missing, the digest does not
            match, or the arrays do not fit ``skeleton``.
    """
    digest_path = _digest_path(path)
    for p in (path, digest_path):
        if not p.is_file():
            raise CheckpointError(f"{p}: file missing")
    data = path.read_bytes()
    expected = (digest_path.read_text().split() or [""])[0]
    if hashlib.sha256(data).hexdigest() != expected:
        raise CheckpointError(f"{path}: corrupt file (checksum does not match {digest_path.name})")
    try:
        return eqx.tree_deserialise_leaves(io.BytesIO(data), skeleton)
    except Exception as e:  # equinox raises several types for a structure mismatch
        raise CheckpointError(f"{path}: weights do not match the run's config ({e})") from None


def save_checkpoint(run_dir: Path, ckpt: Checkpoint) -> None:
    """Write ``ckpt`` into ``run_dir`` (the ``.eqx`` first, then the sidecar that vouches for it)."""
    data = serialise(ckpt.state)
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
