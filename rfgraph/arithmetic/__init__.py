"""Receptive-field arithmetic: size, effective stride, padding, centre (SPEC section 5).

Coordinates are input-pixel indices (first pixel = 0) on an unbounded input, as
in the classic recurrences (seed 001; Araujo, Norris & Sim, Distill 2019): a
tap that falls in the padding still widens the field.  Each tensor axis keeps,
for every output position ``o``, the interval ``[L(o), R(o)]`` of input pixels
that can reach it.  Integer strides make ``L`` affine in ``o``; transposed
convolution and upsampling give a fractional effective stride ``Q/q``, so ``L``
and ``R`` are stored for one period of ``q`` positions and shift by ``Q`` per
period.  Merges take the union over branches (seed 000) and are *aligned* only
when every branch puts the centre of every position at the same place.

>>> import rfgraph as rf
>>> rec = rf.receptive_field(rf.Sequential(rf.Conv(3), rf.Conv(3, stride=2)), (15,))[-1]
>>> rec.size, rec.stride, rec.padding, rec.center
((5,), (2,), (0,), (2.0,))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from ..geometry import per_axis
from ..geometry.resize import resize_ratio, resize_taps
from ..ops import (
    AdaptivePool,
    ConvTranspose,
    Crop,
    Flip,
    GlobalMix,
    GlobalPool,
    Op,
    Pad,
    PixelShuffle,
    PixelUnshuffle,
    Resize,
    Roll,
    Slice,
    Upsample,
    WindowMix,
    _Windowed,
)
from ..plan import Plan, Tensor, build_plan

__all__ = ["RFRecord", "receptive_field", "format_table"]

Number = int | Fraction


@dataclass(frozen=True)
class _AxisRF:
    """``[L(o), R(o)]`` for ``o = r + q*m`` is ``[lo[r] + Q*m, hi[r] + Q*m]``; ``None`` = empty.

    ``irregular``: the periodic description is not the whole story (a roll's wrap-around,
    a spatial concatenation, merged branches of different strides, or a period too long
    to store, where the fields of the tensor's own positions are tabulated): the tensor's
    fields are then not uniform.
    """

    q: int
    Q: int
    lo: tuple[int | None, ...]
    hi: tuple[int | None, ...]
    irregular: bool = False

    def at(self, o: int) -> tuple[int, int] | None:
        m, r = divmod(o, self.q)
        lo = self.lo[r]
        if lo is None:
            return None
        hi = self.hi[r]
        assert hi is not None
        return lo + self.Q * m, hi + self.Q * m

    @property
    def stride(self) -> Number:
        s = Fraction(self.Q, self.q)
        return int(s) if s.denominator == 1 else s

    def centres(self, q: int) -> tuple[Fraction | None, ...]:
        out = []
        for o in range(q):
            iv = self.at(o)
            out.append(None if iv is None else Fraction(iv[0] + iv[1], 2))
        return tuple(out)


def _from_function(q: int, Q: int, fn: Any, irregular: bool = False) -> _AxisRF:
    lo, hi = [], []
    for o in range(q):
        iv = fn(o)
        lo.append(None if iv is None else iv[0])
        hi.append(None if iv is None else iv[1])
    return _AxisRF(q, Q, tuple(lo), tuple(hi), irregular)


MAX_PERIOD = 4096
"""Longest period of field phases stored per axis; longer ones are tabulated over the tensor."""


def _periodic(rf: _AxisRF, q_op: int, Q_op: int, taps: Any, n_out: int, irregular: bool = False) -> _AxisRF:
    """A per-axis op whose output ``o`` reads input positions ``taps(o)`` (unbounded input),
    with ``taps(o + q_op) = taps(o) + Q_op``.  The result's period is the smallest number of
    output positions after which the taps have moved by a whole number of input periods."""

    def field(o: int) -> tuple[int, int] | None:
        return _hull([rf.at(i) for i in taps(o)])

    g = math.gcd(abs(Q_op), rf.q) if Q_op else rf.q
    period = q_op * (rf.q // g)
    shift = Q_op * (rf.q // g)  # input positions moved per period, a multiple of rf.q
    Q = rf.Q * shift // rf.q
    if period <= MAX_PERIOD:
        return _from_function(period, Q, field, irregular or rf.irregular)
    # Too long to store: tabulate the tensor's own positions (beyond them, an approximation).
    n = min(n_out, MAX_PERIOD)
    return _from_function(n, math.ceil(Q * n / period), field, True)


def _broadcast(rf: _AxisRF) -> _AxisRF:
    """Every position reads position 0 of a one-position tensor: stride 0."""
    first = rf.at(0)
    return _AxisRF(1, 0, (None if first is None else first[0],), (None if first is None else first[1],))


def _whole(rf: _AxisRF, n: int) -> tuple[int, int] | None:
    """Hull of the fields of positions ``0 .. n-1`` (the extremes of each phase are at its ends)."""
    ends = []
    for r in range(min(rf.q, n)):
        last = r + rf.q * ((n - 1 - r) // rf.q)
        ends += [rf.at(r), rf.at(last)]
    return _hull(ends)


def _hull(intervals: list[tuple[int, int] | None]) -> tuple[int, int] | None:
    present = [iv for iv in intervals if iv is not None]
    if not present:
        return None
    return min(iv[0] for iv in present), max(iv[1] for iv in present)


def _leaf(op: Op, t: Tensor, rf: _AxisRF, axis: int) -> _AxisRF:
    g = t.geometry
    assert g is not None
    n_in, n_out = g.in_shape[axis], g.out_shape[axis]
    if isinstance(op, GlobalPool | GlobalMix):
        # Same as a pool whose window and stride are the whole input; a mix keeps the positions.
        whole = _whole(rf, n_in)
        assert whole is not None
        if isinstance(op, GlobalMix):
            return _AxisRF(1, 0, (whole[0],), (whole[1],))
        return _AxisRF(1, whole[1] - whole[0] + 1, (whole[0],), (whole[1],))
    if n_in == 1 and isinstance(op, Upsample | Resize | AdaptivePool):
        return _broadcast(rf)  # e.g. a pooled context vector resized back to the feature map
    if isinstance(op, Upsample):
        f = g.stride[axis]
        if op.mode == "nearest":
            return _from_function(rf.q * f, rf.Q, lambda o: rf.at(o // f), rf.irregular)

        def linear(o: int) -> tuple[int, int] | None:
            num = 2 * o + 1 - f  # source coordinate times 2f, unclamped (unbounded input)
            i0, frac = divmod(num, 2 * f)
            return _hull([rf.at(i0), rf.at(i0 + 1) if frac else None])

        return _from_function(rf.q * f, rf.Q, linear, rf.irregular)
    if isinstance(op, Resize | AdaptivePool):
        if isinstance(op, Resize) and op.mode != "area":
            scales = op.scale_factor if isinstance(op.scale_factor, tuple) else (op.scale_factor,) * len(g.in_shape)
            scale = None if op.recompute_scale_factor else scales[axis]
            ratio = resize_ratio(n_in, n_out, op.mode, op.align_corners, scale)
            mode, ac = op.mode, op.align_corners
            return _periodic(rf, ratio.denominator, ratio.numerator, lambda o: resize_taps(o, ratio, mode, ac), n_out)
        ratio = Fraction(n_in, n_out)
        return _periodic(
            rf,
            ratio.denominator,
            ratio.numerator,
            lambda o: range((o * n_in) // n_out, -((-(o + 1) * n_in) // n_out)),
            n_out,
        )
    if isinstance(op, PixelShuffle):
        r = n_out // n_in
        return _periodic(rf, r, 1, lambda o: [o // r], n_out)
    if isinstance(op, Flip):
        if g.maps[axis].n_in > 1 and g.maps[axis].inputs_of(0)[0] != 0:
            return _periodic(rf, 1, -1, lambda o: [n_in - 1 - o], n_out)
        return rf
    if isinstance(op, Roll):
        shift = int((g.maps[axis].inputs_of(0)[0] * -1) % n_in)  # output 0 reads (-shift) mod n
        # Interior positions are shifted; those that wrap around see the other border.
        return _periodic(rf, 1, 1, lambda o: [o - shift], n_out, irregular=shift % n_in != 0)
    if isinstance(op, WindowMix):
        nd = len(g.in_shape)
        w, sh, d = (per_axis(getattr(op, a), nd, a, "")[axis] for a in ("window", "shift", "dilation"))
        span = w * d

        def window(o: int) -> range:
            # Unbounded input: blocks of w*d positions from ``sh``; the window of ``o`` is the
            # block's positions congruent to ``o`` mod d (its field is the hull of theirs).
            base = ((o - sh) // span) * span + (o - sh) % d + sh
            return range(base, base + span, d)

        return _periodic(rf, span, span, window, n_out, irregular=sh % span != 0)
    # Conv, Pool, ConvTranspose; Crop, Pad, Slice and PixelUnshuffle are windows too.
    assert isinstance(op, _Windowed | Crop | Pad | Slice | PixelUnshuffle)
    k, s, d, pl = g.kernel[axis], g.stride[axis], g.dilation[axis], g.pads[axis][0]
    if isinstance(op, ConvTranspose):

        def transposed(o: int) -> tuple[int, int] | None:
            ins = [(o + pl - t * d) // s for t in range(k) if (o + pl - t * d) % s == 0]
            return _hull([rf.at(i) for i in ins])

        return _from_function(rf.q * s, rf.Q, transposed, rf.irregular)
    return _periodic(rf, 1, s, lambda o: [o * s - pl + t * d for t in range(k)], n_out)


def _merge(rfs: list[_AxisRF], n: int) -> tuple[_AxisRF, bool]:
    """Union of the branches' fields on one axis, and whether they centre every position alike.

    Branches of stride 0 (a broadcast context vector) are context: when other branches
    are local, the numbers describe those (the exact field is in ``global_context`` and
    :func:`rfgraph.reach`).  Local branches of different strides are tabulated over the
    tensor's ``n`` positions and marked irregular.
    """
    local = [r for r in rfs if r.Q != 0] or rfs
    irregular = any(r.irregular for r in local)
    strides = {Fraction(r.Q, r.q) for r in local}
    if len(strides) > 1:
        size = min(n, MAX_PERIOD)
        biggest = max(abs(x) for x in strides)
        merged = _from_function(size, math.ceil(biggest * size), lambda o: _hull([r.at(o) for r in local]), True)
        return merged, False
    q = math.lcm(*(r.q for r in local))
    Q = local[0].Q * (q // local[0].q)
    merged = _from_function(q, Q, lambda o: _hull([r.at(o) for r in local]), irregular)
    centres = {r.centres(q) for r in local}
    return merged, len(centres) == 1


def _tabulate(rfs: list[_AxisRF], maps: list[Any], n: int) -> _AxisRF:
    """Fields of the ``n`` positions read through explicit maps (a spatial concatenation):
    tabulated and irregular."""

    def field(o: int) -> tuple[int, int] | None:
        return _hull([rf.at(int(i)) for rf, m in zip(rfs, maps) for i in m.inputs_of(o)])

    size = min(n, MAX_PERIOD)
    merged = _from_function(size, 0, field, True)
    return _AxisRF(size, size * _mean_step(merged), merged.lo, merged.hi, True)


def _mean_step(rf: _AxisRF) -> int:
    """Rounded average step of the centres (the stride shown for a tabulated axis)."""
    present = [(o, lo + hi) for o, (lo, hi) in enumerate(zip(rf.lo, rf.hi)) if lo is not None and hi is not None]
    if len(present) < 2:
        return 1
    (o0, c0), (o1, c1) = present[0], present[-1]
    return max(1, round((c1 - c0) / 2 / (o1 - o0)))


def _uniform(rf: _AxisRF) -> bool:
    """Every phase has the same size and the centres step by exactly the stride."""
    if rf.irregular or any(lo is None for lo in rf.lo):
        return False
    sizes = {hi - lo for lo, hi in zip(rf.lo, rf.hi)}  # type: ignore[operator]
    if len(sizes) > 1:
        return False
    step = Fraction(rf.Q, rf.q)
    centres = [c for c in rf.centres(rf.q) if c is not None]
    return all(c == centres[0] + r * step for r, c in enumerate(centres))


@dataclass(frozen=True)
class RFRecord:
    """Receptive-field arithmetic of one tensor; per-axis fields are tuples.

    Attributes
    ----------
    name : str
        Tensor name (``"input"`` for the input).
    shape : tuple of int
        Spatial shape of the tensor.
    size : tuple of int
        Receptive-field size in input pixels (the largest over positions when the
        effective stride is fractional).
    stride : tuple of int or Fraction
        Effective stride (jump) in input pixels.
    padding : tuple of int or None
        Effective padding: the field of position 0 starts at ``-padding``.
    center : tuple of float or None
        Centre of position 0's field, ``-padding + (size - 1) / 2`` for integer strides.
    aligned : bool
        False when two paths into this tensor centre some position differently.
    op : str
        The op that made the tensor, as written.
    uniform : bool
        True when every position's field has the same size and the fields step by the
        stride (a regular window).  False after transposed convolutions, up-sampling,
        resizes, window mixing, rolls, spatial concatenation or merges of different
        strides; ``size`` is then the largest over positions.
    global_context : bool
        True when every position's field spans the whole input on every axis (a global
        pool feeding a gate or a broadcast add, global token mixing); the other numbers
        then describe the local part (branches of stride 0 are left out of them).
    """

    name: str
    shape: tuple[int, ...]
    size: tuple[int, ...]
    stride: tuple[Number, ...]
    padding: tuple[int | None, ...]
    center: tuple[float | None, ...]
    aligned: bool
    op: str = ""
    uniform: bool = True
    global_context: bool = False

    @property
    def start(self) -> tuple[float | None, ...]:
        """Seed 001's "start": the centre in coordinates where pixel 0 spans [0, 1)."""
        return tuple(None if c is None else c + 0.5 for c in self.center)

    def as_dict(self) -> dict[str, Any]:
        def plain(v: Any) -> Any:
            if isinstance(v, Fraction):
                return str(v)
            return v

        return {
            "name": self.name,
            "op": self.op,
            "shape": list(self.shape),
            "size": list(self.size),
            "stride": [plain(s) for s in self.stride],
            "padding": list(self.padding),
            "center": list(self.center),
            "start": list(self.start),
            "aligned": self.aligned,
            "uniform": self.uniform,
            "global_context": self.global_context,
        }


