"""The gradient ERF of a user's own torch model, with its own weights.

:func:`load_model` builds a model by name (torchvision, timm, ``pkg.module:factory``)
or loads a TorchScript / ``torch.export`` file, and loads a checkpoint into it with
``torch.load(..., weights_only=True)`` only: a checkpoint never runs code.
:func:`gradient_erf` is Luo et al.'s effective receptive field of that model: the
input gradient of the target output position, reduced over channels and averaged
over inputs (or RepLKNet's variant).  The model's mode, parameters and buffers are
left exactly as they were.  Needs the ``torch`` extra, imported inside the functions.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import math
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RFGraphError
from .empirical import REDUCTIONS
from .images import _torch

__all__ = ["load_model", "load_weights", "gradient_erf", "spatial_outputs"]

# Keys under which training scripts nest the state dict, tried in this order.
_WRAPPERS = ("state_dict", "model_state_dict", "model", "module", "net", "network", "model_ema", "ema")
# Prefixes that wrappers add to every key: DataParallel/DDP, torch.compile.
_PREFIXES = ("module.", "_orig_mod.")


# --------------------------------------------------------------------------- loading


def load_model(source: Any, weights: Any = None, **options: Any) -> Any:
    """A torch model from a name or a file, optionally with a checkpoint loaded into it.

    Parameters
    ----------
    source : str, path or torch.nn.Module
        ``"torchvision:resnet50"`` or ``"timm:convnext_tiny"`` (built offline with
        random weights: nothing is downloaded), ``"package.module:factory"`` (the
        factory is called with ``options``), a TorchScript file (``torch.jit.save``)
        or a ``torch.export`` file (``.pt2``); a module is returned as it is.
    weights : str, path or mapping, optional
        A state dict or a checkpoint that wraps one (``{"state_dict": ...}``,
        ``{"model": ...}``, keys prefixed ``module.``), see :func:`load_weights`.
    **options
        Keyword arguments of the model's constructor, e.g. ``num_classes=10``.

    Returns
    -------
    torch.nn.Module
        In eval mode (a built model) or as it was saved (a file).

    Examples
    --------
    >>> m = load_model("torchvision:resnet18", num_classes=10)
    >>> type(m).__name__, m.fc.out_features
    ('ResNet', 10)
    """
    torch = _torch("load_model")
    if isinstance(source, torch.nn.Module):
        model = source
    elif isinstance(source, str | Path):
        model = _build(torch, str(source), options)
    else:
        raise RFGraphError(
            f"source must be a model name, a file or a torch.nn.Module, got {type(source).__name__}; "
            "e.g. 'torchvision:resnet50'"
        )
    if weights is not None:
        load_weights(model, weights)
    return model


def _build(torch: Any, source: str, options: dict[str, Any]) -> Any:
    path = Path(source).expanduser()
    if path.is_file():
        if options:
            raise RFGraphError(f"options {sorted(options)} apply to built models, not to the file {source!r}")
        return _load_file(torch, path)
    kind, sep, name = source.partition(":")
    if not sep or not name:
        raise RFGraphError(
            f"model {source!r}: no such file; name a model as 'torchvision:resnet50', 'timm:convnext_tiny' "
            "or 'package.module:factory', or give a TorchScript/.pt2 file"
        )
    if kind == "torchvision":
        try:
            import torchvision
        except ImportError:
            raise RFGraphError("torchvision models need torchvision: pip install torchvision") from None
        if name not in torchvision.models.list_models():
            raise RFGraphError(f"torchvision has no model {name!r}; see torchvision.models.list_models()")
        model = torchvision.models.get_model(name, weights=None, **options)  # never downloads
    elif kind == "timm":
        try:
            import timm
        except ImportError:
            raise RFGraphError("timm models need timm: pip install timm") from None
        if not timm.is_model(name):
            raise RFGraphError(f"timm has no model {name!r}; see timm.list_models('{name[:4]}*')")
        model = timm.create_model(name, pretrained=False, **options)  # never downloads
    else:
        try:
            factory = getattr(importlib.import_module(kind), name)
        except ImportError as err:
            raise RFGraphError(f"model {source!r}: cannot import {kind!r}: {err}") from None
        except AttributeError:
            raise RFGraphError(f"model {source!r}: module {kind!r} has no {name!r}") from None
        model = factory(**options) if callable(factory) else factory
    if not isinstance(model, torch.nn.Module):
        raise RFGraphError(f"model {source!r} gave a {type(model).__name__}, not a torch.nn.Module")
    return model.eval()


def _load_file(torch: Any, path: Path) -> Any:
    if not zipfile.is_zipfile(path):
        raise RFGraphError(
            f"{str(path)!r} is not a TorchScript or torch.export file (not a zip archive); "
            "for a checkpoint, name the architecture as source and pass the file as weights="
        )
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if any("/code/" in n or n.startswith("code/") for n in names) and any(n.endswith("constants.pkl") for n in names):
        try:
            return torch.jit.load(str(path), map_location="cpu")
        except RuntimeError as err:
            raise RFGraphError(f"cannot load TorchScript file {str(path)!r}: {str(err).splitlines()[0]}") from None
    if any("serialized_exported_program" in n or n.startswith("models/") for n in names) or path.suffix == ".pt2":
        try:
            return torch.export.load(str(path)).module()
        except Exception as err:  # noqa: BLE001 - export raises many kinds of errors on bad files
            raise RFGraphError(f"cannot load torch.export file {str(path)!r}: {err}") from None
    raise RFGraphError(
        f"{str(path)!r} looks like a checkpoint (a state dict), not a model; name the architecture as "
        "source (e.g. 'torchvision:resnet50') and pass this file as weights="
    )


def _unwrap(state: Any, model_keys: set[str]) -> dict[str, Any]:
    """The state dict inside a checkpoint: follow wrapper keys, strip ``module.`` prefixes."""
    seen = []
    while isinstance(state, Mapping) and not (set(state) & model_keys):
        inner = next((k for k in _WRAPPERS if isinstance(state.get(k), Mapping)), None)
        if inner is None:
            break
        seen.append(inner)
        state = state[inner]
    if not isinstance(state, Mapping):
        raise RFGraphError(f"the checkpoint holds a {type(state).__name__}, not a state dict")
    state = dict(state)
    for prefix in _PREFIXES:
        prefixed = state and all(isinstance(k, str) and k.startswith(prefix) for k in state)
        if prefixed and not any(k.startswith(prefix) for k in model_keys):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state


def _few(keys: Any, n: int = 5) -> str:
    keys = sorted(keys)
    shown = ", ".join(repr(k) for k in keys[:n])
    return shown + (f" and {len(keys) - n} more" if len(keys) > n else "")


def load_weights(model: Any, weights: Any) -> Any:
    """Load a state dict or a wrapped checkpoint into ``model`` (in place); returns ``model``.

    A file is read with ``torch.load(..., map_location="cpu", weights_only=True)``:
    only tensors and plain containers load, and a pickle that would run code is
    refused with :class:`~rfgraph.RFGraphError` before anything runs.  Wrappers
    ``{"state_dict": ...}``, ``{"model": ...}`` (and ``model_state_dict``,
    ``module``, ``net``, ``ema``) and the ``module.`` / ``_orig_mod.`` key prefixes
    are removed.  Missing, unexpected or mis-shaped keys are an error naming them.

    >>> import torch
    >>> a, b = torch.nn.Conv2d(1, 2, 3), torch.nn.Conv2d(1, 2, 3)
    >>> _ = load_weights(b, {"model": {"module." + k: v for k, v in a.state_dict().items()}})
    >>> bool((a.weight == b.weight).all())
    True
    """
    torch = _torch("load_weights")
    if isinstance(weights, str | Path):
        path = Path(weights).expanduser()
        if not path.is_file():
            raise RFGraphError(f"weights file {str(weights)!r} does not exist")
        try:
            state = torch.load(str(path), map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - UnpicklingError, RuntimeError, EOFError...
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise RFGraphError(
                f"cannot load weights {str(weights)!r} safely (torch.load with weights_only=True): {first}; "
                "save a plain state dict (torch.save(model.state_dict(), path)); nothing in the file was run"
            ) from None
    elif isinstance(weights, Mapping):
        state = weights
    else:
        raise RFGraphError(f"weights must be a file or a state dict, got {type(weights).__name__}")
    own = model.state_dict()
    state = _unwrap(state, set(own))
    missing = set(own) - set(state)
    unexpected = set(state) - set(own)
    wrong = {
        k: (tuple(getattr(state[k], "shape", ())), tuple(own[k].shape))
        for k in set(own) & set(state)
        if tuple(getattr(state[k], "shape", ())) != tuple(own[k].shape)
    }
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing: {_few(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected: {_few(unexpected)}")
    if wrong:
        shown = ", ".join(f"{k!r} {a} vs model {b}" for k, (a, b) in sorted(wrong.items())[:3])
        problems.append(f"{len(wrong)} with another shape: {shown}")
    if problems:
        raise RFGraphError(
            f"the weights do not fit {type(model).__name__}: " + "; ".join(problems) + " (is it the same architecture?)"
        )
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, TypeError) as err:
        raise RFGraphError(f"the weights do not fit {type(model).__name__}: {str(err).splitlines()[0]}") from None
    return model


# --------------------------------------------------------------------------- gradient ERF


class _Stop(Exception):  # noqa: N818 - control flow, not an error
    """Raised by the forward hook once the chosen submodule ran: the rest is not needed."""


@contextlib.contextmanager
def _untouched(torch: Any, model: Any) -> Iterator[None]:
    """Eval mode inside; afterwards every module's mode and every buffer exactly as before."""
    modes = [(m, m.training) for m in model.modules()]
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    with contextlib.suppress(NotImplementedError):  # a torch.export module: mode fixed at export
        model.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training
        with torch.no_grad():
            for b, saved in buffers:
                if b.shape != saved.shape or not torch.equal(b, saved):  # a module wrote to it in eval
                    b.copy_(saved)


