"""The teaching page's server and JSON API (rfgraph.web): exact answers, clear refusals, a burst."""

from __future__ import annotations

import http.client
import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import numpy as np
import pytest

import rfgraph as rf
from rfgraph.web import api
from rfgraph.web.server import make_server


@pytest.fixture(scope="module")
def server():
    srv = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def get(server, path, params=None, method="GET", headers=None, body=None, timeout=60):
    """(status, JSON or bytes, headers) of one request to the test server."""
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=timeout)
    try:
        url = path + ("?" + urlencode(params) if params else "")
        conn.request(method, url, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        if resp.getheader("Content-Type", "").startswith("application/json"):
            return resp.status, json.loads(data), resp
        return resp.status, data, resp
    finally:
        conn.close()


# --------------------------------------------------------------------------- /api/map equals the library


@pytest.mark.parametrize(
    ("net", "size", "target", "metric"),
    [
        ("conv3*5", "15", None, "edges"),
        ("conv3*5", "15", "1", "paths"),
        ("conv3d2*3", "21", None, "reach"),
        ("conv3p1*2,pool2,res(conv3p1,conv3p1)", "24x20", "3x4", "paths"),
        ("conv3s2p1,deconv4s2p1", "16x16", "0x15", "edges"),
        ("alexnet_seed", "227x227", None, "edges"),
        ("vgg11", "64x64", None, "paths"),
    ],
)
def test_api_map_equals_contribution_map(server, net, size, target, metric):
    params = {"net": net, "input": size, "metric": metric, **({"target": target} if target else {})}
    status, body, _ = get(server, "/api/map", params)
    assert status == 200, body
    shape = tuple(int(n) for n in size.split("x"))
    network = rf.zoo.build(net) if net in rf.zoo.names() else rf.parse_spec(net)
    tgt = tuple(int(n) for n in target.split("x")) if target else None
    expected = rf.reach(network, shape, tgt) if metric == "reach" else rf.contribution_map(network, shape, metric, tgt)
    got = np.array(body["values"])
    assert body["shape"] == list(expected.shape) == list(got.shape)
    assert got.dtype.kind == expected.dtype.kind or metric == "paths"
    assert np.array_equal(got, expected)


def _decode(values):
    import base64

    dtype = {"uint8": np.uint8, "int32": "<i4", "float32": "<f4", "float64": "<f8"}[values["dtype"]]
    return np.frombuffer(base64.b64decode(values["data"]), dtype=dtype).reshape(values["shape"])


@pytest.mark.parametrize(
    ("net", "size", "metric"),
    [
        ("conv3*5", "15", "edges"),
        ("conv3d2*3", "21", "reach"),
        ("conv3p1*2,pool2,res(conv3p1,conv3p1)", "24x20", "paths"),
        ("vgg16", "224x224", "paths"),  # counts beyond float32's 24 bits
    ],
)
def test_api_map_base64_is_the_map(server, net, size, metric):
    """encoding=base64: compact; exact=1 gives every value exactly, the default float32 as rounded."""
    shape = tuple(int(n) for n in size.split("x"))
    network = rf.zoo.build(net) if net in rf.zoo.names() else rf.parse_spec(net)
    expected = rf.reach(network, shape) if metric == "reach" else rf.contribution_map(network, shape, metric)
    for exact in ("0", "1"):
        status, body, _ = get(
            server, "/api/map", {"net": net, "input": size, "metric": metric, "encoding": "base64", "exact": exact}
        )
        assert status == 200, body
        got = _decode(body["values"])
        assert body["shape"] == list(expected.shape) == list(got.shape)
        if exact == "1" or expected.dtype != np.float64:
            assert np.array_equal(got.astype(expected.dtype), expected)
        else:
            assert np.array_equal(got, expected.astype(np.float32))
    if net == "vgg16":
        assert body["values"]["dtype"] == "float64"  # float32 would round these counts
    status, view = api.dispatch("/api/view", f"net={net}&input={size}&metric={metric}&encoding=base64")
    assert status == 200 and view["values"]["shape"] == list(expected.shape[-2:] if len(shape) == 3 else expected.shape)


def test_api_map_bad_encoding():
    status, body = api.dispatch("/api/map", "net=conv3*5&input=15&encoding=png")
    assert status == 400 and "encoding" in body["error"]
    status, body = api.dispatch("/api/map", "net=conv3*5&input=15&encoding=base64&exact=yes")
    assert status == 400 and "exact" in body["error"]


def test_api_map_zoo_default_input():
    status, body = api.dispatch("/api/map", "net=alexnet_seed")
    assert status == 200 and body["shape"] == [227, 227]


def test_view_has_what_the_page_draws():
    status, view = api.dispatch("/api/view", "net=conv3*5&input=15")
    assert status == 200
    assert view["values"][2:13] == [5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5]
    assert view["target"] == [2] and view["output"] == [5]
    assert view["box"] == [[2, 12]] and view["rf_size"] == [11]
    assert view["erf"]["box"] == [[3.0, 11.0]]
    assert view["rows"][-1][0] == "conv5" and view["columns"][0] == "layer"
    # A classifier: its output is one global neuron, the page shows the last spatial map and says so.
    status, view = api.dispatch("/api/view", "net=vgg11&input=64x64")
    assert status == 200 and view["endpoint"] and view["notes"]
    assert len(view["values"]) == 64


def test_view_notes_say_why_window_attention_grows_by_windows():
    status, view = api.dispatch("/api/view", "net=conv4s4,wmix4,wmix4s2&input=32x32")
    assert status == 200
    assert any("window attention" in n and "whole windows" in n for n in view["notes"]), view["notes"]


def test_graph_matches_networkx():
    status, g = api.dispatch("/api/graph", "net=res(conv3p1,conv3p1)&input=9")
    assert status == 200
    expected = rf.to_networkx(rf.parse_spec("res(conv3p1,conv3p1)"), (9,))
    assert {((a, b), (c, d)) for a, b, c, d in g["edges"]} == set(expected.edges)
    assert [len(layer["x"]) for layer in g["layers"]] == [9, 9, 9, 9]
    status, body = api.dispatch("/api/graph", "net=conv3&input=15x15")
    assert status == 400 and "1-D" in body["error"]


# --------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("net=conv0&input=15", 400, "kernel_size=0"),
        ("net=conv3&input=15&target=99", 400, "target"),
        ("net=conv3&input=15&metric=gradient", 400, "metric"),
        ("net=conv3&input=abc", 400, "not a size"),
        ("net=conv3&input=5000x5000", 413, "too large"),
        ("net=conv99999999999999999999&input=15", 400, "number"),
        ("net=conv3*99999999&input=15", 400, "number"),
        ("net=(conv3p1*1000)*1000&input=15", 400, "layers"),
        ("net=" + "(" * 500 + "conv1" + ")" * 500 + "&input=15", 400, "nests"),
        ("net=" + "res(" * 40 + "conv1" + ")" * 40 + "&input=15", 400, "nests"),
        ("net=/etc/passwd&input=15", 400, "spec"),
        ("net=conv3&input=15&input=16", 400, "once"),
        ("net=conv3&input=15&bogus=1", 400, "unknown parameter"),
        ("input=15", 400, "net is missing"),
        ("net=conv3", 400, "input is missing"),
    ],
)
def test_refusals_are_one_line(query, status, words):
    got, body = api.dispatch("/api/map", query)
    assert got == status
    assert words in body["error"] and "\n" not in body["error"]


