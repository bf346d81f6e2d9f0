"""One model loader behind every command, the page and ``rf.load_network`` (SPEC section 12).

A *source* names a network in one of these ways:

* an rfgraph op, returned as it is;
* a zoo name (``vgg16``; built for the input where its geometry depends on it);
* a compact spec (``conv3*5``), a ``.json`` / ``.yaml`` description, an ``.onnx`` file;
* with torch installed: ``torchvision:NAME``, ``timm:NAME`` (random weights, nothing is
  downloaded), ``pkg.module:factory``, a TorchScript or ``torch.export`` (``.pt2``) file, or a
  ``torch.nn.Module``; ``weights`` loads a checkpoint into it with
  ``torch.load(..., weights_only=True)`` (a checkpoint never runs code).  A torch model is
  imported with :func:`rfgraph.from_torch` for ``input_shape``, which it therefore needs.

:func:`load_network` returns the rfgraph network; :func:`load_torch_model` the torch module
(what ``rfgraph erf-model`` runs).  With ``cache=True`` (the page's server) an imported torch
model is kept per (source, input shape, weights), so that a second request does not trace it
again.  torch, timm and onnx are imported only when a source needs them.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from ..errors import RFGraphError
from ..geometry import limits
from ..ops import Op
from ..spec import network_from_dict, parse_spec
from ._files import read_bounded

__all__ = [
    "TORCH_PREFIXES",
    "SOURCES_HELP",
    "is_torch_source",
    "load_network",
    "load_torch_model",
    "model_ndim",
    "read_network",
    "registry_network",
    "torch_input_shape",
    "torch_network",
]

TORCH_PREFIXES = ("torchvision:", "timm:")
"""Name prefixes of model registries that build torch models offline (random weights)."""

SOURCES_HELP = (
    "a spec such as 'conv3*5', a zoo name, a .json/.yaml/.onnx file, or with torch installed "
    "torchvision:NAME, timm:NAME, pkg.module:factory, a TorchScript/.pt2 file"
)
"""What a network argument may be, in the words every command and message uses."""

_TORCH_FILES = (".pt", ".pt2", ".pth", ".ts", ".jit", ".torchscript", ".zip")
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
_FACTORY = re.compile(rf"({_IDENT}(?:\.{_IDENT})*):({_IDENT}(?:\.{_IDENT})*)")
_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_CACHE_SIZE = 16
_PAGE_PARAMETERS = 200_000_000
_LOCK = threading.Lock()


def _factory_parts(text: str) -> tuple[str, str] | None:
    """``("pkg.module", "factory")`` when ``text`` reads as ``pkg.module:factory``, else None."""
    m = _FACTORY.fullmatch(text)
    return (m.group(1), m.group(2)) if m else None


def is_torch_source(source: Any) -> bool:
    """True when ``source`` names a torch model: a module, a registry name, a torch file, a dotted factory.

    A spec may name a layer after a colon (``conv3p1:conv1_1``), so a factory without a dot
    in its module path (``mymodels:net``) is recognised only once the spec parser refuses it
    (see :func:`load_network`).

    >>> is_torch_source("timm:resnet18"), is_torch_source("conv3*5"), is_torch_source("pkg.models:small")
    (True, False, True)
    """
    if _is_module(source):
        return True
    if not isinstance(source, str | Path):
        return False
    text = str(source)
    if text.startswith(TORCH_PREFIXES):
        return True
    if Path(text).suffix.lower() in _TORCH_FILES:
        return True
    parts = _factory_parts(text)
    return parts is not None and "." in parts[0]


def _is_module(obj: Any) -> bool:
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def model_ndim(model: Any) -> int | None:
    """Spatial axes of a torch model's input, from its first convolution or pooling (None if it has none)."""
    import torch

    kinds = (
        (1, (torch.nn.Conv1d, torch.nn.ConvTranspose1d, torch.nn.MaxPool1d, torch.nn.AvgPool1d)),
        (2, (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.MaxPool2d, torch.nn.AvgPool2d)),
        (3, (torch.nn.Conv3d, torch.nn.ConvTranspose3d, torch.nn.MaxPool3d, torch.nn.AvgPool3d)),
    )
    for m in model.modules():
        for ndim, types in kinds:
            if isinstance(m, types):
                return ndim
    return None


