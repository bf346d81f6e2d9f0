"""``rfgraph serve``: a small local web server for the teaching page (standard library only).

The page (``static/``) and the JSON API (:mod:`rfgraph.web.api`) are served from one
``ThreadingHTTPServer`` bound to 127.0.0.1 by default.  It is built to survive a
classroom and a careless or hostile client on the same machine:

- request lines above ``LIMITS["url_bytes"]`` and any request body get HTTP 413;
  only ``GET``/``HEAD`` are answered;
- at most ``MAX_COMPUTE`` computations run at once (the machine's cores); a request
  that waits longer than ``WAIT_S`` for its turn gets HTTP 503 "busy";
- at most ``MAX_CONNECTIONS`` connections are handled at once, each with a socket
  timeout and a deadline of ``HEADER_DEADLINE_S`` for its whole request line and headers
  (a client dripping one byte every few seconds is cut off there); when every slot is
  taken, the connection that has been sending its headers the longest is shed to make
  room, so slow clients cannot lock others out;
- on a loopback address, requests whose ``Host`` is not a loopback name are refused
  (a web page elsewhere cannot reach the API through DNS rebinding);
- every error is one line of JSON, ``{"error": "..."}``; never a traceback.

>>> server = make_server(port=0)
>>> server.server_address[0]
'127.0.0.1'
>>> server.server_close()
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import socket
import sys
import threading
import time
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from .api import LIMITS, dispatch
from .lessons import route as lesson_route

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "Handler", "Server", "make_server", "serve"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
MAX_COMPUTE = max(1, min(os.cpu_count() or 1, 4))
MAX_CONNECTIONS = 64
WAIT_S = 30.0
SOCKET_TIMEOUT_S = 15.0
HEADER_DEADLINE_S = 10.0

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/style.css": ("style.css", "text/css; charset=utf-8"),
}
"""The only files served: fixed names inside the package, never a path from the URL."""

_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


def _host_name(host: str) -> str:
    """The name part of a ``Host`` header, or "" when it is malformed (``[::1]evil.com``, a port
    that is not ASCII digits): ``localhost:8765`` -> ``localhost``, ``[::1]:8765`` -> ``[::1]``."""
    match = re.fullmatch(r"(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::[0-9]{1,5})?", host)
    return match.group(1) if match else ""


def _static(name: str) -> bytes:
    return resources.files("rfgraph.web").joinpath("static").joinpath(name).read_bytes()


class Handler(BaseHTTPRequestHandler):
    """One request: a static file or an API answer, every error as one line of JSON."""

    server: Server
    server_version = "rfgraph"
    sys_version = ""
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads
    timeout = SOCKET_TIMEOUT_S

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        if self.server.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        # The page loads nothing from elsewhere: no CDN, no fonts, works offline.
        self.send_header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, payload: dict[str, Any]) -> None:
        try:
            body = json.dumps(payload, allow_nan=False, separators=(",", ":")).encode()
        except ValueError:  # a NaN or infinity slipped through: say so instead of sending invalid JSON
            status, body = 500, b'{"error":"the answer holds a non-finite number"}'
        self._send(status, body, "application/json")

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The base class's HTML errors (bad request line, too long, ...) as one line of JSON."""
        self.close_connection = True
        self.request_version = "HTTP/1.0"  # a garbled request line leaves "HTTP/0.9": still send headers
        with contextlib.suppress(OSError):
            self.send_json(code, {"error": message or HTTPStatus(code).phrase})

    def _refuse_host(self) -> bool:
        if not self.server.loopback:
            return False
        host = (self.headers.get("Host") or "").strip().lower()
        if _host_name(host) in _LOOPBACK_NAMES:
            return False
        self.send_json(403, {"error": f"Host {host[:60]!r} is not this machine; open http://127.0.0.1:<port>/"})
        return True

    def setup(self) -> None:
        super().setup()
        self.server.reading(self.request)

    def parse_request(self) -> bool:
        ok = super().parse_request()
        self.server.read(self.request)  # the request line and headers are in: no deadline any more
        return ok

    def do_GET(self) -> None:
        if len(self.requestline) > LIMITS["url_bytes"]:
            self.send_json(413, {"error": f"the URL is longer than {LIMITS['url_bytes']} bytes; shorten the spec"})
            return
        if self._refuse_host():
            return
        try:
            url = urlsplit(self.path)
        except ValueError:
            self.send_json(400, {"error": "the URL cannot be parsed"})
            return
        if url.path in STATIC:
            name, ctype = STATIC[url.path]
            self._send(200, _static(name), ctype)
            return
        lesson = lesson_route(url.path)  # /lessons/ and /lessons/<id> (SPEC section 10)
        if lesson is not None:
            self._send(lesson[0], lesson[1], lesson[2])
            return
        if not url.path.startswith("/api/"):
            self.send_json(404, {"error": f"no such page {url.path[:80]!r}; open /"})
            return
        if not self.server.compute.acquire(timeout=WAIT_S):
            self.send_json(503, {"error": "the server is busy with other requests; try again in a moment"})
            return
        try:
            status, payload = dispatch(url.path, url.query)
        except Exception as err:  # a bug, not bad input: one line here and on the server's stderr
            sys.stderr.write(f"rfgraph serve: internal error on {url.path}: {type(err).__name__}: {err}\n")
            status, payload = 500, {"error": f"internal error ({type(err).__name__}); see the server's output"}
        finally:
            self.server.compute.release()
        self.send_json(status, payload)

    def do_HEAD(self) -> None:
        self.do_GET()

    def _no_body(self) -> None:
        if self.headers.get("Content-Length") not in (None, "0") or self.headers.get("Transfer-Encoding"):
            self.send_json(413, {"error": "request bodies are not accepted; use GET with a query string"})
        else:
            self.send_json(405, {"error": f"{self.command} is not supported; use GET"})
        self.close_connection = True

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _no_body


