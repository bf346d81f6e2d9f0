"""Numba kernels of the engine.  They take only arrays and ints.

Two families:

* ``_pull_axis``: one step of the backward path-count sweep along one axis of a
  tensor (``out[p, u, q] += g[p, v, q]`` for every edge ``u -> v`` of that axis).
* ``_general_*``: the node-level engine for any DAG, used when the separable
  algebra of :mod:`rfgraph.engine` would need too many inclusion-exclusion terms
  (and as the independent check of that algebra).  Nodes are numbered tensor by
  tensor in topological order, so every edge goes from a smaller to a larger id.
"""

from __future__ import annotations

import numpy as np

from ._numba import kernel


@kernel
def _pull_axis(g, indptr, indices, n_in):  # type: ignore[no-untyped-def]
    """``g`` has shape (pre, n_out, post); returns (pre, n_in, post) float64."""
    pre, n_out, post = g.shape
    out = np.zeros((pre, n_in, post), dtype=np.float64)
    for p in range(pre):
        for v in range(n_out):
            for e in range(indptr[v], indptr[v + 1]):
                u = indices[e]
                for q in range(post):
                    out[p, u, q] += g[p, v, q]
    return out


@kernel
def _general_cone(in_ptr, in_src, target, n_nodes):  # type: ignore[no-untyped-def]
    """Boolean mask of nodes with a path to ``target`` (the target included)."""
    cone = np.zeros(n_nodes, dtype=np.bool_)
    cone[target] = True
    for v in range(target, -1, -1):
        if cone[v]:
            for e in range(in_ptr[v], in_ptr[v + 1]):
                cone[in_src[e]] = True
    return cone


@kernel
def _general_paths(in_ptr, in_src, target, n_nodes, n_inputs):  # type: ignore[no-untyped-def]
    """Number of paths from each input node to ``target`` (float64)."""
    count = np.zeros(n_nodes, dtype=np.float64)
    count[target] = 1.0
    for v in range(target, -1, -1):
        c = count[v]
        if c != 0.0:
            for e in range(in_ptr[v], in_ptr[v + 1]):
                count[in_src[e]] += c
    return count[:n_inputs].copy()


@kernel
def _general_edges(in_ptr, in_src, cone, n_inputs, words):  # type: ignore[no-untyped-def]
    """Distinct edges on paths from each input node to the target.

    ``edges(x) = sum over cone nodes u reachable from x of outdeg_cone(u)``; the
    inputs that reach each node are kept as bitsets of ``words`` uint64 words.
    """
    n_nodes = cone.size
    outdeg = np.zeros(n_nodes, dtype=np.int64)
    for v in range(n_nodes):
        if cone[v]:
            for e in range(in_ptr[v], in_ptr[v + 1]):
                outdeg[in_src[e]] += 1
    # Dense row index of each cone node in the bitset table.
    row = np.full(n_nodes, -1, dtype=np.int64)
    rows = 0
    for v in range(n_nodes):
        if cone[v]:
            row[v] = rows
            rows += 1
    bits = np.zeros((rows, words), dtype=np.uint64)
    result = np.zeros(n_inputs, dtype=np.int64)
    for v in range(n_nodes):
        r = row[v]
        if r < 0:
            continue
        if v < n_inputs:
            bits[r, v >> 6] |= np.uint64(1) << np.uint64(v & 63)
        for e in range(in_ptr[v], in_ptr[v + 1]):
            ru = row[in_src[e]]
            for w in range(words):
                bits[r, w] |= bits[ru, w]
        weight = outdeg[v]
        if weight == 0:
            continue
        for w in range(words):
            word = bits[r, w]
            while word != 0:
                low = word & (~word + np.uint64(1))
                # index of the lowest set bit
                b = 0
                probe = low
                while probe > np.uint64(1):
                    probe >>= np.uint64(1)
                    b += 1
                result[w * 64 + b] += weight
                word ^= low
    return result


@kernel
def _compose_rows(rows, indptr, indices):  # type: ignore[no-untyped-def]
    """Reach through one axis map: ``out[v] = OR over inputs u of v of rows[u]``.

    ``rows`` is (n_in, n_cols) bool; returns (n_out, n_cols) bool.
    """
    n_out = indptr.size - 1
    n_cols = rows.shape[1]
    out = np.zeros((n_out, n_cols), dtype=np.bool_)
    for v in range(n_out):
        for e in range(indptr[v], indptr[v + 1]):
            u = indices[e]
            for c in range(n_cols):
                if rows[u, c]:
                    out[v, c] = True
    return out


@kernel
def _fan_out(mask, indptr, indices, n_in):  # type: ignore[no-untyped-def]
    """For each input ``u``: how many outputs ``v`` with ``mask[v]`` it feeds (int64)."""
    count = np.zeros(n_in, dtype=np.int64)
    for v in range(indptr.size - 1):
        if mask[v]:
            for e in range(indptr[v], indptr[v + 1]):
                count[indices[e]] += 1
    return count


# --------------------------------------------------------------------------- exact counts in residues


