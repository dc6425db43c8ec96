"""The training lock of a run directory, and SIGTERM as an interrupt while a run trains.

``run.lock`` holds the owner's PID and host while ``execute`` trains the run. Ownership is an
exclusive ``fcntl.flock`` on the open file, which the kernel drops when the owner's process
ends however it ends (``kill -9`` included), so a lock cannot go stale: a dead owner's file
is simply free to take. The PID and host in the file only name the owner in the refusal.

Releasing unlinks the file, then unlocks. A process that opened the old file before the
unlink could then lock that unlinked inode while a third locks a new ``run.lock``; so a taker
keeps the lock only if the file it locked is still the one at the path (same inode), and
tries again otherwise (the usual flock-and-unlink protocol).

A sweep or study driver holds the same kind of lock on its folder while it trains, so a
second driver of the same folder is refused, and a reader can tell a ``running`` catalog row
of a live trainer from one a killed process left behind (``is_held``).
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


def _take(path: Path, what: str) -> int:
    """Lock ``path`` (created if missing) and write ``"<pid> <host>"`` into it; return its fd."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(f"{what} is being trained by {_owner(path)} ({path}); "
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
def run_lock(folder: Path, what: str) -> Iterator[None]:
    """Hold ``<folder>/run.lock`` for the duration of the block (``what``, e.g. "run 'r1'",
    names the holder in a refusal).

    Raises:
        ConfigError: a live process holds the lock (one line naming ``what`` and its PID).
    """
    path = Path(folder) / LOCK_FILE
    fd = _take(path, what)
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        os.close(fd)  # closing the last descriptor releases the flock


def is_held(folder: Path) -> bool:
    """Whether a live process holds ``<folder>/run.lock``, without touching the lock (a probe
    that took it, even shared, could make a real taker's non-blocking lock fail).

    Released locks are unlinked, so a lock file exists only while its owner lives or after
    it was killed; the owner's PID, on this host, tells which. An owner on another host
    (a shared file system) is assumed alive.
    """
    path = Path(folder) / LOCK_FILE
    try:
        text = path.read_text().split()
    except OSError:
        return False
    if len(text) < 2:
        return path.exists()  # being written: its owner is taking it now
    if text[1] != socket.gethostname():
        return True
    try:
        os.kill(int(text[0]), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        return True
    return True


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
