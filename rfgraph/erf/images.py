"""Inputs for gradient ERFs: images from disk or arrays, or random noise.

:func:`load_images` turns a folder, a file, a glob pattern or an array into the
float tensor ``(N, C, *shape)`` that :func:`~rfgraph.erf.gradient_erf` takes:
resized (or resized and centre-cropped) to ``shape`` and normalised with the
ImageNet mean and standard deviation by default.  :func:`noise_images` gives the
random inputs of Luo et al.'s protocol.  Needs the ``torch`` extra; image files
also need Pillow.  Both are imported inside the functions only.
"""

from __future__ import annotations

import glob as _glob
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import RFGraphError
from ..plan import normalize_shape

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "IMAGE_EXTENSIONS", "load_images", "noise_images"]

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
"""Per-channel mean of ImageNet (RGB, values in [0, 1]), as torchvision and timm use it."""

IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
"""Per-channel standard deviation of ImageNet (RGB, values in [0, 1])."""

IMAGE_EXTENSIONS: tuple[str, ...] = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm")
"""File name endings :func:`load_images` reads from a folder (case-insensitive)."""

_FITS = ("resize", "crop")


def _torch(what: str) -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - the torch extra is optional
        raise RFGraphError(f"{what} needs PyTorch: pip install 'rfgraph[torch]'") from None
    return torch


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError:
        raise RFGraphError("reading image files needs Pillow: pip install pillow (or pass an array)") from None
    return Image


def _files(source: str | Path) -> list[Path]:
    """The image files a folder, a file or a glob pattern names, sorted."""
    text = str(source)
    path = Path(text).expanduser()
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)
        if not found:
            raise RFGraphError(f"folder {text!r} holds no image files ({', '.join(IMAGE_EXTENSIONS[:4])}, ...)")
        return found
    if path.is_file():
        return [path]
    if any(c in text for c in "*?["):
        found = sorted(Path(p) for p in _glob.glob(str(path), recursive=True) if Path(p).is_file())
        if not found:
            raise RFGraphError(f"pattern {text!r} matches no file")
        return found
    raise RFGraphError(f"images {text!r}: no such folder, file or glob pattern")


def _fit_image(img: Any, shape: tuple[int, int], fit: str, image_module: Any) -> Any:
    h, w = shape
    bicubic = image_module.Resampling.BICUBIC
    if fit == "resize":  # RepLKNet's protocol: resize to the exact size, aspect not kept
        return img.resize((w, h), bicubic)
    # "crop": scale so that the image covers (h, w), keep the aspect, cut the centre out.
    scale = max(h / img.height, w / img.width)
    nw, nh = max(w, round(img.width * scale)), max(h, round(img.height * scale))
    img = img.resize((nw, nh), bicubic)
    left, top = (nw - w) // 2, (nh - h) // 2
    return img.crop((left, top, left + w, top + h))


def _read_files(files: Sequence[Path], shape: tuple[int, ...], channels: int, fit: str) -> np.ndarray:
    image_module = _pillow()
    if len(shape) == 1:  # one size means a square for 2-D pictures
        shape = (shape[0], shape[0])
    if len(shape) != 2:
        raise RFGraphError(f"image files are 2-D; shape={shape} must have two sizes, e.g. (224, 224)")
    if channels not in (1, 3):
        raise RFGraphError(f"image files give 1 (grey) or 3 (RGB) channels, not channels={channels}")
    out = np.empty((len(files), channels, *shape), dtype=np.float32)
    h, w = shape
    for i, f in enumerate(files):
        try:
            with image_module.open(f) as img:
                img = _fit_image(img.convert("RGB" if channels == 3 else "L"), (h, w), fit, image_module)  # noqa: PLW2901
                pixels = np.asarray(img, dtype=np.float32) / 255.0
        except OSError as err:
            raise RFGraphError(f"cannot read image {str(f)!r}: {err}") from None
        out[i] = pixels.reshape(h, w, channels).transpose(2, 0, 1)
    return out


