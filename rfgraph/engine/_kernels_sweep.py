"""Numba kernels of the compiled path sweep (:mod:`rfgraph.engine._sweep`).  Arrays and ints only.

Buffers are flat: node ``i`` of a tensor holds its ``batch`` seed columns at ``i * batch ..``,
so the rows one edge moves are one contiguous run (``post * batch`` values).
"""

from __future__ import annotations

import numpy as np

from ._kernels_rows import _peak, _stride1_row, _stride1_rows, _stride2_taps3
from ._numba import helper, kernel


@kernel
def _pull_rows(c, c_off, o, o_off, pre, n_out, n_in, run, indptr, indices, weights):  # type: ignore[no-untyped-def]
    """``o[(p, u, :)] += w(u -> v) * c[(p, v, :)]`` for rows laid out as (pre, n, run), runs contiguous."""
    # Offsets are cast to uint64: numba then drops its negative-index wraparound, which
    # otherwise keeps LLVM from vectorising the inner loops (about 3x on wide runs).
    urun = np.uint64(run)
    for p in range(pre):
        for v in range(n_out):
            src = np.uint64(c_off + (p * n_out + v) * run)
            for e in range(indptr[v], indptr[v + 1]):
                w = weights[e]
                dst = np.uint64(o_off + (p * n_in + indices[e]) * run)
                if w == 1.0:
                    for k in range(urun):
                        o[dst + k] += c[src + k]
                else:
                    for k in range(urun):
                        o[dst + k] += w * c[src + k]


@helper
def _tap_range(c, src, o, dst, count, stride):  # type: ignore[no-untyped-def]
    """``o[dst + stride * i] += c[src + i]`` for ``i < count`` (one tap of a window map, runs of one)."""
    if stride == 1:
        for i in range(np.uint64(count)):
            o[dst + i] += c[src + i]
    elif stride == 0:  # every output reads one input: a sum, in four accumulators (no store chain)
        a0 = a1 = a2 = a3 = 0.0
        n4 = count - count % 4
        for i in range(0, n4, 4):
            a0 += c[src + i]
            a1 += c[src + i + 1]
            a2 += c[src + i + 2]
            a3 += c[src + i + 3]
        for i in range(n4, count):
            a0 += c[src + i]
        o[dst] += (a0 + a1) + (a2 + a3)
    else:
        us = np.uint64(stride)
        for i in range(np.uint64(count)):
            o[dst + us * i] += c[src + i]