def _record(t: Tensor, rfs: list[_AxisRF], aligned: bool, global_context: bool) -> RFRecord:
    sizes, pads, centres = [], [], []
    for rf in rfs:
        spans = [hi - lo + 1 for lo, hi in zip(rf.lo, rf.hi) if lo is not None and hi is not None]
        sizes.append(max(spans) if spans else 0)
        first = rf.at(0)
        pads.append(None if first is None else -first[0])
        centres.append(None if first is None else (first[0] + first[1]) / 2)
    return RFRecord(
        name=t.name,
        shape=t.shape,
        size=tuple(sizes),
        stride=tuple(rf.stride for rf in rfs),
        padding=tuple(pads),
        center=tuple(centres),
        aligned=aligned,
        op="input" if t.op is None else _short(t.op),
        uniform=all(_uniform(rf) for rf in rfs) or all(n == 1 for n in t.shape),
        global_context=global_context,
    )


def _short(op: Op) -> str:
    text = repr(op)
    return text if len(text) <= 60 else f"{type(op).__name__}(...)"


def plan_receptive_field(plan: Plan) -> list[RFRecord]:
    """:func:`receptive_field` for an already-built plan."""
    per_tensor, aligned = _fields(plan)
    flags = _global_flags(plan)
    return [_record(t, per_tensor[t.index], aligned[t.index], flags[t.index]) for t in plan.tensors]