def _from_array(torch: Any, source: Any, shape: tuple[int, ...], channels: int, fit: str) -> Any:
    if hasattr(source, "detach"):
        arr = source.detach().cpu()
    else:
        arr = np.asarray(source)
        if arr.dtype == np.uint8:  # 8-bit pixels -> [0, 1]
            arr = arr.astype(np.float32) / 255.0
        if not np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_:
            raise RFGraphError(f"images must be a numeric array, got dtype {arr.dtype}")
        arr = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    arr = arr.to(torch.float32)
    if arr.ndim == len(shape) + 1:  # one input without the batch axis
        arr = arr[None]
    if arr.ndim != len(shape) + 2:
        raise RFGraphError(
            f"an array of images must have shape (N, C, *spatial) with {len(shape)} spatial axes, got {tuple(arr.shape)}"
        )
    if arr.shape[1] != channels:
        raise RFGraphError(f"the array has {arr.shape[1]} channels on axis 1 but channels={channels}")
    if not bool(torch.isfinite(arr).all()):
        raise RFGraphError("the array of images holds NaN or infinite values")
    if tuple(arr.shape[2:]) != shape:
        arr = _resize_tensor(torch, arr, shape, fit)
    return arr


def _resize_tensor(torch: Any, arr: Any, shape: tuple[int, ...], fit: str) -> Any:
    functional = torch.nn.functional
    mode = {1: "linear", 2: "bilinear", 3: "trilinear"}[len(shape)]
    if fit == "resize":
        return functional.interpolate(arr, size=shape, mode=mode, align_corners=False)
    src = arr.shape[2:]
    scale = max(n / s for n, s in zip(shape, src, strict=True))
    size = tuple(max(n, round(s * scale)) for n, s in zip(shape, src, strict=True))
    arr = functional.interpolate(arr, size=size, mode=mode, align_corners=False)
    index = tuple(slice((s - n) // 2, (s - n) // 2 + n) for s, n in zip(size, shape, strict=True))
    return arr[(slice(None), slice(None)) + index]


def _normalisation(normalize: Any, channels: int) -> tuple[np.ndarray, np.ndarray] | None:
    if normalize is None or normalize is False:
        return None
    if isinstance(normalize, str):
        if normalize != "imagenet":
            raise RFGraphError(f"normalize={normalize!r} is unknown; use 'imagenet', None or (mean, std)")
        mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
        if channels == 1:  # grey images: the average channel
            mean, std = mean.mean(keepdims=True), std.mean(keepdims=True)
        elif channels != 3:
            raise RFGraphError(f"ImageNet normalisation is for 1 or 3 channels, not {channels}; pass normalize=None")
        return mean, std
    try:
        mean, std = (np.broadcast_to(np.asarray(v, dtype=np.float64), (channels,)) for v in normalize)
    except (TypeError, ValueError):
        raise RFGraphError(f"normalize must be 'imagenet', None or (mean, std) with {channels} values each") from None
    if not np.all(std > 0):
        raise RFGraphError("normalize=(mean, std): every std must be positive")
    return mean, std


def load_images(
    source: Any,
    shape: Any,
    channels: int = 3,
    *,
    fit: str = "resize",
    normalize: Any = "imagenet",
    limit: int | None = None,
    seed: int = 0,
) -> Any:
    """Images as the float32 tensor ``(N, channels, *shape)`` that :func:`gradient_erf` takes.

    Parameters
    ----------
    source : str, path or array_like
        A folder (every image file in it and its sub-folders, sorted by path), an
        image file, a glob pattern (``"val/*/*.JPEG"``), an ``.npy`` file, an array
        or tensor ``(N, C, *spatial)`` (values in [0, 1]; ``uint8`` is divided by
        255), or ``"noise:N"`` for ``N`` standard-normal inputs (:func:`noise_images`).
    shape : int or tuple of int
        Spatial size of the result, e.g. ``(224, 224)``; image files are 2-D (an int
        means a square for them, one axis for arrays and noise).
    channels : int
        1 (grey) or 3 (RGB) for image files; anything for arrays.
    fit : {"resize", "crop"}
        ``"resize"`` stretches every image to ``shape`` (RepLKNet's protocol);
        ``"crop"`` keeps the aspect ratio and cuts the centre out.
    normalize : "imagenet", None or (mean, std)
        Per-channel normalisation after scaling to [0, 1] (not applied to noise).
    limit : int, optional
        Read at most this many images (the first ones in sorted order).
    seed : int
        Seed of ``"noise:N"``.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> x = load_images(np.ones((2, 3, 8, 8)), (4, 4), normalize=None)
    >>> tuple(x.shape), float(x.max())
    ((2, 3, 4, 4), 1.0)
    >>> tuple(load_images("noise:5", (16, 16)).shape)
    (5, 3, 16, 16)
    """
    torch = _torch("load_images")
    shape = normalize_shape(shape)
    if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
        raise RFGraphError(f"channels={channels!r} must be a positive int, e.g. 3")
    if fit not in _FITS:
        raise RFGraphError(f"fit={fit!r} is unknown; use 'resize' or 'crop'")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise RFGraphError(f"limit={limit!r} must be a positive int or None")
    if isinstance(source, str) and source.startswith("noise:"):
        count = source.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise RFGraphError(f"images {source!r}: write noise:N with a positive N, e.g. noise:16")
        n = int(count) if limit is None else min(int(count), limit)
        return noise_images(n, shape, channels, seed=seed)
    norm = _normalisation(normalize, channels)
    if isinstance(source, str | Path):
        if str(source).lower().endswith(".npy") and Path(source).is_file():
            arr = _from_array(torch, load_npy(source), shape, channels, fit)
        else:
            files = _files(source)
            files = files[:limit] if limit is not None else files
            arr = torch.from_numpy(_read_files(files, shape, channels, fit))
            shape = tuple(arr.shape[2:])
    else:
        arr = _from_array(torch, source, shape, channels, fit)
    if limit is not None:
        arr = arr[:limit]
    if norm is not None:
        view = (1, channels) + (1,) * len(shape)
        mean, std = (torch.tensor(v, dtype=torch.float32).reshape(view) for v in norm)
        arr = (arr - mean) / std
    return arr.contiguous()


def noise_images(n: int, shape: Any, channels: int = 3, *, seed: int = 0) -> Any:
    """``n`` standard-normal inputs ``(n, channels, *shape)`` (float32): Luo et al.'s protocol.

    >>> x = noise_images(4, (8, 8), 1)
    >>> tuple(x.shape), bool((x == noise_images(4, (8, 8), 1)).all())
    ((4, 1, 8, 8), True)
    """
    torch = _torch("noise_images")
    shape = normalize_shape(shape)
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise RFGraphError(f"n={n!r} must be a positive number of inputs, e.g. 16")
    if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
        raise RFGraphError(f"channels={channels!r} must be a positive int, e.g. 3")
    gen = torch.Generator().manual_seed(int(seed))
    return torch.randn((n, channels, *shape), generator=gen, dtype=torch.float32)


def load_npy(path: str | Path, *, header_only: bool = False) -> Any:
    """An ``.npy`` array of numbers (never pickled objects: ``allow_pickle=False``) from a regular file.

    With ``header_only`` the file is only checked (a memory map reads the header).
    """
    import stat

    text = str(path)
    try:
        mode = Path(text).stat().st_mode
    except OSError as err:
        raise RFGraphError(f"images {text!r} cannot be read: {err.strerror or err}") from None
    if not stat.S_ISREG(mode):
        raise RFGraphError(f"images {text!r} is not a regular file; give an .npy file")
    try:
        arr = np.load(text, mmap_mode="r" if header_only else None, allow_pickle=False)
    except ValueError as err:  # object arrays, bad headers
        reason = (
            "it holds Python objects, which are never unpickled"
            if "allow_pickle" in str(err) or "Python objects" in str(err)
            else str(err)
        )
        raise RFGraphError(f"images {text!r} is not an array of numbers: {reason}; save numbers (np.save)") from None
    if not np.issubdtype(arr.dtype, np.number) and arr.dtype != np.bool_:
        raise RFGraphError(f"images {text!r} holds {arr.dtype} values, not numbers")
    return arr
