"""The expected ERF of randomly initialised networks, exactly (SPEC section 11).

:func:`expected_erf` is the map of ``E[(d y_target / d x)**2]`` (summed over input
channels) over random initialisations: every ``Conv``/``ConvTranspose`` has i.i.d.
zero-mean weights with torch's variance for ``init``, biases are zero, every other op
averages as in ``contribution_map(..., weights="mean")``.

Derivation
----------
The gradient is a sum over paths of products of weights.  Weights of different ops are
independent and zero-mean, and one op's weights are shared by every position, so the
expected product of two paths is zero unless they use *the same weight* (same tap, same
channels) at every random op.  Backwards, the second moment ``H(u, u') = sum_c E[g_c(u)
g_c(u')]`` of the gradient over positions obeys

* a random convolution with taps ``S_t`` (``S_t[v, u] = 1`` when output ``v`` reads
  input ``u`` through tap ``t``): ``H_in = C_in * var * sum_t S_t^T H_out S_t``; with
  kaiming's fan-in variance ``gain**2 / (C_in * prod(k))`` the channel counts cancel,
  and a diagonal ``H`` stays diagonal (its diagonal is then a ``weights="mean"``
  sweep times ``gain**2``);
* a weight-free op ``A`` (pooling, resizing, index maps, merges): ``H_in = A^T H A``,
  which fills in off-diagonal entries whenever an output reads several inputs
  (pooling, linear resizes, token mixing);
* a tensor read by several ops: the sum of what each sends back.  The cross terms
  between two readers vanish when either route starts with a random op; they survive
  only when two *weight-free* routes from one tensor meet again (``Add(Identity(),
  Pool(...))``), and then the call raises :class:`~rfgraph.RFGraphError` naming them.

Everything is per-axis separable, so ``H`` is held as the diagonal (an array of the
field's shape) while it is diagonal, and as a dense ``(N, N)`` matrix over the ``N``
positions of the target's field after an op that mixes positions; the dense form is
refused (by name) when it would not fit in memory.

With ``activation="relu"`` a ReLU follows every (transposed) convolution except one that
produces the output, and each multiplies ``H`` by 1/2: the independence assumption of
He et al. (2015) and Luo et al. (2016), not an exact result (measure it with
:func:`sampled_erf`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine import field_windows
from ..errors import RFGraphError
from ..geometry import pad_source
from ..ops import Conv, ConvTranspose, Op
from ..plan import Plan, Tensor, build_plan

__all__ = ["INITS", "ACTIVATIONS", "expected_erf", "random_gain"]

INITS = ("kaiming_normal", "kaiming_uniform", "xavier_normal", "xavier_uniform", "torch_default")
ACTIVATIONS = ("linear", "relu")


def random_gain(init: str, activation: str) -> float:
    """``C_in * Var(w) * prod(kernel_size)``: what one random convolution multiplies ``H`` by per tap.

    kaiming (fan-in) and xavier (equal channel counts in and out: rfgraph networks carry no
    channel counts) give ``gain**2`` (``gain`` = 1 linear, sqrt(2) ReLU); torch's default
    ``nn.Conv`` init (kaiming_uniform with ``a = sqrt(5)``) gives 1/3.
    """
    if init not in INITS:
        raise RFGraphError(f"init={init!r} is unknown; choose one of {', '.join(map(repr, INITS))}")
    if activation not in ACTIVATIONS:
        raise RFGraphError(f"activation={activation!r} is unknown; choose one of {', '.join(map(repr, ACTIVATIONS))}")
    if init == "torch_default":
        return 1.0 / 3.0
    return 2.0 if activation == "relu" else 1.0


# --------------------------------------------------------------------------- the second moment


@dataclass
class _Moment:
    """``H`` of one tensor on its window: ``diag`` (field shape) or ``dense`` ((N, N))."""

    shape: tuple[int, ...]
    diag: np.ndarray | None = None
    dense: np.ndarray | None = None

    def as_dense(self, where: str) -> np.ndarray:
        if self.dense is not None:
            return self.dense
        assert self.diag is not None
        n = self.diag.size
        _check_dense(n, where)
        return np.diag(self.diag.reshape(-1))

    def add(self, other: _Moment, where: str) -> None:
        if self.dense is None and other.dense is None:
            assert self.diag is not None and other.diag is not None
            self.diag = self.diag + other.diag
            return
        self.dense = self.as_dense(where) + other.as_dense(where)
        self.diag = None


def _check_dense(n: int, where: str) -> None:
    from ..engine import _available_memory

    need = 8 * n * n * 4
    limit = _available_memory() // 2
    if need > limit:
        raise RFGraphError(
            f"expected_erf: after {where}, which mixes positions, the gradient's covariance over the "
            f"{n:,} positions of the target's field needs about {need / 2**30:.1f} GiB (limit "
            f"{limit / 2**30:.1f} GiB); use a smaller input or a target nearer the border"
        )


def _axis_pull(x: np.ndarray, axis: int, a: np.ndarray) -> np.ndarray:
    """Contract axis ``axis`` of ``x`` with the rows of ``a`` (n_out, n_in): pull back one axis."""
    return np.moveaxis(np.tensordot(a, np.moveaxis(x, axis, 0), axes=([0], [0])), 0, axis)


def _dense_pull(m: np.ndarray, shape_out: tuple[int, ...], mats: list[list[np.ndarray]]) -> np.ndarray:
    """``sum over taps of S^T M S`` per axis (``mats[axis]``: the per-tap (n_out, n_in) matrices)."""
    nd = len(shape_out)
    x = m.reshape(shape_out + shape_out)
    for axis, taps in enumerate(mats):
        total = None
        for s in taps:
            y = _axis_pull(_axis_pull(x, axis, s), nd + axis, s)
            total = y if total is None else total + y
        assert total is not None
        x = total
    n_in = int(np.prod(x.shape[:nd]))
    return x.reshape(n_in, n_in)


def _diag_pull(h: np.ndarray, mats: list[list[np.ndarray]]) -> np.ndarray:
    """The diagonal of ``sum_t S_t^T diag(h) S_t`` when every ``S_t`` row holds at most one entry."""
    for axis, taps in enumerate(mats):
        h = _axis_pull(h, axis, sum(s * s for s in taps))
    return h


def _preserves_diagonal(mats: list[list[np.ndarray]]) -> bool:
    return all(((s != 0).sum(axis=1) <= 1).all() for taps in mats for s in taps)


# --------------------------------------------------------------------------- per-link matrices


def _tap_mats(t: Tensor, src_win: Any, win: Any) -> list[list[np.ndarray]]:
    """Per axis, per tap, the 0/1 matrix (rows: ``t``'s window, cols: the source's window)."""
    g = t.geometry
    assert g is not None
    mode = getattr(t.op, "padding_mode", "zeros")
    out = []
    for axis in range(len(g.in_shape)):
        n, k, s, d, (pl, _) = g.in_shape[axis], g.kernel[axis], g.stride[axis], g.dilation[axis], g.pads[axis]
        rows = np.arange(win[axis][0], win[axis][1], dtype=np.int64)
        lo_in, hi_in = src_win[axis]
        taps = []
        for j in range(k):
            mat = np.zeros((rows.size, hi_in - lo_in))
            if isinstance(t.op, ConvTranspose):
                # output o reads input i when o = i*s - pl + j*d
                num = rows + pl - j * d
                i = np.where(num % s == 0, num // s, -1)
                i = np.where((i >= 0) & (i < n), i, -1)
            else:
                i = pad_source(rows * s - pl + j * d, n, mode)
            ok = (i >= lo_in) & (i < hi_in)
            mat[np.flatnonzero(ok), i[ok] - lo_in] = 1.0
            taps.append(mat)
        out.append(taps)
    return out


def _link_mats(link: Any, src_win: Any, win: Any) -> list[list[np.ndarray]]:
    """Per axis, the averaging matrix of a weight-free link on the windows (one "tap")."""
    out = []
    for m, (lo, hi), (lo_in, hi_in) in zip(link.maps, win, src_win, strict=True):
        rows = np.repeat(np.arange(m.n_out, dtype=np.int64), np.diff(m.indptr))
        dense = np.zeros((hi - lo, hi_in - lo_in))
        keep = (rows >= lo) & (rows < hi) & (m.indices >= lo_in) & (m.indices < hi_in)
        np.add.at(dense, (rows[keep] - lo, m.indices[keep] - lo_in), m.mean_weights[keep])
        out.append([dense])
    return out


# --------------------------------------------------------------------------- cross terms


def _check_no_weightless_diamond(plan: Plan, alive: list[bool]) -> None:
    """Refuse two weight-free routes from one tensor that meet again (their cross terms survive)."""
    random = [isinstance(t.op, Conv | ConvTranspose) for t in plan.tensors]
    consumers: list[list[int]] = [[] for _ in plan.tensors]
    for t in plan.tensors:
        if not alive[t.index] or random[t.index]:
            continue
        for link in t.links:
            if alive[link.source]:
                consumers[link.source].append(t.index)
    for s in plan.tensors:
        if len(consumers[s.index]) < 2:
            continue
        routes = {s.index: 1}
        for t in plan.tensors[s.index + 1 :]:
            total = 0
            for link in t.links:
                if link.source in routes and not random[t.index] and alive[t.index]:
                    total += routes[link.source]
            if total:
                routes[t.index] = total
                if total > 1:
                    raise RFGraphError(
                        f"expected_erf: {t.kind} {t.name!r} is reached from {s.name!r} along two routes "
                        "without a random weight (e.g. Add(Identity(), Pool(...))); their gradients are "
                        "correlated and those cross terms are not computed: put a Conv on one of the "
                        "branches, or use contribution_map(..., weights='mean') for the averaging network"
                    )


# --------------------------------------------------------------------------- the map


def expected_erf(
    network: Op,
    input_shape: Any,
    target: Any = None,
    init: str = "kaiming_normal",
    activation: str = "linear",
    *,
    endpoint: str | None = None,
) -> np.ndarray:
    """``E[(d y_target / d x)**2]`` over random initialisations, summed over input channels.

    Parameters
    ----------
    network, input_shape, target, endpoint
        As for :func:`rfgraph.contribution_map` (one output channel at ``target``; every
        channel has the same expectation).
    init : {"kaiming_normal", "kaiming_uniform", "xavier_normal", "xavier_uniform", "torch_default"}
        The weights' distribution: only its variance matters.  Fan-in kaiming makes the
        map independent of the channel counts; xavier and transposed convolutions assume
        equal channel counts in and out (rfgraph networks carry none).
        A channel ``Concat`` counts as a sum, as in ``weights="mean"`` (a real concatenation
        read by a fan-in-initialised convolution gives each branch its share of the channels).
    activation : {"linear", "relu"}
        ``"linear"``: exact.  ``"relu"``: the gain sqrt(2) and a factor 1/2 per ReLU after
        every (transposed) convolution but the output's (He et al.'s independence
        assumption, not exact).

    Returns
    -------
    numpy.ndarray
        float64 of shape ``input_shape``.

    Examples
    --------
    >>> import rfgraph as rf
    >>> net = rf.Sequential(rf.Conv(3), rf.Conv(3))
    >>> (rf.erf.expected_erf(net, (5,)) * 9).round(12).tolist()
    [1.0, 2.0, 3.0, 2.0, 1.0]
    >>> res = rf.Residual(rf.Conv(3, padding=1))  # the shortcut's path adds 1, not 1/3**2
    >>> rf.erf.expected_erf(res, (5,)).round(6).tolist()
    [0.0, 0.333333, 1.333333, 0.333333, 0.0]
    """
    from ..engine import check_target

    factor = random_gain(init, activation)
    relu = activation == "relu"
    plan = build_plan(network, input_shape, endpoint)
    tgt = check_target(plan, target)
    windows = field_windows(plan, [tuple((i, i + 1) for i in tgt)])
    alive = [w is not None for w in windows]
    out = np.zeros(plan.input_shape)
    if windows[0] is None:
        return out
    _check_no_weightless_diamond(plan, alive)
    last = len(plan.tensors) - 1
    moments: list[_Moment | None] = [None] * len(plan.tensors)
    moments[last] = _Moment((1,) * plan.ndim, diag=np.ones((1,) * plan.ndim))
    for t in reversed(plan.tensors):
        h = moments[t.index]
        if h is None or t.op is None:
            continue
        moments[t.index] = None
        win = windows[t.index]
        where = f"{t.kind} {t.name!r}"
        is_random = isinstance(t.op, Conv | ConvTranspose)
        scale = 1.0
        if is_random:
            scale = factor / math.prod(t.geometry.kernel)  # type: ignore[union-attr]
            if relu and t.index != last:
                scale *= 0.5
        for link in t.links:
            src_win = windows[link.source]
            if src_win is None:
                continue
            mats = _tap_mats(t, src_win, win) if is_random else _link_mats(link, src_win, win)
            src_shape = tuple(hi - lo for lo, hi in src_win)
            if h.dense is None and _preserves_diagonal(mats):
                assert h.diag is not None
                pulled = _Moment(src_shape, diag=scale * _diag_pull(h.diag, mats))
            else:
                pulled = _Moment(src_shape, dense=scale * _dense_pull(h.as_dense(where), h.shape, mats))
            if pulled.dense is not None:
                _check_dense(pulled.dense.shape[0], where)
            old = moments[link.source]
            if old is None:
                moments[link.source] = pulled
            else:
                old.add(pulled, where)
    h0 = moments[0]
    if h0 is None:
        return out
    values = h0.diag if h0.dense is None else np.diag(h0.dense).reshape(h0.shape)
    assert values is not None
    w0 = windows[0]
    out[tuple(slice(lo, hi) for lo, hi in w0)] = values.reshape(h0.shape)
    return out