@kernel
def _pull_axis_mod(g, indptr, indices, n_in, primes):  # type: ignore[no-untyped-def]
    """:func:`_pull_axis` in several rings at once: ``g`` (rings, pre, n_out, post) int64,
    ring ``k`` modulo ``primes[k]`` (below 2**31, so sums of two residues fit)."""
    rings, pre, n_out, post = g.shape
    out = np.zeros((rings, pre, n_in, post), dtype=np.int64)
    for k in range(rings):
        p = primes[k]
        for a in range(pre):
            for v in range(n_out):
                for e in range(indptr[v], indptr[v + 1]):
                    u = indices[e]
                    for q in range(post):
                        s = out[k, a, u, q] + g[k, a, v, q]
                        if s >= p:
                            s -= p
                        out[k, a, u, q] = s
    return out


@kernel
def _outer_sum_mod(x, y, primes):  # type: ignore[no-untyped-def]
    """``out[k, i, j] = sum_t x[k, t, i] * y[k, t, j] mod primes[k]`` (residues below 2**31)."""
    rings, terms, m = x.shape
    n = y.shape[2]
    out = np.zeros((rings, m, n), dtype=np.int64)
    for k in range(rings):
        p = primes[k]
        for t in range(terms):
            for i in range(m):
                a = x[k, t, i]
                if a == 0:
                    continue
                for j in range(n):
                    out[k, i, j] = (out[k, i, j] + a * y[k, t, j]) % p
    return out


@kernel
def _garner_limbs(res, primes, inverses):  # type: ignore[no-untyped-def]
    """Mixed-radix digits of the CRT solution, paired into limbs below 2**62.

    ``res`` (rings, n) residues; ``inverses[i, j]`` = ``primes[i]**-1 mod primes[j]``.
    Returns (ceil(rings / 2), n) limbs ``L`` with value ``sum_h L[h] * prod(primes[:2h])``.
    """
    rings, n = res.shape
    limbs = np.zeros(((rings + 1) // 2, n), dtype=np.int64)
    digits = np.zeros(rings, dtype=np.int64)
    for e in range(n):
        for j in range(rings):
            p = primes[j]
            v = res[j, e] % p
            for i in range(j):
                v = ((v - digits[i]) % p) * inverses[i, j] % p
            digits[j] = v
        for h in range(0, rings, 2):
            low = digits[h]
            high = digits[h + 1] if h + 1 < rings else 0
            limbs[h // 2, e] = low + primes[h] * high
    return limbs


@kernel
def _general_coverage(in_ptr, in_src, first_output, n_nodes, n_inputs):  # type: ignore[no-untyped-def]
    """For each input node, how many output nodes (ids ``first_output ..``) it reaches."""
    n_out = n_nodes - first_output
    words = (n_out + 63) // 64
    bits = np.zeros((n_nodes, words), dtype=np.uint64)
    for o in range(n_out):
        bits[first_output + o, o >> 6] |= np.uint64(1) << np.uint64(o & 63)
    for v in range(n_nodes - 1, -1, -1):
        for e in range(in_ptr[v], in_ptr[v + 1]):
            u = in_src[e]
            for w in range(words):
                bits[u, w] |= bits[v, w]
    result = np.zeros(n_inputs, dtype=np.int64)
    for x in range(n_inputs):
        c = 0
        for w in range(words):
            word = bits[x, w]
            while word != 0:
                word &= word - np.uint64(1)
                c += 1
        result[x] = c
    return result


@kernel
def _pull_2d(g, indptr0, indices0, n_in0, indptr1, indices1, n_in1):  # type: ignore[no-untyped-def]
    """Both axes of a 2-D link at once: ``g`` (batch, n_out0, n_out1) -> (batch, n_in0, n_in1)."""
    batch, n_out0, n_out1 = g.shape
    tmp = np.zeros((batch, n_out0, n_in1), dtype=np.float64)
    for b in range(batch):
        for r in range(n_out0):
            for v in range(n_out1):
                x = g[b, r, v]
                if x != 0.0:
                    for e in range(indptr1[v], indptr1[v + 1]):
                        tmp[b, r, indices1[e]] += x
    out = np.zeros((batch, n_in0, n_in1), dtype=np.float64)
    for b in range(batch):
        for v in range(n_out0):
            for e in range(indptr0[v], indptr0[v + 1]):
                u = indices0[e]
                for q in range(n_in1):
                    out[b, u, q] += tmp[b, v, q]
    return out


# --------------------------------------------------------------------------- weighted sweeps (SPEC section 11)


@kernel
def _pull_axis_w(g, indptr, indices, weights, n_in):  # type: ignore[no-untyped-def]
    """:func:`_pull_axis` with a weight per edge: ``out[p, u, q] += w(u -> v) * g[p, v, q]``."""
    pre, n_out, post = g.shape
    out = np.zeros((pre, n_in, post), dtype=np.float64)
    for p in range(pre):
        for v in range(n_out):
            for e in range(indptr[v], indptr[v + 1]):
                u = indices[e]
                w = weights[e]
                for q in range(post):
                    out[p, u, q] += w * g[p, v, q]
    return out
