"""Finite automata extracted from networks trained on tasks with a discrete input alphabet.

Method (quantise-and-read-off extraction, e.g. Omlin & Giles 1996; the clustered states play
the role of the finite state set of state-regularised RNNs, Wang & Niepert, ICML 2019; the
"representational merger" into an automaton of van Rossem & Saxe 2024, "Algorithm
development in neural networks: insights from the streaming parity task"):

1. Run the (noise-free) network on many sequences from the task; the inputs ``x_t`` form a
   finite alphabet Σ (e.g. bits {0, 1} for ``streaming_parity`` and ``nparity``).
2. Cluster the states ``{h_0} ∪ {h_t}`` by k-means (``scipy.cluster.vq.kmeans2``, k-means++):
   cluster ``c(h)``. The network's output label at step t is the class read out from ``h_t``
   (arg-max per head for cross-entropy tasks, outputs rounded to integers for MSE tasks).
3. Read off a Moore machine over the clusters: ``δ(c, σ)`` = the majority of
   ``c(h_t)`` over observed pairs ``(c(h_{t−1}), x_t = σ)``; pairs never observed take the
   cluster of one network step from the cluster centre (also for symbols that occur only in
   the test sequences); the output ``λ(c)`` is the majority
   label of the states in ``c``. The start state is ``c(h_0)``; a cluster that emits no output
   (holding only ``h_0``) is a "don't care", labelled to give the smallest automaton.
4. Minimise it (Moore's partition refinement, the iteration Hopcroft's algorithm speeds up):
   drop states unreachable from the start, start from the partition by output label and split
   blocks until ``q ~ q' ⇔ λ(q) = λ(q') and δ(q, σ) ~ δ(q', σ) for all σ``.
5. Choose k (unless given): the smallest ``k ≤ k_max`` whose automaton reproduces the
   network's labels on the extraction sequences at a fraction ≥ ``consistency``.
6. Test: run network and automaton on sequences ``test_factor`` times longer
   (``task.harder(test_factor)``) and report the fraction of steps where their labels agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from scipy.cluster.vq import kmeans2

from ..models import run
from ..tasks.compiled import sample_batch
from ._dynamics import _deterministic, _flat_step, state_trajectories
from ._results import Result, _figure, _finish
from .perturbation import _key

__all__ = ["Automaton", "extract_automaton", "minimize_dfa", "run_dfa"]


# ---- DFA utilities ----------------------------------------------------------------------------
def run_dfa(transitions: Any, outputs: Any, symbols: Any, initial: int = 0) -> np.ndarray:
    """Output labels ``[B, T]`` of a Moore machine fed symbol indices ``[B, T]`` from ``initial``."""
    delta, lam = np.asarray(transitions), np.asarray(outputs)
    symbols = np.atleast_2d(np.asarray(symbols))
    q = np.full(symbols.shape[0], initial)
    out = np.empty(symbols.shape, lam.dtype)
    for t in range(symbols.shape[1]):
        q = delta[q, symbols[:, t]]
        out[:, t] = lam[q]
    return out


def minimize_dfa(transitions: Any, outputs: Any, initial: int = 0) -> tuple[np.ndarray, np.ndarray, int]:
    """Minimal Moore machine equivalent to ``(δ [n, S], λ [n], q0)``, by partition refinement.

    Unreachable states are dropped; the result is canonical: states numbered in breadth-first
    order from the start state, which is state 0. Returns ``(transitions, outputs, 0)``.
    """
    delta, lam = np.asarray(transitions, dtype=int), np.asarray(outputs)
    n_sym = delta.shape[1]
    block = np.unique(lam, return_inverse=True)[1].ravel()
    n_blocks = 0
    while True:
        sig = np.column_stack([block] + [block[delta[:, s]] for s in range(n_sym)])
        _, block = np.unique(sig, axis=0, return_inverse=True)
        block = block.ravel()
        if block.max() + 1 == n_blocks:
            break
        n_blocks = block.max() + 1
    # quotient machine, numbered breadth-first from the start (unreachable blocks vanish)
    order, seen = [block[initial]], {block[initial]}
    rep = {b: q for q, b in reversed(list(enumerate(block)))}
    for b in order:
        for s in range(n_sym):
            nb = block[delta[rep[b], s]]
            if nb not in seen:
                seen.add(nb)
                order.append(nb)
    new = {b: i for i, b in enumerate(order)}
    d = np.array([[new[block[delta[rep[b], s]]] for s in range(n_sym)] for b in order], dtype=int)
    return d, lam[[rep[b] for b in order]], 0


def _minimize_dont_care(delta: np.ndarray, lam: np.ndarray, q0: int):
    """Minimise with states labelled −1 (no output seen) given the label that minimises the result."""
    lam = lam.copy()
    labels = np.unique(lam[lam >= 0])
    for q in np.flatnonzero(lam < 0):
        options = labels if len(labels) else np.array([0])
        sizes = []
        for lab in options:
            lam[q] = lab
            sizes.append(len(minimize_dfa(delta, lam, q0)[1]))
        lam[q] = options[int(np.argmin(sizes))]
    return minimize_dfa(delta, lam, q0)


# ---- the network's symbols, labels and states -------------------------------------------------
def _symbols(inputs: list, max_symbols: int):
    """The alphabet ``[S, I]`` of all input vectors in ``inputs`` and each batch's symbol indices."""
    xs = [np.round(np.asarray(x, dtype=np.float64), 6) for x in inputs]
    alphabet = np.unique(np.concatenate([x.reshape(-1, x.shape[-1]) for x in xs]), axis=0)
    if len(alphabet) > max_symbols:
        raise ValueError(
            f"inputs take {len(alphabet)} distinct values (> max_symbols = {max_symbols}): "
            "automaton extraction needs a small discrete input alphabet"
        )
    idx = [np.all(x[..., None, :] == alphabet, axis=-1).argmax(-1) for x in xs]
    return alphabet, idx


