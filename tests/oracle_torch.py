"""An oracle that shares nothing with the engine: edge sets taken from torch itself.

Every op's edge set is read off torch: the support of the Jacobian of a one-channel
version of the op (ones kernels, float64; resizes in float32, the arithmetic whose zero
weights torch's models see), or a one-hot forward pass for max pooling (input ``i`` is
an edge of output ``o`` iff setting pixel ``i`` to 1 over zeros changes ``o``).  Windows
are a hand-written attention (roll, window partition by ``view``/``permute`` as Swin and
MaxViT do, softmax attention with random weights, reverse).  Nothing here imports
rfgraph's geometry; :func:`rf_support` reads rfgraph's edge set from its plan, for the
comparison.

Networks are composed from these edge sets as adjacency matrices (:class:`OracleNet`):
paths are products of the matrices, reach their support, edges counted from forward
reach and backward reach, fields of every position read off the reach matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

Fn = Callable[[torch.Tensor], torch.Tensor]

torch.set_num_threads(1)  # tiny tensors: threads only add overhead (and the CI machine has 2 cores)

__all__ = [
    "jacobian_support",
    "onehot_support",
    "rf_support",
    "OracleNet",
    "record_problems",
    "cyclic_width",
]


def _spatial(x: torch.Tensor) -> tuple[int, ...]:
    return tuple(x.shape[2:])


def jacobian_support(
    fn: Fn, shape: tuple[int, ...], channels: int = 1, dtype: torch.dtype = torch.float64, seed: int = 0
) -> np.ndarray:
    """Bool ``(outputs, inputs)``: output position ``o`` depends on input position ``i``
    (any channel), from torch's Jacobian at a random input."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand((1, channels, *shape), generator=g, dtype=torch.float64).to(dtype) + 0.5
    jac = torch.autograd.functional.jacobian(fn, x)
    out = fn(x)
    n_out = int(np.prod(_spatial(out)))
    n_in = int(np.prod(shape))
    # (1, C_out, *out, 1, C_in, *in) -> (C_out, n_out, C_in, n_in)
    j = jac.detach().reshape(out.shape[1], n_out, channels, n_in)
    return (j != 0).any(dim=2).any(dim=0).numpy()


def onehot_support(fn: Fn, shape: tuple[int, ...], channels: int = 1) -> np.ndarray:
    """Bool ``(outputs, inputs)`` by one-hot forwards (max pooling: the max reads ``i``)."""
    n_in = int(np.prod(shape))
    base = fn(torch.zeros((1, channels, *shape), dtype=torch.float64))
    cols = []
    for i in range(n_in):
        x = torch.zeros((1, channels, n_in), dtype=torch.float64)
        x[0, :, i] = 1.0
        y = fn(x.reshape(1, channels, *shape))
        cols.append((y != base).reshape(y.shape[1], -1).any(dim=0).numpy())
    return np.stack(cols, axis=1)


def out_shape(fn: Fn, shape: tuple[int, ...], channels: int = 1) -> tuple[int, ...]:
    return _spatial(fn(torch.zeros((1, channels, *shape), dtype=torch.float64)))


def rf_support(op: Any, shape: tuple[int, ...]) -> tuple[tuple[int, ...], np.ndarray]:
    """rfgraph's edge set of one leaf op (from its plan's per-axis maps), and its output shape."""
    from rfgraph.plan import build_plan

    plan = build_plan(op, shape)
    t = plan.tensors[-1]
    assert len(plan.tensors) == 2 and len(t.links) == 1
    dense = np.ones((1, 1), dtype=bool)
    for m in t.links[0].maps:
        dense = np.kron(dense, m.dense())
    return t.shape, dense


# --------------------------------------------------------------------------- torch versions of ops


def _nd(ndim: int, name: str) -> Any:
    return getattr(F, f"{name}{ndim}d")


def conv(ndim: int, k, s, d, pads, mode: str = "zeros") -> Fn:
    """Ones-kernel convolution; ``pads`` per axis ``(left, right)``; mode as torch's padding_mode."""
    ks = k if isinstance(k, tuple) else (k,) * ndim
    flat = [p for pair in reversed(pads) for p in pair]
    torch_mode = {"zeros": "constant"}.get(mode, mode)

    def fn(x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, flat, mode=torch_mode) if any(flat) else x
        w = torch.ones((1, x.shape[1], *ks), dtype=x.dtype)
        return _nd(ndim, "conv")(x, w, stride=s, dilation=d)

    return fn


