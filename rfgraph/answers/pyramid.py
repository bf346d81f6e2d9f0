"""Feature pyramids and detectors: what each level sees, against the anchors it is given.

For each level (an end-point of one network, or one output of a multi-output
model such as a detection backbone with FPN) :func:`pyramid` reports the
effective stride, the theoretical receptive field (the union over paths, as in
the table), the exact effective receptive field (the side of the smallest
centred square holding ``mass`` of the paths of the level's centre position,
SPEC section 4) and, for each anchor, the anchor-to-field ratios, with a
warning where an anchor exceeds what the level sees at all.

:func:`levels_from_torch` imports every output of a torch model (torchvision's
``BackboneWithFPN``, RetinaNet/FCOS/SSD backbones, timm ``features_only``
models) as one network per level; :func:`feature_info_mismatches` checks timm's
``feature_info`` reductions against the computed strides.

>>> import rfgraph as rf
>>> net = rf.Sequential(rf.Conv(3, padding=1), rf.Pool(2, name="c2"), rf.Conv(3, padding=1), rf.Pool(2, name="c3"))
>>> for level in pyramid(net, (64, 64), ["c2", "c3"], anchors=[4, 16]):
...     print(level.name, level.stride, level.size, level.erf, [round(a.field_ratio, 2) for a in level.anchors])
c2 (2, 2) (4, 4) 4 [1.0]
c3 (4, 4) (10, 10) 10 [1.6]
>>> pyramid(net, (64, 64), ["c2", "c3"], anchors=[4, 16])[1].warnings
('anchor 16 exceeds the field of c3 (10 px): objects that large are never seen whole',)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..arithmetic import plan_receptive_field
from ..engine import plan_contribution_map
from ..errors import RFGraphError
from ..ops import Op
from ..plan import Plan, build_plan, normalize_shape
from .borders import axis_fields

__all__ = ["AnchorFit", "Level", "pyramid", "levels_from_torch", "feature_info_mismatches", "format_pyramid"]


@dataclass(frozen=True)
class AnchorFit:
    """One anchor size against one level."""

    anchor: float
    field_ratio: float
    """Anchor side divided by the smallest per-axis theoretical field."""
    erf_ratio: float
    """Anchor side divided by the ERF side."""
    exceeds_field: bool
    exceeds_erf: bool


@dataclass(frozen=True)
class Level:
    """One pyramid level (all sizes in input pixels, per axis where they can differ)."""

    name: str
    shape: tuple[int, ...]
    stride: tuple[Any, ...]
    size: tuple[int, ...]
    erf: int
    erf_fraction: float
    anchors: tuple[AnchorFit, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "shape": list(self.shape),
            "stride": [str(s) if not isinstance(s, int) else s for s in self.stride],
            "size": list(self.size),
            "erf": self.erf,
            "erf_fraction": self.erf_fraction,
            "anchors": [a.__dict__ for a in self.anchors],
            "warnings": list(self.warnings),
        }


def _stride_and_size(plan: Plan) -> tuple[tuple[Any, ...], tuple[int, ...]]:
    try:
        record = plan_receptive_field(plan)[-1]
        return record.stride, record.size
    except RFGraphError:
        # Branches with different strides: the exact per-axis fields still give both.
        stride, size = [], []
        for f in axis_fields(plan):
            live = f.lo <= f.hi
            stride.append(f.stride)
            size.append(int((f.hi[live] - f.lo[live]).max()) + 1 if live.any() else 0)
        return tuple(stride), tuple(size)


def _level(name: str, plan: Plan, mass: float) -> Level:
    from ..plot import effective_rf  # numpy only; matplotlib stays unimported

    stride, size = _stride_and_size(plan)
    paths = plan_contribution_map(plan, "paths")
    erf = effective_rf(paths, mass)
    return Level(name, plan.output.shape, stride, size, int(max(erf.size)), float(erf.fraction))


def _anchor_fits(level: Level, anchors: Sequence[float]) -> Level:
    fits, warnings = [], []
    seen = min(level.size)
    for a in anchors:
        fit = AnchorFit(float(a), a / seen, a / level.erf, a > seen, a > level.erf)
        fits.append(fit)
        shown = f"{a:g}"
        if fit.exceeds_field:
            warnings.append(
                f"anchor {shown} exceeds the field of {level.name} ({seen} px): objects that large are never seen whole"
            )
    return Level(
        level.name, level.shape, level.stride, level.size, level.erf, level.erf_fraction, tuple(fits), tuple(warnings)
    )


def _check_anchors(anchors: Any) -> list[float]:
    if anchors is None:
        return []
    try:
        values = [float(a) for a in anchors]
    except (TypeError, ValueError):
        raise RFGraphError(f"anchors={anchors!r} must be a list of positive sizes, e.g. [32, 64, 128]") from None
    if any(not np.isfinite(a) or a <= 0 for a in values):
        raise RFGraphError(f"anchors={anchors!r} must be positive sizes in input pixels")
    return values


def pyramid(
    network: Op | Mapping[str, Op],
    input_shape: Any,
    endpoints: Iterable[str] | None = None,
    *,
    anchors: Iterable[float] | None = None,
    mass: float = 0.95,
) -> list[Level]:
    """Stride, theoretical field, exact ERF and anchor fit of each pyramid level.

    Parameters
    ----------
    network : Op or mapping of str to Op
        One network whose ``endpoints`` are the levels, or one network per level
        (e.g. from :func:`levels_from_torch`).
    input_shape : tuple of int
        Spatial input size.
    endpoints : iterable of str, optional
        Tensor names of the levels (default: the network output).
    anchors : iterable of float, optional
        Anchor sides in input pixels: one per level when the counts agree, else
        every anchor is checked against every level.
    mass : float
        Share of the paths the ERF square holds.

    Returns
    -------
    list of Level
    """
    shape = normalize_shape(input_shape)
    sizes = _check_anchors(anchors)
    if isinstance(network, Mapping):
        if endpoints is not None:
            raise RFGraphError("give endpoints only with one network; a mapping already names its levels")
        plans = [(str(name), build_plan(net, shape)) for name, net in network.items()]
    else:
        names = [None] if endpoints is None else list(endpoints)
        if isinstance(endpoints, str):
            names = [n.strip() for n in endpoints.split(",") if n.strip()]
        plans = [(name or "output", build_plan(network, shape, name)) for name in names]
    if not plans:
        raise RFGraphError("no pyramid levels: give at least one end-point")
    levels = [_level(name, plan, mass) for name, plan in plans]
    if not sizes:
        return levels
    if len(sizes) == len(levels):
        return [_anchor_fits(level, [a]) for level, a in zip(levels, sizes)]
    return [_anchor_fits(level, sizes) for level in levels]


def _fmt_stride(stride: tuple[Any, ...]) -> str:
    return "x".join(str(s) for s in stride) if len(set(stride)) > 1 else str(stride[0])


def format_pyramid(levels: Sequence[Level], unit: Any = None) -> str:
    """A text table of :func:`pyramid`; ``unit`` is a ``(value, name)`` pixel size for physical units."""
    head = ["level", "shape", "stride", "field", "ERF", "anchor", "anchor/field", "anchor/ERF"]
    if unit is not None:
        head[2:5] = [f"stride ({unit[1]})", f"field ({unit[1]})", f"ERF ({unit[1]})"]

    def phys(v: Any) -> str:
        return str(v) if unit is None else f"{v} ({float(v) * unit[0]:.4g})"

    rows = []
    for lv in levels:
        base = [
            lv.name,
            "x".join(map(str, lv.shape)),
            phys(_fmt_stride(lv.stride)) if len(set(lv.stride)) == 1 else _fmt_stride(lv.stride),
            phys(min(lv.size)) if len(set(lv.size)) == 1 else "x".join(map(str, lv.size)),
            phys(lv.erf),
        ]
        if not lv.anchors:
            rows.append([*base, "-", "-", "-"])
        for i, a in enumerate(lv.anchors):
            cells = base if i == 0 else ["", "", "", "", ""]
            flag = " !" if a.exceeds_field else ""
            rows.append([*cells, f"{a.anchor:.4g}", f"{a.field_ratio:.2f}{flag}", f"{a.erf_ratio:.2f}"])
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
        for r in [head, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    warnings = [w for lv in levels for w in lv.warnings]
    return "\n".join(lines + [f"warning: {w}" for w in warnings])


# --------------------------------------------------------------------------- torch models


def _output_keys(model: Any, shape: tuple[int, ...], channels: int) -> list[Any]:
    import torch

    param = next(iter(model.parameters()), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    device = param.device if param is not None else "cpu"  # a meta model runs on meta tensors
    with torch.no_grad():
        out = model(torch.zeros(1, channels, *shape, dtype=dtype, device=device))
    if isinstance(out, Mapping):
        return list(out.keys())
    if isinstance(out, list | tuple):
        return list(range(len(out)))
    return [None]


def levels_from_torch(model: Any, input_shape: Any, *, in_channels: int | None = None, **options: Any) -> dict[str, Op]:
    """One rfgraph network per output of a torch model (a dict or list of feature maps).

    Names are the dict keys (torchvision ``BackboneWithFPN``: ``"0"``, ``"1"``, ...,
    ``"pool"``), timm's ``feature_info.module_name()`` for ``features_only``
    models, else the output index.  ``options`` go to :func:`rfgraph.from_torch`.
    """
    import torch

    from ..importers.torch import _in_channels, from_torch

    shape = normalize_shape(input_shape)
    channels = _in_channels(torch, model) if in_channels is None else in_channels
    was_training = model.training
    model.eval()
    try:
        keys = _output_keys(model, shape, channels)
    finally:
        model.train(was_training)
    names = ["output" if k is None else str(k) for k in keys]
    info = getattr(model, "feature_info", None)
    if info is not None and hasattr(info, "module_name") and all(isinstance(k, int) for k in keys):
        modules = list(info.module_name())
        if len(modules) == len(keys):
            names = modules
    return {
        name: from_torch(model, shape, output=key, in_channels=channels, **options)
        for name, key in zip(names, keys, strict=True)
    }


def feature_info_mismatches(model: Any, levels: Mapping[str, Op], input_shape: Any) -> list[str]:
    """Where timm's ``feature_info.reduction()`` disagrees with the computed effective stride."""
    info = getattr(model, "feature_info", None)
    if info is None or not hasattr(info, "reduction"):
        raise RFGraphError("the model has no timm feature_info; create it with features_only=True")
    shape = normalize_shape(input_shape)
    out = []
    for (name, net), reduction in zip(levels.items(), info.reduction(), strict=True):
        stride, _ = _stride_and_size(build_plan(net, shape))
        if any(s != reduction for s in stride):
            out.append(f"{name}: feature_info says stride {reduction}, rfgraph computes {_fmt_stride(stride)}")
    return out