def torch_input_shape(model: Any, shape: Any) -> tuple[int, ...]:
    """``shape`` as a tuple; one size stands for a square (cube) of the model's dimensionality.

    >>> import torch
    >>> torch_input_shape(torch.nn.Conv2d(3, 8, 3), (64,))
    (64, 64)
    """
    if shape is None:
        raise RFGraphError(
            "a torch model needs the input size to be imported: input_shape=(224, 224) in Python, "
            "--input 224x224 on the command line"
        )
    dims = (shape,) if isinstance(shape, int) else tuple(shape)
    if not dims or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in dims):
        raise RFGraphError(f"input_shape={shape!r} must hold positive ints (spatial sizes only), e.g. (224, 224)")
    if len(dims) == 1:
        ndim = model_ndim(model)
        if ndim is not None and ndim > 1:
            dims = dims * ndim
    return dims


def load_torch_model(
    source: Any, input_shape: Any = None, weights: Any = None, *, fit_size: bool = True, **options: Any
) -> Any:
    """The torch module a source names (see the module docstring), in eval mode, with ``weights`` loaded.

    ``timm:`` models that take an image size (ViT, Swin, ...) are built for ``input_shape``
    when it is given (and ``fit_size``), so that their position embeddings and windows fit it.
    """
    from ..erf.trained import load_model

    if _is_module(source):
        return load_model(source, weights=weights)
    text = str(source)
    shape = None if input_shape is None else ((input_shape,) if isinstance(input_shape, int) else tuple(input_shape))
    if (
        fit_size
        and text.startswith("timm:")
        and shape is not None
        and len(shape) in (1, 2)
        and "img_size" not in options
    ):
        size = shape * 2 if len(shape) == 1 else shape
        try:
            return load_model(text, weights=weights, img_size=size, **options)
        except (TypeError, ValueError, AssertionError, RuntimeError):
            pass  # the architecture takes no image size (CNNs), or not this one: build it as it is
    parts = _factory_parts(text)
    if parts is not None and not text.startswith(TORCH_PREFIXES) and not Path(text).expanduser().is_file():
        _check_factory(*parts)
    try:
        return load_model(text, weights=weights, **options)
    except TypeError as err:  # the constructor refused an option
        raise RFGraphError(f"cannot build {text!r}: {err}") from None


def _check_factory(module: str, name: str) -> None:
    """A factory is a class or a Python function: never a builtin such as ``os:system``."""
    import importlib
    import inspect

    try:
        obj: Any = importlib.import_module(module)
    except ImportError as err:
        raise RFGraphError(f"model '{module}:{name}': cannot import {module!r}: {err}") from None
    for part in name.split("."):
        if not hasattr(obj, part):
            raise RFGraphError(f"model '{module}:{name}': module {module!r} has no {name!r}")
        obj = getattr(obj, part)
    torch = __import__("torch")
    if isinstance(obj, torch.nn.Module) or inspect.isclass(obj) or inspect.isfunction(obj):
        return
    if callable(obj) and inspect.isfunction(getattr(obj, "func", None)):  # functools.partial
        return
    raise RFGraphError(
        f"model '{module}:{name}' is a {type(obj).__name__}, not a class or a Python function that builds a "
        "torch.nn.Module; name your model's factory (e.g. 'mypackage.models:small_net')"
    )


def torch_network(
    source: Any, input_shape: Any = None, weights: Any = None, *, cache: bool = False, **options: Any
) -> tuple[Any, tuple[int, ...]]:
    """A torch source's rfgraph network and the spatial input shape it was traced at.

    The shape is ``input_shape`` with one size expanded to the model's dimensionality
    (:func:`torch_input_shape`); :func:`load_network` returns the network alone.
    """
    return _torch_network(source, input_shape, weights, cache, options)


