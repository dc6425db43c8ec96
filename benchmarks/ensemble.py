"""Ensemble throughput: one vmapped program against networks one after another, and against
PyTorch's ``torch.func.vmap`` over stacked parameters, measured in the same run.

1. N = 32, T = 100, batch 32, E = 64. Target: the ensemble costs at most 1/4 of the 64
   networks trained one after another with the same code.
   a. Training steps as ``train`` runs them: ``eval_every`` = 20 steps of
      ``rnnlab.train.make_step`` scanned in one jitted program, for one network and for the
      ensemble (``vmap`` over members; ``remat`` as ``train`` sets it).
   b. Whole ``train`` calls (300 steps, an evaluation every 100): 64 networks one after
      another against one call with ``ensemble=64``; compilation excluded (both are compiled
      once before the clock starts, as a user's second run would find them).
   The single network runs on one host device; the ensemble on one device and spread over
   ``--cores`` host devices (``rnnlab.use_host_devices``, which the command line calls:
   ``train`` then splits the members over them). A single small network cannot use a second core.
2. N = 128, T = 200, batch 64, E = 64: per-network step time and peak memory of the rnnlab
   ensemble step (members spread over ``--cores`` host devices; PyTorch gets as many threads)
   against ``torch.func.vmap(grad(loss))`` over stacked parameters + Adam
   (``torch._foreach`` via a functional Adam on the stacked tensors).

Each measurement runs in its own process, so that its devices and its peak resident memory
(``ru_maxrss``) are its own; the compared processes take turns over ``--rounds`` rounds (one
figure each per round), and the median over the rounds is reported with its spread.
``--quick``: tiny sizes (N = 8 or 16, T = 20, batch 8, 4 networks), one round, for a smoke run.

Run:  .venv/bin/pip install -e ".[bench]" && .venv/bin/python benchmarks/ensemble.py
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import _report
from _timing import median_ms


def _setup(N, T, B, E):
    import jax

    from rnnlab import models, tasks
    from rnnlab.train import TrainConfig, initial_state, make_optimizer, shard_members

    task = tasks.get("flipflop", n_bits=3, n_steps=T)
    cfg = TrainConfig(batch_size=B, lr=1e-3, ensemble=E if E > 1 else None)
    opt = make_optimizer(cfg)
    state = initial_state(models.config("leaky_rnn", hidden_size=N), task, cfg, jax.random.PRNGKey(0), opt)
    return task, opt, shard_members(state, E) if E > 1 else state


def rnnlab_step(N, T, B, E, repeats, scanned=20, min_seconds=3.0):
    """Seconds per training step, ``scanned`` steps per jitted call as ``train`` runs them."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from rnnlab.train import TrainConfig, make_step

    task, opt, state = _setup(N, T, B, E)
    remat = TrainConfig(ensemble=E if E > 1 else None).uses_remat(state.model)  # as ``train`` does
    step = make_step(task, opt, B, remat=remat)
    budget = jnp.asarray(10**9)
    one = eqx.filter_vmap(step, in_axes=(0, None)) if E > 1 else step
    fn = eqx.filter_jit(lambda s: jax.lax.scan(lambda s, _: one(s, budget), s, None, length=scanned))
    box = [state]

    def go():
        box[0], (loss, _) = fn(box[0])
        loss.block_until_ready()

    return median_ms(go, min_repeats=repeats, min_seconds=min_seconds) / 1e3 / scanned