def _label_rows(outputs: np.ndarray, task: Any) -> np.ndarray:
    """``[B, T, H]`` integer output labels: arg-max per head (cross-entropy) or rounded outputs."""
    if task.loss == "cross_entropy":
        c = task.n_classes
        return outputs.reshape(*outputs.shape[:2], -1, c).argmax(-1)
    return np.rint(outputs).astype(int)


@eqx.filter_jit
def _outputs(model: Any, inputs: jax.Array) -> jax.Array:
    return run(model, inputs)[1]


@eqx.filter_jit
def _task_metric(task: Any, outputs: jax.Array, batch: Any) -> jax.Array:
    return task.metric(outputs, batch)


def _network(model: Any, inputs: Any, task: Any):
    """Flat states ``[B, T, D]``, label rows ``[B, T, H]`` and outputs of a noise-free run."""
    states = np.asarray(state_trajectories(model, inputs), dtype=np.float64)
    outputs = _outputs(model, jnp.asarray(inputs))
    return states, _label_rows(np.asarray(outputs), task), outputs


# ---- extraction ------------------------------------------------------------------------------
def _moore(model, X, centroids, assign, sym, labels, alphabet, n_labels):
    """The clustered Moore machine ``(δ [k, S], λ [k])``; start state is ``assign[0]`` (h_0)."""
    k, n_sym = len(centroids), len(alphabet)
    B, T = sym.shape
    a = assign[1:].reshape(B, T)
    prev = np.concatenate([np.full((B, 1), assign[0]), a[:, :-1]], axis=1)
    counts = np.zeros((k, n_sym, k), int)
    np.add.at(counts, (prev.ravel(), sym.ravel(), a.ravel()), 1)
    delta = counts.argmax(-1)
    missing = counts.sum(-1) == 0
    if missing.any():
        cs, ss = np.nonzero(missing)
        nxt = np.asarray(jax.vmap(lambda h, u: _flat_step(model, h, u))(
            jnp.asarray(centroids[cs], jnp.float32), jnp.asarray(alphabet[ss], jnp.float32)))
        delta[cs, ss] = ((nxt[:, None, :] - centroids[None]) ** 2).sum(-1).argmin(1)
    out_counts = np.zeros((k, n_labels), int)
    np.add.at(out_counts, (a.ravel(), labels.ravel()), 1)
    lam = np.where(out_counts.sum(1) > 0, out_counts.argmax(1), -1)
    return delta, lam


