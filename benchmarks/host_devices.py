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

``--quick``: one round at tiny sizes (N = 8 or 16, T = 20, batch 8), a smoke run.

Run:  .venv/bin/python benchmarks/host_devices.py [--rounds 3] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess

import _report
from ensemble import _child, _command, _result

from rnnlab._host_devices import core_shares


def _step_ms(eigen: bool, devices: int, args: tuple) -> float:
    seconds, _ = _child("rnnlab_step", *args, devices=devices,
                        xla_flags=f"--xla_cpu_multi_thread_eigen={str(eigen).lower()}")
    return seconds * 1e3


def _pair_ms(pinned: bool, step_args: tuple) -> list[float]:
    """Step times of two ensemble workers started together (one core each when ``pinned``)."""
    shares = core_shares(2)
    procs = []
    for cores in shares:
        argv, env = _command("rnnlab_step", *step_args, cores=cores if pinned else None)
        procs.append(subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return [_result(p.communicate()[0])[0] * 1e3 for p in procs]


def _rounded(ts):
    return [round(t, 1) for t in ts]


def run(quick: bool = False, rounds: int = 3, cores: int | None = None) -> list[dict]:
    """Rows ``host_devices.eigen.<case>`` (Eigen threads on, ms/step, against off; ratio on / off)
    and ``host_devices.pinning`` (unpinned against pinned workers; ratio unpinned / pinned)."""
    cores = cores or _report.cores()
    if quick:  # rnnlab_step(N, T, B, E, repeats, scanned, min_seconds)
        rounds, ens, single, pair = 1, (8, 20, 8, 4, 2, 20, 0.2), (16, 20, 8, 1, 2, 1, 0.2), (8, 20, 8, 4, 2, 20, 0.2)
    else:
        ens, single, pair = (32, 100, 32, 64, 10), (128, 200, 64, 1, 3, 1), (32, 100, 32, 32, 10)
    cases = [(f"ensemble of {ens[3]}, N={ens[0]}, {cores} devices", "ensemble", cores, ens),
             (f"single network, N={single[0]}, 1 device", "single", 1, single)]
    rows = []
    for label, key, devices, step_args in cases:
        times = {True: [], False: []}
        for _ in range(rounds):
            for eigen in (True, False):
                times[eigen].append(_step_ms(eigen, devices, step_args))
        on, off = statistics.median(times[True]), statistics.median(times[False])
        print(f"{label}: Eigen threads on {on:.1f} ms/step {_rounded(times[True])}, "
              f"off {off:.1f} ms/step {_rounded(times[False])} -> on/off {on / off:.2f}")
        rows.append(_report.row(f"host_devices.eigen.{key}", f"{label}: Eigen threads on vs off", on, "ms/step",
                                samples=times[True], reference=off, reference_name="Eigen threads off",
                                reference_samples=times[False], ratio=on / off, ratio_of="on / off"))
    if len(core_shares(2)) < 2:
        print("two sweep workers: skipped (one core)")
        return rows
    times = {False: [], True: []}
    for _ in range(rounds):
        for pinned in (False, True):
            times[pinned] += _pair_ms(pinned, pair)
    free, pinned = statistics.median(times[False]), statistics.median(times[True])
    print(f"two sweep workers at once, ensemble of {pair[3]} each on 1 device: unpinned {free:.1f} ms/step "
          f"{_rounded(times[False])}, pinned to a core each {pinned:.1f} ms/step "
          f"{_rounded(times[True])} -> unpinned/pinned {free / pinned:.2f}")
    rows.append(_report.row("host_devices.pinning", f"two sweep workers at once (ensembles of {pair[3]}): "
                            "unpinned vs pinned to a core each", free, "ms/step", samples=times[False],
                            reference=pinned, reference_name="pinned", reference_samples=times[True],
                            ratio=free / pinned, ratio_of="unpinned / pinned"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cores", type=int, default=None, help="host devices for the ensemble (default: all cores)")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
