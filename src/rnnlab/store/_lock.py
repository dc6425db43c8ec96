"""The training lock of a run directory, and SIGTERM as an interrupt while a run trains.

``run.lock`` holds the owner's PID and host while ``execute`` trains the run. Ownership is an
exclusive ``fcntl.flock`` on the open file, which the kernel drops when the owner's process
ends however it ends (``kill -9`` included), so a lock cannot go stale: a dead owner's file
is simply free to take. The PID and host in the file only name the owner in the refusal.

Releasing unlinks the file, then unlocks. A process that opened the old file before the
unlink could then lock that unlinked inode while a third locks a new ``run.lock``; so a taker
keeps the lock only if the file it locked is still the one at the path (same inode), and
tries again otherwise (the usual flock-and-unlink protocol).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import threading
from pathlib import Path
from typing import Iterator

from ..errors import ConfigError

LOCK_FILE = "run.lock"


class Terminated(KeyboardInterrupt):
    """SIGTERM received while a run trained; handled as Ctrl-C (``KeyboardInterrupt``)."""


def _owner(path: Path) -> str:
    try:
        text = path.read_text().split()
    except OSError:
        text = []
    return f"PID {text[0]} on {text[1]}" if len(text) >= 2 else "PID unknown (lock file being written)"


def _take(path: Path, run_id: str) -> int:
    """Lock ``path`` (created if missing) and write ``"<pid> <host>"`` into it; return its fd."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(f"run '{run_id}' is being trained by {_owner(path)} ({path}); "
                              "wait for it to end or stop that process") from None
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
            return fd
        os.close(fd)  # the owner released and unlinked it between our open and our lock


@contextlib.contextmanager
def run_lock(run_dir: Path, run_id: str) -> Iterator[None]:
    """Hold ``<run_dir>/run.lock`` for the duration of the block.

    Raises:
        ConfigError: a live process holds the lock (one line naming the run and its PID).
    """
    path = Path(run_dir) / LOCK_FILE
    fd = _take(path, run_id)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)  # closing the last descriptor releases the flock


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """Within the block, SIGTERM raises ``Terminated`` (a ``KeyboardInterrupt``), once; further
    SIGTERMs during the clean-up are ignored. Installed only in the main thread (Python lets
    no other thread set handlers); the previous handler is restored on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = []

    def handler(signum, frame):
        if not fired:
            fired.append(signum)
            raise Terminated(f"signal {signal.Signals(signum).name}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