def _cluster(X: np.ndarray, k: int, seed: int):
    rng = np.random.default_rng(seed)
    distinct = np.unique(X, axis=0)
    if k >= len(distinct):
        centroids = distinct
    else:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "one of the clusters is empty"
            centroids, _ = kmeans2(X, k, minit="++", rng=rng)
    assign = ((X[:, None, :] - centroids[None]) ** 2).sum(-1).argmin(1)
    return centroids, assign


@dataclass(frozen=True)
class Automaton(Result):
    """A minimal Moore machine reproducing a network's input → output-label behaviour.

    Attributes:
        transitions: ``[n, S]`` next state per state and symbol (start state 0).
        outputs: ``[n]`` label index per state.
        alphabet: ``[S, I]`` the input vector of each symbol.
        labels: ``[L, H]`` the output label row (class per head) of each label index.
        n_states: n.
        n_clusters: the k of the k-means quantisation.
        train_agreement: fraction of steps where automaton and network agree on the
            extraction sequences.
        agreement: the same on the test sequences (``test_factor`` × longer, ``test_steps``
            steps).
        agreement_scored: on the test steps the task scores.
        network_metric: the network's task metric on the test sequences.
    """

    transitions: np.ndarray
    outputs: np.ndarray
    alphabet: np.ndarray
    labels: np.ndarray
    n_states: int
    n_clusters: int
    train_agreement: float
    agreement: float
    agreement_scored: float
    network_metric: float
    test_factor: float
    test_steps: int

    def run(self, symbols: Any) -> np.ndarray:
        """Label indices ``[B, T]`` for symbol indices ``[B, T]`` (rows of ``alphabet``)."""
        return run_dfa(self.transitions, self.outputs, symbols)

    def plot(self, path: str | Path | None = None):
        """State diagram and transition table. Left: states on a circle, labelled by their output,
        one arrow per pair of states carrying the input symbols that cause it (counted when more
        than two, so labels never pile up). Right: the full table, next state per state and input
        symbol, each cell named."""
        n, n_sym = self.n_states, len(self.alphabet)
        fig, (ax, tab) = _figure(2, size=(4.6, 4.6))
        ang = np.pi / 2 - 2 * np.pi * np.arange(n) / n
        pos = np.c_[np.cos(ang), np.sin(ang)] * (0 if n == 1 else 1)
        sym = [",".join(f"{v:g}" for v in a) for a in self.alphabet]
        edges: dict[tuple[int, int], list[int]] = {}
        for q in range(n):
            for s_, r in enumerate(self.transitions[q]):
                edges.setdefault((q, int(r)), []).append(s_)

        def label(syms: list[int]) -> str:
            return " / ".join(sym[s_] for s_ in syms) if len(syms) <= 2 else f"{len(syms)} inputs"

        dense = sum(q != r for q, r in edges) > 2 * n  # labels would pile up: the table names them

        for (q, r), syms in edges.items():
            if r == q:
                out = pos[q] / np.linalg.norm(pos[q]) if n > 1 else np.array([0.0, 1.0])
                ax.text(*(pos[q] + out * (0.42 + 0.3 * abs(out[0]))), f"↺ {label(syms)}", ha="center", va="center", fontsize=7,
                        color="tab:red")
                continue
            ax.annotate("", pos[r], pos[q], arrowprops=dict(arrowstyle="-|>", connectionstyle="arc3,rad=0.2",
                                                            shrinkA=14, shrinkB=14, color="0.6" if dense else "0.3",
                                                            lw=0.6 if dense else 1.0))
            if dense:
                continue
            mid = (pos[q] + pos[r]) / 2 + 0.15 * np.array([pos[r][1] - pos[q][1], pos[q][0] - pos[r][0]])
            ax.text(*mid, label(syms), fontsize=7, ha="center", va="center", color="tab:red",
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
        for q in range(n):
            ax.scatter(*pos[q], s=700, color="white", edgecolor="k", zorder=3, lw=2 if q == 0 else 1)
            lab = ",".join(str(v) for v in np.atleast_1d(self.labels[self.outputs[q]]))
            ax.text(*pos[q], f"q{q}\n→{lab}", ha="center", va="center", fontsize=8, zorder=4)
        ax.set(xlim=(-1.8, 1.8), ylim=(-1.8, 1.8), aspect="equal",
               title=f"{n} states; agreement {self.agreement:.3f}\nat ×{self.test_factor:g} length")
        if dense:
            ax.text(0, -1.75, "inputs of each transition: see the table", ha="center", fontsize=7, color="0.4")
        ax.axis("off")
        table = np.asarray(self.transitions)
        tab.imshow(table, cmap="tab10" if n <= 10 else "viridis", vmin=0, vmax=max(n - 1, 1), aspect="auto")
        if n * n_sym <= 400:
            for q in range(n):
                for s_ in range(n_sym):
                    tab.text(s_, q, f"q{table[q, s_]}", ha="center", va="center",
                             fontsize=6 if n * n_sym > 64 else 9, color="white")
        tab.set(yticks=np.arange(n), yticklabels=[f"q{q}" for q in range(n)], xlabel="input symbol",
                ylabel="state", title="next state")
        if n_sym <= 32:
            tab.set_xticks(np.arange(n_sym))
            tab.set_xticklabels(sym, rotation=90, fontsize=6)
        return _finish(fig, path)


def extract_automaton(
    model: Any,
    task: Any,
    key: Any,
    k: int | None = None,
    *,
    k_max: int = 16,
    consistency: float = 0.99,
    batch_size: int = 256,
    test_factor: float = 10.0,
    test_batch: int = 64,
    max_symbols: int = 16,
    seed: int = 0,
) -> Automaton:
    """Extract and minimise the automaton of ``model`` on ``task``; test it on longer sequences.

    Args:
        k: number of k-means clusters; default: the smallest in ``1..k_max`` whose automaton
            agrees with the network on ≥ ``consistency`` of the extraction steps (else the best).
        batch_size: extraction sequences; test_batch: test sequences from ``task.harder(test_factor)``.
        seed: k-means initialisation.
    """
    model = _deterministic(model)
    k_ext, k_test = jax.random.split(_key(key))
    ext = sample_batch(task, k_ext, batch_size)
    test = sample_batch(task.harder(test_factor), k_test, test_batch)
    alphabet, (sym, sym_t) = _symbols([ext.inputs, test.inputs], max_symbols)
    states, rows, _ = _network(model, ext.inputs, task)
    _, rows_t, out_t = _network(model, test.inputs, task)
    H = rows.shape[-1]
    label_rows, codes = np.unique(np.concatenate([rows.reshape(-1, H), rows_t.reshape(-1, H)]), axis=0,
                                  return_inverse=True)
    codes = codes.ravel()
    lab, lab_t = codes[: rows[..., 0].size].reshape(sym.shape), codes[rows[..., 0].size:].reshape(sym_t.shape)
    h0 = np.asarray(ravel_pytree(model.initial_state())[0], dtype=np.float64)
    X = np.concatenate([h0[None], states.reshape(-1, states.shape[-1])])
    best = None
    for kk in [k] if k is not None else range(1, k_max + 1):
        centroids, assign = _cluster(X, kk, seed)
        delta, lam = _moore(model, X, centroids, assign, sym, lab, alphabet, len(label_rows))
        d, out, _ = _minimize_dont_care(delta, lam, assign[0])
        agree = float(np.mean(run_dfa(d, out, sym) == lab))
        if best is None or agree > best[0]:
            best = (agree, kk, d, out)
        if agree >= consistency:
            break
    agree, kk, d, out = best
    pred = run_dfa(d, out, sym_t)
    scored = np.asarray(test.mask).max(-1) > 0
    return Automaton(
        d, out, alphabet, label_rows, len(out), kk, agree, float(np.mean(pred == lab_t)),
        float(np.mean((pred == lab_t)[scored])) if scored.any() else float("nan"),
        float(_task_metric(task, out_t, test)), float(test_factor), int(sym_t.shape[1]),
    )