def _first_tensor(torch: Any, value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, list | tuple) and value and isinstance(value[0], torch.Tensor):
        return value[0]
    return None


def _select(torch: Any, out: Any, output: Any) -> Any:
    """A key/index of a dict/tuple output, or the output itself (``"out"`` or the first)."""
    if output is None:
        if isinstance(out, Mapping):
            key = "out" if "out" in out else next(iter(out), None)
            return out[key] if key is not None else None
        return _first_tensor(torch, out)
    if isinstance(out, Mapping):
        if output not in out:
            raise RFGraphError(f"output={output!r}: the model returns a dict with keys {list(out)}")
        return out[output]
    if isinstance(out, list | tuple) and isinstance(output, int) and not isinstance(output, bool):
        if not -len(out) <= output < len(out):
            raise RFGraphError(f"output={output!r}: the model returns {len(out)} tensors")
        return out[output]
    raise RFGraphError(f"output={output!r}: the model returns one {type(out).__name__}, not a dict or a tuple")


def _has_module(model: Any, name: Any) -> bool:
    if not isinstance(name, str) or not name:
        return False
    try:
        model.get_submodule(name)
    except (AttributeError, RuntimeError):
        return False
    return True


def spatial_outputs(model: Any, inputs: Any) -> list[tuple[str, tuple[int, ...]]]:
    """Submodules whose output has the input's spatial axes, ``(name, shape)`` in the order they finish.

    A submodule qualifies when it returns a tensor ``(N, C, *spatial)`` with as many
    spatial axes as the input, not all of size 1.  The last one is the tensor to
    pick for a classifier whose output has no spatial axes.  One forward pass of
    the first input, without gradients; the model is left as it was.

    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten())
    >>> spatial_outputs(net, torch.zeros(1, 1, 8, 8))
    [('0', (1, 2, 6, 6))]
    """
    torch = _torch("spatial_outputs")
    x = _as_inputs(torch, inputs)[:1]
    found: list[tuple[str, tuple[int, ...]]] = []
    handles = []
    for name, module in model.named_modules():
        if not name:
            continue

        def hook(mod: Any, args: Any, out: Any, name: str = name) -> None:
            t = _first_tensor(torch, out)
            if t is not None and t.ndim == x.ndim and math.prod(t.shape[2:]) > 1:
                found.append((name, tuple(t.shape)))

        with contextlib.suppress(RuntimeError):  # TorchScript modules take no hooks
            handles.append(module.register_forward_hook(hook))
    try:
        with _untouched(torch, model), torch.no_grad():
            model(x.to(_device_of(torch, model), _dtype_of(torch, model)))
    except Exception as err:  # noqa: BLE001 - any failure of the model's own forward
        raise RFGraphError(f"running the model on a {tuple(x.shape)} input failed: {_reason(err)}") from None
    finally:
        for h in handles:
            h.remove()
    seen: dict[str, tuple[int, ...]] = {}
    for name, shape in found:  # a module called twice: keep its first call, order of first finish
        seen.setdefault(name, shape)
    return list(seen.items())


