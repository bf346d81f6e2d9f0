"""A trained model's gradient ERF beside the exact maps of its own architecture.

:func:`compare_trained` computes, for one torch model and one set of inputs, the
gradient ERF of the model with its weights (:func:`~rfgraph.erf.gradient_erf`),
the same for a re-initialised copy (the untrained architecture: Luo et al. found
that training widens the ERF), and -- from :func:`rfgraph.from_torch` of the same
module -- the exact path- and edge-count maps and the theoretical receptive field.
:func:`plot_trained` draws them on one figure.  Needs the ``torch`` extra.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import RFGraphError
from ._common import _check_fractions
from .empirical import _corr
from .images import _torch
from .stats import REPLKNET_THRESHOLDS, ERFStats, erf_stats
from .trained import _as_inputs, _has_module, _target_index, gradient_erf

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = ["TrainedComparison", "compare_trained", "plot_trained", "reinitialized"]

_EXACT = ("paths", "edges")


@dataclass(frozen=True)
class TrainedComparison:
    """Result of :func:`compare_trained`.

    Attributes
    ----------
    maps : dict
        ``"trained"``, ``"untrained"`` (if computed), ``"paths"``, ``"edges"`` (if
        the module imports): float64 maps of the input's spatial shape.
    box : tuple of (int, int) or None
        The theoretical receptive field of the target, per axis ``(first, last)``
        pixel, clipped to the input.
    correlation : dict
        ``{map: {"paths": r, "edges": r}}``: Pearson correlation over all pixels of
        each gradient map with each exact map.
    inside : dict
        ``{map: share}``: the share of each map's mass inside ``box``.
    stats : dict
        ``{map: ERFStats}`` (:func:`~rfgraph.erf.erf_stats`): Gaussian fit,
        per-axis spread, RepLKNet's area ratios (``replknet_area_ratio``) and the
        scale-free ones, for every map.
    output, target, reduce, inputs : Any
        What was analysed: the output tensor, its target position, the reduction,
        the number of inputs.
    notes : list of str
        What could not be computed and why (e.g. a module rfgraph cannot import).
    """

    maps: dict[str, np.ndarray]
    box: tuple[tuple[int, int], ...] | None
    correlation: dict[str, dict[str, float]]
    inside: dict[str, float]
    stats: dict[str, ERFStats]
    output: Any
    target: tuple[int, ...]
    reduce: str
    inputs: int
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """A short text report: one block per map.

        Per map: the per-axis standard deviation; the Gaussian fit (``R2``: the share of
        the normalised map's variation over its support's box that the discretised
        Gaussian with the same mean and per-axis variance explains, 1 = exactly that
        Gaussian; ``TV``: the mass the two place differently, 0 = identical); the
        correlations; the mass inside the theoretical field; and the high-contribution
        area ratios of Ding et al. (RepLKNet, CVPR 2022) twice: on the map itself
        (``linear``, scale-free) and after ``log10(1 + x)`` as their script does
        (``log``), which depends on the map's units (a map times 1000 gets other log
        ratios), so compare log ratios only between maps in the same units.
        """
        lines = [
            f"output {self.output!r}, target {self.target}, reduce {self.reduce!r}, {self.inputs} inputs",
            "theoretical field: "
            + (" x ".join(f"[{a}, {b}]" for a, b in self.box) if self.box is not None else "unknown"),
        ]
        for name, s in self.stats.items():
            corr = self.correlation.get(name, {})
            parts = [
                f"std {' x '.join(f'{v:.2f}' for v in s.std)} px",
                f"Gaussian fit R2 {_fmt(s.gaussian_r2)} TV {_fmt(s.gaussian_tv)}",
            ]
            parts += [f"corr {m} {_fmt(r)}" for m, r in corr.items()]
            if name in self.inside:
                parts.append(f"inside RF {self.inside[name]:.3f}")
            lines.append(f"{name:>9}: " + ", ".join(parts))
            linear = ", ".join(f"{t:g}: {_fmt(sq.ratio)}" for t, sq in s.area_ratio.items())
            log = ", ".join(f"{t:g}: {_fmt(sq.ratio)}" for t, sq in s.replknet_area_ratio.items())
            lines.append(f"{'':>9}  area ratio (RepLKNet) linear {linear}; log {log}")
        lines.append(
            "Gaussian fit: R2 = share of the map's variation explained by the Gaussian with its mean and "
            "std (1 = exact), TV = mass placed differently (0 = same); area ratios: linear on the map, "
            "log after log10(1 + x) as RepLKNet's script (depends on the map's units)"
        )
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready numbers (maps left out; ``nan`` becomes ``None``)."""
        return {
            "output": self.output,
            "target": list(self.target),
            "reduce": self.reduce,
            "inputs": self.inputs,
            "shape": list(next(iter(self.maps.values())).shape),
            "theoretical_field": [list(b) for b in self.box] if self.box is not None else None,
            "correlation": {k: {m: _num(r) for m, r in v.items()} for k, v in self.correlation.items()},
            "inside_theoretical_field": {k: _num(v) for k, v in self.inside.items()},
            "stats": {k: s.as_dict() for k, s in self.stats.items()},
            "notes": list(self.notes),
        }