def test_no_file_is_read_for_a_client(tmp_path, monkeypatch):
    (tmp_path / "net.json").write_text('{"type": "conv", "kernel_size": 3}')
    monkeypatch.chdir(tmp_path)
    status, body = api.dispatch("/api/map", "net=net.json&input=15")
    assert status == 400


def test_http_errors_are_json(server):
    status, body, resp = get(server, "/api/nothing")
    assert status == 404 and "error" in body
    status, body, _ = get(server, "/../../etc/passwd")
    assert status == 404 and "error" in body
    status, body, _ = get(server, "/api/map", {"net": "conv3" + ",conv3" * 3000, "input": "15"})
    assert status == 413 and "URL" in body["error"]
    status, body, _ = get(server, "/api/map", method="POST", body=b"x" * 10_000)
    assert status == 413 and "bodies" in body["error"]
    status, body, _ = get(server, "/api/map", method="DELETE")
    assert status == 405
    status, body, _ = get(server, "/api/zoo", headers={"Host": "evil.example:80"})
    assert status == 403 and "Host" in body["error"]
    status, page, resp = get(server, "/")
    assert (
        status == 200 and b"<canvas" in page and b"http" not in page.split(b"<body>")[1].replace(b"http://www.w3", b"")
    )
    assert "default-src 'self'" in resp.getheader("Content-Security-Policy")


def test_binds_loopback_by_default():
    srv = make_server(port=0)
    try:
        assert srv.server_address[0] == "127.0.0.1" and srv.loopback
    finally:
        srv.server_close()


# --------------------------------------------------------------------------- a burst of 200 mixed requests


