"""Split a CPU into JAX host devices, one per core, so that ensembles use every core.

``train`` spreads an ensemble's members over the local devices (``rnnlab.train.shard_members``),
and on a CPU JAX has one device unless ``XLA_FLAGS`` asks for more. ``use_host_devices`` asks for
``n`` (``--xla_force_host_platform_device_count``, as NumPyro's ``set_host_device_count`` does)
and turns off Eigen's intra-op threads (``--xla_cpu_multi_thread_eigen=false``): with one share
of the members per core, those threads only contend with the other device's.
``benchmarks/host_devices.py`` on 2 cores (three interleaved rounds): an ensemble of 64 leaky
RNNs (N = 32, T = 100, batch 32) on two host devices took 64.6 ms per training step with Eigen
threads against 51.7 ms without (1.25x); a single network (N = 128, T = 200, batch 64) 40.4
against 39.0 ms (unchanged within noise). Both flags act on the CPU platform only, so setting
them on a GPU host is harmless.

XLA reads the flags when JAX starts its backends, so this must run before the first JAX
computation. The ``rnnlab`` command line calls it first thing; scripts call it after their
imports: ``import rnnlab; rnnlab.use_host_devices()``.

The Eigen flag also changes the numbers: it selects the code that computes CPU matrix
products, and the two round differently (whatever the number of cores), so the same seed gave
weights that differed in the last bit (up to 6e-8 after 50 steps of a flip-flop network with
N = 8) between the command line and a Python script. ``import rnnlab`` therefore turns the
threads off too (``single_threaded_eigen``), so that one seed gives one run bit for bit
whether it is given as ``rnnlab train --seed`` or ``rnnlab.train(key=...)`` (and in sweep
workers and Ray tasks). The device count leaves a single network's numbers unchanged.
"""

from __future__ import annotations

import os
import re
import sys

_COUNT = re.compile(r"--xla_force_host_platform_device_count=(\d+)")
_EIGEN = "--xla_cpu_multi_thread_eigen"


def cpu_cores() -> int:
    """Cores this process may run on."""
    return len(_affinity())


def core_shares(n: int) -> list[frozenset[int]]:
    """The cores this process may run on, split into ``min(n, cores)`` disjoint shares of
    consecutive cores whose sizes differ by at most one (the sweep gives one to each worker)."""
    cores = sorted(_affinity())
    n = max(1, min(int(n), len(cores)))
    size, extra = divmod(len(cores), n)
    shares, start = [], 0
    for i in range(n):
        stop = start + size + (i < extra)
        shares.append(frozenset(cores[start:stop]))
        start = stop
    return shares


def pin_to_cores(cores) -> bool:
    """Run this process on ``cores`` only: the calling thread and every thread it starts later
    (call it before JAX starts, so that XLA's threads inherit it). Returns False, changing
    nothing, where the OS has no CPU affinity.

    Why: XLA's CPU runtime runs the operations of a program concurrently on a thread pool,
    and a worker whose threads wander over all cores while another worker computes pays
    for it. ``benchmarks/host_devices.py`` on 2 cores: two processes at once, each training an
    ensemble of 32 leaky RNNs (N = 32, T = 100, batch 32) on one device, took 63.5 ms per
    step unpinned and 54.1 ms pinned to a core each (1.17x; medians of six).
    """
    if not hasattr(os, "sched_setaffinity"):  # pragma: no cover - not Linux
        return False
    os.sched_setaffinity(0, set(cores))
    return True


def _affinity() -> set[int]:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return set(range(os.cpu_count() or 1))


def started() -> bool:
    """Whether JAX has started its backends (after which ``XLA_FLAGS`` no longer applies)."""
    if "jax" not in sys.modules:  # not imported, so not started: asking must not import it
        return False
    from jax._src import xla_bridge  # private: JAX has no public way to ask without starting them

    return xla_bridge.backends_are_initialized()


def use_host_devices(n: int | None = None, *, replace: bool = False) -> int:
    """Make ``n`` CPU host devices (default: one per core); returns the number that will be used.

    A device count already in ``XLA_FLAGS`` is kept (the user's choice) unless ``replace``.
    Raises ``RuntimeError`` if JAX has already started with a different number of CPU devices.
    """
    n = cpu_cores() if n is None else int(n)
    if n < 1:
        raise ValueError(f"n: must be >= 1 (got {n})")
    flags = os.environ.get("XLA_FLAGS", "")
    given = _COUNT.search(flags)
    if given and not replace:
        n = int(given.group(1))
    else:
        flags = _COUNT.sub("", flags)
        flags += f" --xla_force_host_platform_device_count={n}"
    flags = _eigen_off(flags)
    if started():
        import jax

        have = len(jax.devices("cpu"))
        if have != n:
            raise RuntimeError(
                f"use_host_devices: JAX has already started with {have} CPU device(s); call it before "
                "the first JAX computation (or set XLA_FLAGS before starting Python)"
            )
        return n
    os.environ["XLA_FLAGS"] = " ".join(flags.split())
    return n


def single_threaded_eigen() -> None:
    """Turn Eigen's intra-op threads off in XLA's CPU backend (``--xla_cpu_multi_thread_eigen=false``
    in ``XLA_FLAGS``), as the command line and the sweep workers do, so that a Python script
    computes the same bits from the same seed. A setting of the flag already in ``XLA_FLAGS``
    is kept (the user's choice); once JAX has started its backends nothing can change.
    """
    if not started():
        os.environ["XLA_FLAGS"] = " ".join(_eigen_off(os.environ.get("XLA_FLAGS", "")).split())


def _eigen_off(flags: str) -> str:
    """``flags`` with Eigen's threads turned off, unless they already set the flag either way."""
    return flags if _EIGEN in flags else f"{flags} {_EIGEN}=false"
