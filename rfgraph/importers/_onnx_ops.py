"""ONNX Resize, Reshape, Slice and Pad through the shared translation table (a mixin of the ONNX importer).

Resize follows torch's ``F.interpolate`` mode by mode (coordinate transformation -> mode and
``align_corners``); Pad keeps zero padding pending for the next window op and makes
reflect/edge/wrap padding a :class:`~rfgraph.ops.index.Pad`; Slice goes through the shared
indexing (crops and strided slices); Reshape follows the spatial axes (tokens included).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import RFGraphError
from ..geometry import limits
from ._convert import _Converter
from ._layout import _T, _Flat
from ._onnx_schema import _text

__all__: list[str] = []


class _IndexMaps:
    """Needs ``conv`` (the shared converter), ``inferred`` (static shapes) and ``const`` (constant folding)."""

    conv: _Converter
    inferred: dict[str, tuple[int, ...]]

    def const(self, name: str) -> Any:  # pragma: no cover - provided by the importer
        raise NotImplementedError

    def index(self, x: _T, index: tuple[Any, ...], scopes: list[str]) -> Any:  # pragma: no cover - the importer's
        raise NotImplementedError

    def resize(self, node: Any, x: _T, attrs: dict[str, Any], scopes: list[str], base: str, label: str) -> _T:
        """ONNX Resize/Upsample as torch's ``F.interpolate`` (same index formulas, mode by mode)."""

        def text(key: str, default: str) -> str:
            value = attrs.get(key, default)
            return value.decode() if isinstance(value, bytes) else str(value)

        mode = _text(attrs.get("mode", b"nearest"), "mode", ("nearest", "linear", "cubic"), label)
        ctm = text("coordinate_transformation_mode", "half_pixel" if node.op_type == "Resize" else "asymmetric")
        nearest = text("nearest_mode", "round_prefer_floor")
        nd = self.conv.ndim
        spatial = self.conv.spatial(x)
        scales = self.const(node.input[2]) if node.op_type == "Resize" and len(node.input) > 2 else None
        sizes = self.const(node.input[3]) if node.op_type == "Resize" and len(node.input) > 3 else None
        if node.op_type == "Upsample":
            scales = attrs.get("scales") or (self.const(node.input[1]) if len(node.input) > 1 else None)
        scale = None
        out = self.inferred.get(node.output[0])
        if sizes is not None and np.size(sizes):
            sizes = np.asarray(sizes).ravel()
            if sizes.size != x.rank or sizes.dtype.kind not in "iu" or (sizes < 1).any():
                raise RFGraphError(
                    f"{label}: sizes={sizes.tolist()} must hold {x.rank} positive ints, one per input axis"
                )
            out = tuple(int(v) for v in sizes)
        elif scales is not None and np.size(scales):
            scales = np.asarray(scales, dtype=float).ravel()
            if scales.size != x.rank or not np.isfinite(scales).all() or (scales <= 0).any():
                raise RFGraphError(
                    f"{label}: scales={scales.tolist()} must hold {x.rank} positive numbers, one per input axis"
                )
            if any(n * float(f) > limits.MAX_PARAM * 1000 for n, f in zip(spatial, scales[-nd:], strict=True)):
                raise RFGraphError(f"{label}: scales={scales.tolist()} give an output beyond rfgraph's limits")
            factors = [float(f) for f in list(scales)[-nd:]]
            out = tuple(int(math.floor(n * f)) for n, f in zip(spatial, factors, strict=True))
            scale = factors
        if not out or not all(out[-nd:]):
            raise RFGraphError(f"{label}: the output size is not constant; export with a static input shape")
        # ONNX coordinate transformation -> torch's (mode, align_corners)
        if mode == "nearest":
            if ctm == "asymmetric" and nearest == "floor":
                torch_mode = "nearest"
            elif ctm in ("half_pixel", "pytorch_half_pixel") and nearest.startswith("round_prefer"):
                torch_mode = "nearest-exact"
            else:
                raise RFGraphError(
                    f"{label}: nearest resize with coordinate_transformation_mode={ctm!r} and nearest_mode="
                    f"{nearest!r} has no torch equivalent; export with torch's 'nearest' or 'nearest-exact'"
                )
            corners = False
        elif mode in ("linear", "cubic"):
            if ctm not in ("half_pixel", "pytorch_half_pixel", "align_corners"):
                raise RFGraphError(
                    f"{label}: {mode} resize with coordinate_transformation_mode={ctm!r} has no torch "
                    "equivalent; use half_pixel, pytorch_half_pixel or align_corners"
                )
            torch_mode, corners = mode, ctm == "align_corners"
        else:
            raise RFGraphError(f"{label}: resize mode {mode!r} is unknown")
        return self.conv.resize(x, tuple(out), torch_mode, corners, scopes, base, scale if not corners else None)

    def reshape(self, node: Any, x: Any, attrs: dict[str, Any], scopes: list[str], base: str, label: str) -> Any:
        op = node.op_type
        c = self.conv
        if op == "Flatten" and isinstance(x, _T):
            axis = attrs.get("axis", 1) % x.rank
            if axis == 1:
                return _Flat(x.index)
            if axis < x.rank - c.ndim:
                return _T(x.index, axis + 1)
            raise RFGraphError(f"{label} flattens spatial axes into one; not supported")
        out = self.inferred.get(node.output[0])
        before = self.inferred.get(node.input[0])
        if isinstance(x, _Flat) or (out and before and all(out) and all(before)):
            return c.reshape(x, before, out, scopes, base)
        if op == "Reshape" and not out:
            target = self.const(node.input[1])
            out = tuple(int(v) for v in target) if target is not None else None
        if op in ("Squeeze", "Unsqueeze"):
            axes = attrs.get("axes")
            if axes is None and len(node.input) > 1:
                axes = self.const(node.input[1])
            if axes is not None:
                rank = x.rank + (len(axes) if op == "Unsqueeze" else 0)
                if any(int(a) % rank >= rank - c.ndim for a in axes):
                    if op == "Squeeze" and all(n == 1 for n in c.spatial(x)):
                        return _Flat(x.index)
                    raise RFGraphError(f"{label} changes spatial axes; not supported")
                return _T(x.index, x.rank + (len(axes) if op == "Unsqueeze" else -len(axes)))
        if out is None:
            raise RFGraphError(f"{label}: the target shape is not constant; export with a static input shape")
        if len(out) == 2:
            return _Flat(x.index)
        if len(out) > c.ndim and tuple(out[-c.ndim :]) == c.spatial(x):
            return _T(x.index, len(out))
        raise RFGraphError(
            f"{label} reshapes the spatial axes {c.spatial(x)} to {tuple(out)}; only flattening to "
            "(batch, features) or channel reshapes are supported"
        )

    def slice(self, node: Any, x: _T, scopes: list[str], base: str, label: str) -> Any:
        starts, ends = self.const(node.input[1]), self.const(node.input[2])
        axes = self.const(node.input[3]) if len(node.input) > 3 and node.input[3] else None
        steps = self.const(node.input[4]) if len(node.input) > 4 and node.input[4] else None
        if starts is None or ends is None:
            raise RFGraphError(f"{label}: slice bounds are not constant")
        starts, ends = np.atleast_1d(starts).ravel(), np.atleast_1d(ends).ravel()
        for key, value in (("starts", starts), ("ends", ends), ("axes", axes), ("steps", steps)):
            if value is None:
                continue
            value = np.atleast_1d(value).ravel()
            if value.dtype.kind not in "iu" or value.size != starts.size:
                raise RFGraphError(
                    f"{label}: {key} must hold {starts.size} ints like starts (got {value.tolist()[:8]})"
                )
        if axes is not None:
            axes = np.atleast_1d(axes).ravel()
            if ((axes < -x.rank) | (axes >= x.rank)).any():
                raise RFGraphError(f"{label}: axes={axes.tolist()} outside the input's {x.rank} axes")
        if steps is not None:
            steps = np.atleast_1d(steps).ravel()
        axes = list(range(len(starts))) if axes is None else [int(a) % x.rank for a in axes]
        index = [slice(None)] * x.rank
        for i, axis in enumerate(axes):
            step = 1 if steps is None else int(steps[i])
            if step < 1 and axis in self.conv.dims(x):
                raise RFGraphError(f"{label}: negative steps on a spatial axis are not supported")
            index[axis] = slice(int(starts[i]), int(ends[i]), step)
        return self.index(x, tuple(index), scopes)

    def pad(self, node: Any, x: _T, attrs: dict[str, Any], scopes: list[str], base: str, label: str) -> _T:
        c = self.conv
        pads = attrs.get("pads")
        if pads is None and len(node.input) > 1:
            pads = self.const(node.input[1])
        if pads is None:
            raise RFGraphError(f"{label}: pads are not constant")
        if len(node.input) > 3 and node.input[3]:
            raise RFGraphError(f"{label}: Pad with axes is not supported; export pads for every axis")
        pads = np.atleast_1d(np.asarray(pads)).ravel()
        if pads.dtype.kind not in "iu" or pads.size != 2 * x.rank:
            raise RFGraphError(
                f"{label}: pads must hold {2 * x.rank} ints (begin and end per axis), got {pads.tolist()}"
            )
        pads = [int(p) for p in pads]
        count = len(pads) // 2
        axes = self.const(node.input[3]) if len(node.input) > 3 and node.input[3] else None
        axes = list(range(count)) if axes is None else [int(a) % x.rank for a in axes]
        mode = attrs.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        mode = {"edge": "replicate", "wrap": "circular"}.get(mode, mode)
        pairs = [(0, 0)] * c.ndim
        for i, axis in enumerate(axes):
            left, right = pads[i], pads[i + count]
            if axis not in c.dims(x):
                if left or right:
                    raise RFGraphError(f"{label} pads a non-spatial axis; not supported")
                continue
            pairs[c.dims(x).index(axis)] = (left, right)
        return c.pad(x, pairs, mode, scopes, base)
