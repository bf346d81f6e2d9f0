"""The sub-commands: name, the module that implements it, and its one-line help.

The top-level ``rfgraph --help`` and command dispatch read this table only, so that a
command imports its own module and nothing else (``rfgraph --help`` stays fast); each
module's ``register(sub)`` takes its help line from here (:func:`about`).
"""

from __future__ import annotations

__all__ = ["COMMANDS", "about"]

COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "show the importance profile of five 3-tap convolutions and a 2-D map of a built-in network"),
    "table": ("table", "print the receptive-field table (size, jump, start, padding, aligned)"),
    "spec-help": ("table", "print the compact network grammar"),
    "profile": ("maps", "print the 1-D contribution profile (edges or paths) as numbers"),
    "map": ("maps", "compute a contribution map; --out map.npy/.csv writes it, .png/.svg/.pdf draws it"),
    "graph": ("maps", "draw the unrolled graph of a small 1-D network: --out graph.png"),
    "coverage": ("coverage", "per input pixel, how many output positions' receptive fields contain it"),
    "zoo": ("zoo", "list the built-in networks (name, family, default input, description)"),
    "erf": ("erf", "print effective-receptive-field statistics of the exact map"),
    "erf-model": ("erf_model", "gradient ERF of your own torch model (and weights) beside its exact maps"),
    "tile": ("practical", "plan tiled inference: the exact halo and tiles whose outputs stitch back exactly"),
    "valid": ("practical", "the outputs that no padding reaches, and the share of each field in the padding"),
    "sizes": (
        "practical",
        "the smallest input; per layer the smallest field over paths and the largest; unproductive layers",
    ),
    "pyramid": ("practical", "per pyramid level: stride, field, exact ERF and anchor-to-field ratios, with warnings"),
    "check": ("practical", "exit 1 with a one-line reason when the receptive field violates a bound (for CI)"),
    "serve": ("serve", "open the teaching page: type a network, click a target, watch its map (local, offline)"),
}
"""``name: (module of rfgraph.cli, one-line help)`` in ``rfgraph --help`` order."""


def about(name: str) -> str:
    """The one-line help of sub-command ``name``."""
    return COMMANDS[name][1]
