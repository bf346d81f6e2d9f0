"""Running a module for the importer: eval mode, the example input, and forward hooks.

``method="hooks"`` records leaf modules in call order (exact for sequential models only);
:func:`example` gives the input matching the module's device and dtype (fake or meta tensors).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from ..errors import RFGraphError
from ._convert import _Converter, _first_index, _pick_output
from ._layout import _T, Value, _Flat
from ._modules import convert_module

__all__ = ["eval_mode", "example", "from_hooks"]


@contextlib.contextmanager
def eval_mode(module: Any) -> Iterator[None]:
    modes = [(m, m.training) for m in module.modules()]
    with contextlib.suppress(NotImplementedError):  # a torch.export module: its mode was fixed at export
        module.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def example(torch: Any, module: Any, shape: tuple[int, ...], channels: int) -> tuple[Any, Any]:
    """(fake mode or None, input tensor) matching the module's device and dtype."""
    params = list(module.parameters()) + list(module.buffers())
    dtype = next((p.dtype for p in params if p.is_floating_point()), torch.float32)
    size = (1, channels, *shape)
    if any(p.device.type == "meta" for p in params):
        return None, torch.empty(size, dtype=dtype, device="meta")
    from torch._subclasses.fake_tensor import FakeTensorMode

    mode = FakeTensorMode(allow_non_fake_inputs=True)
    device = params[0].device if params else "cpu"
    return mode, mode.from_tensor(torch.empty(size, dtype=dtype, device=device))


def from_hooks(torch: Any, module: Any, conv: _Converter, shape: tuple[int, ...], channels: int) -> int:
    calls: list[tuple[str, Any, Any, Any]] = []
    handles = []
    for path, m in module.named_modules():
        if not any(True for _ in m.children()):
            path = path or type(m).__name__.lower()  # a lone leaf module is its own network

            def hook(mod: Any, inputs: Any, out: Any, path: str = path) -> None:
                first = inputs[0] if inputs else None
                calls.append(
                    (
                        path,
                        mod,
                        tuple(getattr(first, "shape", ())) or None,
                        tuple(out.shape) if hasattr(out, "shape") else None,
                    )
                )

            handles.append(m.register_forward_hook(hook))
    mode, x = example(torch, module, shape, channels)
    try:
        try:
            with mode if mode is not None else contextlib.nullcontext():
                module(x)
        except Exception:  # noqa: BLE001 - e.g. data-dependent control flow needs real values
            if mode is None:
                raise
            calls.clear()
            with torch.no_grad():
                module(torch.zeros(tuple(x.shape), dtype=x.dtype, device=x.device))
    except Exception as err:  # noqa: BLE001 - any failure of the model's own forward
        raise RFGraphError(f"running the model on a {tuple(x.shape)} input failed: {err}") from None
    finally:
        for h in handles:
            h.remove()
    value: Value = _T(0, conv.ndim + 2)
    for path, mod, in_shape, out_shape in calls:
        scopes = [".".join(path.split(".")[: k + 1]) for k in range(path.count(".") + 1)]
        if isinstance(value, _T) and in_shape is not None and len(in_shape) == 2 and math.prod(conv.spatial(value)) > 1:
            value = _Flat(value.index)  # flattened in forward() between two modules
        if (
            isinstance(value, _T)
            and in_shape is not None
            and len(in_shape) >= conv.ndim + 1
            and tuple(in_shape[-conv.ndim :]) != conv.spatial(value)
        ):
            raise RFGraphError(
                f"module {path!r} ({type(mod).__name__}) reads a {in_shape} tensor, not the previous module's "
                f"output (spatial {conv.spatial(value)}): the model is not sequential, and fx could not trace it; "
                "make it traceable (torch.fx) or describe it with rfgraph ops"
            )
        before = _first_index(value)
        value = convert_module(conv, mod, path, value, in_shape, out_shape, scopes)
        index = _first_index(value)
        if index is not None:
            conv.dag.note(scopes[:-1] if index == before else scopes, index)
    return _pick_output(value, None)