def conv_transpose(ndim: int, k, s, p, d, op_) -> Fn:
    ks = k if isinstance(k, tuple) else (k,) * ndim

    def fn(x: torch.Tensor) -> torch.Tensor:
        w = torch.ones((x.shape[1], 1, *ks), dtype=x.dtype)
        return _nd(ndim, "conv_transpose")(x, w, stride=s, padding=p, output_padding=op_, dilation=d)

    return fn


def max_pool(ndim: int, k, s, p, d, ceil_mode: bool) -> Fn:
    return lambda x: _nd(ndim, "max_pool")(x, k, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode)


def avg_pool(ndim: int, k, s, p, ceil_mode: bool) -> Fn:
    return lambda x: _nd(ndim, "avg_pool")(x, k, stride=s, padding=p, ceil_mode=ceil_mode, count_include_pad=True)


def attention(tokens: torch.Tensor, seed: int = 1) -> torch.Tensor:
    """Softmax attention over the second-to-last axis of ``(..., tokens, channels)``, random weights."""
    g = torch.Generator().manual_seed(seed)
    c = tokens.shape[-1]
    wq, wk, wv = (torch.randn((c, c), generator=g, dtype=torch.float64).to(tokens.dtype) for _ in range(3))
    q, k, v = tokens @ wq, tokens @ wk, tokens @ wv
    return torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v