def _torch_network(
    source: Any, shape: Any, weights: Any, cache: bool, options: dict[str, Any]
) -> tuple[Any, tuple[int, ...]]:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise RFGraphError(
            f"{str(source)[:60]!r} is a torch model; reading it needs PyTorch: pip install 'rfgraph[torch]' "
            "(CPU-only: see the README)"
        ) from None
    from .torch import from_torch

    key = None
    if cache and not _is_module(source):
        key = (str(source), None if shape is None else tuple(shape), _file_key(weights), tuple(sorted(options.items())))
        with _LOCK:
            if key in _CACHE:
                _CACHE.move_to_end(key)
                return _CACHE[key]  # type: ignore[no-any-return]
    import torch

    if weights is None and isinstance(source, str) and source.startswith(TORCH_PREFIXES):
        found = _on_meta(torch, source, shape, options)
        if not isinstance(found, int):
            if key is not None:
                with _LOCK:
                    _CACHE[key] = found
            return found
        if cache and found > _PAGE_PARAMETERS:  # the page builds no huge model for real on a client's behalf
            raise RFGraphError(
                f"{source} has {found:,} parameters and does not run on torch's meta device; the page builds "
                f"models of at most {_PAGE_PARAMETERS:,} for real (use the command line)"
            )
    model = load_torch_model(source, shape, weights)
    dims = torch_input_shape(model, shape)
    if isinstance(model, torch.jit.ScriptModule):
        net = _from_script(torch, model, dims, options)
    else:
        channels = _exported_channels(model)
        if channels is not None and "in_channels" not in options:
            options = {**options, "in_channels": channels}
        net = from_torch(model, dims, **options)
    if key is not None:
        with _LOCK:
            _CACHE[key] = (net, dims)
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
    return net, dims


def _on_meta(torch: Any, source: str, shape: Any, options: dict[str, Any]) -> tuple[Any, tuple[int, ...]] | int:
    """A registry model without a checkpoint, built and traced on torch's ``meta`` device.

    The graph does not depend on the weights, so none are allocated: a billion-parameter
    model costs no memory and no random initialisation.  None when the model does not run on
    ``meta``: its parameter count instead (then it is built for real).
    """
    from .torch import from_torch

    with torch.device("meta"):
        model = load_torch_model(source, shape)
    dims = torch_input_shape(model, shape)
    try:
        return from_torch(model, dims, **options), dims
    except RFGraphError as err:
        # What rfgraph cannot read on meta it cannot read with real weights either; but a timm
        # model built for the input's size may not run at that size at all (CrossViT at 64 px:
        # its two patch grids no longer match), while built as it is it resizes its input.
        if not source.startswith("timm:") or shape is None:
            raise
        with torch.device("meta"):
            model = load_torch_model(source, shape, fit_size=False)
        try:
            return from_torch(model, torch_input_shape(model, shape), **options), dims
        except RFGraphError:
            raise err from None
    except Exception:  # noqa: BLE001 - an op without a meta kernel: build it for real
        return sum(int(p.numel()) for p in model.parameters())


def _exported_channels(model: Any) -> int | None:
    """The input's channels of a ``torch.export`` module (its first placeholder's example shape)."""
    graph = getattr(model, "graph", None)
    for node in getattr(graph, "nodes", ()):
        if node.op == "placeholder":
            val = node.meta.get("val")
            shape = tuple(getattr(val, "shape", ()))
            return int(shape[1]) if len(shape) >= 3 else None
    return None


