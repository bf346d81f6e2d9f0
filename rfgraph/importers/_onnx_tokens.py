"""Attention and class tokens in ONNX graphs, through the shared token helpers (a mixin of the importer).

An exported transformer spells attention with plain ops: ``MatMul`` of queries and transposed
keys (scores, kept as :class:`~rfgraph.importers._layout._Scores` through the scale, bias,
``Softmax`` and head reshapes), then ``MatMul`` with the values; a class token is a ``Concat``
of a constant with the tokens, picked again by ``Gather``/``Slice`` on the token axis.  Every
one of them goes to :mod:`rfgraph.importers._tokens`, as :func:`rfgraph.from_torch` does.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ..errors import RFGraphError
from . import _digits
from ._convert import _Converter
from ._layout import _T, Value, _Flat, _Scores, _Split
from ._onnx_schema import _MERGES, _REDUCE
from ._tokens import class_token_concat, index_tokens, matmul

__all__: list[str] = []

_THROUGH_SCORES = frozenset(
    ["Softmax", "LogSoftmax", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Expand", "Flatten", "Identity"]
)
"""Ops that keep attention scores scores: every query still reads every key."""


def _pairs(crop: Any, ndim: int) -> list[tuple[int, int]]:
    """A crop (int, per-axis ints or pairs) as one ``(left, right)`` pair per axis."""
    items = (crop,) * ndim if isinstance(crop, int) else tuple(crop)
    return [(int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1])) for v in items]


class _OnnxTokens:
    """Needs ``conv`` (the shared converter), ``inferred`` (static shapes) and ``const`` (constant folding)."""

    conv: _Converter
    inferred: dict[str, tuple[int, ...]]
    values: dict[str, Any]

    def const(self, name: str) -> Any:  # pragma: no cover - provided by the importer
        raise NotImplementedError

    def _attrs(self, node: Any) -> dict[str, Any]:  # pragma: no cover - provided by the importer
        raise NotImplementedError

    def shape_of(self, name: str) -> tuple[int, ...] | None:
        """Static shape of a tensor: shape inference, else the constant's own."""
        shape = self.inferred.get(name)
        if shape and all(shape):
            return shape
        value = self.const(name)
        return None if value is None else tuple(np.shape(value))

    def scores(self, node: Any, inputs: list[Any], scopes: list[str], base: str, label: str) -> Value:
        """An op reading attention scores (``q @ k^T``): scale, bias, mask, softmax, head reshapes keep them."""
        op = node.op_type
        if op == "MatMul":
            return matmul(self.conv, inputs[0], inputs[1], self.inferred.get(node.output[0]), scopes, base)
        scores = [v for v in inputs if isinstance(v, _Scores)]
        others = [v for v in inputs if isinstance(v, _T | _Flat)]
        if op in _REDUCE or (op == "Conv" and all(k == 1 for k in self._attrs(node).get("kernel_shape", [1]))):
            return scores[0]  # a normaliser of the scores (ConViT), talking heads: still queries and keys
        if op not in _THROUGH_SCORES and op not in _MERGES and op not in ("Cast", "Dropout"):
            raise RFGraphError(f"{label} reads attention scores; not supported")
        if len(scores) == 1 and not others:
            return scores[0]
        sources = [i for s in scores for i in s.sources] + [v.index for v in others]
        return dataclasses.replace(scores[0], sources=tuple(dict.fromkeys(sources)))

    def matmul(self, node: Any, inputs: list[Any], scopes: list[str], base: str) -> Value:
        """``MatMul``: a Linear (constant weights), attention scores, or their application."""
        a, b = inputs[0], inputs[1] if len(inputs) > 1 else None
        if isinstance(a, _Flat) and not isinstance(b, _T | _Flat | _Scores | _Split):
            return self.conv.linear(a, scopes, base)  # a classifier head on a flattened map
        weight = self.shape_of(node.input[1]) if len(node.input) > 1 and b is None else None
        if isinstance(a, _T | _Split) and weight is not None and len(weight) == 2:
            # an exported nn.Linear (x @ W, W of shape (in, out)): as from_torch reads it (token-mixing
            # MLPs, patch merging folding digits into channels)
            return self.conv.linear(a, scopes, base, (int(weight[0]), int(weight[1])))
        return matmul(self.conv, a, b, self.inferred.get(node.output[0]), scopes, base)

    def gemm_features(self, node: Any, attrs: dict[str, Any]) -> tuple[int, int] | None:
        """In and out sizes of a ``Gemm``'s constant weight (``transB``: stored as (out, in))."""
        weight = self.shape_of(node.input[1]) if len(node.input) > 1 else None
        if weight is None or len(weight) != 2:
            return None
        k, n = (int(v) for v in weight)
        return (n, k) if attrs.get("transB", 0) else (k, n)

    def concat(self, node: Any, inputs: list[Any], attrs: dict[str, Any], scopes: list[str], base: str) -> Value:
        """``Concat``: channels or spatial axes, or constant tokens (a class token) before flattened tokens."""
        c = self.conv
        names = [i for i in node.input if i]
        parts = [v for v in inputs if v is not None]
        maps = [v for v in parts if isinstance(v, _T)]
        dim = int(attrs.get("axis", 0))
        if len(maps) == 1 and len(parts) == 1 and len(names) > 1 and c.is_flattened(maps[0]):
            x = maps[0]
            if dim % x.rank == c.dims(x)[0]:
                at = [self.values.get(n) for n in names].index(x)
                sizes = [self.shape_of(n) for n in names]
                if any(s is None or len(s) != x.rank for s in sizes):
                    raise RFGraphError(f"{c.where(scopes, base)}: the sizes of the concatenated tokens are unknown")
                lead = sum(int(s[dim]) for s in sizes[:at] if s is not None)
                trail = sum(int(s[dim]) for s in sizes[at + 1 :] if s is not None)
                return class_token_concat(c, x, lead, trail, scopes, base)
        if len(parts) != len(names):
            raise RFGraphError(f"{c.where(scopes, base)} concatenates constants with feature maps; not supported")
        rolled = self.roll(parts, dim, scopes, base)
        return rolled if rolled is not None else c.concat(parts, dim, scopes, base)

    def roll(self, parts: list[Any], dim: int, scopes: list[str], base: str) -> Value:
        """``torch.roll`` as exported: ``Concat(x[n-s:], x[:n-s])`` along a spatial axis is ``Roll(s)``
        (the graph ``from_torch`` builds), else None."""
        from ..ops import Crop
        from ..ops.index import Roll
        from ._layout import _tuple

        c = self.conv
        if len(parts) != 2 or not all(isinstance(p, _T) and not p.pad and p.rank == parts[0].rank for p in parts):
            return None
        nodes = [c.dag.nodes[p.index] for p in parts]
        if (
            not all(isinstance(n.op, Crop) and len(n.sources) == 1 for n in nodes)
            or nodes[0].sources != nodes[1].sources
        ):
            return None
        dims = c.dims(parts[0])
        if dims != c.dims(parts[1]) or dim % parts[0].rank not in dims or c.is_flattened(parts[0]):
            return None
        k = dims.index(dim % parts[0].rank)
        (source,) = nodes[0].sources
        n = c.dag.shape(source)[k]
        first, second = (_pairs(node.op.crop, c.ndim) for node in nodes)  # type: ignore[union-attr]
        others = [i for i in range(c.ndim) if i != k]
        if any(first[i] != (0, 0) or second[i] != (0, 0) for i in others):
            return None
        (a1, b1), (a2, b2) = first[k], second[k]
        if b1 or a2 or a1 + b2 != n or not 0 < b2 < n:
            return None
        shift = b2 if 2 * b2 <= n else b2 - n  # the same map; torch's sign when |shift| < n / 2
        out = c.roll(_T(source, parts[0].rank, parts[0].axes), shift, dim, scopes, "roll")
        inner, outer = c.dag.nodes[source], c.dag.nodes[out.index]
        if isinstance(inner.op, Roll) and isinstance(outer.op, Roll) and len(inner.sources) == 1:
            # torch.roll over two axes is exported axis by axis: one Roll, as from_torch reads it
            shifts = [
                a + b for a, b in zip(_tuple(inner.op.shift, c.ndim), _tuple(outer.op.shift, c.ndim), strict=True)
            ]
            return c.roll(_T(inner.sources[0], out.rank, out.axes), tuple(shifts), tuple(dims), scopes, "roll")
        return out

    def gather(self, node: Any, x: _T, attrs: dict[str, Any], scopes: list[str], label: str) -> Value:
        """``Gather`` with a constant index on one axis: ``x[..., i, ...]`` (a class token, or q/k/v of a
        packed projection)."""
        indices = self.const(node.input[1]) if len(node.input) > 1 else None
        if indices is None or np.ndim(indices) > 1 or (np.ndim(indices) == 1 and np.size(indices) != 1):
            raise RFGraphError(f"{label}: only one constant index is supported")
        axis = int(attrs.get("axis", 0)) % x.rank
        i = int(np.ravel(indices)[0])
        item: Any = i if np.ndim(indices) == 0 else slice(i, i + 1 if i != -1 else None)
        return self.index(x, (*(slice(None),) * axis, item), scopes)

    def index(self, x: _T, index: tuple[Any, ...], scopes: list[str]) -> Value:
        """``x[index]`` as torch reads it: the token axis through the token helpers, the rest shared."""
        c = self.conv
        if c.is_flattened(x):
            axis = c.dims(x)[0]
            index = (*index, *(slice(None),) * (x.rank - len(index)))
            item = index[axis]
            if isinstance(item, slice):  # ONNX spells "from the start"/"to the end" with bounds
                stop = None if item.stop is not None and item.stop >= self.token_count(x) else item.stop
                item = slice(item.start or None, stop, None if item.step == 1 else item.step)
            if x.extra or item != slice(None):
                return index_tokens(c, x, (*index[:axis], item, *index[axis + 1 :]), scopes)
        return c.getitem(x, index, scopes)

    def token_count(self, x: _T) -> int | None:
        """Length of the flattened token axis of ``x`` (the grid plus its class tokens)."""
        return x.extra + int(np.prod(self.conv.spatial(x)))

    def windows(
        self,
        node: Any,
        inputs: list[Any],
        tensors: list[Any],
        attrs: dict[str, Any],
        scopes: list[str],
        base: str,
        label: str,
    ) -> Value:
        """An op on window-partitioned tokens (spatial axes split into digits: Swin, MaxViT, MobileViT),
        through :mod:`rfgraph.importers._digits` as :func:`rfgraph.from_torch` reads the same module."""
        from ._onnx_schema import POINTWISE_OPS

        c = self.conv
        op = node.op_type
        x = inputs[0]
        if not isinstance(x, _Split):
            if op in _MERGES:
                return c.merge("add", tensors, scopes, base)
            raise RFGraphError(f"{label} reads a window-partitioned tensor as a side input; not supported")
        before, out = self.inferred.get(node.input[0]), self.inferred.get(node.output[0])
        if op in _MERGES:
            return c.merge("add", tensors, scopes, base)
        if op in ("Softmax", "LogSoftmax"):
            return _digits.softmax(c, x, int(attrs.get("axis", -1)), scopes, base)
        if op in ("LayerNormalization", "InstanceNormalization", "GroupNormalization", "MeanVarianceNormalization"):
            axes = range(int(attrs.get("axis", -1)) % x.rank, x.rank) if op == "LayerNormalization" else None
            return c.norm(x, axes, scopes, base)
        if op in POINTWISE_OPS:
            return x
        if op in ("Reshape", "Flatten", "Squeeze", "Unsqueeze"):
            if not before or not out or not all(before) or not all(out):
                raise RFGraphError(f"{label}: the shapes are unknown; export with a static input shape")
            return c.reshape(x, before, out, scopes, base)
        if op == "Transpose":
            return c.permute(x, attrs.get("perm", list(reversed(range(x.rank)))), scopes, base)
        if op == "Gemm":
            return c.linear(x, scopes, base, self.gemm_features(node, attrs))
        if op in ("Gather", "Slice"):
            if op == "Gather":
                index = self.const(node.input[1])
                if index is None or np.ndim(index) != 0:
                    raise RFGraphError(f"{label}: only one constant index is supported")
                item: tuple[Any, ...] = (*(slice(None),) * (int(attrs.get("axis", 0)) % x.rank), int(index))
            else:  # only the sizes matter: a slice of a channel axis, or a whole axis of digits
                if not before or not out or len(before) != len(out):
                    raise RFGraphError(f"{label}: the shapes are unknown; export with a static input shape")
                item = tuple(slice(None) if n == m else slice(0, m) for n, m in zip(before, out, strict=True))
            return _digits.getitem(c, x, item, scopes)
        if op == "Split":
            part = _digits.chunk(c, x, int(attrs.get("axis", 0)), False, scopes, base)
            return [part] * len(node.output)
        if op in _REDUCE:
            axes = attrs.get("axes")
            if axes is None and len(node.input) > 1 and node.input[1]:
                axes = self.const(node.input[1])
            return c.reduce(
                x,
                None if axes is None else [int(a) for a in np.ravel(axes)],
                bool(attrs.get("keepdims", 1)),
                scopes,
                base,
            )
        if op == "Expand":
            return _Split(x.index, x.atoms)  # a reduced group broadcast back over its positions
        if op == "Conv":  # a 1x1 convolution on unfolded patches (MobileViT)
            kernel = tuple(attrs.get("kernel_shape", [1] * c.ndim))
            pads = tuple(attrs.get("pads", [0] * 2 * c.ndim))
            return c.conv(x, kernel, tuple(attrs.get("strides", [1] * c.ndim)), pads, 1, scopes, base)
        raise RFGraphError(f"{label} on a window-partitioned tensor (spatial axes split into windows) is not supported")
