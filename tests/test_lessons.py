"""The lessons' pages (rfgraph.web.lessons, SPEC section 10): routes, fixed file names, offline pages."""

from __future__ import annotations

import http.client
import re
import threading
from importlib import resources

import pytest

from rfgraph.web.lessons import LESSONS, route
from rfgraph.web.server import make_server

IDS = [
    "paths-and-edges",
    "growing-field",
    "stride-and-dilation",
    "alignment",
    "residual-paths",
    "effective-vs-theoretical",
    "attention",
    "sliding-kernel",
]


def test_the_spec_ids_in_order():
    assert [lesson.id for lesson in LESSONS] == IDS


def test_index_links_every_lesson():
    status, body, ctype = route("/lessons/")
    assert status == 200 and ctype.startswith("text/html")
    for lesson_id in IDS:
        assert f'href="/lessons/{lesson_id}"'.encode() in body
    assert route("/lessons")[1] == body
    text = body.decode()
    for source in (
        "Luo et al. 2016",
        "Araujo et al., Distill 2019",
        "the importance-profile article",
        "Veit et al. 2016",
    ):
        assert source in text
    assert "seed" not in text.lower()


@pytest.mark.parametrize("lesson_id", IDS)
def test_every_lesson_page_and_its_script(lesson_id):
    status, page, ctype = route(f"/lessons/{lesson_id}")
    assert status == 200 and ctype.startswith("text/html")
    assert b'<script src="/lessons/core.js">' in page and f'src="/lessons/{lesson_id}.js"'.encode() in page
    assert route(f"/lessons/{lesson_id}/")[1] == page
    status, script, ctype = route(f"/lessons/{lesson_id}.js")
    assert status == 200 and ctype.startswith("text/javascript") and b"RF.lesson(" in script
    # Offline: nothing is loaded from elsewhere; no source is called a seed.
    for body in (page, script):
        assert not re.search(rb"https?://", body.replace(b"http://www.w3.org/2000/svg", b""))
    assert b"seed" not in script.lower()


def test_paths_and_edges_states_the_profiles():
    script = route("/lessons/paths-and-edges.js")[1].decode()
    assert "5 13 24 31 36 37" in script and "1 5 15 30 45 51" in script


@pytest.mark.parametrize(
    "path",
    ["/lessons/nothing", "/lessons/../server.py", "/lessons/%2e%2e/api.py", "/lessons/core.py", "/lessons/a/b.js"],
)
def test_unknown_names_are_404(path):
    status, body, ctype = route(path)
    assert status == 404 and ctype == "application/json" and b"paths-and-edges" in body


def test_other_paths_are_not_lessons():
    assert route("/api/map") is None and route("/") is None and route("/lessonsx") is None


def test_static_files_ship_in_the_package():
    folder = resources.files("rfgraph.web").joinpath("static").joinpath("lessons")
    names = {p.name for p in folder.iterdir()}
    assert {"core.js", "lessons.css", *(f"{i}.js" for i in IDS)} <= names
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert '"web/static/lessons/*"' in pyproject


def test_served_over_http_with_the_page_headers():
    srv = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        for path, kind in (
            ("/lessons/", "text/html"),
            ("/lessons/attention", "text/html"),
            ("/lessons/core.js", "text/javascript"),
        ):
            conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            assert resp.status == 200 and resp.getheader("Content-Type").startswith(kind)
            assert "default-src 'self'" in resp.getheader("Content-Security-Policy")
            conn.close()
        conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
        conn.request("GET", "/lessons/nope")
        resp = conn.getresponse()
        assert resp.status == 404 and b"error" in resp.read()
        conn.close()
    finally:
        srv.shutdown()
        srv.server_close()


@pytest.mark.parametrize("lesson_id", IDS)
def test_page_weight_stays_small(lesson_id):
    """A lesson loads its page, core.js, lessons.css and its script: no library, no CDN, under 64 KB in all."""
    total = sum(len(route(path)[1]) for path in (f"/lessons/{lesson_id}", "/lessons/core.js", "/lessons/lessons.css"))
    total += len(route(f"/lessons/{lesson_id}.js")[1])
    assert total < 64_000, total


def test_residual_lesson_counts_match_the_library():
    """/api/lengths (the residual-paths lesson) answers rf.path_lengths: C(6, k) 3^k per pixel, C(6, k) per op graph."""
    import numpy as np

    import rfgraph as rf
    from rfgraph.web.api import dispatch

    status, body = dispatch("/api/lengths", "net=res(conv3p1)*6&input=15&per_pixel=1")
    assert status == 200, body
    assert body["pixels"] == [1, 18, 135, 540, 1215, 1458, 729]
    assert body["op_graph"] == [1, 6, 15, 20, 15, 6, 1]  # Veit et al. 2016
    net = rf.parse_spec("res(conv3p1)*6")
    assert np.array_equal(np.array(body["per_pixel"]), rf.path_lengths(net, (15,), per_pixel=True))
    assert np.array_equal(np.array(body["per_pixel"]).sum(axis=0), rf.contribution_map(net, (15,), "paths"))
    status, body = dispatch("/api/lengths", "net=res(conv3p1)*2&input=8x8&per_pixel=1")
    assert status == 400 and "1-D" in body["error"]
    status, body = dispatch("/api/lengths", "net=conv1*70&input=632x632")
    assert status == 413 and "path lengths" in body["error"]


def test_mean_weights_through_the_api():
    """weights=mean (SPEC section 11) on /api/map and /api/view equals rf.contribution_map(..., weights="mean")."""
    import numpy as np

    import rfgraph as rf
    from rfgraph.web.api import dispatch

    for net, size in (("res(conv3p1,conv3p1)*4", (33, 33)), ("conv3p1*2,pool2,conv3p1", (16, 12))):
        query = f"net={net}&input={'x'.join(map(str, size))}&metric=paths&weights=mean"
        expected = rf.contribution_map(rf.parse_spec(net), size, "paths", weights="mean")
        status, body = dispatch("/api/map", query)
        assert status == 200 and np.allclose(np.array(body["values"]), expected, rtol=1e-12, atol=0)
        status, view = dispatch("/api/view", query)
        assert status == 200 and np.allclose(np.array(view["values"]), expected, rtol=1e-12, atol=0)
    status, body = dispatch("/api/map", "net=conv3*5&input=15&metric=edges&weights=mean")
    assert status == 400 and "paths metric only" in body["error"]
    status, body = dispatch("/api/map", "net=conv3*5&input=15&metric=paths&weights=heavy")
    assert status == 400 and "ones or mean" in body["error"]