def _fields(plan: Plan) -> tuple[list[list[_AxisRF]], list[bool]]:
    """Per tensor and axis, the periodic fields (unbounded input); and the aligned flags."""
    per_tensor: list[list[_AxisRF]] = []
    aligned: list[bool] = []
    for t in plan.tensors:
        if t.op is None:
            rfs = [_AxisRF(1, 1, (0,), (0,)) for _ in t.shape]
            ok = True
        elif t.geometry is not None:
            src = t.links[0].source
            rfs = [_leaf(t.op, t, per_tensor[src][a], a) for a in range(plan.ndim)]
            ok = aligned[src]
        else:
            rfs, ok = _merge_tensor(plan, t, per_tensor, aligned)
        per_tensor.append(rfs)
        aligned.append(ok)
    return per_tensor, aligned


def _merge_tensor(
    plan: Plan, t: Tensor, per_tensor: list[list[_AxisRF]], aligned: list[bool]
) -> tuple[list[_AxisRF], bool]:
    sources = [link.source for link in t.links]
    ok = all(aligned[s] for s in sources)
    axis = getattr(t.op, "axis", None)
    rfs = []
    for a in range(plan.ndim):
        branch = []
        for link in t.links:
            rf = per_tensor[link.source][a]
            # a size-1 branch broadcast over this axis
            branch.append(_broadcast(rf) if link.maps[a].n_in == 1 and t.shape[a] > 1 else rf)
        if axis is not None and a == axis % plan.ndim:
            rfs.append(_tabulate(branch, [link.maps[a] for link in t.links], t.shape[a]))
            ok = False
            continue
        merged, same = _merge(branch, t.shape[a])
        rfs.append(merged)
        ok = ok and same
    return rfs, ok


