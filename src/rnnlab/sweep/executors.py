"""Where groups run: local worker processes (default), or tasks on a Ray cluster (an existing
one, or a one-machine cluster started for the sweep).

Both yield ``(group_id, results)`` as groups finish, so the driver can write each result
as soon as it arrives. A worker that dies has its group retried (``retries`` times, then
reported failed); results already yielded are never lost.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import secrets
import socket
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Iterator

from .._host_devices import core_shares, pin_to_cores, use_host_devices
from ..errors import ConfigError
from .worker import train_group

Payloads = dict[str, dict[str, Any]]


def _failed(payload: dict[str, Any], why: str) -> list[dict[str, Any]]:
    return [{"id": rid, "summary": {"status": "failed", "error": why}} for rid, _ in payload["runs"]]


def _start_worker(shares) -> None:
    """Initialiser of a local worker process: take one share of the cores from the ``shares``
    queue (``rnnlab._host_devices.core_shares``), run on those cores only, and make one JAX host
    device per core. A worker that finds no share left keeps every core."""
    try:
        cores = shares.get(timeout=10)
    except queue.Empty:
        use_host_devices(replace=True)
        return
    pin_to_cores(cores)
    use_host_devices(len(cores), replace=True)


def _worker_pool(n: int) -> ProcessPoolExecutor:
    """``n`` spawned worker processes (JAX is not fork-safe), each on its own share of the cores."""
    ctx = mp.get_context("spawn")
    shares = ctx.Queue()
    for cores in core_shares(n):
        shares.put(cores)
    return ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_start_worker, initargs=(shares,))


def run_local(payloads: Payloads, workers: int, retries: int = 2) -> Iterator[tuple[str, list[dict]]]:
    """Run groups in ``workers`` spawned processes (JAX is not fork-safe).

    Each process runs on its own equal share of the cores (``_worker_pool``), with one JAX host
    device per core over which its ensemble's members are spread (``rnnlab.use_host_devices``):
    two groups on two cores run on one core each, a pool of one (a sweep of one group) on both.
    """
    pending = dict(payloads)
    tries = {g: 0 for g in pending}
    while pending:
        n = max(1, min(workers, len(pending)))
        with _worker_pool(n) as pool:
            futures = {pool.submit(train_group, p): g for g, p in pending.items()}
            try:
                while futures:
                    done, _ = wait(futures, return_when=FIRST_COMPLETED)
                    for fut in done:
                        g = futures.pop(fut)
                        results = fut.result()
                        del pending[g]
                        yield g, results
            except BrokenProcessPool:
                # A worker died: every unfinished group is retried in a fresh pool.
                for g in list(pending):
                    tries[g] += 1
                    if tries[g] > retries:
                        yield g, _failed(pending.pop(g), "worker process died repeatedly")


def _ray_task(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """One group on a Ray worker, which Ray gives one CPU by default: one host device, with the
    same XLA CPU settings as a local worker (so both executors compute the same numbers)."""
    use_host_devices(1, replace=True)
    return train_group(payload)


def run_ray(payloads: Payloads, address: str, retries: int = 2) -> Iterator[tuple[str, list[dict]]]:
    """Submit groups as Ray tasks to the cluster at ``address`` (``"auto"``, ``host:port``), or to
    a one-machine cluster started for these groups (``"local"``: see ``_local_ray``).

    ``ConfigError`` (one line, naming ``--ray``) if Ray is missing or no cluster answers.
    """
    with _ray_cluster(address) as ray:
        remote = ray.remote(max_retries=retries, retry_exceptions=False)(_ray_task)
        refs = {remote.remote(p): g for g, p in payloads.items()}
        while refs:
            done, _ = ray.wait(list(refs), num_returns=1)
            g = refs.pop(done[0])
            try:
                results = ray.get(done[0])
            except Exception as e:  # the task failed on every try
                results = _failed(payloads[g], f"ray task failed: {e.__class__.__name__}")
            yield g, results


def check_ray(address: str) -> None:
    """Before a sweep or study creates anything: ``ConfigError`` if Ray is not installed or
    nothing listens at a ``host:port`` address."""
    try:
        import ray  # noqa: F401
    except ImportError:
        raise ConfigError("--ray: Ray is not installed; install the extra: pip install -e '.[ray]'") from None
    if address != "local":
        _check_reachable(os.environ.get("RAY_ADDRESS", address) if address == "auto" else address)


@contextmanager
def _ray_cluster(address: str):
    """Ray, connected to the cluster at ``address`` (or a local one started here) until exit."""
    check_ray(address)
    import ray

    if address == "local":
        with _local_ray(ray):
            try:
                yield ray
            finally:
                ray.shutdown()
        return
    try:
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    except ConnectionError as e:
        raise ConfigError(
            f"--ray: could not connect to a Ray cluster at {address} ({e}); if it uses token authentication, "
            "set RAY_AUTH_MODE=token and its token in RAY_AUTH_TOKEN or ~/.ray/auth_token"
        ) from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """``ConfigError`` at once if nothing listens at a ``host:port`` address (``ray.init`` would
    retry for minutes); other forms (``auto`` with no ``RAY_ADDRESS``) are left to Ray."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or address == "auto":
        return
    if not port.isdigit():
        raise ConfigError(f"--ray: expected host:port, 'auto' or 'local', got '{address}'")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as e:
        raise ConfigError(f"--ray: no Ray cluster at {address} ({e.strerror or e.__class__.__name__})") from None


# Environment of a local cluster's processes. RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 makes Ray take
# 127.0.0.1 as the node's address (as it does on a laptop), and its servers bind to the node's
# address; token authentication with a token made for this cluster alone, held in the
# environment of its own processes, so that nothing is left in ~/.ray for a later cluster.
_LOCAL_ENV = ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN")
_LOCALHOST = "127.0.0.1"


@contextmanager
def _local_ray(ray):
    """Start a one-machine Ray cluster that listens on 127.0.0.1 only (no dashboard) and
    authenticates with a fresh random token; the environment is restored on exit.

    By default a local ``ray.init`` on Linux takes the address other machines reach this one by
    and listens on every interface, and (Ray >= 2.59) writes a token to ``~/.ray/auth_token``,
    with which a later ``ray start`` on this machine turns authentication on and then refuses
    clients that were given its address but not told to send a token.
    """
    from ray._private import ray_constants

    saved = {k: os.environ.get(k) for k in _LOCAL_ENV}
    saved_cluster = ray_constants.ENABLE_RAY_CLUSTER
    os.environ.update(dict(zip(_LOCAL_ENV, ("0", "token", secrets.token_hex(32)))))
    ray_constants.ENABLE_RAY_CLUSTER = False  # read when Ray was imported
    try:
        _reload_ray_auth()
        ray.init(address="local", _node_ip_address=_LOCALHOST, include_dashboard=False, log_to_driver=False)
        node = ray.util.get_node_ip_address()
        if node != _LOCALHOST:
            ray.shutdown()
            raise ConfigError(f"--ray local: Ray {ray.__version__} started its node on {node}, not {_LOCALHOST}")
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = saved_cluster
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        _reload_ray_auth()


def _reload_ray_auth() -> None:
    """Make Ray read its authentication settings (``RAY_AUTH_*``) from the environment again:
    the mode first, then the token (Ray's order, so that no thread meets a token mode without
    a token)."""
    from ray._raylet import AuthenticationTokenLoader, Config

    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()
