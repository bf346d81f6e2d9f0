"""Numba kernels of one row of the commonest window maps, in one pass that writes each output
once (:func:`rfgraph.engine._kernels_sweep._pull_window_with` sends them its rows), and the peak
of a map.  Arrays and ints only."""

from __future__ import annotations

import numpy as np

from ._numba import helper, kernel


@helper
def _clipped_ends(c, cb, o, ob, n_out, n_in, stride, offset, taps, assign, k_lo, k_hi):  # type: ignore[no-untyped-def]
    """The outputs ``k < k_lo`` and ``k >= k_hi`` of one row of a window pull (dilation 1, stride
    1 or 2), value by value: ``o[k]`` (=, or += unless ``assign``) the sum of ``c[v]`` with
    ``k = v * stride + offset + j``, ``j < taps``, ``0 <= v < n_out``; the one-pass kernels below
    do the rest.  No integer division: on a 7x7 tensor the ends are most of the row."""
    for end in range(2):
        for k in range(0, min(k_lo, n_in)) if end == 0 else range(max(k_hi, k_lo), n_in):
            x = 0.0
            if stride == 1:  # a contiguous range of sources
                for v in range(max(0, k - offset - taps + 1), min(n_out, k - offset + 1)):
                    x += c[cb + v]
            else:
                for j in range(taps):
                    r = k - offset - j
                    if r >= 0 and not r & 1 and r >> 1 < n_out:
                        x += c[cb + (r >> 1)]
            if assign:
                o[ob + k] = x
            else:
                o[ob + k] += x


@helper
def _stride2_taps3(c, cb, o, ob, n_out, n_in, offset, assign):  # type: ignore[no-untyped-def]
    """One row of a 3-tap stride-2 window pull (the stems and downsampling convolutions):
    ``o[k]`` gets ``c[v]`` for ``0 <= k - offset - 2 v <= 2``, so with ``k = offset + 2 u``
    ``o[k] = c[u - 1] + c[u]`` and ``o[k + 1] = c[u]``: one pass that writes each output once
    (the tap-by-tap passes read and write the row three times)."""
    u_lo = max(1, (1 - offset) // 2)
    u_hi = min(n_out - 1, (n_in - 2 - offset) // 2)  # inclusive
    if u_hi < u_lo:
        _clipped_ends(c, cb, o, ob, n_out, n_in, 2, offset, 3, assign, n_in, n_in)
        return
    _clipped_ends(c, cb, o, ob, n_out, n_in, 2, offset, 3, assign, offset + 2 * u_lo, offset + 2 * u_hi + 2)
    src = np.uint64(cb)
    dst = np.uint64(ob + offset)
    two = np.uint64(2)
    one = np.uint64(1)
    if assign:
        for u in range(np.uint64(u_lo), np.uint64(u_hi + 1)):
            x = c[src + u]
            o[dst + two * u] = c[src + u - one] + x
            o[dst + two * u + one] = x
    else:
        for u in range(np.uint64(u_lo), np.uint64(u_hi + 1)):
            x = c[src + u]
            o[dst + two * u] += c[src + u - one] + x
            o[dst + two * u + one] += x


@helper
def _stride1_row(c, cb, o, ob, n_out, n_in, offset, taps, assign):  # type: ignore[no-untyped-def]
    """One row of a 3-, 5- or 7-tap stride-1 window pull (depthwise convolutions; 7 taps:
    ConvNeXt): ``o[i]`` is the sum of ``c[i - offset - j]`` over the taps ``j`` inside the row, in
    one pass that writes each output once."""
    i_lo = max(0, offset + taps - 1)
    i_hi = min(n_in, n_out + offset)  # exclusive: every tap of i_lo <= i < i_hi is inside
    if i_hi <= i_lo:
        _clipped_ends(c, cb, o, ob, n_out, n_in, 1, offset, taps, assign, n_in, n_in)
        return
    _clipped_ends(c, cb, o, ob, n_out, n_in, 1, offset, taps, assign, i_lo, i_hi)
    _stride1_inside(c, cb - offset, o, ob, i_lo, i_hi, taps, assign)


@kernel
def _stride1_rows(c, c_off, o, o_off, pre, n, offset, taps):  # type: ignore[no-untyped-def]
    """:func:`_stride1_row` assigning ``pre`` rows of the same length ``n`` in and out (a "same"
    convolution), the insides of all rows as one run: a 7x7 tensor's rows are too short for a
    loop each.  The values that run puts at the ends of a row (read from its neighbours) are
    written again by the clipped ends."""
    i_lo = max(0, offset + taps - 1)
    i_hi = min(n, n + offset)
    if i_hi <= i_lo:
        for p in range(pre):
            _clipped_ends(c, c_off + p * n, o, o_off + p * n, n, n, 1, offset, taps, True, n, n)
        return
    _stride1_inside(c, c_off - offset, o, o_off, i_lo, (pre - 1) * n + i_hi, taps, True)
    for p in range(pre):
        _clipped_ends(c, c_off + p * n, o, o_off + p * n, n, n, 1, offset, taps, True, i_lo, i_hi)


@helper
def _stride1_inside(c, src, o, dst, i_lo, i_hi, taps, assign):  # type: ignore[no-untyped-def]
    """``o[dst + i]`` (=, or +=) the sum of ``c[src + i - j]`` for ``j < taps`` (3, 5 or 7), every
    index inside: one pass the compiler vectorises."""
    usrc = np.uint64(src)
    udst = np.uint64(dst)
    one = np.uint64(1)
    two = np.uint64(2)
    if taps == 3:
        for i in range(np.uint64(i_lo), np.uint64(i_hi)):
            x = c[usrc + i - two] + c[usrc + i - one] + c[usrc + i]
            if assign:
                o[udst + i] = x
            else:
                o[udst + i] += x
    elif taps == 5:
        for i in range(np.uint64(i_lo), np.uint64(i_hi)):
            x = (
                c[usrc + i - np.uint64(4)]
                + c[usrc + i - np.uint64(3)]
                + c[usrc + i - two]
                + c[usrc + i - one]
                + c[usrc + i]
            )
            if assign:
                o[udst + i] = x
            else:
                o[udst + i] += x
    else:
        for i in range(np.uint64(i_lo), np.uint64(i_hi)):
            x = (
                c[usrc + i - np.uint64(6)]
                + c[usrc + i - np.uint64(5)]
                + c[usrc + i - np.uint64(4)]
                + c[usrc + i - np.uint64(3)]
                + c[usrc + i - two]
                + c[usrc + i - one]
                + c[usrc + i]
            )
            if assign:
                o[udst + i] = x
            else:
                o[udst + i] += x


@kernel
def _peak(x):  # type: ignore[no-untyped-def]
    """max |x| (0 for none).  Compared as the bits of |x| (sign cleared): for doubles they order
    like the magnitudes, and an integer maximum vectorises where a float one (NaN rules) does not
    (2.2 us for 224^2 values against 8 us)."""
    bits = x.view(np.int64)
    top = np.int64(0)
    magnitude = np.int64(0x7FFFFFFFFFFFFFFF)
    for i in range(bits.size):
        top = max(top, bits[i] & magnitude)
    one = np.empty(1, dtype=np.int64)
    one[0] = top
    return one.view(np.float64)[0]