def rnnlab_train(N, T, B, E, steps=300):
    """Seconds for ``E`` networks trained by ``train`` (``steps`` steps, an evaluation every
    ``steps // 3``): one call with ``ensemble=E``, or ``E`` calls one after another (``E``
    below 0 means ``-E`` single calls)."""
    from rnnlab import models, tasks
    from rnnlab.train import TrainConfig, train

    task = tasks.get("flipflop", n_bits=3, n_steps=T)
    model = models.config("leaky_rnn", hidden_size=N)
    cfg = TrainConfig(steps=steps, batch_size=B, eval_every=max(1, steps // 3), lr=1e-3, ensemble=E if E > 1 else None)
    train(model, task, cfg, key=10**6, progress=False)  # compile
    t0 = time.perf_counter()
    for seed in range(max(1, -E)):
        train(model, task, cfg, key=seed, progress=False)
    return time.perf_counter() - t0


def torch_step(N, T, B, E, repeats, min_seconds=3.0):
    import torch
    from torch.func import functional_call, grad, vmap

    torch.set_num_threads(os.cpu_count() or 1)
    I = 3
    x = torch.randn(T, B, I)
    y = torch.randn(T, B, I)

    class Leaky(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.W = torch.nn.Parameter(torch.randn(N, N) / N**0.5)
            self.U = torch.nn.Parameter(torch.randn(N, I) / I**0.5)
            self.b = torch.nn.Parameter(torch.zeros(N))
            self.tau_raw = torch.nn.Parameter(torch.full((N,), 0.5))
            self.out = torch.nn.Linear(N, I)

        def forward(self, x):
            alpha = 1.0 / (1.0 + torch.nn.functional.softplus(self.tau_raw))
            u = (x.reshape(-1, I) @ self.U.t() + self.b).reshape(T, B, N)
            h = torch.zeros(B, N)
            hs = []
            for u_t in u.unbind(0):
                h = torch.lerp(h, torch.tanh(h @ self.W.t() + u_t), alpha)
                hs.append(h)
            return self.out(torch.stack(hs))

    base = Leaky()
    params = {k: torch.stack([Leaky().state_dict()[k] for _ in range(E)]) for k in base.state_dict()}

    def loss(p, x, y):
        return ((functional_call(base, p, (x,)) - y) ** 2).mean()

    g = vmap(grad(loss), in_dims=(0, None, None))
    m = {k: torch.zeros_like(v) for k, v in params.items()}
    v = {k: torch.zeros_like(t) for k, t in params.items()}
    state = {"t": 0}

    def go():
        grads = g(params, x, y)
        state["t"] += 1
        t = state["t"]
        with torch.no_grad():
            for k in params:
                m[k].mul_(0.9).add_(grads[k], alpha=0.1)
                v[k].mul_(0.999).addcmul_(grads[k], grads[k], value=0.001)
                mh = m[k] / (1 - 0.9**t)
                vh = v[k] / (1 - 0.999**t)
                params[k].sub_(1e-3 * mh / (vh.sqrt() + 1e-8))

    return median_ms(go, min_repeats=repeats, min_seconds=min_seconds) / 1e3


def _command(which, *args, devices=1, xla_flags=None, cores=None):
    """``(argv, env)`` of a fresh process that runs ``which(*args)`` with ``devices`` host devices
    (on ``cores`` only, when given; ``XLA_FLAGS`` set to ``xla_flags`` when given) and prints
    (its seconds, peak RSS in MiB) as JSON."""
    pin = "" if cores is None else f"rnnlab._host_devices.pin_to_cores({sorted(cores)!r}); "
    code = (f"import json, resource, sys; import rnnlab; {pin}rnnlab.use_host_devices({devices}, replace=True); "
            f"sys.path.insert(0, {sys.path[0]!r}); import ensemble as b; "
            f"t = b.{which}{tuple(args)!r}; "
            "print(json.dumps([t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))")
    env = os.environ if xla_flags is None else {**os.environ, "XLA_FLAGS": xla_flags}
    return [sys.executable, "-c", code], env


def _result(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def _child(which, *args, **kw):
    """Run ``which(*args)`` in a fresh process (``_command``); returns (its seconds, peak RSS in MiB)."""
    argv, env = _command(which, *args, **kw)
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{which}{args}: child process failed:\n{proc.stderr[-2000:]}")
    return _result(proc.stdout)


def run(quick: bool = False, repeats: int = 10, rounds: int = 3, skip_torch: bool = False,
        cores: int | None = None) -> list[dict]:
    """Rows ``ensemble.1a`` (and ``.1a.1device``), ``ensemble.1b``, ``ensemble.2.time`` and
    ``ensemble.2.memory``: rnnlab's ensemble against its reference, ratio rnnlab / reference."""
    cores = cores or _report.cores()
    rounds, secs = (1, 0.2) if quick else (rounds, 3.0)
    repeats = 2 if quick else repeats
    med = statistics.median
    rows = []

    N, T, B, E = (8, 20, 8, 4) if quick else (32, 100, 32, 64)
    devs = sorted({1, cores})
    cmds = {"one": lambda: _child("rnnlab_step", N, T, B, 1, repeats, 20, secs)[0]}
    for d in devs:
        cmds[d] = lambda d=d: _child("rnnlab_step", N, T, B, E, repeats, 20, secs, devices=d)[0]
    t = _report.alternate_children(cmds, rounds)
    one = [E * x * 1e3 for x in t["one"]]
    print(f"[1a] N={N} T={T} batch={B}, training steps scanned as train runs them: one network "
          f"{med(one) / E:.2f} ms/step, {E} one after another {med(one):.1f} ms/step")
    for d in devs:
        ens = [x * 1e3 for x in t[d]]
        print(f"     ensemble of {E} in one program on {d} device(s) {med(ens):.1f} ms/step -> ratio "
              + _verdict(med(ens) / med(one), 0.25))
        rows.append(_report.row(
            "ensemble.1a" if d == cores else "ensemble.1a.1device",
            f"ensemble of {E} (N={N}, T={T}) in one program on {d} device(s) vs one after another, per step",
            med(ens), "ms", samples=ens, reference=med(one), reference_name=f"{E} one after another",
            reference_samples=one, ratio=med(ens) / med(one), ratio_of="ensemble / one after another"))
    steps = 20 if quick else 300
    t = _report.alternate_children({
        "singles": lambda: _child("rnnlab_train", N, T, B, -E, steps)[0],
        "ensemble": lambda: _child("rnnlab_train", N, T, B, E, steps, devices=cores)[0]}, rounds)
    singles, ens = med(t["singles"]), med(t["ensemble"])
    print(f"[1b] whole train() calls, {steps} steps: {E} networks one after another {singles:.1f} s, one ensemble "
          f"of {E} on {cores} device(s) {ens:.1f} s -> ratio " + _verdict(ens / singles, 0.25))
    rows.append(_report.row(
        "ensemble.1b", f"train() with ensemble={E} ({steps} steps) vs {E} calls one after another",
        ens, "s", samples=t["ensemble"], reference=singles, reference_name=f"{E} train() calls",
        reference_samples=t["singles"], ratio=ens / singles, ratio_of="ensemble / one after another"))

    N, T, B, E = (16, 20, 8, 4) if quick else (128, 200, 64, 64)
    # (a step takes seconds here: one step per call, dispatch is negligible)
    reps = 2 if quick else max(3, repeats // 3)
    cmds = {"ours": lambda: _child("rnnlab_step", N, T, B, E, reps, 1, secs, devices=cores)}
    if not skip_torch:
        cmds["torch"] = lambda: _child("torch_step", N, T, B, E, reps, secs)
    t = _report.alternate_children(cmds, rounds)
    ours = [x[0] / E * 1e3 for x in t["ours"]]
    ours_mem = [x[1] for x in t["ours"]]
    print(f"[2] N={N} T={T} batch={B} E={E}: rnnlab ({cores} host devices) {med(ours):.2f} ms per "
          f"network-step, peak RSS {med(ours_mem):.0f} MiB")
    if skip_torch:
        return rows
    ref = [x[0] / E * 1e3 for x in t["torch"]]
    ref_mem = [x[1] for x in t["torch"]]
    print(f"    torch.func.vmap {med(ref):.2f} ms per network-step, peak RSS {med(ref_mem):.0f} MiB")
    print(f"    per-network cost ratio rnnlab/torch {med(ours) / med(ref):.2f} (target <= 0.7); "
          f"memory ratio {med(ours_mem) / med(ref_mem):.2f} (target <= 0.25)")
    what = f"ensemble of {E} (N={N}, T={T}, batch {B})"
    rows.append(_report.row(
        "ensemble.2.time", f"{what} per network-step vs torch.func.vmap", med(ours), "ms", samples=ours,
        reference=med(ref), reference_name="torch.func.vmap", reference_samples=ref,
        ratio=med(ours) / med(ref), ratio_of="rnnlab / torch"))
    rows.append(_report.row(
        "ensemble.2.memory", f"{what} peak resident memory vs torch.func.vmap", med(ours_mem), "MiB",
        samples=ours_mem, reference=med(ref_mem), reference_name="torch.func.vmap", reference_samples=ref_mem,
        ratio=med(ours_mem) / med(ref_mem), ratio_of="rnnlab / torch"))
    return rows


def _verdict(ratio, target):
    return f"{ratio:.3f} (target <= {target}: {'met' if ratio <= target else 'MISSED'})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=3, help="turns of the compared processes")
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--cores", type=int, default=None, help="host devices for the spread ensemble (default: all cores)")
    _report.cli(run, ap)


if __name__ == "__main__":
    main()