MAX_REACH_CELLS = 20_000_000
"""Largest (edges x input positions) one axis may use for the exact per-axis reach sets."""


def _global_flags(plan: Plan) -> list[bool]:
    """Per tensor: does every position reach every input pixel (SPEC section 5)?

    Per axis, the set of input positions that reach each position is kept as a bool
    matrix (exact for the projections of the fields).  A tensor is global when on every
    axis every position reaches every input position, and, with two or more axes, when
    that is also true of the whole field: it comes from a global source, a global op, or
    a chain whose fields are products of their projections.  (A union of branches that
    only jointly covers the input, e.g. row and column gates, is not global.)
    """
    ndim = plan.ndim
    cells = max(
        (link.maps[a].nnz * plan.input_shape[a] for t in plan.tensors for link in t.links for a in range(ndim)),
        default=0,
    )
    if cells > MAX_REACH_CELLS:
        return _global_by_hulls(plan)
    sets: list[list[np.ndarray]] = []
    flags: list[bool] = []
    product: list[bool] = []
    for t in plan.tensors:
        if t.op is None:
            sets.append([np.eye(n, dtype=bool) for n in t.shape])
            flags.append(False)
            product.append(True)
            continue
        axes = []
        for a, n in enumerate(t.shape):
            acc = np.zeros((n, plan.input_shape[a]), dtype=bool)
            for link in t.links:
                m = link.maps[a]
                counts = np.diff(m.indptr)
                rows = counts > 0
                if m.nnz:
                    acc[rows] |= np.logical_or.reduceat(sets[link.source][a][m.indices], m.indptr[:-1][rows], axis=0)
            axes.append(acc)
        sets.append(axes)
        full = all(bool(x.all()) for x in axes)
        chain = t.geometry is not None and product[t.links[0].source]
        product.append(chain)
        sources = any(flags[link.source] for link in t.links)
        flags.append(full and (ndim == 1 or chain or sources or isinstance(t.op, GlobalPool | GlobalMix)))
    return flags


