"""Where the ensemble step's limit lies (issue: ensembles): the batched recurrent product of E
small networks against one network's product, and other forms of the batched product.

``ensemble.py`` [1a] finds 64 leaky networks (N = 32, T = 100, batch 32) in one program costing
about half of the 64 one after another on one device, against a target of a quarter. This
script times the recurrence's own product alone, chained as the recurrence runs
(``h ← tanh(h W)``, T = 100 steps in one ``lax.scan``), on one device with Eigen's threads off
as ``train`` runs:

* ``ensemble_product.forward.<form>``: E = 64 members in one program, time / (64 × one network's
  chain), for the forms of the batched product ``[E, B, N] × [E, N, N]``:
  ``einsum`` (``jnp.einsum("ebn,enm->ebm")``, what ``vmap`` of the models' ``W @ h`` gives),
  ``multiply_reduce`` (``Σ_n h[e,b,n] W[e,n,m]`` as a broadcast product and a sum, which XLA
  fuses into one loop);
* ``ensemble_product.gradient.multiply_reduce``: the gradient of ``Σ h²`` over the chain with
  respect to ``W`` in the multiply-reduce form against the einsum form (autodiff of both;
  same gradients checked first). Ratio = einsum time / multiply-reduce time.

A ratio of the forward near [1a]'s says that the batched small product bounds the ensemble
step; the gradient row says whether another form of it survives autodiff.

Run:  .venv/bin/python benchmarks/ensemble_product.py [--quick]
"""

from __future__ import annotations

import argparse
import statistics

import _report

FORMS = {
    "einsum": lambda jnp: lambda h, W: jnp.einsum("ebn,enm->ebm", h, W),
    "multiply_reduce": lambda jnp: lambda h, W: jnp.sum(h[..., :, None] * W[:, None], axis=-2),
}


def _chain(product, T: int):
    import jax
    import jax.numpy as jnp

    def states(W, h):
        return jax.lax.scan(lambda h, _: (jnp.tanh(product(h, W)),) * 2, h, None, length=T)[1]

    return states


def run(quick: bool = False) -> list[dict]:
    """Rows ``ensemble_product.forward.<form>`` and ``ensemble_product.gradient.multiply_reduce``."""
    from rnnlab._host_devices import single_threaded_eigen

    single_threaded_eigen()
    import jax
    import jax.numpy as jnp
    import numpy as np

    E, B, N, T = (4, 4, 8, 10) if quick else (64, 32, 32, 100)
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    # gain 0.5: contracting, so that the two forms' gradients agree to float32 rounding (at gain 1,
    # the edge of chaos, rounding differences grow over the chain); the timing does not depend on it
    W = 0.5 * jax.random.normal(k1, (E, N, N)) / N**0.5
    h = jax.random.normal(k2, (E, B, N))
    block = jax.block_until_ready
    one = jax.jit(_chain(lambda h, W: h @ W, T))
    W0, h0 = W[0], h[0]  # sliced once, outside the timed calls
    fns = {"one network": lambda: block(one(W0, h0))}
    grads = {}
    for name, form in FORMS.items():
        states = _chain(form(jnp), T)
        chain = jax.jit(states)
        fns[name] = lambda chain=chain: block(chain(W, h))
        grads[name] = jax.jit(jax.grad(lambda W, h, c=states: jnp.sum(c(W, h) ** 2)))
    g = {name: grad(W, h) for name, grad in grads.items()}
    scale = float(jnp.abs(g["einsum"]).max())
    np.testing.assert_allclose(g["multiply_reduce"], g["einsum"], rtol=1e-4, atol=1e-4 * scale)
    seconds = 0.1 if quick else 4.0
    t = _report.alternate_s(fns, seconds)
    one_ms = statistics.median(t["one network"]) * 1e3
    rows = []
    for name in FORMS:
        ms = statistics.median(t[name]) * 1e3
        rows.append(_report.row(f"ensemble_product.forward.{name}", f"batched recurrent product ({name}) of {E} "
                                f"networks (N={N}, batch {B}, T={T}) vs {E} single-network chains", ms, "ms",
                                samples=[s * 1e3 for s in t[name]], reference=E * one_ms,
                                reference_name=f"{E} x one network",
                                reference_samples=[E * s * 1e3 for s in t["one network"]],
                                ratio=ms / (E * one_ms), ratio_of=f"ensemble time / ({E} x one network's time)"))
    tg = _report.alternate_s({n: (lambda f=f: block(f(W, h))) for n, f in grads.items()}, seconds)
    ein, mr = (statistics.median(tg[n]) * 1e3 for n in ("einsum", "multiply_reduce"))
    rows.append(_report.row("ensemble_product.gradient.multiply_reduce", f"gradient of the chained product of {E} "
                            "networks, multiply-reduce vs einsum (autodiff of both)", mr, "ms",
                            samples=[s * 1e3 for s in tg["multiply_reduce"]], reference=ein,
                            reference_name="einsum", reference_samples=[s * 1e3 for s in tg["einsum"]],
                            ratio=ein / mr, ratio_of="einsum time / multiply-reduce time"))
    return rows


def main() -> None:
    _report.cli(run, argparse.ArgumentParser(description=__doc__.splitlines()[0]))


if __name__ == "__main__":
    main()
