"""Group analyses started on the cores that training leaves idle.

A local sweep trains its groups in worker processes pinned to equal shares of the cores
(``executors.run_local``). Once fewer groups remain to train than there are workers, the
cores of the workers without a group idle until the last group is trained, and only then do
the group analyses start (``runner._run_spec``). In the 200-network degeneracy study the last
group, the slowest to converge, trained alone for minutes while the other core had nothing to
do. ``IdleCoreAnalyses`` fills that core: each time a trained group arrives, it starts the
group analysis of the largest trained group not yet analysed in a spawned process (not
pinned), as many at a time as there are idle cores; once nothing trains, the pass after
training takes the rest on all the cores. The analyses after training then skip
what was done (a group result is current when its ids file names the same runs,
``groups._current``), so nothing is computed twice and the results are those of the pass
after training.

``benchmarks/study_rate.py`` measures the study end to end.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

from .groups import _analyse_group, _by_group, group_jobs
from .spec import SweepRun, SweepSpec


class IdleCoreAnalyses:
    """Group analyses of trained groups while other groups still train (see the module).

    ``trained(group, training)`` is called by the driver after it has written a group's runs,
    with the number of groups still training or waiting to; ``wait()`` after the training
    returns the groups analysed. A failed analysis is left to the pass after training, which
    runs it again and reports its error there.
    """

    def __init__(self, spec: SweepSpec, runs: list[SweepRun], d: Path, workers: int):
        self.spec, self.d, self.workers = spec, Path(d), workers
        self.groups = _by_group(runs)
        self.waiting: list[str] = []  # trained, not yet started
        self.futures: dict[Future, str] = {}
        self.pool: ProcessPoolExecutor | None = None

    def trained(self, group: str, training: int) -> None:
        self.waiting.append(group)
        if training <= 0:  # every core is free: the pass after training takes the rest, in parallel
            return
        idle = self.workers - training - sum(not f.done() for f in self.futures)
        if idle <= 0:
            return
        jobs = group_jobs(self.spec, [r for g in self.waiting for r in self.groups.get(g, [])], self.d)
        for job in jobs[:idle]:
            if self.pool is None:
                self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"))
            self.futures[self.pool.submit(_analyse_group, job)] = job[1]
            self.waiting.remove(job[1])

    def wait(self) -> list[str]:
        done = []
        for fut, group in self.futures.items():
            try:
                fut.result()
                done.append(group)
            except Exception:  # noqa: BLE001 -- the pass after training runs it again and raises
                pass
        if self.pool is not None:
            self.pool.shutdown()
        return done
