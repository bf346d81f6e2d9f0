"""Output stores for blockwise inference: Zarr (any size), ``.npy`` (memory-mapped), TIFF (in memory).

The rules of :mod:`rfgraph.output` hold: a symbolic link or an existing store is refused
unless ``overwrite`` (then the link itself is replaced, never what it points to); the data
goes to a temporary store beside the destination, renamed into place when complete, so an
interrupted run leaves no half output under the destination's name.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import RFGraphError
from ._compute import compute

__all__ = ["Destination", "prepare_zarr", "store_zarr", "check_store", "is_zarr_store", "write_array", "read_array"]


@dataclass
class Destination:
    """A validated output: a path to create (or replace), or a Zarr array given by the caller."""

    path: Path | None
    array: Any = None
    overwrite: bool = False


def is_zarr_store(p: Path) -> bool:
    """A folder holding Zarr metadata (v3 ``zarr.json``, v2 ``.zarray``/``.zgroup``)."""
    return p.is_dir() and any((p / f).is_file() for f in ("zarr.json", ".zarray", ".zgroup"))


def check_store(out: Any, overwrite: bool, what: str = "out") -> Path:
    """Validate an output path before any work; a folder may be replaced only if it is a Zarr store."""
    if out is None or not isinstance(out, str | os.PathLike) or not str(out).strip():
        raise RFGraphError(f"{what} {out!r} is not a file name; give e.g. result.zarr or result.npy")
    p = Path(out)
    force = "pass --force" if what.startswith("-") or what == "OUT" else "pass overwrite=True"
    if p.is_symlink():
        if not overwrite:
            raise RFGraphError(
                f"{what} {str(p)!r} is a symbolic link; rfgraph never writes through links: "
                f"choose another name or {force} to replace the link itself"
            )
    elif p.exists():
        if not overwrite:
            raise RFGraphError(f"{what} {str(p)!r} already exists; choose another name or {force} to replace it")
        if p.is_dir() and not is_zarr_store(p):
            raise RFGraphError(f"{what} {str(p)!r} is a folder but no Zarr store; rfgraph does not replace it")
    if not p.parent.is_dir():
        state = "is not a folder" if p.parent.exists() else "does not exist"
        raise RFGraphError(f"{what} {str(p)!r}: cannot access folder {str(p.parent)!r}: it {state}; create it first")
    return p


def _zarr() -> Any:
    try:
        import zarr
    except ImportError:
        raise RFGraphError("Zarr output needs zarr: pip install 'rfgraph[dask]'") from None
    return zarr


def prepare_zarr(out: Any, overwrite: bool) -> Destination:
    """Check ``out`` (a path or a ``zarr.Array``) before any work is done."""
    zarr = _zarr()
    if isinstance(out, zarr.Array):
        return Destination(None, out, overwrite)
    return Destination(check_store(out, overwrite), None, overwrite)


def _temporary(p: Path) -> Path:
    return p.parent / f".{p.name}.{uuid.uuid4().hex[:8]}.tmp{p.suffix}"


def _replace(tmp: Path, p: Path, overwrite: bool) -> None:
    """Move the finished ``tmp`` into place; with ``overwrite`` the old store (or the link) goes first."""
    if p.is_symlink() or p.is_file():
        if not overwrite:
            raise RFGraphError(f"{str(p)!r} appeared while rfgraph was writing; nothing was replaced")
        p.unlink()
    elif p.exists():
        if not overwrite or not is_zarr_store(p):
            raise RFGraphError(f"{str(p)!r} appeared while rfgraph was writing; nothing was replaced")
        shutil.rmtree(p)
    os.rename(tmp, p)


def _remove(tmp: Path) -> None:
    if tmp.is_dir():
        shutil.rmtree(tmp, ignore_errors=True)
    elif tmp.exists():
        tmp.unlink()


def store_zarr(result: Any, target: Destination, *, scheduler: Any = None, progress: bool | None = None) -> Any:
    """Compute ``result`` block by block into the Zarr store of ``target``; a dask array reading it back."""
    import dask.array as da

    zarr = _zarr()
    chunks = tuple(c[0] for c in result.chunks)
    if target.array is not None:
        arr = target.array
        if tuple(arr.shape) != tuple(result.shape):
            raise RFGraphError(f"out has shape {tuple(arr.shape)}, but the output is {tuple(result.shape)}")
        compute(da.store(result, arr, lock=False, compute=False), scheduler=scheduler, progress=progress)
        return da.from_zarr(arr)
    assert target.path is not None
    tmp = _temporary(target.path)
    try:
        arr = zarr.open_array(str(tmp), mode="w-", shape=result.shape, chunks=chunks, dtype=result.dtype)
        compute(da.store(result, arr, lock=False, compute=False), scheduler=scheduler, progress=progress)
        _replace(tmp, target.path, target.overwrite)
    except BaseException:
        _remove(tmp)
        raise
    return da.from_zarr(str(target.path))


class _NpyBlocks:
    """A ``.npy`` file opened by each task that writes one block (picklable: it holds the path only)."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __setitem__(self, index: Any, value: Any) -> None:
        mm = np.load(self.path, mmap_mode="r+")
        mm[index] = value
        mm.flush()
        del mm


