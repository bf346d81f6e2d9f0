"""The lessons of the teaching page: ``/lessons/`` (an index) and ``/lessons/<id>`` (SPEC section 10).

Each lesson is one HTML page built here from a fixed template and one script in
``static/lessons/<id>.js`` holding its steps (text and drawing); ``core.js`` is the
step engine and the drawings they share.  The pages draw from the JSON API
(:mod:`rfgraph.web.api`) and load nothing from elsewhere.

>>> [lesson.id for lesson in LESSONS][:2]
['paths-and-edges', 'growing-field']
>>> status, body, ctype = route("/lessons/paths-and-edges")
>>> status, ctype, b"/lessons/paths-and-edges.js" in body
(200, 'text/html; charset=utf-8', True)
>>> route("/lessons/../server.py")[0]
404
>>> route("/api/map") is None
True
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

__all__ = ["LESSONS", "Lesson", "index_page", "lesson_page", "route"]


@dataclass(frozen=True)
class Lesson:
    """One lesson: its id (the URL), title and a one-line summary for the index."""

    id: str
    title: str
    summary: str


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "paths-and-edges",
        "Paths and edges",
        "Five 3-tap convolutions over 15 inputs: 5 13 24 31 36 37 edges and 1 5 15 30 45 51 paths, on the unrolled graph.",
    ),
    Lesson(
        "growing-field",
        "The field grows layer by layer",
        "VGG-16 one layer at a time: the box, the table row and r_L = r_(L-1) + (k_L - 1) j_(L-1) with the numbers.",
    ),
    Lesson(
        "stride-and-dilation",
        "Stride and dilation",
        "Holes from repeated dilation (gridding), rates that fill them, and stride first versus stride last.",
    ),
    Lesson(
        "alignment",
        "Where is the centre?",
        "Aligned and misaligned branches (Araujo et al., Distill 2019); ResNet-50 centres at 0, 32, 64 ...",
    ),
    Lesson(
        "residual-paths",
        "Residual paths",
        "Skip connections as many paths of different lengths (Veit et al. 2016) and how they reshape the map.",
    ),
    Lesson(
        "effective-vs-theoretical",
        "Effective versus theoretical field",
        "The Gaussian inside the box (Luo et al. 2016) on VGG-16 and ResNet-50, the 95 % field, your own image under it.",
    ),
    Lesson(
        "attention",
        "Attention: global and windowed",
        "A ViT block reads the whole image at once; Swin's windows grow the field stage by stage.",
    ),
    Lesson(
        "sliding-kernel",
        "A kernel sliding",
        "Convolution arithmetic animated in 1-D and 2-D: stride, padding, dilation, transposed convolution.",
    ),
)
"""The lessons, in teaching order (ids as in SPEC section 10)."""

_BY_ID = {lesson.id: lesson for lesson in LESSONS}
_HTML = "text/html; charset=utf-8"
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_FILE = re.compile(r"[a-z0-9-]{1,40}\.(js|css)")

_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} — rfgraph lessons</title>
<link rel="stylesheet" href="/lessons/lessons.css">
<link rel="icon" href="data:,">
</head>
"""

_BAR = """<header class="bar">
  <nav><a href="/lessons/">All lessons</a> · <a href="/">Explorer</a>{around}</nav>
  <button type="button" id="present" aria-pressed="false" title="larger text, high contrast (key P)">Presentation mode</button>
</header>
"""


def _files() -> frozenset[str]:
    folder = resources.files("rfgraph.web").joinpath("static").joinpath("lessons")
    return frozenset(p.name for p in folder.iterdir() if _FILE.fullmatch(p.name))


@cache
def _static(name: str) -> bytes:
    return resources.files("rfgraph.web").joinpath("static").joinpath("lessons").joinpath(name).read_bytes()


