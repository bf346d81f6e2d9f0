"""``rfgraph serve``: the teaching page, a local web server (see :mod:`rfgraph.web`)."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import RFGraphError
from ._commands import about

DEFAULT_PORT = 8765  # rfgraph.web.server.DEFAULT_PORT, repeated so that --help imports nothing heavy


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the page until Ctrl+C."""
    from ..web.server import serve

    if not 0 <= args.port <= 65535:
        raise RFGraphError(f"--port {args.port} is not a port; use 1024..65535, or 0 for any free port")
    try:
        serve(args.host, args.port, open_browser=not args.no_browser, verbose=args.verbose)
    except OSError as err:  # the port is taken, or the address is not this machine's
        raise RFGraphError(
            f"cannot listen on {args.host}:{args.port}: {err.strerror or err}; choose another --port (0 = any free port)"
        ) from None
    return 0


def register(sub: Any) -> None:
    """Add ``serve`` to the sub-command parsers."""
    p = sub.add_parser(
        "serve",
        help=about("serve"),
        epilog="example:\n  rfgraph serve --port 8765 --no-browser     # then open http://127.0.0.1:8765/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--port", "-p", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 opens it to the network)",
    )
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    p.add_argument("--verbose", "-v", action="store_true", help="log every request on stderr")
    p.set_defaults(handler=cmd_serve)