def _from_script(torch: Any, model: Any, dims: tuple[int, ...], options: dict[str, Any]) -> Any:
    """A TorchScript module: torch.fx cannot trace it, so it goes through ONNX (in memory) to from_onnx."""
    import io
    import warnings

    channels = options.pop("in_channels", None)
    if channels is None:
        weight = next((p for p in model.parameters() if p.ndim == len(dims) + 2), None)
        channels = int(weight.shape[1]) if weight is not None else 3
    try:
        import onnx  # noqa: F401
    except ImportError:
        raise RFGraphError(
            "a TorchScript file is read through ONNX, which needs the onnx extra: pip install 'rfgraph[onnx]'; "
            "or save the model with torch.export (.pt2)"
        ) from None
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (torch.zeros(1, channels, *dims),), buffer, dynamo=False)
    except Exception as err:  # noqa: BLE001 - the exporter raises many kinds of errors
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise RFGraphError(
            f"cannot read the TorchScript model at input {(1, channels, *dims)}: {first}; save it with "
            "torch.export (.pt2) or pass the nn.Module"
        ) from None
    from .onnx import from_onnx

    return from_onnx(buffer.getvalue(), dims, **options)


def _file_key(weights: Any) -> Any:
    """A checkpoint file's identity: its path, size and modification time (a changed file is read again)."""
    if weights is None:
        return None
    if not isinstance(weights, str | Path):
        return id(weights)
    try:
        st = Path(weights).expanduser().stat()
    except OSError:
        return str(weights)
    return (str(weights), st.st_size, st.st_mtime_ns)


def zoo_for_input(text: str, shape: Any) -> Any:
    """The zoo network ``text``, built for ``shape`` where its geometry depends on the input
    (U-Net, DeepLab): a square input of the network's own rank as one size, another rank as the
    tuple (a 3-D U-Net; the network then has that rank)."""
    from .. import zoo

    if shape is not None and "input_size" in zoo.options(text):
        dims = (shape,) if isinstance(shape, int) else tuple(shape)
        if all(isinstance(n, int) for n in dims):
            same_rank = len(dims) == len(zoo.default_input(text))
            return zoo.build(text, input_size=dims[0] if len(set(dims)) == 1 and same_rank else dims)
    return zoo.build(text)


def load_network(
    source: Any, input_shape: Any = None, weights: Any = None, *, cache: bool = False, **options: Any
) -> Any:
    """An rfgraph network from any source: spec, zoo name, JSON/YAML/ONNX file, or a torch model.

    Parameters
    ----------
    source : str, path, rfgraph op or torch.nn.Module
        ``"conv3*5"``, ``"vgg16"``, ``"net.json"``, ``"net.yaml"``, ``"model.onnx"``,
        ``"torchvision:resnet18"``, ``"timm:convnext_tiny"``, ``"pkg.module:factory"``,
        ``"model.pt2"`` (TorchScript or ``torch.export``), or a module.
    input_shape : tuple of int, optional
        Spatial input size.  Torch sources need it (they are traced at that size; one size
        means a square of the model's dimensionality); an ONNX file uses it instead of its
        static size; zoo networks whose geometry depends on the input (U-Net, DeepLab) are
        built for it.  Specs and JSON/YAML do not need it.
    weights : str, path or mapping, optional
        A checkpoint for a torch source, loaded with ``torch.load(weights_only=True)``.
    cache : bool
        Keep imported torch models per (source, input_shape, weights) in this process.
    **options
        Options of :func:`rfgraph.from_torch` / :func:`rfgraph.from_onnx` (``norm_stats``,
        ``identity``, ``output``...).

    Returns
    -------
    rfgraph.ops.Op

    Examples
    --------
    >>> import rfgraph as rf
    >>> rf.load_network("conv3,conv3")
    Sequential(Conv(3), Conv(3))
    >>> rf.receptive_field(rf.load_network("vgg16"), (224, 224))[-1].name
    'classifier.6'
    """

    if isinstance(source, Op):
        if weights is not None:
            raise RFGraphError("weights= applies to torch models; an rfgraph network has no weights")
        return source
    if _is_module(source):
        return _torch_network(source, input_shape, weights, cache, options)[0]
    if not isinstance(source, str | Path):
        raise RFGraphError(
            f"cannot make a network from {type(source).__name__}; give an op, a torch.nn.Module or a source: "
            + SOURCES_HELP
        )
    text = str(source)
    if not text.strip():
        raise RFGraphError("the network is empty; give " + SOURCES_HELP)
    from .. import zoo

    if text in zoo.names():
        _no_weights(text, weights, "a zoo network")
        return zoo_for_input(text, input_shape)
    if is_torch_source(text):
        return _torch_network(text, input_shape, weights, cache, options)[0]
    path = Path(text)
    if path.suffix.lower() == ".onnx" and path.is_file():
        _no_weights(text, weights, "an ONNX file (it holds its weights)")
        from .onnx import from_onnx

        return from_onnx(text, None if input_shape is None else tuple(input_shape), **options)
    if options:
        raise RFGraphError(f"options {sorted(options)} apply to torch and ONNX models, not to {text[:60]!r}")
    _no_weights(text, weights, "a spec or a JSON/YAML description")
    try:
        return read_network(text)
    except RFGraphError as err:
        parts = _factory_parts(text)
        if parts is None:
            raise
        spec_error = err
    # `mymodels:net`: not a spec, so perhaps a module and its factory.
    import importlib.util

    try:
        found = importlib.util.find_spec(parts[0]) is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise RFGraphError(f"{spec_error}; nor is {parts[0]!r} an importable module for '{text}' (pkg.module:factory)")
    return _torch_network(text, input_shape, weights, cache, options)[0]


