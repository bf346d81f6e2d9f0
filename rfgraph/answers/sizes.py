"""Input sizes and field sizes: the smallest input, the smallest field over paths, unproductive layers.

* :func:`min_input_shape` (SPEC section 8): the smallest input, per axis, that
  every op accepts (no empty output, branches that agree).
* :func:`field_sizes`: per tensor, the largest field (the receptive-field table's
  ``size``, the union over paths) beside the smallest field of any single path
  from the input; a skip connection keeps the smallest one small.
* :func:`unproductive_layers`: tensors whose smallest field already exceeds the
  input on every axis (rfa-toolbox's "unproductive layers": every path through
  them sees more than the whole image, so they add no spatial detail).

>>> import rfgraph as rf
>>> net = rf.Sequential(rf.Conv(3), rf.Pool(2), rf.Conv(3))
>>> rf.min_input_shape(net, ndim=1)
(8,)
>>> [(r.name, r.min_size, r.size) for r in field_sizes(rf.Residual(rf.Conv(3, padding=1)), (8,))]
[('input', (1,), (1,)), ('res1.conv1', (3,), (3,)), ('res1', (1,), (3,))]
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

from ..arithmetic import _AxisRF, _from_function, _hull, _leaf
from ..errors import RFGraphError
from ..geometry import MAX_NDIM
from ..ops import Op
from ..plan import build_plan, normalize_shape

__all__ = ["min_input_shape", "field_sizes", "FieldSizes", "unproductive_layers", "MAX_SEARCH"]

MAX_SEARCH = 4096
"""Largest size per axis :func:`min_input_shape` tries."""
# Candidate fields kept per tensor and axis when paths are not nested in each other.
_MAX_CANDIDATES = 32


def _ndim(network: Op) -> int:
    """The number of spatial axes the network's per-axis tuples ask for (2 when any works)."""
    for nd in (2, 1, 3):
        try:
            build_plan(network, (64,) * nd)
        except RFGraphError as err:
            if "entries but the input has" in str(err):
                continue
        return nd
    return 2


def _accepts(network: Op, shape: tuple[int, ...]) -> bool:
    try:
        build_plan(network, shape)
    except RFGraphError:
        return False
    return True


def min_input_shape(network: Op, ndim: int | None = None, *, limit: int = MAX_SEARCH) -> tuple[int, ...]:
    """The smallest input shape every op accepts, per axis.

    Along each axis the sizes are tried in increasing order (an op's output size
    depends only on its input size along that axis, so the axes are independent);
    the answer is the first size for which the network builds, so that every op's
    output is non-empty and merged branches agree.

    Parameters
    ----------
    network : Op
        The network description.
    ndim : int, optional
        Number of spatial axes; by default the one the network's per-axis
        parameters ask for, else 2.
    limit : int
        Largest size tried per axis.

    Returns
    -------
    tuple of int

    Examples
    --------
    >>> import rfgraph as rf
    >>> rf.min_input_shape(rf.zoo.build("vgg16"))
    (32, 32)
    >>> rf.min_input_shape(rf.Conv((3, 5), stride=(1, 2)))
    (3, 5)
    """
    if ndim is None:
        ndim = _ndim(network)
    if not isinstance(ndim, numbers.Integral) or isinstance(ndim, bool) or not 1 <= ndim <= MAX_NDIM:
        raise RFGraphError(f"ndim={ndim!r} must be 1, 2 or 3")
    if not isinstance(network, Op):
        build_plan(network, (1,) * ndim)  # raises the usual "network must be an rfgraph op"
    common = next((n for n in range(1, limit + 1) if _accepts(network, (n,) * ndim)), None)
    if common is None:
        try:
            build_plan(network, (limit,) * ndim)
        except RFGraphError as err:
            raise RFGraphError(f"no input of up to {limit} pixels per axis builds this network: {err}") from None
    assert common is not None
    out = []
    for axis in range(ndim):
        shape = [common] * ndim
        for n in range(1, common + 1):
            shape[axis] = n
            if _accepts(network, tuple(shape)):
                out.append(n)
                break
    return tuple(out)