def _fmt(x: float) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _num(x: float) -> float | None:
    return None if isinstance(x, float) and math.isnan(x) else x


def reinitialized(model: Any, seed: int = 0) -> Any:
    """A copy of ``model`` with fresh random weights: every ``reset_parameters()`` re-run.

    BatchNorm running statistics are reset too.  The copy keeps the model's mode.

    >>> import torch
    >>> a = torch.nn.Conv2d(1, 1, 3)
    >>> b = reinitialized(a)
    >>> bool((a.weight == b.weight).all()), b.weight.shape == a.weight.shape
    (False, True)
    """
    torch = _torch("reinitialized")
    if isinstance(model, torch.jit.ScriptModule):
        raise RFGraphError("a TorchScript model cannot be re-initialised; pass untrained= a fresh nn.Module")
    fresh = copy.deepcopy(model)
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        with torch.no_grad():
            for m in fresh.modules():
                reset = getattr(m, "reset_parameters", None)
                if callable(reset):
                    reset()
    finally:
        torch.random.set_rng_state(state)  # the caller's random stream is not disturbed
    return fresh


def _exact_maps(
    model: Any, x: Any, output: Any, hooked: bool, target: tuple[int, ...], identity: Any, notes: list[str]
) -> tuple[dict[str, np.ndarray], tuple[tuple[int, int], ...] | None]:
    from ..arithmetic import receptive_field
    from ..engine import contribution_map
    from ..importers.torch import from_torch
    from ..plan import build_plan

    shape = tuple(int(n) for n in x.shape[2:])
    options = {"in_channels": int(x.shape[1]), "identity": identity}
    try:
        net = from_torch(model, shape, output=None if hooked else output, **options)
        endpoint = _endpoint(model, x, net, shape, output, notes) if hooked else None
    except RFGraphError as err:
        head = _truncated(model, output) if hooked else None
        if head is None:
            raise
        # The layers after ``output`` (e.g. a classifier head) may not import: import up to it only.
        net, endpoint = from_torch(head, shape, **options), None
        notes.append(f"exact maps of the model up to {output!r} only (the whole model does not import: {err})")
    plan = build_plan(net, shape, endpoint)
    maps = {m: np.asarray(contribution_map(net, shape, m, target, endpoint=endpoint), dtype=np.float64) for m in _EXACT}
    try:
        from ..plot.maps import theoretical_box

        box = theoretical_box(receptive_field(net, shape, endpoint=endpoint), target, plan.input_shape)
    except RFGraphError:  # e.g. branches with different strides: no single box
        box = None
    if box is not None:
        box = tuple((max(0, int(a)), min(n - 1, int(b))) for (a, b), n in zip(box, shape, strict=True))
    return maps, box


def _truncated(model: Any, output: str) -> Any:
    """The model traced with torch.fx and cut after the last node of submodule ``output`` (None if untraceable)."""
    torch = _torch("compare_trained")
    try:
        gm = torch.fx.symbolic_trace(model)
    except Exception:  # noqa: BLE001 - fx raises many kinds of errors on untraceable code
        return None
    last = None
    for node in gm.graph.nodes:
        stack = node.meta.get("nn_module_stack") or {}
        paths = {v[0] if isinstance(v, tuple) else k for k, v in stack.items()}
        if (node.op == "call_module" and node.target == output) or output in paths:
            last = node
    if last is None:
        return None
    out = next(n for n in gm.graph.nodes if n.op == "output")
    out.args = (last,)
    gm.graph.eliminate_dead_code()
    gm.recompile()
    return gm


