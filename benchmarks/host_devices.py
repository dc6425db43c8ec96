"""Eigen's intra-op threads on or off when an ensemble is spread over host devices
(``rnnlab.use_host_devices`` turns them off), measured in the same run, interleaved.

Training step time (``benchmarks/ensemble.py``'s ``rnnlab_step`` in a process of its own,
as that script runs it: steps scanned as ``train`` runs them) of
* an ensemble of 64 leaky RNNs (N = 32, T = 100, batch 32) over ``--cores`` host devices;
* a single leaky RNN (N = 128, T = 200, batch 64) on one device,
with ``--xla_cpu_multi_thread_eigen`` true and false, each in its own process, in
``--rounds`` alternating rounds; prints every round and the medians.

Run:  .venv/bin/python benchmarks/host_devices.py
"""

from __future__ import annotations

import argparse
import os
import statistics

from ensemble import _child


def _step_ms(eigen: bool, devices: int, args: tuple) -> float:
    seconds, _ = _child("rnnlab_step", *args, devices=devices,
                        xla_flags=f"--xla_cpu_multi_thread_eigen={str(eigen).lower()}")
    return seconds * 1e3


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


if __name__ == "__main__":
    main()
