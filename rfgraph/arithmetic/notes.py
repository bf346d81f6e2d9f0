"""Notes printed under the receptive-field table: why a token mixer's fields look as they do.

A window attention's field does not grow by a kernel: every position reads its whole
window, so the field jumps by whole windows and its size depends on where the position
sits in its window (``uniform`` NO).  Global attention reads everything.  The table's
columns show the numbers; these sentences say why.

>>> import rfgraph as rf
>>> table_notes(rf.build_plan(rf.parse_spec("gmix"), (8,)))
['gmix1: global attention: every position reads every position of its input (global: yes)']
"""

from __future__ import annotations

from ..geometry import per_axis
from ..ops.index import GlobalMix, WindowMix
from ..plan import Plan
from . import RFRecord, plan_receptive_field

__all__ = ["table_notes"]


def _axes(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _window_note(op: WindowMix, ndim: int, record: RFRecord) -> str:
    windows, shifts, dilations = (per_axis(getattr(op, a), ndim, a, "") for a in ("window", "shift", "dilation"))
    if all(w == 1 for w in windows):
        return (
            "window attention with windows of 1 position: each position reads only itself "
            f"(uniform: {_yes(record.uniform)})"
        )
    text = f"window attention, windows of {_axes(windows)} positions"
    if any(d > 1 for d in dilations):
        text += f" {_axes(dilations)} apart (dilated windows)"
    if any(shifts):
        text += f", shifted by {_axes(shifts)}"
    if record.uniform:
        return f"{text}: the field grows by whole windows (uniform: yes)"
    return f"{text}: the field grows by whole windows, so its size depends on the position (uniform: no)"


def table_notes(plan: Plan, records: list[RFRecord] | None = None) -> list[str]:
    """One sentence per token mixer of ``plan`` (window or global attention), in plan order.

    Parameters
    ----------
    plan : Plan
        The unrolled network.
    records : list of RFRecord, optional
        :func:`rfgraph.arithmetic.plan_receptive_field` of ``plan`` (computed when omitted);
        the notes quote their ``uniform`` and ``global_context`` flags.

    Returns
    -------
    list of str
        ``"<tensor>: <note>"`` lines, empty when the network has no token mixer.
    """
    if records is None:
        records = plan_receptive_field(plan)
    notes = []
    for t, record in zip(plan.tensors, records, strict=True):
        if isinstance(t.op, WindowMix):
            notes.append(f"{t.name}: {_window_note(t.op, plan.ndim, record)}")
        elif isinstance(t.op, GlobalMix):
            notes.append(
                f"{t.name}: global attention: every position reads every position of its input "
                f"(global: {_yes(record.global_context)})"
            )
    return notes