def _endpoint(model: Any, x: Any, net: Any, shape: tuple[int, ...], output: str, notes: list[str]) -> str:
    """The tensor of the imported network that the submodule ``output`` gives.

    A pointwise submodule (ReLU, BatchNorm) has no tensor of its own in the import:
    then the nearest earlier submodule of the same spatial shape that has one.
    """
    from ..plan import build_plan
    from .trained import spatial_outputs

    endpoints = build_plan(net, shape).endpoints
    if output in endpoints:
        return output
    calls = spatial_outputs(model, x)
    names = [n for n, _ in calls]
    if output in names:
        want = dict(calls)[output][2:]
        for name, out_shape in reversed(calls[: names.index(output)]):
            if name in endpoints and out_shape[2:] == want:
                notes.append(f"exact maps at {name!r}, the tensor that {output!r} acts on position by position")
                return name
    raise RFGraphError(f"{output!r} is not a tensor of the imported network; use one of {list(endpoints)[-6:]}")


def compare_trained(
    model: Any,
    inputs: Any,
    output: Any = None,
    *,
    target: Any = None,
    reduce: str = "abs",
    untrained: Any = True,
    seed: int = 0,
    batch_size: int = 8,
    device: Any = None,
    identity: Iterable[Any] = (),
    thresholds: Iterable[float] = REPLKNET_THRESHOLDS,
    progress: bool | None = None,
) -> TrainedComparison:
    """The trained model's gradient ERF beside the exact maps and the theoretical field.

    Parameters
    ----------
    model : torch.nn.Module
        The trained model (:func:`~rfgraph.erf.load_model`); it is left as it was.
    inputs : tensor or array
        ``(N, C, *spatial)`` (:func:`~rfgraph.erf.load_images`).
    output, target, reduce, batch_size, device, progress
        As in :func:`~rfgraph.erf.gradient_erf`; a submodule name in ``output`` is
        also the end-point of the exact maps.
    untrained : bool or torch.nn.Module
        Also compute the ERF of the untrained architecture: a re-initialised copy
        (:func:`reinitialized` with ``seed``), or the module given; False: skip.
    identity : iterable
        Passed to :func:`rfgraph.from_torch` (module types to treat as pointwise).
    thresholds : iterable of float
        Shares for the area ratios (RepLKNet: 0.2, 0.3, 0.5, 0.99).

    Returns
    -------
    TrainedComparison

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Conv2d(2, 1, 3))
    >>> c = compare_trained(net, torch.randn(4, 1, 11, 11))
    >>> sorted(c.maps), c.box, round(c.inside["trained"], 6)
    (['edges', 'paths', 'trained', 'untrained'], ((3, 7), (3, 7)), 1.0)
    """
    torch = _torch("compare_trained")
    ts = _check_fractions(thresholds, "threshold")
    x = _as_inputs(torch, inputs)
    hooked = _has_module(model, output)
    options = {"output": output, "reduce": reduce, "batch_size": batch_size, "device": device, "progress": progress}
    trained = gradient_erf(model, x, target=target, **options)
    tgt = _resolve_target(torch, model, x, output, hooked, target)
    maps: dict[str, np.ndarray] = {"trained": trained}
    notes: list[str] = []
    if untrained is not False and untrained is not None:
        try:
            fresh = reinitialized(model, seed) if untrained is True else untrained
            maps["untrained"] = gradient_erf(fresh, x, target=tgt, **options)
        except RFGraphError as err:
            notes.append(f"untrained ERF not computed: {err}")
    box = None
    try:
        exact, box = _exact_maps(model, x, output, hooked, tgt, tuple(identity), notes)
        maps.update(exact)
    except RFGraphError as err:
        notes.append(f"exact maps not computed (rfgraph.from_torch): {err}")
    correlation = {k: {m: _corr(v, maps[m]) for m in _EXACT if m in maps} for k, v in maps.items() if k not in _EXACT}
    inside = {}
    if box is not None:
        index = tuple(slice(a, b + 1) for a, b in box)
        inside = {k: float(v[index].sum() / v.sum()) if v.sum() > 0 else math.nan for k, v in maps.items()}
    stats = {k: erf_stats(v, thresholds=ts) for k, v in maps.items() if v.sum() > 0}
    for k in maps:
        if k not in stats:
            notes.append(f"the {k} map is zero everywhere: no statistics")
    return TrainedComparison(
        maps=maps,
        box=box,
        correlation=correlation,
        inside=inside,
        stats=stats,
        output=output,
        target=tgt,
        reduce=reduce,
        inputs=int(x.shape[0]),
        notes=notes,
    )


