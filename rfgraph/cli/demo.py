"""``rfgraph demo``: the importance profile of five 3-tap convolutions and a VGG-16 map, in a few seconds."""

from __future__ import annotations

import argparse
from typing import Any

from ._commands import about
from ._common import ascii_map, dump_json, peak_text, summary, support


def cmd_demo(args: argparse.Namespace) -> int:
    import time

    from .. import zoo
    from ..arithmetic import receptive_field
    from ..engine import contribution_map
    from ..ops import Conv, Sequential

    chain = Sequential(*[Conv(3) for _ in range(5)])
    edges = contribution_map(chain, (15,))
    paths = contribution_map(chain, (15,), "paths")
    lo, hi = support(edges)
    grid = contribution_map(chain, (15, 15))
    net = zoo.build("vgg16")
    start = time.perf_counter()
    big = contribution_map(net, (224, 224), endpoint="pool5")
    took = time.perf_counter() - start
    rec = receptive_field(net, (224, 224), "pool5")[-1]
    info = summary(big)
    if args.json:
        print(
            dump_json(
                {
                    "profile_edges": [int(v) for v in edges[lo:hi]],
                    "profile_paths": [int(v) for v in paths[lo:hi]],
                    "profile_2d": {
                        "centre": int(grid[7, 7]),
                        "corner": int(grid[2, 2]),
                        "paths_centre": int(contribution_map(chain, (15, 15), "paths")[7, 7]),
                    },
                    "vgg16_pool5": {
                        "size": list(rec.size),
                        "stride": [int(s) for s in rec.stride],
                        "ms": took * 1000,
                        **info,
                    },
                },
                indent=2,
            )
        )
        return 0
    print(
        "Five 3-tap convolutions over 15 inputs, target = centre of the 5 outputs\n(the importance profile: distinct edges on all paths to the target):"
    )
    print("  distinct edges per input:", " ".join(str(int(v)) for v in edges[lo:hi]))
    print("  paths per input:         ", " ".join(str(int(v)) for v in paths[lo:hi]))
    print(f"\nThe same network in 2-D (15x15): centre {grid[7, 7]}, corner of the field {grid[2, 2]}")
    print(ascii_map(grid[2:13, 2:13]))
    print(f"\nVGG-16 at 224x224, centre of pool5 (receptive field {rec.size[0]}, stride {rec.stride[0]}):")
    print(
        f"  edges map computed in {took * 1000:.1f} ms; {peak_text(info)}; "
        f"{info['nonzero']} of {big.size} pixels contribute"
    )
    step = 16
    print(ascii_map(big[::step, ::step]))
    print("\nNext: rfgraph table vgg16 --endpoint pool5 | rfgraph map resnet50 --out map.png | rfgraph --help")
    return 0


def register(sub: Any) -> None:
    """Add ``demo`` to the sub-command parsers."""
    p = sub.add_parser(
        "demo",
        help=about("demo"),
        epilog="example:\n  rfgraph demo --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(handler=cmd_demo)