@helper
def _tap_bounds(shift, stride, n_out, n_in):  # type: ignore[no-untyped-def]
    """The outputs ``v_lo .. v_hi`` whose input ``v * stride + shift`` lies inside ``0 .. n_in``."""
    if shift > n_in - 1 or (shift < 0 and stride == 0):
        return 0, 0
    if stride == 0:
        return 0, n_out
    if stride == 1:  # no integer division (tens of cycles) for the common strides
        return max(0, -shift), min(n_out, n_in - shift)
    if stride == 2:
        return (max(0, 1 - shift)) >> 1, min(n_out, ((n_in - 1 - shift) >> 1) + 1)
    lo = 0 if shift >= 0 else (stride - 1 - shift) // stride
    return lo, min(n_out, (n_in - 1 - shift) // stride + 1)


_GATHER_TAPS = 16


@kernel
def _gather_rows(c, c_off, o, o_off, pre, n_out, n_in, run, stride, dilation, offset, taps, assign, srcs):  # type: ignore[no-untyped-def]
    """:func:`_pull_window` for runs longer than one, by destination row: each input row ``u``
    adds its sources (taps in ascending order, as the tap-by-tap passes add them) up to four in
    one pass, so the row is loaded and stored once per four sources instead of once each.
    ``assign``: ``o`` holds nothing yet; every row is written (zeros where no tap reads it), so
    it need not be zeroed first.  ``srcs``: int64 room for ``taps`` offsets."""
    urun = np.uint64(run)
    for p in range(pre):
        cb = c_off + p * n_out * run
        ob = o_off + p * n_in * run
        for u in range(n_in):
            cnt = 0
            # Integer division costs tens of cycles: strides 1 and 2 (nearly all) avoid it.
            for j in range(taps):
                w = u - offset - j * dilation
                if w < 0:
                    continue
                if stride == 1:
                    v = w
                elif stride == 2:
                    if w & 1:
                        continue
                    v = w >> 1
                else:
                    if w % stride:
                        continue
                    v = w // stride
                if v < n_out:
                    srcs[cnt] = cb + v * run
                    cnt += 1
            d = np.uint64(ob + u * run)
            i = 0
            if assign:  # the first (up to) four sources set the row: one pass, no zeroing
                if cnt == 0:
                    for k in range(urun):
                        o[d + k] = 0.0
                    continue
                i = min(cnt, 4)
                a0 = np.uint64(srcs[0])
                if i == 1:
                    for k in range(urun):
                        o[d + k] = c[a0 + k]
                elif i == 2:
                    a1 = np.uint64(srcs[1])
                    for k in range(urun):
                        o[d + k] = c[a0 + k] + c[a1 + k]
                elif i == 3:
                    a1, a2 = np.uint64(srcs[1]), np.uint64(srcs[2])
                    for k in range(urun):
                        o[d + k] = c[a0 + k] + c[a1 + k] + c[a2 + k]
                else:
                    a1, a2, a3 = np.uint64(srcs[1]), np.uint64(srcs[2]), np.uint64(srcs[3])
                    for k in range(urun):
                        o[d + k] = c[a0 + k] + c[a1 + k] + c[a2 + k] + c[a3 + k]
            while i + 4 <= cnt:
                a0, a1, a2, a3 = (
                    np.uint64(srcs[i]),
                    np.uint64(srcs[i + 1]),
                    np.uint64(srcs[i + 2]),
                    np.uint64(srcs[i + 3]),
                )
                for k in range(urun):
                    o[d + k] = o[d + k] + c[a0 + k] + c[a1 + k] + c[a2 + k] + c[a3 + k]
                i += 4
            rest = cnt - i
            if rest == 3:
                a0, a1, a2 = np.uint64(srcs[i]), np.uint64(srcs[i + 1]), np.uint64(srcs[i + 2])
                for k in range(urun):
                    o[d + k] = o[d + k] + c[a0 + k] + c[a1 + k] + c[a2 + k]
            elif rest == 2:
                a0, a1 = np.uint64(srcs[i]), np.uint64(srcs[i + 1])
                for k in range(urun):
                    o[d + k] = o[d + k] + c[a0 + k] + c[a1 + k]
            elif rest == 1:
                a0 = np.uint64(srcs[i])
                for k in range(urun):
                    o[d + k] += c[a0 + k]


@kernel
def _most_taps(map_window, floor):  # type: ignore[no-untyped-def]
    """The most taps of any window map (at least ``floor``): the window kernels' work space is twice that."""
    most = floor
    for m in range(map_window.shape[0]):
        most = max(most, map_window[m, 3])
    return most


@kernel
def _pull_window(c, c_off, o, o_off, pre, n_out, n_in, run, stride, dilation, offset, taps, zero=False):  # type: ignore[no-untyped-def]
    """:func:`_pull_window_with` with its own work space."""
    work = np.empty(2 * max(taps, 1), dtype=np.int64)
    _pull_window_with(c, c_off, o, o_off, pre, n_out, n_in, run, stride, dilation, offset, taps, zero, work)


@kernel
def _pull_window_with(c, c_off, o, o_off, pre, n_out, n_in, run, stride, dilation, offset, taps, zero, work):  # type: ignore[no-untyped-def]
    """:func:`_pull_rows` for an all-ones window map: output ``v`` reads ``v * stride + offset +
    j * dilation`` for ``j < taps`` (clipped to the input; stride 0: every output reads the same
    inputs).  One pass per tap over a contiguous range of outputs; for runs of one, strides 1
    and 2 are spelled out (stride 2 two taps at a time, a full interleaved pair) so that the
    compiler vectorises them.  ``zero``: ``o`` holds nothing yet; each row's destination is
    zeroed just before its taps (in cache), not in a separate pass over the whole tensor.
    ``work``: int64 room for ``2 * taps`` values (a sweep passes one buffer to every link: an
    allocation per call is a third of a small link's time)."""
    urun = np.uint64(run)
    if run == 1 and stride == 2 and dilation == 1 and taps == 3:
        for p in range(pre):
            _stride2_taps3(c, c_off + p * n_out, o, o_off + p * n_in, n_out, n_in, offset, zero)
        return
    if run == 1 and stride == 1 and dilation == 1 and (taps == 3 or taps == 5 or taps == 7):
        if zero and pre > 1 and n_out == n_in:
            _stride1_rows(c, c_off, o, o_off, pre, n_in, offset, taps)
            return
        for p in range(pre):
            _stride1_row(c, c_off + p * n_out, o, o_off + p * n_in, n_out, n_in, offset, taps, zero)
        return
    if run > 1 and stride > 0 and taps <= _GATHER_TAPS:
        _gather_rows(c, c_off, o, o_off, pre, n_out, n_in, run, stride, dilation, offset, taps, zero, work)
        return
    # Each tap's range of outputs, once for all rows.
    bounds = work[: 2 * taps].reshape(taps, 2)
    for j in range(taps):
        bounds[j, 0], bounds[j, 1] = _tap_bounds(offset + j * dilation, stride, n_out, n_in)
    pairs = run == 1 and stride == 2 and dilation == 1
    block = np.uint64(n_in * run)
    for p in range(pre):
        cb = c_off + p * n_out * run
        ob = o_off + p * n_in * run
        if zero:
            uob = np.uint64(ob)
            for i in range(block):
                o[uob + i] = 0.0
        j = 0
        if pairs:
            while j + 1 < taps:
                sh = offset + j
                lo_a, hi_a = bounds[j, 0], bounds[j, 1]
                lo_b, hi_b = bounds[j + 1, 0], bounds[j + 1, 1]
                lo = max(lo_a, lo_b)
                hi = min(hi_a, hi_b)
                if hi > lo:
                    src = np.uint64(cb + lo)
                    dst = np.uint64(ob + 2 * lo + sh)
                    for i in range(np.uint64(hi - lo)):
                        x = c[src + i]
                        d = dst + np.uint64(2) * i
                        o[d] += x
                        o[d + np.uint64(1)] += x
                else:
                    lo = hi = max(lo_a, lo_b)
                for v_lo, v_hi, shift in (
                    (lo_a, min(lo, hi_a), sh),
                    (max(hi, lo_a), hi_a, sh),
                    (lo_b, min(lo, hi_b), sh + 1),
                    (max(hi, lo_b), hi_b, sh + 1),
                ):
                    if v_hi > v_lo:
                        _tap_range(c, np.uint64(cb + v_lo), o, np.uint64(ob + 2 * v_lo + shift), v_hi - v_lo, 2)
                j += 2
        while j < taps:
            shift = offset + j * dilation
            v_lo, v_hi = bounds[j, 0], bounds[j, 1]
            j += 1
            if v_hi <= v_lo:
                continue
            src = np.uint64(cb + v_lo * run)
            dst = np.uint64(ob + (v_lo * stride + shift) * run)
            if run == 1 and stride == 1:  # the common case, inline (a call here costs 2x)
                for i in range(np.uint64(v_hi - v_lo)):
                    o[dst + i] += c[src + i]
            elif run == 1:
                _tap_range(c, src, o, dst, v_hi - v_lo, stride)
            else:
                step = np.uint64(stride * run)
                for i in range(np.uint64(v_hi - v_lo)):
                    d0 = dst + i * step
                    s0 = src + i * urun
                    for k in range(urun):
                        o[d0 + k] += c[s0 + k]


_BAND_VALUES = 4096  # x-pulled values one band of a large 2-D link keeps (32 KiB: in L1/L2)


@kernel
def _pull_banded(c, c_off, o, o_off, ny_out, nx_out, ny_in, nx_in, wy, wx, assign, scratch, work):  # type: ignore[no-untyped-def]
    """A large 2-D link of two window maps (x pulled first, then rows gathered along y), band by
    band of destination rows: each band x-pulls only the rows its gather reads into a small
    scratch that stays in cache, instead of the whole intermediate tensor at once.  The same
    sums in the same order; rows shared by two bands are x-pulled twice."""
    sy, dy, oy, ty = wy[0], wy[1], wy[2], wy[3]
    rows = max(1, (_BAND_VALUES // nx_in) * sy)  # destination rows per band
    for u0 in range(0, ny_in, rows):
        u1 = min(ny_in, u0 + rows)
        # Sources of rows u0 .. u1: v = (u - oy - j * dy) / sy for j < ty, inside 0 .. ny_out.
        top = u1 - 1 - oy
        bottom = u0 - oy - (ty - 1) * dy
        v_lo = 0 if bottom <= 0 else (bottom + sy - 1) // sy
        v_hi = -1 if top < 0 else min(ny_out - 1, top // sy)
        if v_hi < v_lo:  # no tap reads these rows
            if assign:
                for i in range(np.uint64(u0 * nx_in), np.uint64(u1 * nx_in)):
                    o[np.uint64(o_off) + i] = 0.0
            continue
        _pull_window_with(
            c,
            c_off + v_lo * nx_out,
            scratch,
            0,
            v_hi - v_lo + 1,
            nx_out,
            nx_in,
            1,
            wx[0],
            wx[1],
            wx[2],
            wx[3],
            True,
            work,
        )
        _gather_rows(
            scratch, -v_lo * nx_in, o, o_off + u0 * nx_in, 1, ny_out, u1 - u0, nx_in, sy, dy, oy - u0, ty, assign, work
        )


@kernel
def _dense_sweep(  # type: ignore[no-untyped-def]
    pool,
    out,
    batch,
    offsets,
    shapes,
    sizes,
    live,
    first_link,
    link_src,
    link_kind,
    link_order,
    link_maps,
    map_ptr,
    idx_ptr,
    indptr_all,
    indices_all,
    weights_all,
    map_nin,
    map_window,
    gains,
    top,
    s1,
    s2,
):
    """The backward sweep of every tensor ``top .. 1``: tensors live in ``pool`` (nodes x seed
    columns, rows shared by tensors not alive at once), the input in ``out``.  Nothing needs to
    be zeroed beforehand: a tensor's first write (link kind 2 or 3) copies or assigns, or zeroes
    its rows just before it adds."""
    work = np.empty(2 * _most_taps(map_window, _GATHER_TAPS), dtype=np.int64)  # the window kernels' work space, once
    for t in range(top, 0, -1):
        if live[t] == 0:
            continue
        lo = offsets[t] * batch
        hi = lo + sizes[t] * batch
        g = gains[t]
        if g != 1.0:
            for i in range(lo, hi):
                pool[i] *= g
        for li in range(first_link[t], first_link[t + 1]):
            if link_kind[li] == 1:  # the source shares these rows: nothing to move
                continue
            src_t = link_src[li]
            dst_buf = out if src_t == 0 else pool
            slo = 0 if src_t == 0 else offsets[src_t] * batch
            # Axes go last-first (order 0) or first-first (order 1, chosen where the last axis
            # would be a sum along runs of one); the final one is pulled straight into the source.
            order = link_order[li]
            last = -1
            for step in range(3):
                a = step if order == 0 else 2 - step
                if link_maps[li, a] >= 0:
                    last = a
                    break
            if last < 0:  # identity on every axis: add in place (copy where it is the first write)
                n = np.uint64(hi - lo)
                ulo = np.uint64(lo)
                uslo = np.uint64(slo)
                if link_kind[li] == 2:
                    for i in range(n):
                        dst_buf[uslo + i] = pool[ulo + i]
                else:
                    for i in range(n):
                        dst_buf[uslo + i] += pool[ulo + i]
                continue
            c0 = shapes[t, 0]
            c1 = shapes[t, 1]
            c2 = shapes[t, 2]
            my = link_maps[li, 0]
            mx = link_maps[li, 1]
            if (
                order == 0
                and c2 * batch == 1
                and link_maps[li, 2] < 0
                and my >= 0
                and mx >= 0
                and map_window[mx, 3] > 0
                and 0 < map_window[my, 3] <= _GATHER_TAPS
                and map_window[my, 0] > 0
                and c0 * map_nin[mx] > _BAND_VALUES
            ):
                _pull_banded(
                    pool,
                    lo,
                    dst_buf,
                    slo,
                    c0,
                    c1,
                    map_nin[my],
                    map_nin[mx],
                    map_window[my],
                    map_window[mx],
                    link_kind[li] == 3,
                    s1,
                    work,
                )
                continue
            cur = pool
            cur_off = lo
            flip = 0
            for step in range(3):
                a = 2 - step if order == 0 else step
                m = link_maps[li, a]
                if m < 0:
                    continue
                nin = map_nin[m]
                if a == 0:
                    pre, n_out, run = 1, c0, c1 * c2 * batch
                elif a == 1:
                    pre, n_out, run = c0, c1, c2 * batch
                else:
                    pre, n_out, run = c0 * c1, c2, batch
                taps = map_window[m, 3]
                # ``fresh``: the destination holds nothing yet (the source's first write, or
                # scratch); the window kernel assigns (row gather) or zeroes row by row, the
                # CSR kernel needs it zeroed first.
                if a == last:
                    dest = dst_buf
                    dest_off = slo
                    fresh = link_kind[li] == 3
                else:
                    dest = s1 if flip == 0 else s2
                    dest_off = 0
                    flip = 1 - flip
                    fresh = True
                if fresh and taps == 0:
                    dest[dest_off : dest_off + pre * nin * run] = 0.0
                if taps > 0:
                    _pull_window_with(
                        cur,
                        cur_off,
                        dest,
                        dest_off,
                        pre,
                        n_out,
                        nin,
                        run,
                        map_window[m, 0],
                        map_window[m, 1],
                        map_window[m, 2],
                        taps,
                        fresh,
                        work,
                    )
                else:
                    indptr = indptr_all[map_ptr[m] : map_ptr[m + 1]]
                    indices = indices_all[idx_ptr[m] : idx_ptr[m + 1]]
                    weights = weights_all[idx_ptr[m] : idx_ptr[m + 1]]
                    _pull_rows(cur, cur_off, dest, dest_off, pre, n_out, nin, run, indptr, indices, weights)
                cur = dest
                cur_off = dest_off
                if a == 0:
                    c0 = nin
                elif a == 1:
                    c1 = nin
                else:
                    c2 = nin


# --------------------------------------------------------------------------- packed entries
# A numba call pays for every argument it types (about 0.4 us each when the caches are cold,
# after another library ran): the entries below take the link table as one int64 and one
# float64 array (rfgraph.engine._table.packed) and slice it here.  Section i of ``itab`` is
# itab[itab[i] : itab[i + 1]]; the order is the one of ``_SECTIONS`` in _table.


@kernel
def _section(itab, i):  # type: ignore[no-untyped-def]
    return itab[itab[i] : itab[i + 1]]


@kernel
def _dense_entry(work, out, itab, weights_all, gains, batch):  # type: ignore[no-untyped-def]
    """:func:`_dense_sweep` on a packed table; ``work`` holds the pool, then two scratch buffers."""
    n = itab[itab[15]]
    links = itab[itab[15] + 1]
    maps = itab[itab[15] + 2]
    pool_rows = itab[itab[15] + 3] * batch
    scratch = itab[itab[15] + 4] * batch
    scratch2 = itab[itab[15] + 5] * batch
    _dense_sweep(
        work[:pool_rows],
        out,
        batch,
        _section(itab, 0),
        _section(itab, 1).reshape(n, 3),
        _section(itab, 2),
        _section(itab, 3),
        _section(itab, 4),
        _section(itab, 5),
        _section(itab, 6),
        _section(itab, 7),
        _section(itab, 8).reshape(links, 3),
        _section(itab, 9),
        _section(itab, 10),
        _section(itab, 11),
        _section(itab, 12),
        weights_all,
        _section(itab, 13),
        _section(itab, 14).reshape(maps, 4),
        gains,
        n - 1,
        work[pool_rows : pool_rows + scratch],
        work[pool_rows + scratch : pool_rows + scratch + scratch2],
    )


@kernel
def _dense_ones(out, work, itab, weights_all, gains):  # type: ignore[no-untyped-def]
    """:func:`_dense_entry` of one seed column of ones, written here (a bound program's map);
    returns the map's peak |value| (no pass of numpy over it afterwards)."""
    top = itab[itab[15]] - 1
    offsets = _section(itab, 0)
    sizes = _section(itab, 2)
    for i in range(offsets[top], offsets[top] + sizes[top]):
        work[i] = 1.0
    _dense_entry(work, out, itab, weights_all, gains, 1)
    return _peak(out)
