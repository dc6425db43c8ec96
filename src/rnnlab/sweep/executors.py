"""Where groups run: local worker processes (default) or tasks on an existing Ray cluster.

Both yield ``(group_id, results)`` as groups finish, so the driver can write each result
as soon as it arrives. A worker that dies has its group retried (``retries`` times, then
reported failed); results already yielded are never lost.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterator

from .._host_devices import core_shares, pin_to_cores, use_host_devices
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
    """Submit groups as Ray tasks to the cluster at ``address`` (``"auto"`` or ``host:port``)."""
    try:
        import ray
    except ImportError:
        raise RuntimeError("--ray: Ray is not installed; install the extra: pip install -e '.[ray]'") from None
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    try:
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
    finally:
        ray.shutdown()