def read_array(path: Any, *, what: str = "IN") -> Any:
    """A lazily read array from a Zarr store, a ``.npy`` file (memory-mapped) or a TIFF file (tifffile)."""
    p = Path(path)
    name = p.name.lower()
    if p.is_dir() or name.endswith(".zarr"):
        zarr = _zarr()
        if not p.exists():
            raise RFGraphError(f"{what} {str(p)!r} does not exist")
        try:
            found = zarr.open(str(p), mode="r")
        except Exception as err:  # noqa: BLE001 - zarr raises several kinds
            raise RFGraphError(f"{what} {str(p)!r} is not a Zarr array: {str(err).splitlines()[0]}") from None
        if not isinstance(found, zarr.Array):
            arrays = sorted(k for k, v in found.arrays())
            if len(arrays) != 1:
                raise RFGraphError(f"{what} {str(p)!r} is a Zarr group with arrays {arrays}; name one: {p}/NAME")
            found = found[arrays[0]]
        return found
    if not p.is_file():
        raise RFGraphError(f"{what} {str(p)!r} does not exist (give a .zarr store, a .npy or a .tif file)")
    if name.endswith(".npy"):
        try:
            return np.load(p, mmap_mode="r", allow_pickle=False)
        except ValueError as err:
            raise RFGraphError(f"{what} {str(p)!r} is not a NumPy array file: {err}") from None
    if name.endswith((".tif", ".tiff")):
        try:
            import tifffile
        except ImportError:
            raise RFGraphError("TIFF files need tifffile: pip install 'rfgraph[dask]'") from None
        # Uncompressed: a memory map (windows are read when a task runs, and pickle as copies of
        # the window alone); compressed: tifffile's Zarr view; else the whole image.
        try:
            return tifffile.memmap(p, mode="r")
        except Exception:  # noqa: BLE001 - tifffile raises ValueError and others for compressed files
            pass
        try:
            return _zarr().open(tifffile.imread(p, aszarr=True), mode="r")
        except Exception:  # noqa: BLE001 - fall back to reading it whole
            return tifffile.imread(p)
    raise RFGraphError(f"{what} {str(p)!r}: unknown format; give a .zarr store, a .npy or a .tif/.tiff file")


def write_array(
    result: Any, out: Any, *, overwrite: bool = False, scheduler: Any = None, progress: bool | None = None
) -> Path:
    """Compute ``result`` into ``out``: a Zarr store (block by block), ``.npy`` (memory-mapped, block by
    block) or TIFF (gathered in memory first: use Zarr for outputs larger than memory)."""
    import dask.array as da

    p = check_store(out, overwrite, "OUT")
    name = p.name.lower()
    if name.endswith(".zarr"):
        store_zarr(result, Destination(p, None, overwrite), scheduler=scheduler, progress=progress)
        return p
    if not name.endswith((".npy", ".tif", ".tiff")):
        raise RFGraphError(f"OUT {str(p)!r}: unknown format; give a .zarr, .npy or .tif/.tiff name")
    tmp = _temporary(p)
    try:
        if name.endswith(".npy"):
            mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=result.dtype, shape=result.shape)
            del mm
            target: Any = _NpyBlocks(tmp)
            compute(da.store(result, target, lock=False, compute=False), scheduler=scheduler, progress=progress)
        else:
            try:
                import tifffile
            except ImportError:
                raise RFGraphError("TIFF files need tifffile: pip install 'rfgraph[dask]'") from None
            (values,) = compute(result, scheduler=scheduler, progress=progress)
            tifffile.imwrite(tmp, values)
        _replace(tmp, p, overwrite)
    except BaseException:
        _remove(tmp)
        raise
    return p
