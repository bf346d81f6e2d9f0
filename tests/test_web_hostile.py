"""Issue 24: the page's server under slow clients and malformed Host headers; the API's digits.

Slow clients are bounded loopback sockets: a few dozen, each dripping one byte at a time for at
most a few seconds; the check is that every well-behaved request still gets its answer (the
timeouts here only guard against a hang, they are not assertions on speed).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time

import pytest

from rfgraph.web import api
from rfgraph.web import server as web


@pytest.fixture()
def small_server(monkeypatch):
    monkeypatch.setattr(web, "HEADER_DEADLINE_S", 1.0, raising=False)  # absent before issue 24
    monkeypatch.setattr(web, "MAX_CONNECTIONS", 8)
    srv = web.make_server("127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def _get(srv, path, headers=None, timeout=30):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _drip(address, stop: threading.Event, seconds: float) -> None:
    """A slow client: one byte of a request line every 0.2 s, for at most ``seconds``."""
    try:
        with socket.create_connection(address, timeout=5) as s:
            end = time.monotonic() + seconds
            for byte in b"GET /api/zoo HTTP/1.0\r\nHost: 127.0.0.1\r\n":
                if stop.is_set() or time.monotonic() > end:
                    return
                s.sendall(bytes([byte]))
                time.sleep(0.2)
    except OSError:
        return  # cut off by the server: what it should do


def test_slow_clients_do_not_lock_others_out(small_server):
    stop = threading.Event()
    drips = [
        threading.Thread(target=_drip, args=(small_server.server_address[:2], stop, 6.0), daemon=True)
        for _ in range(32)
    ]
    for t in drips:
        t.start()
    try:
        time.sleep(0.5)  # every connection slot is now held by a dripping client
        answers = [_get(small_server, "/api/zoo")[0] for _ in range(6)]
    finally:
        stop.set()
        for t in drips:
            t.join(timeout=10)
    assert answers == [200] * 6


def test_a_client_past_the_header_deadline_is_cut(small_server):
    with socket.create_connection(small_server.server_address[:2], timeout=10) as s:
        s.sendall(b"GET / HTTP/1.0\r\n")
        for _ in range(20):
            try:
                s.sendall(b"X")
            except OSError:
                break
            time.sleep(0.3)
        s.settimeout(10)
        try:
            data = s.recv(65536)
        except OSError:
            data = b""
    assert data == b"" or b"HTTP/1.0 4" in data  # closed, or refused with one JSON error line


@pytest.mark.parametrize(
    "host",
    ["[::1]evil.com", "[::1]evil.com:80", "127.0.0.1.evil.com", "localhost:8x", "localhost:80:80", "evil.com"],
)
def test_malformed_or_foreign_hosts_are_refused(small_server, host):
    status, body = _get(small_server, "/api/zoo", headers={"Host": host})
    assert status == 403 and "Host" in json.loads(body)["error"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:8765", "[::1]:8765", "[::1]", "LOCALHOST"])
def test_loopback_hosts_are_served(small_server, host):
    assert _get(small_server, "/api/zoo", headers={"Host": host})[0] == 200


@pytest.mark.parametrize("text", ["１５", "1٥", "15x１５"])
def test_non_ascii_digits_are_refused_as_the_cli_does(text):
    with pytest.raises(api.ApiError, match="ASCII"):
        api.parse_size(text)
    with pytest.raises(api.ApiError, match="ASCII"):
        api.parse_position(text)
