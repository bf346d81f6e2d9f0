"""One loader for every source of a network: an op, a zoo name, a JSON/YAML/ONNX file, a spec.

It sits at the edge (it reaches the zoo and the ONNX importer), so that the grammar in
:mod:`rfgraph.spec` stays part of the core.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import RFGraphError
from ..geometry import limits
from ..ops import Op
from ..spec import network_from_dict, parse_spec

__all__ = ["load_network"]


def load_network(source: Any) -> Op:
    """A network from an op, a zoo name, a ``.onnx``/``.json``/``.yaml`` file, or a spec string.

    >>> load_network("conv3,conv3")
    Sequential(Conv(3), Conv(3))
    """
    if isinstance(source, Op):
        return source
    if not isinstance(source, str | Path):
        raise RFGraphError(
            f"cannot make a network from {type(source).__name__}; give an op, a zoo name, a file or a spec"
        )
    text = str(source)
    from .. import zoo

    if text in zoo.names():
        return zoo.build(text)
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix in (".json", ".yaml", ".yml", ".onnx"):
        if not path.exists():
            raise RFGraphError(f"file {text!r} does not exist; give an existing .json/.yaml/.onnx file")
        if suffix == ".onnx":
            from .onnx import from_onnx

            return from_onnx(text)
        try:
            if path.stat().st_size > limits.MAX_FILE_BYTES:
                raise RFGraphError(
                    f"{text}: {path.stat().st_size:,} bytes is too large for a network description "
                    f"(at most {limits.MAX_FILE_BYTES:,}); describe repeated layers with 'conv3*100'"
                )
            raw = path.read_text()
        except (OSError, UnicodeDecodeError) as err:
            raise RFGraphError(f"cannot read {text!r}: {err}; give a readable .json/.yaml/.onnx file") from None
        if suffix == ".json":
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as err:
                raise RFGraphError(f"{text}: invalid JSON ({err})") from None
            except RecursionError:
                raise RFGraphError(
                    f"{text}: JSON nested too deeply; rfgraph reads at most {limits.MAX_DEPTH} levels"
                ) from None
        else:
            try:
                import yaml
            except ImportError:  # pragma: no cover - depends on the environment
                raise RFGraphError(f"{text}: reading YAML needs PyYAML: pip install pyyaml") from None
            try:
                # libyaml's loader when present: several times faster on large files.
                data = yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            except RecursionError:
                raise RFGraphError(
                    f"{text}: YAML nested too deeply; rfgraph reads at most {limits.MAX_DEPTH} levels"
                ) from None
            except yaml.YAMLError as err:
                first = str(err).splitlines()[0] if str(err) else type(err).__name__
                raise RFGraphError(f"{text}: invalid YAML ({first})") from None
        if isinstance(data, dict) and "network" in data:
            data = data["network"]
        return network_from_dict(data, where=path.name)
    try:
        return parse_spec(text)
    except RFGraphError as err:
        import difflib

        close = difflib.get_close_matches(text, zoo.names(), n=3)
        if close:
            raise RFGraphError(f"{err}; or did you mean the zoo network {' or '.join(map(repr, close))}?") from None
        raise
