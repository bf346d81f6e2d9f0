"""Scaling study of the effective receptive field (issue 6): ERF ~ sqrt(n), theoretical RF ~ n.

Run: ``PYTHONPATH=. python bench/erf_scaling.py`` (about 80 s on 2 cores; ``--quick`` uses 1-D maps).
For each family of uniform chains (3x3; dilation 2; a stride-2 stem) and each metric it prints the
fitted exponents of the theoretical span, the ERF standard deviation, the radii holding 50/90% of
the mass and the ratio std/span, over n = 1..64 and over n = 8..64.
"""

from __future__ import annotations

import argparse
import time

from rfgraph.erf import scaling_study

FAMILIES = {"3x3": {}, "3x3 dilation 2": {"dilation": 2}, "3x3 stride-2 stem": {"stride": 2}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1-D maps instead of 2-D")
    parser.add_argument("--table", action="store_true", help="also print the per-n table")
    args = parser.parse_args()
    ndim = 1 if args.quick else 2
    keys = ("span", "std", "radius@0.5", "radius@0.9", "ratio")
    print(f"{'family':<20} {'metric':<6} {'n from':>6}  " + "  ".join(f"{k:>10}" for k in keys))
    for name, kw in FAMILIES.items():
        for metric in ("paths", "edges"):
            t0 = time.perf_counter()
            study = scaling_study(range(1, 65), metric=metric, ndim=ndim, **kw)
            for fit_from in (1, 8):
                s = study if fit_from == 1 else scaling_study(range(8, 65), metric=metric, ndim=ndim, fit_from=8, **kw)
                print(f"{name:<20} {metric:<6} {fit_from:>6}  " + "  ".join(f"{s.exponents[k]:>10.4f}" for k in keys))
            if args.table:
                print(study.table())
            print(f"{'':<20} ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