@dataclass(frozen=True)
class FieldSizes:
    """One tensor's field sizes: the smallest over single paths and the largest (the union)."""

    name: str
    shape: tuple[int, ...]
    min_size: tuple[int, ...]
    size: tuple[int, ...]


def _size(rf: _AxisRF) -> int:
    spans = [hi - lo + 1 for lo, hi in zip(rf.lo, rf.hi) if lo is not None and hi is not None]
    return max(spans) if spans else 0


def _phases(rf: _AxisRF, q: int) -> list[tuple[int, int] | None]:
    return [rf.at(o) for o in range(q)]


def _nested(a: _AxisRF, b: _AxisRF) -> bool:
    """Every position's field along path ``a`` lies inside its field along path ``b``."""
    if a.Q * b.q != b.Q * a.q:
        return False
    q = math.lcm(a.q, b.q)
    for x, y in zip(_phases(a, q), _phases(b, q)):
        if x is None:
            continue
        if y is None or x[0] < y[0] or x[1] > y[1]:
            return False
    return True


def _prune(candidates: list[_AxisRF]) -> list[_AxisRF]:
    # A path whose fields contain another path's can never become the smaller one later:
    # every op maps nested fields to nested fields.
    keep: list[_AxisRF] = []
    for c in sorted(candidates, key=_size):
        if not any(_nested(k, c) for k in keep):
            keep.append(c)
    return keep[:_MAX_CANDIDATES]


def _union(rfs: list[_AxisRF]) -> _AxisRF:
    """The hull of branch fields; with different strides (no common grid) the widest branch."""
    if any(r.Q * rfs[0].q != rfs[0].Q * r.q for r in rfs):
        return max(rfs, key=_size)
    q = math.lcm(*(r.q for r in rfs))
    Q = rfs[0].Q * (q // rfs[0].q)
    return _from_function(q, Q, lambda o: _hull([r.at(o) for r in rfs]))


def field_sizes(network: Op, input_shape: Any, *, endpoint: str | None = None) -> list[FieldSizes]:
    """Per tensor, the smallest field of any single path beside the largest field.

    Parameters
    ----------
    network : Op
        The network description.
    input_shape : tuple of int
        Spatial input size.
    endpoint : str, optional
        Stop at this tensor.

    Returns
    -------
    list of FieldSizes
        Input first, in the order of :func:`rfgraph.receptive_field`.

    Examples
    --------
    >>> import rfgraph as rf
    >>> rec = field_sizes(rf.zoo.build("resnet18"), (224, 224))[-1]
    >>> rec.min_size < rec.size
    True
    """
    plan = build_plan(network, normalize_shape(input_shape), endpoint)
    per_tensor: list[list[list[_AxisRF]]] = []
    unions: list[list[_AxisRF]] = []
    out = []
    for t in plan.tensors:
        if t.op is None:
            cands = [[_AxisRF(1, 1, (0,), (0,))] for _ in t.shape]
            union = [c[0] for c in cands]
        elif t.geometry is not None:
            s = t.links[0].source
            cands = [_prune([_leaf(t.op, t, c, a) for c in per_tensor[s][a]]) for a in range(plan.ndim)]
            union = [_leaf(t.op, t, unions[s][a], a) for a in range(plan.ndim)]
        else:
            cands = [_prune([c for link in t.links for c in per_tensor[link.source][a]]) for a in range(plan.ndim)]
            union = [_union([unions[link.source][a] for link in t.links]) for a in range(plan.ndim)]
        per_tensor.append(cands)
        unions.append(union)
        smallest = tuple(min(_size(c) for c in axis) for axis in cands)
        out.append(FieldSizes(t.name, t.shape, smallest, tuple(_size(u) for u in union)))
    return out


def unproductive_layers(network: Op, input_shape: Any, *, endpoint: str | None = None) -> list[str]:
    """Tensors whose smallest field (over paths) exceeds the input on every axis.

    >>> import rfgraph as rf
    >>> unproductive_layers(rf.Sequential(*[rf.Conv(3, padding=1)] * 6), (8,))
    ['conv4', 'conv5', 'conv6']
    """
    shape = normalize_shape(input_shape)
    return [
        r.name
        for r in field_sizes(network, shape, endpoint=endpoint)[1:]
        if all(m > n for m, n in zip(r.min_size, shape))
    ]
