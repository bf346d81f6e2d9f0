"""Numba kernels of the compiled path sweep (:mod:`rfgraph.engine._sweep`).  Arrays and ints only."""

from __future__ import annotations

import numpy as np

from ._numba import kernel


@kernel
def _pull_rows(cur, out, pre, n_out, post, indptr, indices, weights, accumulate):  # type: ignore[no-untyped-def]
    """``out[(p, u, q), b] (+)= w(u -> v) * cur[(p, v, q), b]`` for rows laid out as (pre, n, post).

    ``out`` holds ``pre * n_in * post`` rows; with ``accumulate`` false they are zeroed first.
    """
    batch = cur.shape[1]
    if not accumulate:
        out[:] = 0.0
    n_in_rows = out.shape[0] // max(pre * post, 1)
    if batch == 1:  # one seed: flat rows, the innermost loop runs along post
        c = cur[:, 0]
        o = out[:, 0]
        for p in range(pre):
            for v in range(n_out):
                src = (p * n_out + v) * post
                for e in range(indptr[v], indptr[v + 1]):
                    w = weights[e]
                    dst = (p * n_in_rows + indices[e]) * post
                    if w == 1.0:
                        for q in range(post):
                            o[dst + q] += c[src + q]
                    else:
                        for q in range(post):
                            o[dst + q] += w * c[src + q]
        return
    for p in range(pre):
        for v in range(n_out):
            src = (p * n_out + v) * post
            for e in range(indptr[v], indptr[v + 1]):
                w = weights[e]
                dst = (p * n_in_rows + indices[e]) * post
                for q in range(post):
                    for b in range(batch):
                        out[dst + q, b] += w * cur[src + q, b]


@kernel
def _dense_sweep(  # type: ignore[no-untyped-def]
    buf,
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
    """The backward sweep of every tensor ``top .. 1`` into ``buf`` (rows = nodes, columns = seeds)."""
    batch = buf.shape[1]
    for t in range(top, 0, -1):
        lo = offsets[t]
        hi = offsets[t + 1]
        g = gains[t]
        if g != 1.0:
            for i in range(lo, hi):
                for b in range(batch):
                    buf[i, b] *= g
        for li in range(first_link[t], first_link[t + 1]):
            s = link_src[li]
            slo = offsets[s]
            last = -1  # the lowest non-identity axis is pulled last, straight into the source
            for a in range(3):
                if link_maps[li, a] >= 0:
                    last = a
                    break
            if last < 0:  # identity on every axis: add in place
                for i in range(hi - lo):
                    for b in range(batch):
                        buf[slo + i, b] += buf[lo + i, b]
                continue
            c0 = shapes[t, 0]
            c1 = shapes[t, 1]
            c2 = shapes[t, 2]
            cur = buf[lo:hi]
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
                    pre, n_out, post = 1, c0, c1 * c2
                    rows = nin * c1 * c2
                elif a == 1:
                    pre, n_out, post = c0, c1, c2
                    rows = c0 * nin * c2
                else:
                    pre, n_out, post = c0 * c1, c2, 1
                    rows = c0 * c1 * nin
                if a == last:
                    out = buf[slo : slo + rows]
                    _pull_rows(cur, out, pre, n_out, post, indptr, indices, weights, True)
                else:
                    out = s1[:rows] if flip == 0 else s2[:rows]
                    flip = 1 - flip
                    _pull_rows(cur, out, pre, n_out, post, indptr, indices, weights, False)
                    cur = out
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