class Server(ThreadingHTTPServer):
    """A ThreadingHTTPServer with a cap on concurrent connections and computations."""

    daemon_threads = True
    block_on_close = False  # do not keep a list of every finished thread
    request_queue_size = 256  # a burst of connections waits in the backlog instead of being reset

    def __init__(self, address: tuple[str, int], verbose: bool = False) -> None:
        host = address[0]
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.verbose = verbose
        self.compute = threading.BoundedSemaphore(MAX_COMPUTE)
        self.connections = threading.BoundedSemaphore(MAX_CONNECTIONS)
        # connections still sending their request line and headers: socket -> when they started
        self._reading: dict[Any, float] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._reaper = threading.Thread(target=self._reap, name="rfgraph-header-deadline", daemon=True)
        self._reaper.start()
        try:
            self.loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            self.loopback = host in _LOOPBACK_NAMES

    def reading(self, request: Any) -> None:
        with self._lock:
            self._reading[request] = time.monotonic()

    def read(self, request: Any) -> None:
        with self._lock:
            self._reading.pop(request, None)

    @staticmethod
    def _cut(request: Any) -> None:
        with contextlib.suppress(OSError):
            request.shutdown(socket.SHUT_RDWR)  # its thread's read returns at once and it ends

    def _reap(self) -> None:
        """Cut connections whose request line and headers take longer than HEADER_DEADLINE_S."""
        while not self._closed.wait(0.25):
            now = time.monotonic()
            with self._lock:
                late = [r for r, t in self._reading.items() if now - t > HEADER_DEADLINE_S]
                for r in late:
                    self._reading.pop(r, None)
            for r in late:
                self._cut(r)

    def _shed_slowest(self) -> bool:
        """Every slot taken: cut the connection that has been sending headers the longest."""
        with self._lock:
            if not self._reading:
                return False
            slowest = min(self._reading, key=self._reading.__getitem__)
            self._reading.pop(slowest, None)
        self._cut(slowest)
        return True

    def process_request(self, request: Any, client_address: Any) -> None:
        # Too many open connections: shed the slowest client still sending headers, else answer 503
        # at once rather than start another thread.
        admitted = self.connections.acquire(blocking=False)
        if not admitted and self._shed_slowest():
            admitted = self.connections.acquire(timeout=2.0)
        if not admitted:
            try:
                request.settimeout(2.0)
                body = b'{"error":"too many connections; try again in a moment"}'
                request.sendall(
                    b"HTTP/1.0 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
            except OSError:
                pass
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.read(request)
            self.connections.release()

    def server_close(self) -> None:
        self._closed.set()
        super().server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up early are normal; never print a traceback for them.
        err = sys.exc_info()[1]
        if self.verbose and err is not None:
            sys.stderr.write(f"rfgraph serve: {client_address[0]}: {type(err).__name__}: {err}\n")

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), self.server_address[1]
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def make_server(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, verbose: bool = False) -> Server:
    """Bind the server (``port=0``: any free port); call ``serve_forever()`` to run it."""
    return Server((host, port), verbose=verbose)


def serve(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, open_browser: bool = True, verbose: bool = False
) -> None:
    """Run the teaching page until interrupted (Ctrl+C), optionally opening a browser tab."""
    server = make_server(host, port, verbose=verbose)
    print(f"rfgraph serve: the teaching page is at {server.url}  (Ctrl+C stops it)", flush=True)
    if not server.loopback:
        print("rfgraph serve: warning: listening beyond this machine; anyone who can reach it can use it", flush=True)
    if open_browser:
        threading.Timer(0.3, webbrowser.open, args=(server.url,)).start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