def _reason(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _device_of(torch: Any, model: Any) -> Any:
    for t in list(model.parameters()) + list(model.buffers()):
        return t.device
    return torch.device("cpu")


def _dtype_of(torch: Any, model: Any) -> Any:
    for t in list(model.parameters()) + list(model.buffers()):
        if t.is_floating_point():
            return t.dtype
    return torch.float32


def _as_inputs(torch: Any, inputs: Any) -> Any:
    if isinstance(inputs, torch.Tensor):
        x = inputs.detach()
    else:
        try:
            x = torch.as_tensor(np.asarray(inputs, dtype=np.float32))
        except (TypeError, ValueError):
            raise RFGraphError(
                f"inputs must be a tensor or array (N, C, *spatial), got {type(inputs).__name__}; "
                "see rf.erf.load_images"
            ) from None
    if not 3 <= x.ndim <= 5:
        raise RFGraphError(
            f"inputs must have shape (N, C, *spatial) with 1 to 3 spatial axes, got {tuple(x.shape)}; "
            "add the batch axis with x[None]"
        )
    if x.shape[0] < 1 or not x.is_floating_point():
        raise RFGraphError(f"inputs must hold at least one float input, got {tuple(x.shape)} {x.dtype}")
    return x


def _resolve_device(torch: Any, model: Any, device: Any) -> Any:
    if device is None:
        return _device_of(torch, model)
    if device == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else _device_of(torch, model)
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise RFGraphError(f"device={device!r} is not a torch device; use 'cpu', 'cuda', 'cuda:1' or 'auto'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RFGraphError(f"device={device!r}: CUDA is not available here; use device='cpu' or 'auto'")
    return dev


def _target_index(shape: tuple[int, ...], target: Any) -> tuple[int, ...]:
    spatial = shape[2:]
    if target is None:
        return tuple(n // 2 for n in spatial)
    t = (target,) if isinstance(target, int) else target
    try:
        t = tuple(int(i) for i in t)
    except (TypeError, ValueError):
        raise RFGraphError(f"target={target!r} must be a tuple of {len(spatial)} ints into {spatial}") from None
    if len(t) != len(spatial) or any(not 0 <= i < n for i, n in zip(t, spatial, strict=False)):
        raise RFGraphError(
            f"target={target!r} is outside the output's spatial shape {spatial}; e.g. the centre "
            f"{tuple(n // 2 for n in spatial)}"
        )
    return t


def _no_spatial_error(model: Any, x: Any, what: str, shape: tuple[int, ...]) -> RFGraphError:
    try:
        names = spatial_outputs(model, x)
    except RFGraphError:
        names = []
    hint = (
        "; pick a spatial submodule with output=, e.g. " + ", ".join(repr(n) for n, _ in names[-4:][::-1])
        if names
        else ""
    )
    return RFGraphError(f"{what} has shape {shape}, without the input's {x.ndim - 2} spatial axes{hint}")


def gradient_erf(
    model: Any,
    inputs: Any,
    output: Any = None,
    target: Any = None,
    reduce: str = "abs",
    batch_size: int = 8,
    device: Any = None,
    *,
    progress: bool | None = None,
) -> np.ndarray:
    """Effective receptive field of a torch model with its own weights (Luo et al. 2016).

    For every input, the chosen output at ``target`` is summed over channels and
    back-propagated; the input gradient is reduced over input channels and averaged
    over inputs.  Inputs whose map is not finite are skipped (as RepLKNet does).

    Parameters
    ----------
    model : torch.nn.Module
        Any model, e.g. from :func:`load_model`.  It runs in eval mode; its mode,
        parameters and buffers are left exactly as they were.
    inputs : tensor or array
        ``(N, C, *spatial)`` with 1 to 3 spatial axes (:func:`load_images`,
        :func:`noise_images`).
    output : str or int, optional
        A submodule name (``"layer4"``, read with a forward hook; the rest of the
        model does not run), or a key / index of a dict / tuple output.  Default:
        the model's output (``"out"`` or the first of a dict or tuple).
    target : tuple of int, optional
        Position in the output's spatial axes; default the centre ``n // 2``.
    reduce : {"abs", "square", "replknet"}
        ``"abs"``: mean of ``|grad|`` summed over channels (Luo et al.);
        ``"square"``: of ``grad**2``; ``"replknet"``: RepLKNet's ``visualize_erf.py``
        (ReLU on the target output before the sum, positive part of the gradient).
    batch_size : int
        Inputs per forward/backward pass (the result does not depend on it).
    device : str or torch.device, optional
        Where to run: default the model's device; ``"auto"`` uses CUDA when available.
        A model elsewhere is copied there (the model itself does not move).
    progress : bool, optional
        Progress bar on stderr (default: on a terminal, after one second).

    Returns
    -------
    numpy.ndarray
        Float64 map of the inputs' spatial shape.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Conv1d(1, 1, 3, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.copy_(torch.tensor([[[1.0, -2.0, 3.0]]]))
    >>> gradient_erf(net, torch.zeros(2, 1, 7)).tolist()
    [0.0, 0.0, 1.0, 2.0, 3.0, 0.0, 0.0]
    """
    torch = _torch("gradient_erf")
    from ..importers.to_torch import _choice
    from ..output import progress as progress_bar

    if not isinstance(model, torch.nn.Module):
        raise RFGraphError(f"model must be a torch.nn.Module (see rf.erf.load_model), got {type(model).__name__}")
    reduce = _choice(reduce, REDUCTIONS, "reduce")
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise RFGraphError(f"batch_size={batch_size!r} must be a positive int, e.g. 8")
    x_all = _as_inputs(torch, inputs)
    dev = _resolve_device(torch, model, device)
    work = model if dev == _device_of(torch, model) else copy.deepcopy(model).to(dev)
    hooked = _has_module(work, output)
    if isinstance(work, torch.jit.ScriptModule) and hooked:
        raise RFGraphError(f"output={output!r}: TorchScript modules take no forward hooks; pick a key/index or None")
    dtype = _dtype_of(torch, work)
    n = x_all.shape[0]
    total = np.zeros(tuple(x_all.shape[2:]), dtype=np.float64)
    used = 0
    batches = range(0, n, batch_size)
    with (
        _untouched(torch, model),
        _untouched(torch, work),
        progress_bar("gradient ERF", total=len(batches), enabled=progress) as bar,
    ):
        for start in batches:
            x = x_all[start : start + batch_size].to(device=dev, dtype=dtype).requires_grad_(True)
            y = _forward(torch, work, x, output, hooked)
            if y is None or y.ndim != x.ndim:
                what = f"the output of {output!r}" if output is not None else "the model's output"
                raise _no_spatial_error(work, x_all, what, tuple(getattr(y, "shape", ())))
            t = _target_index(tuple(y.shape), target)
            picked = y[(slice(None), slice(None)) + t]
            if reduce == "replknet":
                picked = torch.relu(picked)
            (grad,) = torch.autograd.grad(picked.sum(), x)
            g = grad.abs() if reduce == "abs" else grad.square() if reduce == "square" else torch.relu(grad)
            per_input = g.sum(dim=1).detach().to("cpu", torch.float64).numpy()
            ok = np.isfinite(per_input.reshape(per_input.shape[0], -1)).all(axis=1)
            total += per_input[ok].sum(axis=0)
            used += int(ok.sum())
            bar.update(f"{min(start + batch_size, n)}/{n} inputs")
    if used == 0:
        raise RFGraphError("every input gave a NaN or infinite gradient; check the model and the inputs")
    return total / used


def _forward(torch: Any, model: Any, x: Any, output: Any, hooked: bool) -> Any:
    """The chosen output tensor for input ``x`` (a graph to ``x``), or None if not a tensor."""
    if not hooked:
        try:
            out = model(x)
        except Exception as err:  # noqa: BLE001 - any failure of the model's own forward
            raise RFGraphError(f"running the model on a {tuple(x.shape)} input failed: {_reason(err)}") from None
        return _first_tensor(torch, _select(torch, out, output))
    captured: list[Any] = []

    def hook(mod: Any, args: Any, out: Any) -> None:
        captured.append(_first_tensor(torch, out))
        raise _Stop

    handle = model.get_submodule(output).register_forward_hook(hook)
    try:
        model(x)
    except _Stop:
        pass
    except Exception as err:  # noqa: BLE001 - any failure of the model's own forward
        raise RFGraphError(f"running the model on a {tuple(x.shape)} input failed: {_reason(err)}") from None
    finally:
        handle.remove()
    if not captured:
        raise RFGraphError(
            f"output={output!r}: that submodule did not run in the model's forward (a torch.export module "
            "runs as one graph: export the model up to the tensor you want, or pass the nn.Module)"
        )
    return captured[0]
