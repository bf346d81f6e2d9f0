"""Coverage: how many output positions' receptive fields contain each input pixel (``rf.coverage``).

``coverage(x) = #{t in the output : x reaches t}``, the sum of
:func:`rfgraph.reach` over every output position, computed at once: from the
per-axis reach relations (a union of products, counted by inclusion-exclusion)
or, when those would need too many terms, from bitsets over the output nodes.

>>> import rfgraph as rf
>>> coverage(rf.Sequential(rf.Conv(3), rf.Conv(3)), (9,)).tolist()
[1, 2, 3, 4, 5, 4, 3, 2, 1]
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..errors import RFGraphError
from ..ops import Op
from ..plan import Plan, build_plan
from . import _available_memory, _check_memory, _edges

__all__ = ["coverage", "plan_coverage"]


def plan_coverage(plan: Plan, *, method: Literal["auto", "separable", "general"] = "auto") -> np.ndarray:
    """:func:`coverage` for an already-built :class:`~rfgraph.plan.Plan`."""
    if method not in ("auto", "separable", "general"):
        raise RFGraphError(f"method={method!r} is unknown; choose one of 'auto', 'separable', 'general'")
    if method != "general":
        cost = _edges.coverage_cost(plan)
        if method == "separable" or cost <= _available_memory() // 2:
            _check_memory(plan, cost, "coverage (per-axis reach relations)", power=1)
            try:
                return _edges.separable_coverage(plan)
            except _edges.TooManyTerms:
                if method == "separable":
                    raise RFGraphError(
                        "coverage by the separable algebra needs too many terms for this network; "
                        "use method='general' or 'auto'"
                    ) from None
    _check_memory(plan, _edges.general_coverage_cost(plan), "coverage (node-level bitsets)", power=2)
    return _edges.general_coverage(plan)


def coverage(
    network: Op,
    input_shape: Any,
    endpoint: str | None = None,
    *,
    method: Literal["auto", "separable", "general"] = "auto",
) -> np.ndarray:
    """Per input pixel, the number of output positions whose field contains it.

    Parameters
    ----------
    network : Op
        The network description.
    input_shape : tuple of int
        Spatial input size (1 to 3 axes).
    endpoint : str, optional
        Name of the tensor whose positions are counted instead of the network output.
    method : {"auto", "separable", "general"}
        Force one of the two exact algorithms (for testing); results are equal.

    Returns
    -------
    numpy.ndarray
        int64 array of shape ``input_shape``; equal to the sum of
        :func:`rfgraph.reach` over every output position.

    Examples
    --------
    >>> import rfgraph as rf
    >>> rf.coverage(rf.Conv(3, stride=2), (7,)).tolist()
    [1, 1, 2, 1, 2, 1, 1]
    """
    return plan_coverage(build_plan(network, input_shape, endpoint), method=method)
