"""``rfgraph erf``: effective-receptive-field statistics of the exact map."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import RFGraphError
from ._commands import about
from ._common import add_network_args, default_endpoint, dump_json, endpoint_note, input_shape, network


def cmd_erf(args: argparse.Namespace) -> int:
    """Effective-receptive-field statistics of the exact map (see :mod:`rfgraph.erf`)."""
    from ..erf import format_stats, network_erf_stats, predict

    net, shape = network(args), input_shape(args)
    auto = default_endpoint(args, shape)
    stats = network_erf_stats(net, shape, args.metric, endpoint=args.endpoint)
    prediction, note = None, ""
    if args.metric == "paths" and args.endpoint is None:
        try:
            prediction = predict(net, shape)
        except RFGraphError as err:
            note = f"no closed form: {err}"
        if prediction is not None and abs(stats.mass - prediction.paths) > 1e-9 * prediction.paths:
            prediction, note = None, "closed form not shown: the border clips some paths; use a larger --input"
    if args.json:
        data = stats.as_dict()
        if prediction is not None:
            data["prediction"] = {
                "variance": [float(v) for v in prediction.variance],
                "variance_exact": [str(v) for v in prediction.variance],
                "span": list(prediction.span),
                "stride": list(prediction.stride),
                "paths": prediction.paths,
            }
        if note:
            data["note"] = note
        data["endpoint"] = args.endpoint
        print(dump_json(data, indent=2))
    else:
        print(format_stats(stats, prediction))
        if note:
            print(note)
        if auto is not None:
            print(endpoint_note(auto))
    return 0


def register(sub: Any) -> None:
    """Add ``erf`` to the sub-command parsers."""
    p = sub.add_parser(
        "erf",
        help=about("erf"),
        epilog='examples:\n  rfgraph erf "conv3*5" --input 31x31\n  rfgraph erf "conv3*5" --input 31x31 --metric paths   # with the closed form',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_network_args(p)
    p.add_argument(
        "--metric",
        "-m",
        default="edges",
        metavar="{edges,paths}",  # checked by the engine: an unknown metric is one RFGraphError line
        help="distinct edges on all paths (default, as every command) or number of paths (Luo et al.'s ERF of "
        "the all-ones network, with its closed-form variance)",
    )
    p.set_defaults(handler=cmd_erf)
