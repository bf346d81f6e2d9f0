"""Every public function that takes a network also takes its text: a spec, a zoo name or a file.

``rf.contribution_map("conv3*5", (15,))`` is ``rf.contribution_map(rf.load_network("conv3*5"), (15,))``,
like ``rfgraph.answers.testing.assert_receptive_field`` and the command line.  The core modules take ops
only (they import nothing from the edges, not even lazily); the package namespace hands out these
wrappers instead (:func:`accepting_text`).  A zoo network whose geometry depends on the input
(U-Net, DeepLab) is built for the given input shape, as the CLI does.

>>> import rfgraph as rf
>>> rf.contribution_map("conv3*5", (15,)).tolist()
[0, 0, 5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5, 0, 0]
>>> rf.receptive_field("resnet18", (224, 224))[-1].name
'fc'
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from typing import Any

from ..ops import Op

__all__ = ["accepting_text", "network_from_text"]


def network_from_text(source: Any, input_shape: Any = None) -> Any:
    """An op from ``source`` (returned as is when it is not text or a path)."""
    if not isinstance(source, str | os.PathLike):
        return source
    from .. import zoo
    from .load import load_network, zoo_for_input

    text = os.fspath(source)
    if text in zoo.names() and input_shape is not None:
        return zoo_for_input(text, input_shape)
    return load_network(text)


def accepting_text(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func(network, input_shape, ...)`` that also takes the network as text.

    The wrapper has ``func``'s own parameters, written out (as :mod:`dataclasses` writes an
    ``__init__``), not ``*args, **kwargs``: a map repeated in a loop beside another library takes
    10-50 us, and packing the arguments into a tuple and a dict and out again cost 10 us of it
    when the call came cold (EfficientNet-B0 at 32x32 after torch's backward pass, 300 rounds).
    An op goes straight on after one class check.
    """
    params = list(inspect.signature(func).parameters.values())
    if not params or any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise TypeError(f"{func.__name__}: accepting_text needs named parameters, the network first")
    names: dict[str, Any] = {"_Op": Op, "_read": network_from_text, "_func": func}
    decl: list[str] = []
    passed: list[str] = []
    for p in params:
        if p.kind is p.KEYWORD_ONLY and "*" not in decl:
            decl.append("*")
        if p.default is p.empty:
            decl.append(p.name)
        else:
            names[f"_default_{p.name}"] = p.default
            decl.append(f"{p.name}=_default_{p.name}")
        passed.append(p.name if p.kind is not p.KEYWORD_ONLY else f"{p.name}={p.name}")
        if p.kind is p.POSITIONAL_ONLY and not any(q.kind is q.POSITIONAL_ONLY for q in params[len(passed) :]):
            decl.append("/")
    first = params[0].name
    shape = params[1].name if len(params) > 1 and params[1].name in ("input_shape", "image_shape") else "None"
    source = (
        f"def {func.__name__}({', '.join(decl)}):\n"
        f"    if not isinstance({first}, _Op):\n"
        f"        {first} = _read({first}, {shape})\n"
        f"    return _func({', '.join(passed)})\n"
    )
    exec(source, names)  # noqa: S102 - the text above, built from func's own signature
    return functools.update_wrapper(names[func.__name__], func)