def _no_weights(text: str, weights: Any, what: str) -> None:
    if weights is not None:
        raise RFGraphError(
            f"--weights applies to torch models (torchvision:, timm:, pkg.module:factory, TorchScript/.pt2); "
            f"{text[:60]!r} is {what}"
        )


_REGISTRY_NAME = re.compile(r"(torchvision|timm):([A-Za-z0-9_.\-]{1,100})")


def registry_network(name: str, input_shape: Any) -> Any:
    """A ``torchvision:NAME`` / ``timm:NAME`` model as an rfgraph network, cached in this process.

    What a page (``rfgraph serve``) may load on a client's behalf: a registry's own
    architectures with random weights, never a file, a checkpoint or a factory of
    arbitrary code.  Imported models are kept per (name, input shape) for the next request.

    >>> registry_network("os:system", (8, 8))
    Traceback (most recent call last):
    ...
    rfgraph.errors.RFGraphError: 'os:system' is not a registry model; the page takes torchvision:NAME or timm:NAME (files and pkg.module:factory only on the command line)
    """
    if not isinstance(name, str) or not _REGISTRY_NAME.fullmatch(name):
        raise RFGraphError(
            f"{str(name)[:60]!r} is not a registry model; the page takes torchvision:NAME or timm:NAME "
            "(files and pkg.module:factory only on the command line)"
        )
    return _torch_network(name, input_shape, None, True, {})[0]


def read_network(source: Any) -> Op:
    """A network from an op, a zoo name, a ``.onnx``/``.json``/``.yaml`` file, or a spec string (no torch).

    >>> read_network("conv3,conv3")
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
            if path.stat().st_size > limits.MAX_FILE_BYTES and path.is_file():
                raise RFGraphError(
                    f"{text}: {path.stat().st_size:,} bytes is too large for a network description "
                    f"(at most {limits.MAX_FILE_BYTES:,}); describe repeated layers with 'conv3*100'"
                )
            raw = read_bounded(path, limits.MAX_FILE_BYTES, "network file").decode("utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise RFGraphError(f"cannot read {text!r}: {err}; give a readable .json/.yaml/.onnx file") from None
        _check_numbers(raw, text)
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


_LONG_NUMBER = re.compile(r"\d{31,}")


def _check_numbers(raw: str, text: str) -> None:
    """Refuse numbers of more than 30 digits before a parser converts them (Python's int() of
    thousands of digits is slow and then refused with ValueError; every cap is far below 10**30)."""
    found = _LONG_NUMBER.search(raw)
    if found is not None:
        line = raw.count("\n", 0, found.start()) + 1
        digits = len(found.group())
        raise RFGraphError(
            f"{text}: line {line} holds a number of {digits:,} digits; every size rfgraph accepts has at most "
            f"7 ({limits.MAX_PARAM:,} is the largest parameter)"
        )
