"""Numba kernels of the compiled path sweep (:mod:`rfgraph.engine._sweep`).  Arrays and ints only.

Buffers are flat: node ``i`` of a tensor holds its ``batch`` seed columns at ``i * batch ..``,
so the rows one edge moves are one contiguous run (``post * batch`` values).
"""

from __future__ import annotations

import numpy as np

from ._numba import kernel


@kernel
def _pull_rows(c, c_off, o, o_off, pre, n_out, n_in, run, indptr, indices, weights):  # type: ignore[no-untyped-def]
    """``o[(p, u, :)] += w(u -> v) * c[(p, v, :)]`` for rows laid out as (pre, n, run), runs contiguous."""
    for p in range(pre):
        for v in range(n_out):
            src = c_off + (p * n_out + v) * run
            for e in range(indptr[v], indptr[v + 1]):
                w = weights[e]
                dst = o_off + (p * n_in + indices[e]) * run
                if w == 1.0:
                    for k in range(run):
                        o[dst + k] += c[src + k]
                else:
                    for k in range(run):
                        o[dst + k] += w * c[src + k]


@kernel
def _dense_sweep(  # type: ignore[no-untyped-def]
    buf,
    batch,
    offsets,
    shapes,
    first_link,
    link_src,
    link_maps,
    map_ptr,
    idx_ptr,
    indptr_all,
    indices_all,
    weights_all,
    map_nin,
    gains,
    top,
    s1,
    s2,
):
    """The backward sweep of every tensor ``top .. 1`` into the flat ``buf`` (nodes x seed columns)."""
    for t in range(top, 0, -1):
        lo = offsets[t] * batch
        hi = offsets[t + 1] * batch
        g = gains[t]
        if g != 1.0:
            for i in range(lo, hi):
                buf[i] *= g
        for li in range(first_link[t], first_link[t + 1]):
            slo = offsets[link_src[li]] * batch
            last = -1  # the lowest non-identity axis is pulled last, straight into the source
            for a in range(3):
                if link_maps[li, a] >= 0:
                    last = a
                    break
            if last < 0:  # identity on every axis: add in place
                for i in range(hi - lo):
                    buf[slo + i] += buf[lo + i]
                continue
            c0 = shapes[t, 0]
            c1 = shapes[t, 1]
            c2 = shapes[t, 2]
            cur = buf
            cur_off = lo
            flip = 0
            for a in range(2, -1, -1):
                m = link_maps[li, a]
                if m < 0:
                    continue
                nin = map_nin[m]
                indptr = indptr_all[map_ptr[m] : map_ptr[m + 1]]
                indices = indices_all[idx_ptr[m] : idx_ptr[m + 1]]
                weights = weights_all[idx_ptr[m] : idx_ptr[m + 1]]
                if a == 0:
                    pre, n_out, run = 1, c0, c1 * c2 * batch
                elif a == 1:
                    pre, n_out, run = c0, c1, c2 * batch
                else:
                    pre, n_out, run = c0 * c1, c2, batch
                if a == last:
                    _pull_rows(cur, cur_off, buf, slo, pre, n_out, nin, run, indptr, indices, weights)
                else:
                    out = s1 if flip == 0 else s2
                    flip = 1 - flip
                    size = pre * nin * run
                    out[:size] = 0.0
                    _pull_rows(cur, cur_off, out, 0, pre, n_out, nin, run, indptr, indices, weights)
                    cur = out
                    cur_off = 0
                if a == 0:
                    c0 = nin
                elif a == 1:
                    c1 = nin
                else:
                    c2 = nin


@kernel
def _chain_sweep(  # type: ignore[no-untyped-def]
    start, axis, shapes, first_link, link_maps, map_ptr, idx_ptr, indptr_all, indices_all, weights_all, top
):
    """One axis of a chain: the vector ``start`` (padded) pulled through every link ``top .. 1``."""
    cur = start.copy()
    nxt = np.zeros_like(start)
    for t in range(top, 0, -1):
        m = link_maps[first_link[t], axis]
        if m < 0:
            continue
        n_out = shapes[t, axis]
        n_in = shapes[t - 1, axis]
        nxt[:n_in] = 0.0
        p = map_ptr[m]
        q = idx_ptr[m]
        for v in range(n_out):
            x = cur[v]
            if x != 0.0:
                for e in range(indptr_all[p + v], indptr_all[p + v + 1]):
                    nxt[indices_all[q + e]] += weights_all[q + e] * x
        cur, nxt = nxt, cur
    return cur
