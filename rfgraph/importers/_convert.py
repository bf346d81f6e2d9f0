"""The shared translation layer of the importers: tensors, merges and leaf ops.

Both :mod:`rfgraph.importers.torch` and :mod:`rfgraph.importers.onnx` walk a computation
graph in topological order; this module turns what they read (a convolution, a pool,
a resize, a crop, a reshape, a reduction, a merge) into rfgraph ops on a
:class:`~rfgraph.importers._dag.Dag`, so that both importers translate the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..errors import RFGraphError
from ..ops import Conv, Crop, GlobalPool, Op, Pool, Upsample
from ..ops.index import AdaptivePool, Flip, GlobalMix, Pad, PixelShuffle, PixelUnshuffle, Resize, Roll
from . import _digits
from ._dag import Dag
from ._layout import _T, Value, _c, _dims, _Flat, _make, _permuted, _regroup, _Same, _Scores, _Split, _tuple
from ._names import POINTWISE_FUNCTIONS

__all__ = ["POINTWISE_FUNCTIONS", "NORM_STATS"]

NORM_STATS = ("global", "ignore")
"""``norm_stats`` of the importers: statistics over spatial axes as global context, or ignored."""


def _torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the environment
        raise RFGraphError("rf.from_torch needs PyTorch: pip install 'rfgraph[torch]'") from None
    return torch


def _func_name(target: Any) -> str:
    if isinstance(target, str):
        return target
    opname = getattr(target, "_opname", None)  # an ATen overload (torch.export): aten.conv2d.default -> conv2d
    if isinstance(opname, str):
        return opname.lstrip("_")
    name = getattr(target, "__name__", None) or type(target).__name__
    return name.lstrip("_")


class _Converter:
    """Turns a stream of operations into a :class:`~rfgraph.importers._dag.Dag` (shared with the ONNX importer,
    which passes ``torch=None`` and never calls :meth:`module`)."""

    def __init__(self, torch: Any, shape: tuple[int, ...], identity: Iterable[Any], norm_stats: str = "global") -> None:
        if norm_stats not in NORM_STATS:
            raise RFGraphError(f"norm_stats={norm_stats!r} is unknown; use 'global' or 'ignore'")
        self.torch = torch
        self.nn: Any = None if torch is None else torch.nn
        self.ndim = len(shape)
        self.dag = Dag(shape)
        self.identity_types = tuple(t for t in identity if isinstance(t, type))
        self.identity_names = frozenset(t for t in identity if isinstance(t, str))
        self.norm_stats = norm_stats

    # -- helpers --------------------------------------------------------------------------
    def spatial(self, v: _T | _Flat) -> tuple[int, ...]:
        """Spatial shape of ``v`` as torch sees it (pending ``F.pad`` zero padding included)."""
        shape = self.dag.shape(v.index)
        if isinstance(v, _T) and v.pad:
            return tuple(n + a + b for n, (a, b) in zip(shape, v.pad, strict=True))
        return shape

    def dims(self, x: _T) -> tuple[int, ...]:
        return _dims(x, self.ndim)

    def is_channels_first(self, x: _T) -> bool:
        return self.dims(x) == tuple(range(x.rank - self.ndim, x.rank))

    def is_flattened(self, x: _T) -> bool:
        """All spatial axes flattened into one tensor axis (tokens ``(N, H*W, C)``)."""
        dims = self.dims(x)
        return len(dims) > 1 and len(set(dims)) == 1

    def channels_first(self, x: _T, what: str, scopes: list[str]) -> None:
        if not self.is_channels_first(x):
            raise RFGraphError(
                f"{self.where(scopes, what)} reads a tensor whose spatial axes are not the last ones "
                f"(they are at axes {self.dims(x)} of {x.rank}); permute back to channels-first first"
            )

    def plain(self, x: _T, scopes: list[str], what: str) -> _T:
        """``x`` with its pending zero padding made a :class:`~rfgraph.ops.index.Pad` layer (a convolution
        or pooling folds it into its own padding instead)."""
        if not x.pad:
            return x
        index = self.dag.leaf(Pad(_c(x.pad)), x.index, scopes, "pad")
        return _T(index, x.rank, x.axes)

    def leaf(self, op: Op, x: _T, scopes: list[str], base: str, rank: int | None = None) -> _T:
        x = self.plain(x, scopes, base)
        return _make(
            self.dag.leaf(op, x.index, scopes, base), x.rank if rank is None else rank, self.dims(x), self.ndim
        )

    def spatial_dims(self, rank: int) -> range:
        return range(rank - self.ndim, rank)

    def where(self, scopes: list[str], what: str) -> str:
        return f"{what} at {scopes[-1]!r}" if scopes else f"{what} in the top-level forward"

    def is_global(self, v: Value) -> bool:
        """A tensor with one position: every layout and every channel op is the same graph."""
        return isinstance(v, _T | _Flat) and math.prod(self.dag.shape(v.index)) == 1

    # -- merges -----------------------------------------------------------------------------
    def merge(self, kind: str, values: list[Any], scopes: list[str], base: str) -> Value:
        """Element-wise merge (``kind="add"``: sum, product, gating) or channel ``"concat"``; broadcasts."""
        distinct = list(dict.fromkeys(values))
        if len(distinct) == 1:
            return distinct[0]
        scores = [v for v in distinct if isinstance(v, _Scores)]
        if scores:  # a term added to attention scores (MViT's relative positions from the queries)
            extra = [v.index for v in distinct if isinstance(v, _T | _Flat | _Split)]
            reads = tuple(dict.fromkeys([i for s in scores for i in s.sources] + extra))
            return _Scores(reads, scores[0].like, scores[0].mixed)
        if any(isinstance(v, _Split) for v in distinct):
            return _digits.merge(self, kind, distinct, scopes, base)
        maps = [v for v in distinct if isinstance(v, _T)]
        flats = [v for v in distinct if isinstance(v, _Flat)]
        if maps and flats:
            if all(self.is_global(f) for f in flats):  # a pooled vector gating a map
                flats = []
            else:
                raise RFGraphError(f"{self.where(scopes, base)} combines a flattened tensor with a feature map")
        if not maps:
            return _Flat(self.dag.merge(kind, [v.index for v in distinct], scopes, base))
        wide = [m for m in maps if not self.is_global(m)] or maps
        rank = max(m.rank for m in maps)
        ends = {tuple(m.rank - a for a in self.dims(m)) for m in wide}  # right-aligned, as torch broadcasts
        if len(ends) > 1:
            raise RFGraphError(
                f"{self.where(scopes, base)} combines tensors whose spatial axes sit at different axes "
                "(one channels-first, one channels-last); permute one of them"
            )
        axes = tuple(rank - e for e in ends.pop())
        sources = [self.plain(v, scopes, base).index if isinstance(v, _T) else v.index for v in distinct]
        out = _make(self.dag.merge(kind, sources, scopes, base), rank, axes, self.ndim)
        return _T(out.index, out.rank, out.axes, None, max(m.extra for m in maps), any(m.mixed for m in maps))

    def concat(self, parts: list[Any], dim: int, scopes: list[str], base: str) -> Value:
        spatial = [p for p in parts if isinstance(p, _T | _Flat)]
        if len(spatial) != len(parts):
            raise RFGraphError(f"{self.where(scopes, base)}: concatenates tensors that do not depend on the input")
        maps = [p for p in spatial if isinstance(p, _T)]
        if maps and len(maps) == len(spatial):
            rank = maps[0].rank
            if any(dim % rank in self.dims(m) for m in maps):
                if any(self.is_flattened(m) for m in maps):
                    raise RFGraphError(
                        f"{self.where(scopes, base)} concatenates along a flattened token axis (a class token?); "
                        "not supported"
                    )
                if len({self.dims(m) for m in maps}) > 1 or len({m.rank for m in maps}) > 1:
                    raise RFGraphError(f"{self.where(scopes, base)} concatenates tensors of different layouts")
                axis = self.dims(maps[0]).index(dim % rank)
                sources = [self.plain(m, scopes, base).index for m in maps]
                index = self.dag.merge("concat", sources, scopes, base, axis=axis)
                return _T(index, rank, maps[0].axes)
            return self.merge("concat", parts, scopes, base)
        if all(self.is_global(p) for p in spatial):
            return _Flat(self.dag.merge("concat", [p.index for p in spatial], scopes, base))
        raise RFGraphError(f"{self.where(scopes, base)} concatenates flattened feature maps; not supported")

    def stack(self, parts: list[Any], dim: int, scopes: list[str], base: str) -> Value:
        """``torch.stack`` along a new non-spatial axis: a channel concatenation of rank + 1."""
        maps = [p for p in parts if isinstance(p, _T)]
        if len(maps) != len(parts):
            return self.concat(parts, 1, scopes, base)  # vectors: like a concatenation
        rank = maps[0].rank + 1
        dim %= rank
        dims = tuple(a + (a >= dim) for a in self.dims(maps[0]))
        if dim in dims or any(self.dims(m) != self.dims(maps[0]) for m in maps):
            raise RFGraphError(f"{self.where(scopes, base)} stacks along a spatial axis; not supported")
        out = self.merge("concat", parts, scopes, base)
        return _make(out.index, rank, dims, self.ndim) if isinstance(out, _T) else out

    def expand(self, x: Value, out_shape: Any, scopes: list[str], base: str) -> Value:
        """``expand``/``expand_as``/``broadcast_to``: a size-1 spatial axis repeated (one edge to every position)."""
        if not isinstance(x, _T) or out_shape is None:
            return x
        rank = len(out_shape)
        dims = tuple(a + rank - x.rank for a in self.dims(x))
        full = tuple(int(out_shape[a]) for a in dims)
        x = self.plain(x, scopes, base)
        index = self.dag.broadcast(x.index, full, scopes, base)
        return _make(index, rank, dims, self.ndim)

    # -- heads and norms --------------------------------------------------------------------
    def linear(self, x: Value, scopes: list[str], base: str, features: tuple[int, int] | None = None) -> Value:
        """A Linear (``features``: in and out sizes, when known) on the last axis of ``x``."""
        same_size = features is not None and features[0] == features[1]
        if isinstance(x, _Flat):
            if math.prod(self.spatial(x)) == 1:
                return _Flat(self.dag.leaf(Conv(1), x.index, scopes, base))
            return _Flat(self.dag.leaf(GlobalPool(), x.index, scopes, base))
        if isinstance(x, _T) and x.rank - 1 not in self.dims(x):
            return x  # channels last: a Linear mixes channels only (ConvNeXt's MLP)
        if isinstance(x, _Scores):
            return x  # talking heads: a Linear across heads of the scores
        if isinstance(x, _T) and x.hidden:  # back from a token-mixing MLP's hidden units to the positions
            if features is not None and features[1] == math.prod(self.spatial(x)):
                return _T(x.index, x.rank, x.axes)
            return x
        if isinstance(x, _T) and features and self.is_flattened(x) and not x.extra and not self.is_global(x):
            # a token-mixing MLP (MLP-Mixer, ResMLP): along the token axis every position reads every other
            n = math.prod(self.spatial(x))
            if features[0] == n:
                out = self.mix_axis(x, -1, scopes, base)
                return _T(out.index, x.rank, x.axes, hidden=features[1] != n)
        if isinstance(x, _T) and same_size and not x.extra and not self.is_global(x):
            return self.mix_axis(x, -1, scopes, base)  # token mixing along one spatial axis
        if isinstance(x, _Split):  # on the last axis: a channel op, token mixing, or digits folded into channels
            return _digits.contract(self, x, -1, same_size, scopes, base)
        if isinstance(x, _T) and self.is_global(x):
            return x
        raise RFGraphError(
            f"{self.where(scopes, 'Linear')}: applied to a tensor that still has spatial axes, so it mixes the "
            "last spatial axis; flatten first (x.flatten(1)) or pass its type in identity=(...) to ignore it"
        )

    def mix_axis(self, x: _T, axis: int, scopes: list[str], base: str) -> Value:
        """Every position reads the positions along tensor ``axis`` (a softmax or a Linear over it)."""
        if x.extra:  # every token, class tokens included, reads every token
            out = self.leaf(GlobalMix(), x, scopes, base)
            return _T(out.index, x.rank, x.axes, None, x.extra, mixed=True)
        dims, spatial = self.dims(x), self.spatial(x)
        shape = [1] * x.rank
        for k, a in enumerate(dims):
            shape[a] = math.prod(spatial) if self.is_flattened(x) else spatial[k]
        split = _digits.split(self.plain(x, scopes, base), dims, spatial, shape)
        return _digits.settle(_digits.mix(self, split, split.spatial_atoms(axis % x.rank), scopes, base), self.ndim)

    def norm(self, x: Value, axes: Iterable[int] | None, scopes: list[str], base: str) -> Value:
        """A normalisation whose statistics span tensor ``axes`` (None: every spatial axis)."""
        if isinstance(x, _Split):
            mixed = (
                [a for axis in range(x.rank) for a in x.spatial_atoms(axis)]
                if axes is None
                else (_digits.spatial_in(x, axes))
            )
            return x if self.norm_stats == "ignore" else _digits.mix(self, x, mixed, scopes, f"{base}.stats")
        if not isinstance(x, _T) or self.is_global(x):
            return x
        spatial = set(self.dims(x))
        if axes is not None and not spatial & {a % x.rank for a in axes}:
            return x  # statistics over channels only: pointwise
        if self.norm_stats == "ignore":
            return x
        # Every position's statistics read every position: a global pool broadcast back (SPEC section 3).
        stats = self.leaf(GlobalPool(), x, scopes, f"{base}.stats")
        return self.merge("add", [x, stats], scopes, base)

    # -- windows ----------------------------------------------------------------------------
    def window_pads(self, x: _T, padding: Any) -> Any:
        """``padding`` plus the zero padding pending on ``x`` (from F.pad), as rfgraph padding."""
        if not x.pad:
            return padding
        if isinstance(padding, str):
            if padding == "valid":
                padding = 0
            else:
                raise RFGraphError("'same' padding after F.pad is not supported")
        base = _tuple(padding, self.ndim)
        pairs = [p if isinstance(p, tuple) else (p, p) for p in base]
        return tuple((a + pa, b + pb) for (a, b), (pa, pb) in zip(pairs, x.pad, strict=True))

    def conv(
        self,
        x: _T | _Split,
        kernel: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        scopes: list[str],
        base: str,
        padding_mode: str = "zeros",
    ) -> Value:
        if isinstance(x, _Split):
            return _digits.pointwise_conv(self, x, kernel, stride, padding, scopes, base)
        if not self.is_channels_first(x) and 1 not in self.dims(x):
            ones = all(v == 1 for v in _tuple(kernel, self.ndim) + _tuple(stride, self.ndim))
            if ones and not x.pad and (padding == "valid" or not any(_tuple(padding, self.ndim))):
                return x  # a 1x1 convolution over channels of flattened tokens (MobileViT v2's last stage)
        self.channels_first(x, base, scopes)
        if padding_mode != "zeros":
            x = self.plain(x, scopes, base)
        padding = self.window_pads(x, padding if isinstance(padding, str) else _c(tuple(_tuple(padding, self.ndim))))
        op = Conv(
            _c(tuple(_tuple(kernel, self.ndim))),
            stride=_c(tuple(_tuple(stride, self.ndim))),
            padding=_c(padding) if not isinstance(padding, str) else padding,
            dilation=_c(tuple(_tuple(dilation, self.ndim))),
            padding_mode=padding_mode,
        )
        return self.leaf(op, _T(x.index, x.rank, x.axes), scopes, base)

    def pool(
        self,
        x: _T,
        kernel: Any,
        stride: Any,
        padding: Any,
        dilation: Any,
        ceil_mode: bool,
        scopes: list[str],
        base: str,
    ) -> _T:
        nd = self.ndim
        self.channels_first(x, base, scopes)
        k = _tuple(kernel, nd)
        s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else _tuple(stride, nd)
        p = padding if isinstance(padding, str) else _tuple(padding, nd)
        d = _tuple(dilation, nd)
        if all(v == 1 for v in k + s) and not x.pad and not (p if isinstance(p, str) else any(p)):
            return x  # a one-pixel window is pointwise
        p = self.window_pads(x, p)
        op = Pool(_c(k), stride=None if s == k else _c(s), padding=_c(p), dilation=_c(d), ceil_mode=bool(ceil_mode))
        return self.leaf(op, _T(x.index, x.rank, x.axes), scopes, base)

    def adaptive(self, x: _T, output_size: Any, scopes: list[str], base: str) -> _T:
        self.channels_first(x, base, scopes)
        x = self.plain(x, scopes, base)
        shape = self.spatial(x)
        sizes = _tuple(output_size, self.ndim) if output_size is not None else shape
        sizes = tuple(n if m is None else m for n, m in zip(shape, sizes, strict=True))
        if all(m == 1 for m in sizes):
            return self.leaf(GlobalPool(), x, scopes, base)
        kernels, strides, factors = [], [], []
        for n, m in zip(shape, sizes, strict=True):
            starts = [i * n // m for i in range(m)]
            ends = [-(-(i + 1) * n // m) for i in range(m)]
            lengths = {e - b for b, e in zip(starts, ends, strict=True)}
            if m % n == 0 and lengths == {1}:
                kernels.append(1)
                strides.append(1)
                factors.append(m // n)
                continue
            step = starts[1] - starts[0] if m > 1 else n
            if len(lengths) == 1 and all(b == i * step for i, b in enumerate(starts)):
                kernels.append(lengths.pop())
                strides.append(step)
                factors.append(1)
                continue
            return self.leaf(AdaptivePool(_c(sizes)), x, scopes, base)  # torch's uneven windows
        if all(f == 1 for f in factors):
            return self.pool(x, _c(tuple(kernels)), _c(tuple(strides)), 0, 1, False, scopes, base)
        if all(k == 1 and s == 1 for k, s in zip(kernels, strides, strict=True)):
            return self.leaf(Upsample(_c(tuple(factors))), x, scopes, base)
        return self.leaf(AdaptivePool(_c(sizes)), x, scopes, base)

    def resize(
        self,
        x: _T,
        out_shape: tuple[int, ...] | None,
        mode: str,
        align_corners: Any,
        scopes: list[str],
        base: str,
        scale_factor: Any = None,
        recompute_scale_factor: Any = None,
    ) -> _T:
        """``F.interpolate`` / ONNX Resize: integer enlargement as :class:`~rfgraph.ops.Upsample`, anything
        else as :class:`~rfgraph.ops.index.Resize` (by ``scale_factor`` when torch maps indices with it)."""
        if out_shape is None:
            raise RFGraphError(f"{self.where(scopes, 'resize')}: the output size is unknown")
        self.channels_first(x, base, scopes)
        x = self.plain(x, scopes, base)
        shape = self.spatial(x)
        out = tuple(out_shape[-self.ndim :])
        mode = {"bilinear": "linear", "trilinear": "linear", "bicubic": "cubic", "nearest_exact": "nearest-exact"}.get(
            mode, mode
        )
        if mode not in ("nearest", "nearest-exact", "linear", "cubic", "area"):
            raise RFGraphError(
                f"{self.where(scopes, 'resize')}: mode {mode!r} is not supported; "
                "use 'nearest', 'nearest-exact', 'linear', 'cubic' or 'area'"
            )
        if out == shape and (scale_factor is None or all(float(f) == 1 for f in _tuple(scale_factor, self.ndim))):
            return x  # the same size and scale: every mode reads the input position itself
        integer = all(o % n == 0 for n, o in zip(shape, out, strict=True))
        factors = tuple(o // n for n, o in zip(shape, out, strict=True)) if integer else ()
        if integer and (mode == "nearest" or (mode == "linear" and not align_corners)):
            # Upsample(f) is exactly torch's index map for an integer factor, by size or by scale
            return self.leaf(Upsample(_c(factors), mode=mode), x, scopes, base)
        if scale_factor is not None and mode != "area":
            scales = tuple(float(f) for f in _tuple(scale_factor, self.ndim))
            op = Resize(
                scale_factor=scales[0] if len(set(scales)) == 1 else scales,
                mode=mode,
                align_corners=bool(align_corners) and mode in ("linear", "cubic"),
                recompute_scale_factor=bool(recompute_scale_factor),
            )
        else:
            op = Resize(size=_c(out), mode=mode, align_corners=bool(align_corners) and mode in ("linear", "cubic"))
        return self.leaf(op, x, scopes, base)

    def shuffle(self, x: _T, factor: int, depth_to_space: bool, scopes: list[str], base: str) -> _T:
        """``pixel_shuffle`` (depth to space) or ``pixel_unshuffle`` (space to depth) by ``factor``."""
        self.channels_first(x, base, scopes)
        if factor == 1:
            return x
        op = PixelShuffle(factor) if depth_to_space else PixelUnshuffle(factor)
        return self.leaf(op, x, scopes, base)

    def flip(self, x: _T, dims: Any, scopes: list[str], base: str) -> _T:
        axes = sorted({self.dims(x).index(d % x.rank) for d in _tuple(dims, 1) if d % x.rank in self.dims(x)})
        if not axes:
            return x
        return self.leaf(Flip(axes=axes[0] if len(axes) == 1 else tuple(axes)), x, scopes, base)

    def roll(self, x: _T, shifts: Any, dims: Any, scopes: list[str], base: str) -> _T:
        if dims is None:
            raise RFGraphError(f"{self.where(scopes, base)}: roll without dims flattens the tensor; give dims")
        shift = [0] * self.ndim
        for s, d in zip(_tuple(shifts, 1), _tuple(dims, 1), strict=True):
            if d % x.rank in self.dims(x):
                shift[self.dims(x).index(d % x.rank)] += int(s)
        if not any(shift):
            return x
        return self.leaf(Roll(_c(tuple(shift))), x, scopes, base)

    def crop(self, x: _T, pairs: list[tuple[int, int]], scopes: list[str], base: str) -> _T:
        if not any(left or right for left, right in pairs):
            return x
        pad = None
        if x.pad:  # crop the pending zero padding first; padding and cropping on different axes commute
            left = tuple((a - min(a, la), b - min(b, lb)) for (a, b), (la, lb) in zip(x.pad, pairs, strict=True))
            pairs = [(la - min(a, la), lb - min(b, lb)) for (a, b), (la, lb) in zip(x.pad, pairs, strict=True)]
            pad = left if any(a or b for a, b in left) else None
            x = _T(x.index, x.rank, x.axes)
            if not any(a or b for a, b in pairs):
                return _T(x.index, x.rank, x.axes, pad)
        out = self.leaf(Crop(tuple(pairs)), x, scopes, base)
        return _T(out.index, out.rank, out.axes, pad)

    def pad(self, x: _T, pairs: list[tuple[int, int]], mode: str, scopes: list[str], base: str) -> _T:
        """``F.pad`` / ONNX Pad: zero padding is kept pending (folded into the next window op, else a
        :class:`~rfgraph.ops.index.Pad`); reflect/replicate/circular padding reads pixels: a Pad layer."""
        if mode in ("reflect", "replicate", "circular"):
            if not any(a or b for a, b in pairs):
                return x
            x = self.plain(x, scopes, base)
            return self.leaf(Pad(_c(tuple(pairs)), mode=mode), x, scopes, base)
        if mode not in ("constant", "zeros"):
            raise RFGraphError(f"{self.where(scopes, base)}: padding mode {mode!r} is not supported")
        crop = [(max(-a, 0), max(-b, 0)) for a, b in pairs]
        x = self.crop(x, crop, scopes, base)
        old = x.pad or ((0, 0),) * self.ndim
        pad = tuple((o[0] + max(a, 0), o[1] + max(b, 0)) for o, (a, b) in zip(old, pairs, strict=True))
        return _T(x.index, x.rank, x.axes, pad if any(a or b for a, b in pad) else None)

    # -- shapes -----------------------------------------------------------------------------
    def check_dim(self, dim: Any, x: _T, scopes: list[str], what: str) -> None:
        dims = dim if isinstance(dim, list | tuple) else (dim,)
        for d in dims:
            if isinstance(d, int) and d % x.rank in self.dims(x) and not self.is_global(x):
                raise RFGraphError(
                    f"{self.where(scopes, what)} works along spatial axis {d}, which couples "
                    "positions in a way rfgraph cannot describe"
                )

    def permute(self, x: Value, order: Any, scopes: list[str], what: str) -> Value:
        """``x.permute(order)``: the spatial axes move with it (channels-last layouts)."""
        if isinstance(x, _Split):
            return _digits.settle(_digits.permute_atoms(x, order), self.ndim)
        if not isinstance(x, _T):
            return x
        x = self.plain(x, scopes, what)
        out = _make(x.index, x.rank, _permuted(self.dims(x), order), self.ndim)
        return _T(out.index, out.rank, out.axes, None, x.extra, x.mixed)

    def swap(self, x: Value, a: int, b: int, scopes: list[str], what: str) -> Value:
        if not isinstance(x, _T | _Split):
            return x
        order = list(range(x.rank))
        order[a % x.rank], order[b % x.rank] = order[b % x.rank], order[a % x.rank]
        return self.permute(x, order, scopes, what)

    def reshape(self, x: Value, in_shape: Any, out_shape: Any, scopes: list[str], what: str) -> Value:
        if isinstance(x, _Flat):
            out = tuple(out_shape) if out_shape is not None else None
            if (
                out is not None
                and len(out) > self.ndim
                and self.is_global(x)
                and all(n == 1 for n in out[-self.ndim :])
            ):
                return _T(x.index, len(out))  # a pooled vector viewed as (N, C, 1, 1) again
            return x
        if not isinstance(x, _T | _Split):
            return x
        if out_shape is None or in_shape is None:
            raise RFGraphError(f"{self.where(scopes, what)}: shapes are unknown")
        out, inp = tuple(out_shape), tuple(in_shape)
        if isinstance(x, _Split):
            return _digits.reshape(self, x, inp, out, scopes, what)
        x = self.plain(x, scopes, what)
        if self.is_global(x):  # one position: any layout; channels-first again when the shape says so
            if len(out) > self.ndim and all(n == 1 for n in out[-self.ndim :]):
                return _T(x.index, len(out))
            return _Flat(x.index)
        if len(out) == 2 and out[0] == inp[0] and 0 not in self.dims(x):
            return _Flat(x.index)  # (batch, features): a classifier's flatten (not tokens leading, (L, N*C))
        if x.extra:  # a class token: the token axis moves as one piece
            a = self.dims(x)[0]
            for b in range(len(out)):
                if math.prod(out[:b]) == math.prod(inp[:a]) and out[b] == inp[a]:
                    return _T(x.index, len(out), (b,) * self.ndim, None, x.extra, x.mixed)
            raise RFGraphError(f"{self.where(scopes, what)} reshapes a token axis that holds a class token")
        axes = _regroup(inp, out, self.dims(x), self.spatial(x))
        if axes is not None:
            return _make(x.index, len(out), axes, self.ndim)
        # a spatial axis split into digits (a window or grid partition, unfolded patches)
        return _digits.reshape(self, _digits.split(x, self.dims(x), self.spatial(x), inp), inp, out, scopes, what)

    def getitem(self, x: Value, index: Any, scopes: list[str]) -> Value:
        """``x[index]``: slices of spatial axes are crops or strided slices (:mod:`._indexing`)."""
        from ._indexing import getitem

        return getitem(self, x, index, scopes)

    def reduce(self, x: _T | _Split, dims: Any, keepdim: bool, scopes: list[str], base: str) -> Value:
        if isinstance(x, _Split):
            return _digits.reduce(self, x, dims, keepdim, scopes, base)
        if dims is None:
            dims = tuple(range(x.rank))
        dims = {d % x.rank for d in (dims if isinstance(dims, list | tuple) else (dims,))}
        spatial = self.dims(x)
        if not dims & set(spatial) or (self.is_global(x) and not set(spatial) <= dims):
            if keepdim:
                return x
            if dims & set(spatial):
                return _Flat(x.index)
            left = [a for a in range(x.rank) if a not in dims]
            return _make(x.index, len(left), [left.index(a) for a in spatial], self.ndim)
        if set(spatial) <= dims:
            out = self.leaf(GlobalPool(), self.plain(x, scopes, base), scopes, base)
            return out if keepdim else _Flat(out.index)
        raise RFGraphError(
            f"{self.where(scopes, base)} reduces some spatial axes ({sorted(dims)}) but not all; not supported"
        )


def _depends_on_input(values: Any) -> bool:
    return bool(_tensor_values(values))


def _tensor_values(values: Any) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, _T | _Flat | _Scores | _Split):
            out.append(v)
        elif isinstance(v, _Same):
            out.append(v.value)
        elif isinstance(v, list | tuple):
            out.extend(_tensor_values(v))
        elif isinstance(v, dict):
            out.extend(_tensor_values(list(v.values())))
    return out


def _first_index(value: Value) -> int | None:
    if isinstance(value, _T | _Flat | _Split):
        return value.index
    return None


def _pick_output(result: Value, output: Any) -> int:
    chosen = result
    if isinstance(result, dict):
        key = output if output is not None else ("out" if "out" in result else next(iter(result), None))
        if key not in result:
            raise RFGraphError(f"output={output!r} is not a key of the model's output; choose one of {list(result)}")
        chosen = result[key]
    elif isinstance(result, list | tuple):
        index = 0 if output is None else output
        if not isinstance(index, int) or not -len(result) <= index < len(result):
            raise RFGraphError(f"output={output!r}: the model returns {len(result)} values; give an index")
        chosen = result[index]
    if isinstance(chosen, _Split):
        raise RFGraphError("the model's output is a window-partitioned tensor; choose another output with output=...")
    if not isinstance(chosen, _T | _Flat):
        raise RFGraphError(
            "the model's output does not depend on its input (or is not a tensor); choose another with output=..."
        )
    return chosen.index