def _resolve_target(torch: Any, model: Any, x: Any, output: Any, hooked: bool, target: Any) -> tuple[int, ...]:
    """The target in the output's spatial axes (the centre by default), from one cheap forward pass."""
    from .trained import _device_of, _dtype_of, _forward, _untouched

    with _untouched(torch, model), torch.no_grad():
        y = _forward(torch, model, x[:1].to(_device_of(torch, model), _dtype_of(torch, model)), output, hooked)
    return _target_index(tuple(y.shape), target)


def plot_trained(
    comparison: TrainedComparison,
    *,
    fig: Figure | None = None,
    scale: str = "linear",
    cmap: str = "viridis",
    title: str | None = None,
) -> Figure:
    """Draw a :class:`TrainedComparison`: one panel per map, each divided by its maximum.

    The theoretical receptive field is the dashed box on every panel and the
    effective RF (95 % of the mass) the solid square; panel titles carry the
    correlation with the exact path map and the share of mass inside the box.
    2-D maps are drawn as heat maps, 1-D ones as profiles, 3-D ones as their
    central slice.  ``fig``: draw into this empty figure (default a new pyplot one).
    """
    from ..plot._common import _check_scale, _mpl, _norm
    from ..plot.maps import plot_map
    from ..plot.profiles import plot_profile

    scale_ = _check_scale(scale)
    names = {"trained": "trained ERF", "untrained": "untrained ERF", "paths": "exact: paths", "edges": "exact: edges"}
    items = [(k, v) for k, v in comparison.maps.items() if v.max() > 0]
    if not items:
        raise RFGraphError("every map is zero: nothing to draw")
    box = comparison.box
    if fig is None:
        _mpl()
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(3.6 * len(items) + 1.0, 4.0), layout="constrained")
    axes = fig.subplots(1, len(items), squeeze=False)[0]
    norm = _norm(scale_, 1e-6 if scale_ == "log" else 0.0, 1.0)
    for ax, (key, values) in zip(axes, items, strict=True):
        m = values / values.max()
        b = box
        if m.ndim == 3:  # the central slice of the first axis
            mid = comparison.target[0] if box is None else (box[0][0] + box[0][1]) // 2
            m, b = m[min(mid, m.shape[0] - 1)], None if box is None else box[1:]
        label = names.get(key, key)
        corr = comparison.correlation.get(key, {}).get("paths")
        extra = []
        if corr is not None:
            extra.append(f"r(paths) {_fmt(corr)}")
        if key in comparison.inside:
            extra.append(f"in RF {comparison.inside[key]:.2f}")
        text = label + ("\n" + ", ".join(extra) if extra else "")
        if m.ndim == 1:
            plot_profile(m, ax, scale=scale_, title=text, annotate=False, ylabel="/ max" if ax is axes[0] else "")
            if b is not None:
                ax.axvspan(b[0][0] - 0.5, b[0][1] + 0.5, color="0.5", alpha=0.15, label="theoretical RF")
        else:
            plot_map(m, ax, scale=scale_, norm=norm, rf_box=b, colorbar=False, title=text, legend=ax is axes[0])
    if items[0][1].ndim >= 2:
        fig.colorbar(axes[0].images[-1], ax=list(axes), shrink=0.85, label="contribution / max")
    fig.suptitle(title or f"ERF of {comparison.output or 'the output'!s} beside the exact maps")
    return fig
