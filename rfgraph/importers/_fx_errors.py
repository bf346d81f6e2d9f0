"""Messages of the torch importer in terms of the user's code (issue 24): torch.fx internals
translated, and the example input's channel count said to be a guess when it is one."""

from __future__ import annotations

from typing import Any

__all__: list[str] = []

_FX_INTERNALS = (
    (
        "immutable_list",
        "forward changes a list that torch.fx passes read-only (append, item assignment, "
        "in-place sort); copy it first (list(...))",
    ),
    ("immutable_dict", "forward changes a dict that torch.fx passes read-only; copy it first (dict(...))"),
    ("cannot be used as inputs to control flow", "forward branches on a tensor value (if/while on a tensor)"),
    ("object cannot be iterated", "forward iterates over a tensor or its shape (for ... in x.shape)"),
    ("'Attribute' object does not support item assignment", "forward assigns into a tensor attribute or shape"),
    ("Could not guard on data-dependent expression", "the model's control flow depends on tensor values"),
)


def _plain_reason(text: str) -> str:
    """A torch.fx / torch.export message in terms of the user's code (fx internals name nothing they wrote)."""
    for needle, plain in _FX_INTERNALS:
        if needle in text:
            return plain
    return text


def _channels_hint(channels: int, guessed: bool) -> str:
    if not guessed:
        return f"check input_shape and in_channels (the example input had {channels} channels)"
    return (
        f"the example input had {channels} channels, a guess (no convolution before the first Linear states "
        "its in_channels): pass in_channels= with the model's input channels"
    )


def _first_conv_channels(torch: Any, module: Any) -> int | None:
    for m in module.modules():
        channels = getattr(m, "in_channels", None)
        if isinstance(channels, int) and channels > 0:
            return channels
        if isinstance(m, torch.nn.Linear):
            break
    return None


def _in_channels(torch: Any, module: Any) -> int:
    """Channels of the example input: those of the first convolution (before any Linear), else 3."""
    found = _first_conv_channels(torch, module)
    return 3 if found is None else found
