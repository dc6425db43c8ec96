"""Eigen's intra-op threads on or off when an ensemble is spread over host devices
(``rnnlab.use_host_devices`` turns them off), and sweep workers pinned to their own cores or
not (the local sweep executor pins them), measured in the same run, interleaved.

1. Training step time (``benchmarks/ensemble.py``'s ``rnnlab_step`` in a process of its own,
as that script runs it: steps scanned as ``train`` runs them) of
* an ensemble of 64 leaky RNNs (N = 32, T = 100, batch 32) over ``--cores`` host devices;
* a single leaky RNN (N = 128, T = 200, batch 64) on one device,
with ``--xla_cpu_multi_thread_eigen`` true and false, each in its own process, in
``--rounds`` alternating rounds; prints every round and the medians.

2. Two sweep workers at once, as the local executor runs two groups on two cores: two
processes started together, each timing the training step of an ensemble of 32 of those
leaky RNNs on one host device; unpinned, or each pinned to its own core
(``rnnlab._host_devices.core_shares`` / ``pin_to_cores``, as ``rnnlab.sweep.executors`` does).

Run:  .venv/bin/python benchmarks/host_devices.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess

from ensemble import _child, _command, _result

from rnnlab._host_devices import core_shares


def _step_ms(eigen: bool, devices: int, args: tuple) -> float:
    seconds, _ = _child("rnnlab_step", *args, devices=devices,
                        xla_flags=f"--xla_cpu_multi_thread_eigen={str(eigen).lower()}")
    return seconds * 1e3


def _pair_ms(pinned: bool) -> list[float]:
    """Step times of two ensemble workers started together (one core each when ``pinned``)."""
    shares = core_shares(2)
    procs = []
    for cores in shares:
        argv, env = _command("rnnlab_step", 32, 100, 32, 32, 10, cores=cores if pinned else None)
        procs.append(subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return [_result(p.communicate()[0])[0] * 1e3 for p in procs]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    args = ap.parse_args()
    cases = [(f"ensemble of 64, N=32, {args.cores} devices", args.cores, (32, 100, 32, 64, 10)),
             ("single network, N=128, 1 device", 1, (128, 200, 64, 1, 3, 1))]
    for label, devices, step_args in cases:
        times = {True: [], False: []}
        for _ in range(args.rounds):
            for eigen in (True, False):
                times[eigen].append(_step_ms(eigen, devices, step_args))
        on, off = statistics.median(times[True]), statistics.median(times[False])
        print(f"{label}: Eigen threads on {on:.1f} ms/step {[round(t, 1) for t in times[True]]}, "
              f"off {off:.1f} ms/step {[round(t, 1) for t in times[False]]} -> on/off {on / off:.2f}")
    if len(core_shares(2)) < 2:
        print("two sweep workers: skipped (one core)")
        return
    times = {False: [], True: []}
    for _ in range(args.rounds):
        for pinned in (False, True):
            times[pinned] += _pair_ms(pinned)
    free, pinned = statistics.median(times[False]), statistics.median(times[True])
    print(f"two sweep workers at once, ensemble of 32 each on 1 device: unpinned {free:.1f} ms/step "
          f"{[round(t, 1) for t in times[False]]}, pinned to a core each {pinned:.1f} ms/step "
          f"{[round(t, 1) for t in times[True]]} -> unpinned/pinned {free / pinned:.2f}")


if __name__ == "__main__":
    main()
