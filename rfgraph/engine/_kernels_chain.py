"""Numba kernels of a chain's map (:mod:`rfgraph.engine._sweep`): one vector per axis through
every link, their outer product written into the map.  Arrays and ints only."""

from __future__ import annotations

import numpy as np

from ._kernels_sweep import _most_taps, _pull_window_with, _section
from ._numba import kernel


@kernel
def _chain_vector(
    cur,
    nxt,
    axis,
    shapes,
    first_link,
    link_maps,
    map_ptr,
    idx_ptr,
    indptr_all,
    indices_all,
    weights_all,
    map_window,
    top,
):  # type: ignore[no-untyped-def]
    """One axis of a chain: ``cur`` (ones on the output) pulled through every link ``top .. 1``
    (window maps by the tensor kernels' window pull, others by their CSR arrays); returns the buffer that
    holds the input's vector."""
    work = np.empty(2 * _most_taps(map_window, 1), dtype=np.int64)
    for t in range(top, 0, -1):
        m = link_maps[first_link[t], axis]
        if m < 0:
            continue
        n_out = shapes[t, axis]
        n_in = shapes[t - 1, axis]
        if map_window[m, 3] > 0:  # assigns every value of nxt[:n_in]
            w = map_window[m]
            _pull_window_with(cur, 0, nxt, 0, 1, n_out, n_in, 1, w[0], w[1], w[2], w[3], True, work)
        else:
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


@kernel
def _chain_map(  # type: ignore[no-untyped-def]
    out,
    tmp,
    full,
    lo,
    ndim,
    gain,
    shapes,
    first_link,
    link_maps,
    map_ptr,
    idx_ptr,
    indptr_all,
    indices_all,
    weights_all,
    map_window,
    top,
):
    """A chain's whole map in one call: one vector per axis pulled from the output's single node,
    their outer product (times ``gain``) written into ``out`` (flat, zeros, the uncropped input of
    shape ``full[:ndim]``) at the window starting at ``lo``; returns the peak |value|.  ``tmp``:
    room for ``5 * longest`` values (a tensor's longest axis), passed in so that no allocation
    happens here."""
    longest = 1
    for t in range(top + 1):
        for a in range(3):
            longest = max(longest, shapes[t, a])
    vecs = tmp[: 3 * longest].reshape(3, longest)
    vecs[:] = 0.0
    peak = abs(gain)
    for a in range(3):
        if a >= ndim:
            vecs[a, 0] = 1.0
            continue
        # An earlier axis with the same maps and sizes (a square input): the same vector.  Maps
        # are the same when they are one map, or two window maps of the same geometry (an
        # importer builds one map per axis even where the axes agree).
        same = -1
        for b in range(a):
            equal = True
            for t in range(top + 1):
                if shapes[t, b] != shapes[t, a]:
                    equal = False
                    break
                if t == 0:
                    continue
                ma = link_maps[first_link[t], a]
                mb = link_maps[first_link[t], b]
                if ma == mb:
                    continue
                if ma < 0 or mb < 0 or map_window[ma, 3] == 0 or map_window[mb, 3] == 0:
                    equal = False
                    break
                for k in range(4):
                    if map_window[ma, k] != map_window[mb, k]:
                        equal = False
                if not equal:
                    break
            if equal:
                same = b
                break
        if same >= 0:
            top_abs = 0.0
            for i in range(shapes[0, a]):
                vecs[a, i] = vecs[same, i]
                top_abs = max(top_abs, abs(vecs[same, i]))
            peak *= top_abs
            continue
        cur = tmp[3 * longest : 4 * longest]
        nxt = tmp[4 * longest : 5 * longest]
        cur[:] = 0.0
        nxt[:] = 0.0
        cur[: shapes[top, a]] = 1.0
        vec = _chain_vector(
            cur,
            nxt,
            a,
            shapes,
            first_link,
            link_maps,
            map_ptr,
            idx_ptr,
            indptr_all,
            indices_all,
            weights_all,
            map_window,
            top,
        )
        top_abs = 0.0
        for i in range(shapes[0, a]):
            vecs[a, i] = vec[i]
            top_abs = max(top_abs, abs(vec[i]))
        peak *= top_abs
    # Every value of the uncropped map written once (zeros outside the window), the last real
    # axis innermost: ``out`` need not be zeroed first, one pass over its memory instead of two.
    f0 = full[0]
    f1 = full[1] if ndim > 1 else 1
    f2 = full[2] if ndim > 2 else 1
    rows = f0 * f1 if ndim > 2 else (f0 if ndim > 1 else 1)
    width = f2 if ndim > 2 else (f1 if ndim > 1 else f0)
    last = ndim - 1
    w_lo = lo[last]
    w_hi = lo[last] + shapes[0, last]
    for r in range(rows):
        inside = True
        x = gain
        if ndim == 2:
            i = r - lo[0]
            inside = 0 <= i < shapes[0, 0]
            if inside:
                x = gain * vecs[0, i]
        elif ndim == 3:
            i = r // f1 - lo[0]
            j = r % f1 - lo[1]
            inside = 0 <= i < shapes[0, 0] and 0 <= j < shapes[0, 1]
            if inside:
                x = gain * vecs[0, i] * vecs[1, j]
        base = np.uint64(r * width)
        if not inside:
            for k in range(np.uint64(width)):
                out[base + k] = 0.0
            continue
        for k in range(np.uint64(w_lo)):
            out[base + k] = 0.0
        v = vecs[last]
        for k in range(np.uint64(w_hi - w_lo)):
            out[base + np.uint64(w_lo) + k] = x * v[k]
        for k in range(np.uint64(w_hi), np.uint64(width)):
            out[base + k] = 0.0
    return peak


@kernel
def _chain_entry(out, tmp, itab, weights_all, full, lo, gain):  # type: ignore[no-untyped-def]
    """:func:`_chain_map` on a packed table."""
    n = itab[itab[15]]
    links = itab[itab[15] + 1]
    maps = itab[itab[15] + 2]
    return _chain_map(
        out,
        tmp,
        full,
        lo,
        itab[itab[15] + 6],
        gain,
        _section(itab, 1).reshape(n, 3),
        _section(itab, 4),
        _section(itab, 8).reshape(links, 3),
        _section(itab, 9),
        _section(itab, 10),
        _section(itab, 11),
        _section(itab, 12),
        weights_all,
        _section(itab, 14).reshape(maps, 4),
        n - 1,
    )
