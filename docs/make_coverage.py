"""Write ``docs/coverage.md``: which real models ``rf.from_torch`` imports, and whether the exact reach
equals torch's gradient support (issue 10).

For every family of :mod:`rfgraph.importers._families` (torchvision classification and
segmentation, timm CNNs; then, in a section of their own, torchvision ViT/Swin/MaxViT and the
timm transformer and hybrid families; smallest variant, random weights, nothing downloaded) and
each input size, the script imports the model, reads the receptive-field record of the checked tensor (the
output, or for a classifier the last spatial tensor that is a module's output), and compares
``rf.reach`` of its centre with the support of the input gradient of a linearised float64 copy
(:func:`rfgraph.importers._support.compare_reach`).

Usage::

    python docs/make_coverage.py                # all families, writes docs/coverage.md
    python docs/make_coverage.py resnet18       # some families (names or sources), prints only
    python docs/make_coverage.py transformers   # the transformer section alone, prints only
    python docs/make_coverage.py --workers 2    # one dask worker process per core

Each model/size pair is one task of ``rfgraph atlas`` (:func:`rfgraph.answers.distributed.sweep.atlas`,
with the reach check and without the exact-map statistics). Takes a few minutes on one core.
"""

from __future__ import annotations

import logging
import platform
import sys
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def _item(family: Any, size: int, group: str = "cnn") -> Any:
    from rfgraph.answers.distributed.sweep import AtlasItem

    return AtlasItem(family.source, family.name, family.kwargs, (size, size), family.family, group)


def _coverage_row(row: dict[str, Any]) -> dict[str, Any]:
    """An atlas row in this page's terms: the input size, and no empty cells."""
    out = {k: v for k, v in row.items() if v not in (None, "")}
    out["size"] = int(str(row["input"]).split("x")[0])
    return out


def check(family: Any, size: int, group: str = "cnn") -> dict[str, Any]:
    """One family at one size: the atlas row (:func:`rfgraph.answers.distributed.sweep.atlas_row`) with the reach check."""
    from rfgraph.answers.distributed.sweep import atlas_row

    return _coverage_row(atlas_row(_item(family, size, group), (size, size), stats=False, reach_check=True))


_HEADER = (
    "| source | family | model | input | imports | checked tensor | stride | field | uniform | global "
    "| reached | reach = grad | inner tensor: reach = grad | note |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
)


def _summary(rows: list[dict[str, Any]]) -> str:
    ok = [r for r in rows if r.get("status") == "imports"]
    equal = [r for r in ok if r.get("equal")]
    families = {(r["source"], r["family"]) for r in rows}
    return (
        f"Summary: {len(families)} families, {len(rows)} model/size pairs; {len(ok)} import, "
        f"{len(equal)} with reach = grad."
    )


def _table(rows: list[dict[str, Any]]) -> list[str]:
    lines = list(_HEADER)
    for r in rows:
        if r.get("status") != "imports":
            lines.append(
                f"| {r['source']} | {r['family']} | `{r['name']}` | {r['size']} | no | | | | | | | | | "
                f"{r.get('reason', '').replace('|', '/')} |"
            )
            continue
        lines.append(
            f"| {r['source']} | {r['family']} | `{r['name']}` | {r['size']} | yes | `{r['tensor']}` | {r['stride']} "
            f"| {r['field']} | {'yes' if r['uniform'] else 'no'} | {'yes' if r['global_context'] else 'no'} "
            f"| {r['reached']} | {'yes' if r['equal'] else '**no**'} | {r.get('inner', '')} "
            f"| {r.get('reason', '').replace('|', '/')} |"
        )
    return lines


def markdown(rows: list[dict[str, Any]]) -> str:
    import rfgraph

    cnn = [r for r in rows if r.get("group", "cnn") == "cnn"]
    transformers = [r for r in rows if r.get("group") == "transformer"]
    lines = [
        "# Coverage: real models in `rf.from_torch`",
        "",
        "Written by `python docs/make_coverage.py` (do not edit by hand). Every model is the smallest",
        "variant of its family, randomly initialised (`weights=None` / `pretrained=False`), at two input",
        "sizes: 64 and 97 px (97 is a multiple of no output stride).",
        "",
        "*Checked tensor*: the output, or for a classifier the last spatial tensor that is a module's",
        "output. *Stride* and *field* are that tensor's record of `rf.receptive_field` (per axis, equal",
        "on both axes here); *global* says that a path reaches every pixel (a squeeze-and-excitation",
        "gate, a global-pool branch, spatial normalisation); *reach = grad* says that `rf.reach` of the",
        "centre equals the support of torch's input gradient of a float64 copy with positive weights,",
        "activations replaced by the identity (sigmoid gates kept), max pooling by average pooling,",
        "on a positive input. *Inner tensor*: the same check at the last module output whose field is",
        "smaller than the input (pixels reached), a sharper test of padding and strides.",
        "",
    ]
    if cnn:
        lines += [_summary(cnn), "", *_table(cnn)]
    if transformers:
        lines += [
            "",
            "## Transformers and hybrids",
            "",
            "Vision transformers and hybrids (attention or token mixers next to convolutions): one",
            "representative per family, at one input size the model accepts (the smallest at which its",
            "attention windows are real, or the size it is fixed to). Global attention makes *global*",
            "yes; window attention grows the field by windows. Where a model does not import, the note",
            "is the first line of `rf.from_torch`'s error.",
            "",
            _summary(transformers),
            "",
            *_table(transformers),
        ]
    import torch

    lines += [
        "",
        f"rfgraph {getattr(rfgraph, '__version__', '?')}, torch {torch.__version__}, "
        f"Python {platform.python_version()}.",
    ]
    try:
        import timm
        import torchvision

        lines[-1] += f" torchvision {torchvision.__version__}, timm {timm.__version__}."
    except ImportError:
        pass
    return "\n".join(lines) + "\n"


def _print(row: dict[str, Any]) -> None:
    row = _coverage_row(row)
    print(
        f"{row['source']:26s} {row['name']:30s} {row['size']:4d} {row['status']:8s} "
        f"{'reach=grad' if row.get('equal') else ''} {row.get('reason', '')}",
        flush=True,
    )


def main(argv: list[str]) -> int:
    from rfgraph.answers.distributed.sweep import atlas
    from rfgraph.importers._families import FAMILIES, TRANSFORMERS

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    workers = 1
    if "--workers" in argv:  # one dask worker process per core (rfgraph atlas's LocalCluster)
        at = argv.index("--workers")
        workers = int(argv[at + 1])
        argv = argv[:at] + argv[at + 2 :]
    groups = [("cnn", f) for f in FAMILIES] + [("transformer", f) for f in TRANSFORMERS]
    wanted = set(argv) - {"transformers", "cnn"}
    chosen = [
        (group, f)
        for group, f in groups
        if not argv or f.name in wanted or f.source in wanted or group in argv or f"{group}s" in argv
    ]
    items = [_item(family, size, group) for group, family in chosen for size in family.sizes]
    rows = [_coverage_row(r) for r in atlas(items, workers=workers, stats=False, reach_check=True, on_row=_print)]
    text = markdown(rows)
    if argv:
        print(text)
        return 0
    target = HERE / "coverage.md"
    if target.is_symlink():
        print(f"{target} is a symlink; not writing through it", file=sys.stderr)
        return 2
    target.write_text(text)
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