def _global_by_hulls(plan: Plan) -> list[bool]:
    """Like :func:`_global_flags` with per-axis hulls instead of sets (very large inputs)."""
    big = np.iinfo(np.int64).max
    spans: list[list[tuple[np.ndarray, np.ndarray]]] = []
    flags: list[bool] = []
    for t in plan.tensors:
        if t.op is None:
            spans.append([(np.arange(n, dtype=np.int64), np.arange(n, dtype=np.int64)) for n in t.shape])
            flags.append(False)
            continue
        axes = []
        for a, n in enumerate(t.shape):
            lo = np.full(n, big, dtype=np.int64)
            hi = np.full(n, -1, dtype=np.int64)
            for link in t.links:
                m = link.maps[a]
                src_lo, src_hi = spans[link.source][a]
                rows = np.repeat(np.arange(m.n_out), np.diff(m.indptr))
                np.minimum.at(lo, rows, src_lo[m.indices])
                np.maximum.at(hi, rows, src_hi[m.indices])
            axes.append((lo, hi))
        spans.append(axes)
        full = all(bool((lo == 0).all() and (hi == n - 1).all()) for (lo, hi), n in zip(axes, plan.input_shape))
        sources = any(flags[link.source] for link in t.links)
        flags.append(full and (sources or isinstance(t.op, GlobalPool | GlobalMix) or t.geometry is not None))
    return flags