def _raw(server, payload: bytes, timeout=60) -> bytes:
    with socket.create_connection(server.server_address[:2], timeout=timeout) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_burst_of_200_mixed_requests(server):
    valid = [
        ({"net": "conv3*5", "input": "15"}, [0, 0, 5, 13, 24, 31, 36, 37, 36, 31, 24, 13, 5, 0, 0]),
        ({"net": "conv3*5", "input": "15", "metric": "paths", "target": "0"}, None),
        ({"net": "conv3p1*3,pool2", "input": "48x48", "metric": "edges", "target": "3x20"}, None),
        ({"net": "alexnet_seed", "input": "227x227"}, None),
    ]
    expected = {}
    for params, _ in valid:
        shape = tuple(int(n) for n in params["input"].split("x"))
        net = rf.zoo.build(params["net"]) if params["net"] in rf.zoo.names() else rf.parse_spec(params["net"])
        tgt = tuple(int(n) for n in params["target"].split("x")) if "target" in params else None
        expected[str(params)] = rf.contribution_map(net, shape, params.get("metric", "edges"), tgt).tolist()
    hostile = [
        {"net": "conv3*99999999", "input": "15"},
        {"net": "(conv3p1*1000)*1000", "input": "15"},
        {"net": "conv3", "input": "99999x99999"},
        {"net": "conv0", "input": "15"},
        {"net": "res(" * 200 + "conv1" + ")" * 200, "input": "15"},
        {"net": "conv3", "input": "15", "target": "-1"},
    ]

    def one(i: int):
        kind = i % 5
        if kind in (0, 1):
            params, _ = valid[i % len(valid)]
            status, body, _ = get(server, "/api/map", params)
            assert status == 200, body
            assert body["values"] == expected[str(params)]
            return "valid"
        if kind == 2:
            status, body, _ = get(server, "/api/map", hostile[i % len(hostile)])
            assert status in (400, 413) and body["error"] and "\n" not in body["error"]
            return "hostile"
        if kind == 3:
            status, body, _ = get(server, "/api/map", {"net": "conv3," * 4000, "input": "15"})
            assert status == 413 and "error" in body
            return "oversized"
        # Garbage on the socket: a JSON error or a closed connection, never a hang or a crash.
        reply = _raw(
            server, b"\x00\xff GARBAGE / HTTP/9.9\r\n\r\n" if i % 2 else b"GET /" + b"a" * 70_000 + b" HTTP/1.1\r\n\r\n"
        )
        assert reply == b"" or reply.startswith(b"HTTP/")
        return "garbage"

    with ThreadPoolExecutor(max_workers=50) as pool:
        kinds = list(pool.map(one, range(200), timeout=300))
    assert len(kinds) == 200 and set(kinds) == {"valid", "hostile", "oversized", "garbage"}
    # Still serving afterwards.
    status, body, _ = get(server, "/api/map", {"net": "conv3*5", "input": "15", "metric": "paths"})
    assert status == 200 and body["values"][7] == 51


# --------------------------------------------------------------------------- the command


def test_cli_serve_answers_like_the_library(tmp_path):
    """``rfgraph serve --port 0 --no-browser`` in a subprocess: /api/map equals rf.contribution_map."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    from urllib.request import urlopen

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[1]), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from rfgraph.cli import main; sys.exit(main())",
            "serve",
            "--port",
            "0",
            "--no-browser",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        line = proc.stdout.readline()
        url = line.split("page is at ", 1)[1].split()[0]
        assert url.startswith("http://127.0.0.1:")
        cases = [
            ("conv3*5", "15", "paths"),
            ("conv3p1,pool2,conv3p1", "20x12", "edges"),
            ("alexnet_seed", "227x227", "edges"),
        ]
        for net, size, metric in cases:
            with urlopen(f"{url}api/map?{urlencode({'net': net, 'input': size, 'metric': metric})}", timeout=60) as r:
                body = json.loads(r.read())
            network = rf.zoo.build(net) if net in rf.zoo.names() else rf.parse_spec(net)
            shape = tuple(int(n) for n in size.split("x"))
            assert np.array_equal(np.array(body["values"]), rf.contribution_map(network, shape, metric))
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()


def test_cli_serve_bad_port_is_one_line(capsys):
    from rfgraph.cli import main

    assert main(["serve", "--port", "70000", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert "--port" in err and err.count("\n") == 1


def test_node_level_engine_is_capped(monkeypatch):
    """Above the page's work cap only the separable algebra may run; if it cannot, a clear 413."""
    calls = []

    def fake(plan, metric, target, method="auto"):
        calls.append(method)
        raise rf.RFGraphError("the separable algebra needs more than 4096 terms")

    monkeypatch.setitem(api.LIMITS, "general_bytes", 0)
    monkeypatch.setattr(api, "plan_contribution_map", fake)
    status, body = api.dispatch("/api/map", "net=conv3*5&input=15&metric=edges")
    assert status == 413 and "GiB" in body["error"] and calls == ["separable"]
