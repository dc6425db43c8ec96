"""Checkpoints (versioned pairs, committed by one atomic rename) and checksummed files.

A checkpoint is two files::

    checkpoint-<k>.eqx   the arrays of the ``TrainState`` (model, optimiser state, keys,
                         counters) in the order of a skeleton rebuilt from the run's config;
                         k = 1, 2, ...: every save writes a new name, never over the last one
    checkpoint.json      {"format": 2, "file": "checkpoint-<k>.eqx", "sha256": <of that file>,
                          "n_evals", "history", "meta_sha256": <of the other fields>}

``save_checkpoint`` writes (1) the new ``.eqx`` (atomically, ``_atomic.write_atomic``), then
(2) ``checkpoint.json`` by one atomic rename, the commit point, then (3) deletes the older
``.eqx`` files and stale temporary files. At every instant ``checkpoint.json`` names a complete
``.eqx`` that is still on disk and holds its SHA-256: before (2) the previous pair (its
``.eqx`` is deleted only in (3)), from (2) on the new one. So a crash anywhere leaves the last
committed checkpoint, or the new one, intact; the loader needs no fall-back, as the only
pair ``checkpoint.json`` can name is complete (an unnamed ``.eqx`` is a save that never
committed and is deleted by the next one). ``meta_sha256`` is the SHA-256 of the other fields
as canonical JSON (sorted keys, no spaces; Python's JSON writes floats in shortest round-trip
form, so re-encoding the parsed fields gives the same bytes), so a changed byte in the history
is caught too.

Format 1 (run directories written before): ``checkpoint.eqx`` and a ``checkpoint.json``
without ``format``/``file``/``meta_sha256``; read as before (the ``.eqx`` checked against the
JSON's digest; the JSON itself unverified). A resumed run's first save replaces it by format 2.

Other files of a run (``config.yaml``, ``model.eqx``, ``history.json``, ``summary.json``,
``initial_model.eqx``, the curriculum stage models ``stages/*.eqx``) are written by
``write_checked``: ``<file>.sha256`` in ``sha256sum`` format (``<hex digest>  <name>``, so
``sha256sum -c`` checks it too) first, then the file, each atomically; ``read_verified``
checks the digest before anything is parsed. A crash between the two leaves a digest without
its file (or, for a file being replaced, the new digest beside the old file): reported as
missing or corrupt, never read as valid.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import equinox as eqx

from ..errors import CheckpointError
from ..train import Checkpoint, History, TrainState
from ._atomic import write_atomic, write_text_atomic
from ._faults import fault_point

STATE_FILE = "checkpoint.eqx"  # format 1 (legacy) state file
META_FILE = "checkpoint.json"
FORMAT = 2
_VERSIONED = re.compile(r"checkpoint-(\d+)\.eqx")


def serialise(tree: Any) -> bytes:
    """The Equinox leaf serialisation of ``tree`` (arrays only; never pickle)."""
    buf = io.BytesIO()
    eqx.tree_serialise_leaves(buf, tree)
    return buf.getvalue()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def digest_path(path: Path) -> Path:
    """``<path>.sha256``, the checksum file of ``path``."""
    return path.with_name(path.name + ".sha256")


def _digest_line(path: Path, data: bytes) -> bytes:
    return f"{_sha256(data)}  {path.name}\n".encode()


def write_checked(path: Path, data: bytes) -> None:
    """Write the SHA-256 of ``data`` to ``<path>.sha256``, then ``data`` to ``path``, each atomically."""
    write_atomic(digest_path(path), lambda f: f.write(_digest_line(path, data)))
    fault_point("write", path.name)
    write_atomic(path, lambda f: f.write(data))


def read_verified(path: Path, required: bool = True) -> bytes:
    """The bytes of ``path``, checked against ``<path>.sha256`` (which must hold exactly the
    line ``<hex digest>  <name>``, so that a changed byte in it is caught too).

    Without a checksum file the bytes are returned unverified if ``required`` is False (run
    directories written before checksums existed), else it is an error.

    Raises:
        CheckpointError: naming ``path``: it is missing, its checksum file is missing
            (``required``), or the digest does not match.
    """
    digest = digest_path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: file missing")
    data = path.read_bytes()
    if not digest.is_file():
        if required:
            raise CheckpointError(f"{path}: checksum file {digest.name} missing")
        return data
    if digest.read_bytes() != _digest_line(path, data):
        raise CheckpointError(f"{path}: corrupt file (checksum does not match {digest.name})")
    return data


def _deserialise(path: Path, data: bytes, skeleton: Any, what: str = "weights") -> Any:
    try:
        return eqx.tree_deserialise_leaves(io.BytesIO(data), skeleton)
    except Exception as e:  # equinox raises several types for a structure mismatch
        first = (str(e).splitlines() or [e.__class__.__name__])[0]
        raise CheckpointError(f"{path}: {what} do not match the run's config ({first})") from None


def read_checked(path: Path, skeleton: Any, required: bool = True) -> Any:
    """Read a file written by ``write_checked`` into the structure of ``skeleton``.

    Raises:
        CheckpointError: naming ``path``, if it or (``required``) its digest is missing, the
            digest does not match, or the arrays do not fit ``skeleton``.
    """
    return _deserialise(path, read_verified(path, required), skeleton)


def _meta_digest(body: dict[str, Any]) -> str:
    return _sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def _versions(run_dir: Path) -> dict[int, Path]:
    """The versioned state files ``checkpoint-<k>.eqx`` of ``run_dir``, by ``k``."""
    out = {}
    for p in run_dir.glob("checkpoint-*.eqx"):
        m = _VERSIONED.fullmatch(p.name)
        if m:
            out[int(m.group(1))] = p
    return out


def _clean(run_dir: Path, keep: str) -> None:
    """Delete every state file but ``keep`` (older versions, a format-1 ``checkpoint.eqx``)
    and temporary files that a crashed save left behind."""
    for p in [*_versions(run_dir).values(), run_dir / STATE_FILE,
              *run_dir.glob(".checkpoint*.tmp")]:
        if p.name != keep:
            p.unlink(missing_ok=True)


def save_checkpoint(run_dir: Path, ckpt: Checkpoint) -> None:
    """Write ``ckpt`` into ``run_dir`` as a new versioned pair; see the module docstring for the order.

    Fault points (``_faults``): ``checkpoint:begin``, ``state-tmp`` (new ``.eqx`` written, not
    renamed), ``state`` (renamed), ``meta-tmp`` (new JSON written, not renamed), ``meta``
    (committed, older files not deleted), ``done``.
    """
    data = serialise(ckpt.state)
    fault_point("checkpoint", "begin")
    name = f"checkpoint-{max(_versions(run_dir), default=0) + 1}.eqx"
    write_atomic(run_dir / name, lambda f: f.write(data), lambda: fault_point("checkpoint", "state-tmp"))
    fault_point("checkpoint", "state")
    body = {"format": FORMAT, "file": name, "sha256": _sha256(data), "n_evals": ckpt.n_evals,
            "history": ckpt.history.to_dict()}
    write_text_atomic(run_dir / META_FILE, json.dumps({**body, "meta_sha256": _meta_digest(body)}),
                      lambda: fault_point("checkpoint", "meta-tmp"))
    fault_point("checkpoint", "meta")
    _clean(run_dir, keep=name)
    fault_point("checkpoint", "done")


def has_checkpoint(run_dir: Path) -> bool:
    """Whether a checkpoint was ever committed in ``run_dir`` (its ``checkpoint.json`` exists)."""
    return (run_dir / META_FILE).is_file()


def read_meta(run_dir: Path) -> dict[str, Any]:
    """The checkpoint metadata of ``run_dir``, verified: ``file`` (the state file's name),
    ``sha256``, ``n_evals`` and ``history`` (a dict). Format 1 reads back unverified.

    Raises:
        CheckpointError: ``checkpoint.json`` is missing, unreadable or fails its checksum.
    """
    meta_path = run_dir / META_FILE
    if not meta_path.is_file():
        raise CheckpointError(f"{meta_path}: checkpoint file missing (nothing to resume from)")
    try:
        meta = json.loads(meta_path.read_text())
        if "format" in meta:
            body = {k: v for k, v in meta.items() if k != "meta_sha256"}
            if _meta_digest(body) != meta["meta_sha256"]:
                raise CheckpointError(f"{meta_path}: corrupt checkpoint metadata (checksum does not match)")
        meta.setdefault("file", STATE_FILE)
        if not (isinstance(meta["file"], str) and (meta["file"] == STATE_FILE or _VERSIONED.fullmatch(meta["file"]))):
            raise ValueError("state file name")
        meta["n_evals"], meta["sha256"], meta["history"] = int(meta["n_evals"]), str(meta["sha256"]), dict(meta["history"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{meta_path}: corrupt checkpoint metadata ({e.__class__.__name__})") from None
    return meta


def load_checkpoint(run_dir: Path, skeleton: TrainState) -> Checkpoint:
    """Read the checkpoint of ``run_dir`` (either format) into the structure of ``skeleton``.

    Raises:
        CheckpointError: naming the file that is missing, unreadable, fails its checksum or
            does not match the config.
    """
    meta = read_meta(run_dir)
    meta_path, state_path = run_dir / META_FILE, run_dir / meta["file"]
    try:
        history = History.from_dict(meta["history"])
    except TypeError as e:
        raise CheckpointError(f"{meta_path}: corrupt checkpoint metadata ({e.__class__.__name__})") from None
    if not state_path.is_file():
        raise CheckpointError(f"{state_path}: checkpoint file missing (named by {META_FILE})")
    data = state_path.read_bytes()
    if _sha256(data) != meta["sha256"]:
        raise CheckpointError(f"{state_path}: corrupt checkpoint (checksum does not match {META_FILE})")
    state = _deserialise(state_path, data, skeleton, "checkpoint arrays")
    return Checkpoint(state=state, history=history, n_evals=meta["n_evals"])