def receptive_field(network: Op, input_shape: Any, endpoint: str | None = None) -> list[RFRecord]:
    """Receptive-field arithmetic of every tensor, input first, output (or end-point) last.

    Parameters
    ----------
    network : Op
        The network description.
    input_shape : tuple of int
        Spatial input size, e.g. ``(224, 224)``.
    endpoint : str, optional
        Stop at this named tensor instead of the network output.

    Returns
    -------
    list of RFRecord

    Examples
    --------
    >>> import rfgraph as rf
    >>> net = rf.Sequential(rf.Conv((3, 5), stride=2), rf.Conv((3, 1), stride=2))
    >>> last = rf.receptive_field(net, (32, 32))[-1]
    >>> last.size, last.stride
    ((7, 5), (4, 4))
    """
    return plan_receptive_field(build_plan(network, input_shape, endpoint))


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _axes(values: tuple[Any, ...]) -> str:
    if len(set(values)) == 1:
        return _fmt(values[0])
    return "x".join(_fmt(v) for v in values)


TABLE_COLUMNS = ("layer", "n", "jump", "size", "start", "center", "padding", "aligned", "uniform", "global")


def table_rows(records: list[RFRecord]) -> list[list[str]]:
    """The table as strings, one row per tensor (columns: :data:`TABLE_COLUMNS`)."""
    return [
        [
            r.name,
            _axes(r.shape),
            _axes(r.stride),
            _axes(r.size),
            _axes(r.start),
            _axes(r.center),
            _axes(r.padding),
            "yes" if r.aligned else "NO",
            "yes" if r.uniform else "NO",
            "YES" if r.global_context else "no",
        ]
        for r in records
    ]


def format_table(records: list[RFRecord]) -> str:
    """A fixed-width text table in the spirit of seed 001's calculator.

    ``n`` is the tensor size, ``jump`` the effective stride, ``size`` the
    receptive-field size, ``start`` seed 001's centre of position 0 (pixel 0
    spans [0, 1)), ``center`` the same in index coordinates.  Per-axis values are
    joined with ``x`` when they differ.  ``uniform`` NO: positions have fields of
    different sizes or irregular steps (``size`` is the largest); ``global`` YES:
    every position sees the whole input (the numbers describe the local part).
    """
    rows = [list(TABLE_COLUMNS), *table_rows(records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
