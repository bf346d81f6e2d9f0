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

from .errors import RFGraphError
from .ops import ConvTranspose, Crop, GlobalPool, Op, Upsample, _Windowed
from .plan import Plan, Tensor, build_plan

__all__ = ["RFRecord", "receptive_field", "format_table"]

Number = int | Fraction


@dataclass(frozen=True)
class _AxisRF:
    """``[L(o), R(o)]`` for ``o = r + q*m`` is ``[lo[r] + Q*m, hi[r] + Q*m]``; ``None`` = empty."""

    q: int
    Q: int
    lo: tuple[int | None, ...]
    hi: tuple[int | None, ...]

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


def _from_function(q: int, Q: int, fn: Any) -> _AxisRF:
    lo, hi = [], []
    for o in range(q):
        iv = fn(o)
        lo.append(None if iv is None else iv[0])
        hi.append(None if iv is None else iv[1])
    return _AxisRF(q, Q, tuple(lo), tuple(hi))


def _hull(intervals: list[tuple[int, int] | None]) -> tuple[int, int] | None:
    present = [iv for iv in intervals if iv is not None]
    if not present:
        return None
    return min(iv[0] for iv in present), max(iv[1] for iv in present)


def _leaf(op: Op, t: Tensor, rf: _AxisRF, axis: int) -> _AxisRF:
    g = t.geometry
    assert g is not None
    if isinstance(op, GlobalPool):
        # Same as a pool whose window and stride are the whole input.
        n = g.in_shape[axis]
        whole = _hull([rf.at(i) for i in range(n)])
        assert whole is not None
        return _AxisRF(1, whole[1] - whole[0] + 1, (whole[0],), (whole[1],))
    if isinstance(op, Upsample):
        f = g.stride[axis]
        if op.mode == "nearest":
            return _from_function(rf.q * f, rf.Q, lambda o: rf.at(o // f))

        def linear(o: int) -> tuple[int, int] | None:
            num = 2 * o + 1 - f  # source coordinate times 2f, unclamped (unbounded input)
            i0, frac = divmod(num, 2 * f)
            return _hull([rf.at(i0), rf.at(i0 + 1) if frac else None])

        return _from_function(rf.q * f, rf.Q, linear)
    assert isinstance(op, _Windowed | Crop)  # a crop is a one-tap window with padding -left
    k, s, d, pl = g.kernel[axis], g.stride[axis], g.dilation[axis], g.pads[axis][0]
    if isinstance(op, ConvTranspose):

        def transposed(o: int) -> tuple[int, int] | None:
            ins = [(o + pl - t * d) // s for t in range(k) if (o + pl - t * d) % s == 0]
            return _hull([rf.at(i) for i in ins])

        return _from_function(rf.q * s, rf.Q, transposed)
    g_ = math.gcd(rf.q, s)
    return _from_function(rf.q // g_, rf.Q * (s // g_), lambda o: _hull([rf.at(o * s - pl + t * d) for t in range(k)]))


def _merge(rfs: list[_AxisRF], where: str) -> tuple[_AxisRF, bool]:
    strides = {Fraction(r.Q, r.q) for r in rfs}
    if len(strides) > 1:
        shown = ", ".join(str(s) for s in sorted(strides))
        raise RFGraphError(
            f"{where}: branches have different effective strides ({shown}), so no single "
            "size/stride/padding describes the merged tensor; rf.contribution_map still gives the exact map"
        )
    q = math.lcm(*(r.q for r in rfs))
    Q = rfs[0].Q * (q // rfs[0].q)
    merged = _from_function(q, Q, lambda o: _hull([r.at(o) for r in rfs]))
    centres = {r.centres(q) for r in rfs}
    return merged, len(centres) == 1


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
    """

    name: str
    shape: tuple[int, ...]
    size: tuple[int, ...]
    stride: tuple[Number, ...]
    padding: tuple[int | None, ...]
    center: tuple[float | None, ...]
    aligned: bool
    op: str = ""

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
        }


def _record(t: Tensor, rfs: list[_AxisRF], aligned: bool) -> RFRecord:
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
    )


def _short(op: Op) -> str:
    text = repr(op)
    return text if len(text) <= 60 else f"{type(op).__name__}(...)"


def plan_receptive_field(plan: Plan) -> list[RFRecord]:
    """:func:`receptive_field` for an already-built plan."""
    per_tensor: list[list[_AxisRF]] = []
    aligned: list[bool] = []
    records = []
    for t in plan.tensors:
        if t.op is None:
            rfs = [_AxisRF(1, 1, (0,), (0,)) for _ in t.shape]
            ok = True
        elif t.geometry is not None:
            src = t.links[0].source
            rfs = [_leaf(t.op, t, per_tensor[src][a], a) for a in range(plan.ndim)]
            ok = aligned[src]
        else:
            where = f"{type(t.op).__name__} {t.name!r}"
            sources = [link.source for link in t.links]
            rfs, ok = [], all(aligned[s] for s in sources)
            for a in range(plan.ndim):
                merged, same = _merge([per_tensor[s][a] for s in sources], where)
                rfs.append(merged)
                ok = ok and same
        per_tensor.append(rfs)
        aligned.append(ok)
        records.append(_record(t, rfs, ok))
    return records


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


TABLE_COLUMNS = ("layer", "n", "jump", "size", "start", "center", "padding", "aligned")


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
        ]
        for r in records
    ]


def format_table(records: list[RFRecord]) -> str:
    """A fixed-width text table in the spirit of seed 001's calculator.

    ``n`` is the tensor size, ``jump`` the effective stride, ``size`` the
    receptive-field size, ``start`` seed 001's centre of position 0 (pixel 0
    spans [0, 1)), ``center`` the same in index coordinates.  Per-axis values are
    joined with ``x`` when they differ.
    """
    rows = [list(TABLE_COLUMNS), *table_rows(records)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
