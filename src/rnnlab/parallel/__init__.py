"""Parallel-in-time evaluation of nonlinear recurrent networks by Newton's method.

A model's recurrence ``s_t = F(s_{t−1}, d_t)`` (F = ``model.update``, d_t =
``model.input_drive(x_t)``) over t = 1..T is one nonlinear system ``s_t − F(s_{t−1}, d_t) = 0``
in all states at once. Newton's method linearises it around the current guess ``s^k``::

    s^{k+1}_t = J_t s^{k+1}_{t−1} + (F(s^k_{t−1}, d_t) − J_t s^k_{t−1}),   J_t = ∂F/∂s(s^k_{t−1}, d_t)

and each linear recurrence is solved by an associative scan in O(log T) depth, so a whole
sequence takes a few scans instead of T sequential steps (DEER: Lim, Zhu, Selfridge & Kasim,
ICLR 2024; ParaRNN: Danieli et al. 2025).

* **Jacobians.** ``jacobian="dense"``: full ``n×n`` (DEER; O(T n³) work in O(log T) depth,
  O(T n²) memory). ``"diagonal"``: only ``diag(J_t)`` (quasi-DEER, Gonzalez et al. 2024,
  "Towards scalable and stable parallelization of nonlinear RNNs" — ELK): an O(T n) scan and
  memory, linear rather than quadratic convergence. Models with a closed-form diagonal
  (``RecurrentModel.update_diagonal``: leaky and low-rank RNNs, GRU, LSTM) give it at the cost
  of one step, so an iteration is O(T n²) like the sequential scan's work (low-rank: O(T n r));
  for the others it is taken from per-step Jacobians (n JVPs, computed in chunks of time),
  which saves the scan and the memory but not the Jacobian work
  (``benchmarks/jacobian_diagonal.py``). ``"auto"``: dense up to ``DENSE_MAX`` flattened state
  entries.
* **Stopping.** ``max|s^{k+1} − s^k| ≤ atol + rtol·|s^{k+1}|`` element-wise (DEER's rule and
  float32 defaults 1e-4, 1e-3), or ``max_iter`` iterations.
* **Damping.** ``damping = λ`` replaces ``J_t`` by ``J_t / (1 + λ)`` in the linear solve — a
  Jacobian shrinkage interpolating Newton (λ = 0) and Picard/Jacobi iteration (λ → ∞). It
  is *not* ELK's Kalman-smoother trust region; it is the cheap variant that keeps what
  matters: any linear term leaves the fixed point equal to the true trajectory and keeps
  the guarantee that the first k states are exact after k iterations, while bounding the
  products ``∏ J_t`` that overflow in the scan for expanding (chaotic) networks. It slows
  convergence where Newton already works, so the default is 0.
* **Never silently wrong.** A solve that has not converged within ``max_iter``, or has
  non-finite values, is redone by the sequential ``lax.scan`` (lazily, also under ``vmap``); the
  returned ``SolveInfo`` says how many iterations ran, whether it converged, whether it
  fell back, and the one-step residual of the answer. Chaotic networks (positive Lyapunov
  exponent) converge slowly or not at all (Gonzalez et al. 2025) and end up there.
* **Gradients** come from the implicit function theorem (``_implicit``, ``_adjoint``): one
  reverse adjoint scan with the converged Jacobians and one vmapped ``jax.vjp`` of F — the
  Newton iterations are not differentiated.

Stochastic models (private ``noise``) are rejected: the solver needs a deterministic F.

Modules: ``_options`` (settings, report), ``_system`` (flat F, Jacobians), ``_scan`` (linear
recurrences), ``_newton`` (forward), ``_adjoint`` (backward), ``_implicit`` (custom VJP),
``_fallback`` (lazy sequential fallback), ``_api`` (public API).
"""

from ._options import DENSE_MAX, SolveInfo, SolverOptions
from ._api import run, solve

__all__ = ["solve", "run", "SolveInfo", "SolverOptions", "DENSE_MAX"]
