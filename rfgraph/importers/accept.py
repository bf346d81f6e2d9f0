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
    """``func(network, input_shape, ...)`` that also takes the network as text."""

    @functools.wraps(func)
    def wrapper(network: Any, *args: Any, **kwargs: Any) -> Any:
        # An op first, by a plain class check and nothing else: a map repeated in a loop beside
        # another library takes 10-50 us, and every step here costs 1-3 us when it comes cold
        # (the os.PathLike check below goes through the ABC machinery).
        if isinstance(network, Op):
            return func(network, *args, **kwargs)
        shape = args[0] if args else kwargs.get("input_shape", kwargs.get("image_shape"))
        return func(network_from_text(network, shape), *args, **kwargs)

    return wrapper
