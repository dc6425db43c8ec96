"""Atomic file writes: write to a temporary file in the same folder, fsync, rename, fsync the folder.

After ``write_atomic`` returns, ``path`` holds the new bytes in full and a crash (a killed
process or, thanks to the two fsyncs, a power loss) leaves either the old file or the new one,
never a mixture; a crash before the rename can leave a ``.<name>.*.tmp`` file behind. A write
that fails (a full disk, a read-only folder) removes its temporary file, leaves the old file
as it was and raises ``StoreWriteError`` naming the file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, IO

from ..errors import StoreWriteError
from ._faults import disk_full_point


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (best effort: not every platform opens folders)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, write: Callable[[IO[bytes]], None], before_replace: Callable[[], None] | None = None) -> None:
    """Call ``write(f)`` on a temporary file, then atomically replace ``path`` with it.

    ``before_replace`` is called with the temporary file complete and not yet renamed
    (the store's fault-injection hook, ``_faults.fault_point``).
    """
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            disk_full_point(path.name)
            os.fsync(f.fileno())
        if before_replace is not None:
            before_replace()
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise StoreWriteError(f"{path}: could not be written ({e.strerror or e.__class__.__name__}); "
                                  "its previous version is kept") from e
        raise
    _fsync_dir(path.parent)


def write_text_atomic(path: Path, text: str, before_replace: Callable[[], None] | None = None) -> None:
    write_atomic(path, lambda f: f.write(text.encode()), before_replace)