def index_page() -> bytes:
    """The HTML of ``/lessons/``: every lesson with its summary."""
    items = "\n".join(
        f'  <li><a href="/lessons/{lesson.id}"><b>{k}. {html.escape(lesson.title)}</b></a>'
        f"<br><span>{html.escape(lesson.summary)}</span></li>"
        for k, lesson in enumerate(LESSONS, 1)
    )
    return (
        _HEAD.format(title="Lessons")
        + '<body class="index">\n'
        + _BAR.format(around="")
        + "<main>\n<h1>Receptive fields: eight lessons</h1>\n"
        "<p>Each lesson is a sequence of steps with a live drawing computed on this machine. "
        "Use Next and Back, or the arrow keys; the address holds the step (<code>#step=3</code>), "
        "so a link opens a lesson where you left it. Presentation mode (key P) makes the text large.</p>\n"
        f'<ol class="lessons">\n{items}\n</ol>\n'
        '<p class="sources">Sources: Luo et al. 2016 (the effective receptive field); Araujo et al., Distill 2019 '
        "(computing receptive fields); the importance-profile article (paths and edges); Veit et al. 2016 (residual "
        "networks as ensembles of paths); Dumoulin and Visin 2016 (convolution arithmetic).</p>\n"
        "</main>\n</body>\n</html>\n"
    ).encode()


def lesson_page(lesson_id: str) -> bytes:
    """The HTML of ``/lessons/<id>``: the step text on the left, the drawing on the right."""
    lesson = _BY_ID[lesson_id]
    k = LESSONS.index(lesson)
    around = ""
    if k > 0:
        around += f' · <a href="/lessons/{LESSONS[k - 1].id}" rel="prev">← {html.escape(LESSONS[k - 1].title)}</a>'
    if k + 1 < len(LESSONS):
        around += f' · <a href="/lessons/{LESSONS[k + 1].id}" rel="next">{html.escape(LESSONS[k + 1].title)} →</a>'
    return (
        _HEAD.format(title=html.escape(lesson.title))
        + f'<body class="lesson" data-lesson="{lesson.id}" data-ready="0">\n'
        + _BAR.format(around=around)
        + f"""<main class="lesson">
<section class="text" aria-live="polite">
  <p class="kicker">Lesson {k + 1} of {len(LESSONS)}</p>
  <h1>{html.escape(lesson.title)}</h1>
  <h2 id="step-title"></h2>
  <div id="step-text"></div>
  <div id="controls"></div>
  <div id="step-controls"></div>
  <nav class="steps" aria-label="steps">
    <button type="button" id="back">← Back</button>
    <span id="step-count"></span>
    <button type="button" id="next">Next →</button>
  </nav>
  <div id="dots" class="dots"></div>
  <p class="hint">Arrow keys: next and back · P: presentation mode</p>
</section>
<section class="drawing">
  <div id="busy" hidden>computing…</div>
  <div id="error" role="alert" hidden></div>
  <div id="stage"></div>
</section>
</main>
<script src="/lessons/core.js"></script>
<script src="/lessons/{lesson.id}.js"></script>
</body>
</html>
"""
    ).encode()


def route(path: str) -> tuple[int, bytes, str] | None:
    """``(status, body, content type)`` for a lesson URL, or ``None`` when ``path`` is not one.

    Only fixed names are served: the lesson ids and the files of ``static/lessons``
    whose names are plain (letters, digits, dashes); never a path from the URL.
    """
    if path in ("/lessons", "/lessons/", "/lessons/index.html"):
        return 200, index_page(), _HTML
    if not path.startswith("/lessons/"):
        return None
    name = path[len("/lessons/") :].rstrip("/")
    if name in _BY_ID:
        return 200, lesson_page(name), _HTML
    if _FILE.fullmatch(name) and name in _files():
        return 200, _static(name), _TYPES["." + name.rsplit(".", 1)[1]]
    ids = ", ".join(lesson.id for lesson in LESSONS)
    message = f"no such lesson {name[:60]!r}; the lessons are {ids}; open /lessons/"
    return 404, json.dumps({"error": message}).encode(), "application/json"