def window_attention(ndim: int, windows, shifts, dilations) -> Fn:
    """Swin/MaxViT: ``roll(-shift)``, cut each axis into blocks of ``window*dilation``, a window is
    the block's positions of one residue mod ``dilation``; attention inside; back; ``roll(shift)``."""

    def fn(x: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(2, 2 + ndim))
        x = torch.roll(x, shifts=tuple(-s for s in shifts), dims=dims)
        b, c, *sp = x.shape
        view = [b, c]
        for n, w, d in zip(sp, windows, dilations):
            view += [n // (w * d), w, d]
        y = x.reshape(view)
        # axes: 0 b, 1 c, then per spatial axis (block, inwin, residue)
        blocks = [2 + 3 * a for a in range(ndim)]
        inwin = [3 + 3 * a for a in range(ndim)]
        resid = [4 + 3 * a for a in range(ndim)]
        perm = [0, *blocks, *resid, *inwin, 1]
        y = y.permute(perm)
        lead = y.shape[: 1 + 2 * ndim]
        tokens = y.reshape(*lead, -1, c)
        mixed = attention(tokens).reshape(y.shape)
        inverse = np.argsort(perm).tolist()
        x = mixed.permute(inverse).reshape(b, c, *sp)
        return torch.roll(x, shifts=tuple(shifts), dims=dims)

    return fn


def global_attention(x: torch.Tensor) -> torch.Tensor:
    b, c, *sp = x.shape
    tokens = x.reshape(b, c, -1).transpose(1, 2)
    return attention(tokens).transpose(1, 2).reshape(b, c, *sp)


# --------------------------------------------------------------------------- composed networks


@dataclass
class _Node:
    shape: tuple[int, ...]
    links: list[tuple[int, np.ndarray]]
    forward: Callable[[list[torch.Tensor]], torch.Tensor] | None = None


@dataclass
class OracleNet:
    """A network as torch-derived adjacency matrices between flattened tensors (node 0: input)."""

    input_shape: tuple[int, ...]
    nodes: list[_Node] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.nodes:
            self.nodes.append(_Node(self.input_shape, []))

    def leaf(self, src: int, fn: Fn, kind: str = "jac") -> int:
        shape = self.nodes[src].shape
        if kind == "onehot":
            a = onehot_support(fn, shape)
        else:
            a = jacobian_support(fn, shape, dtype=torch.float32 if kind == "jac32" else torch.float64)
        self.nodes.append(_Node(out_shape(fn, shape), [(src, a)], lambda xs, fn=fn, src=src: fn(xs[src])))
        return len(self.nodes) - 1

    def merge(self, srcs: list[int], axis: int | None = None) -> int:
        """Element-wise merge (NumPy broadcasting of size-1 axes) or a spatial concatenation."""
        shapes = [self.nodes[s].shape for s in srcs]
        ndim = len(self.input_shape)
        if axis is not None:
            total = sum(sh[axis] for sh in shapes)
            shape = tuple(total if a == axis else shapes[0][a] for a in range(ndim))
            links, offset = [], 0
            for s, sh in zip(srcs, shapes):
                m = np.zeros(shape + sh, dtype=bool)
                for pos in np.ndindex(*sh):
                    m[tuple(p + (offset if a == axis else 0) for a, p in enumerate(pos)) + pos] = True
                links.append((s, m.reshape(int(np.prod(shape)), int(np.prod(sh)))))
                offset += sh[axis]

            def cat(xs: list[torch.Tensor], srcs=srcs, axis=axis) -> torch.Tensor:
                return torch.cat([xs[s] for s in srcs], dim=2 + axis)

            self.nodes.append(_Node(shape, links, cat))
            return len(self.nodes) - 1
        shape = tuple(max(sh[a] for sh in shapes) for a in range(ndim))
        links = []
        for s, sh in zip(srcs, shapes):
            m = np.ones((1, 1), dtype=bool)
            for n_out, n_in in zip(shape, sh):
                m = np.kron(m, np.eye(n_out, dtype=bool) if n_in == n_out else np.ones((n_out, 1), dtype=bool))
            links.append((s, m))

        def add(xs: list[torch.Tensor], srcs=srcs) -> torch.Tensor:
            out = xs[srcs[0]]
            for s in srcs[1:]:
                out = out + xs[s]
            return out

        self.nodes.append(_Node(shape, links, add))
        return len(self.nodes) - 1

    # ---- answers

    def paths(self, node: int = -1) -> np.ndarray:
        """Integer matrix ``(positions of node, input pixels)``: number of paths."""
        node %= len(self.nodes)
        mats: list[np.ndarray] = []
        for i, nd in enumerate(self.nodes[: node + 1]):
            if i == 0:
                mats.append(np.eye(int(np.prod(nd.shape)), dtype=object))
                continue
            acc = None
            for src, a in nd.links:
                term = a.astype(object) @ mats[src]
                acc = term if acc is None else acc + term
            mats.append(acc)
        return mats[node]

    def reach(self, node: int = -1) -> np.ndarray:
        """Bool ``(positions, input pixels)``."""
        node %= len(self.nodes)
        mats: list[np.ndarray] = []
        for i, nd in enumerate(self.nodes[: node + 1]):
            if i == 0:
                mats.append(np.eye(int(np.prod(nd.shape)), dtype=bool))
                continue
            acc = np.zeros((int(np.prod(nd.shape)), int(np.prod(self.input_shape))), dtype=bool)
            for src, a in nd.links:
                acc |= (a.astype(np.int64) @ mats[src].astype(np.int64)) > 0
            mats.append(acc)
        return mats[node]

    def edges(self, target: int) -> np.ndarray:
        """Per input pixel, distinct edges on paths to flat output position ``target``."""
        last = len(self.nodes) - 1
        # backward: which nodes of each tensor reach the target
        back: list[np.ndarray | None] = [None] * len(self.nodes)
        back[last] = np.zeros(int(np.prod(self.nodes[last].shape)), dtype=bool)
        back[last][target] = True
        for i in range(last, 0, -1):
            b = back[i]
            if b is None:
                continue
            for src, a in self.nodes[i].links:
                r = (a[b].any(axis=0)) if b.any() else np.zeros(a.shape[1], dtype=bool)
                back[src] = r if back[src] is None else (back[src] | r)
        n_in = int(np.prod(self.input_shape))
        fwd: list[np.ndarray] = [np.eye(n_in, dtype=np.int64)]  # (input pixels, positions) reach
        for nd in self.nodes[1:]:
            acc = np.zeros((n_in, int(np.prod(nd.shape))), dtype=np.int64)
            for src, a in nd.links:
                acc |= ((fwd[src] @ a.T.astype(np.int64)) > 0).astype(np.int64)
            fwd.append(acc)
        total = np.zeros(n_in, dtype=np.int64)
        for i, nd in enumerate(self.nodes[1:], start=1):
            b = back[i]
            if b is None:
                continue
            for src, a in nd.links:
                # edges (u, v): x reaches u, v reaches the target
                per_u = a[b].sum(axis=0)  # for each u of src, edges into reaching v
                total += fwd[src] @ per_u.astype(np.int64)
        return total

    def run(self, x: torch.Tensor) -> torch.Tensor:
        xs = [x]
        for nd in self.nodes[1:]:
            assert nd.forward is not None
            xs.append(nd.forward(xs))
        return xs[-1]


# --------------------------------------------------------------------------- records against exact fields


def cyclic_width(coords: np.ndarray, n: int) -> int:
    """Length of the shortest arc of a circle of ``n`` positions holding every coordinate."""
    c = np.unique(coords)
    if c.size == 0:
        return 0
    gaps = np.diff(np.concatenate([c, [c[0] + n]]))
    return int(n - gaps.max() + 1)


def record_problems(
    rec: Any,
    reach: np.ndarray,
    in_shape: tuple[int, ...],
    wraps: tuple[bool, ...],
    tight: bool,
) -> tuple[list[str], list[tuple[int, ...]]]:
    """Check one receptive-field record against the exact fields of EVERY position.

    ``reach``: bool ``(positions, input pixels)``.  Checks: ``global_context`` is exactly
    "every position reaches every pixel"; unless global, every position's field (its
    projection on each axis, measured cyclically on a wrapping axis) is at most ``size``
    wide; a ``uniform`` record holds each field in ``[-padding + o*stride, ... + size - 1]``;
    ``tight`` (no zero padding anywhere): ``size`` is the widest field over positions.
    Returns the problems and, per axis, the position whose field is the widest.
    """
    problems: list[str] = []
    out = tuple(rec.shape)
    ndim = len(in_shape)
    full = bool(reach.all())
    if bool(rec.global_context) != full:
        problems.append(f"global_context={rec.global_context} but every position reaches every pixel: {full}")
    widest: list[tuple[int, ...]] = []
    if rec.global_context:
        return problems, widest
    grid = np.array(list(np.ndindex(*in_shape)), dtype=np.int64).reshape(-1, ndim)
    best = [(-1, ()) for _ in range(ndim)]
    positions = list(np.ndindex(*out))
    for flat, pos in enumerate(positions):
        hit = grid[reach[flat]]
        if hit.size == 0:
            continue
        for a in range(ndim):
            coords = hit[:, a]
            width = cyclic_width(coords, in_shape[a]) if wraps[a] else int(coords.max() - coords.min() + 1)
            if width > best[a][0]:
                best[a] = (width, pos)
            if width > rec.size[a]:
                problems.append(f"position {pos}: field {width} wide on axis {a}, record size {rec.size[a]}")
            if rec.uniform and rec.padding[a] is not None:
                lo = Fraction(-rec.padding[a]) + pos[a] * Fraction(rec.stride[a])
                hi = lo + rec.size[a] - 1
                if wraps[a]:
                    off = [(Fraction(int(c)) - lo) % in_shape[a] for c in coords]
                    bad = any(x > rec.size[a] - 1 for x in off)
                else:
                    bad = bool(coords.min() < lo or coords.max() > hi)
                if bad:
                    problems.append(
                        f"position {pos}: field {coords.min()}..{coords.max()} on axis {a} is outside the uniform "
                        f"record's [{lo}, {hi}]"
                    )
    for a in range(ndim):
        if best[a][0] < 0:
            continue
        widest.append(best[a][1])
        if tight and best[a][0] != rec.size[a]:
            problems.append(f"axis {a}: record size {rec.size[a]}, widest field {best[a][0]} (position {best[a][1]})")
        if wraps[a] and rec.size[a] > in_shape[a]:
            problems.append(f"axis {a}: record size {rec.size[a]} wider than the wrapping axis ({in_shape[a]})")
    return problems, widest
