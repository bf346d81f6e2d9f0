"""The eight lessons in a real browser: Debian's headless Chromium driven by selenium.

Every lesson renders a drawing, every step changes it (the canvases' data URLs and the SVG
markup, hashed in the page), the arrow keys and the buttons move between steps and the
address follows, body text is at least 16 px (22 px in presentation mode), and the console
holds no error.  Screenshots go to ``$RFGRAPH_ARTIFACTS`` (default: a folder in the system's
temporary directory, never the repository) for a person to look at.

Skips unless /usr/bin/chromium, /usr/bin/chromedriver and selenium are present; only the
system chromedriver is used (never selenium-manager).
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
from pathlib import Path

import pytest

from .browser import have_chromium, serve_page, start_chromium

ARTIFACTS = Path(os.environ.get("RFGRAPH_ARTIFACTS") or Path(tempfile.gettempdir()) / "rfgraph-artifacts")

if not have_chromium():
    pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from rfgraph.web.lessons import LESSONS  # noqa: E402

STEPS = {
    "paths-and-edges": 6,
    "growing-field": 7,
    "stride-and-dilation": 7,
    "alignment": 7,
    "residual-paths": 7,
    "effective-vs-theoretical": 5,
    "attention": 7,
    "sliding-kernel": 8,
}

# A hash of everything drawn on the stage: every canvas's pixels (data URL) and every SVG's markup.
SIGNATURE = """
const stage = document.getElementById('stage');
let text = '';
for (const c of stage.querySelectorAll('canvas')) text += c.toDataURL();
for (const s of stage.querySelectorAll('svg')) text += s.outerHTML;
let h = 2166136261;
for (let i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0; }
return [h, text.length, stage.querySelectorAll('canvas, svg').length];
"""

# Font sizes of every element that holds text of its own, outside SVG (scaled drawings) and hidden parts.
FONT_SIZES = """
const out = [];
for (const e of document.body.querySelectorAll('*')) {
  if (e.closest('svg') || e.offsetParent === null) continue;
  const own = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  if (own) out.push([e.tagName + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : ''),
                     parseFloat(getComputedStyle(e).fontSize)]);
}
return out;
"""


@pytest.fixture(scope="module")
def server():
    yield from serve_page()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield from start_chromium(tmp_path_factory.mktemp("chromium-lessons"), "1400,1000", console_logs=True)


def _ready(driver, step=None, timeout=120):
    """Until the step's drawing is on the stage (or an error is); returns the error text, '' if none."""

    def done(d):
        state = d.execute_script(
            "return [document.body.dataset.ready, document.body.dataset.step, document.getElementById('error').hidden]"
        )
        return state[0] == "1" and (step is None or state[1] == str(step))

    WebDriverWait(driver, timeout).until(done)
    err = driver.find_element(By.ID, "error")
    return "" if err.get_attribute("hidden") is not None else err.text


def _open(driver, server, lesson_id, step=1):
    driver.get(f"{server.url}lessons/{lesson_id}#step={step}")
    assert _ready(driver, step) == ""


def _severe(driver):
    try:
        logs = driver.get_log("browser")
    except Exception:  # not every driver keeps the console log
        return []
    return [e for e in logs if e["level"] == "SEVERE"]


def _key(driver, key):
    driver.find_element(By.TAG_NAME, "body").send_keys(key)


def _walk(driver, server, lesson_id):
    """Every step by the arrow key: a drawing each time, different from the step before, and the URL follows."""
    n = STEPS[lesson_id]
    _open(driver, server, lesson_id)
    driver.save_screenshot(str(ARTIFACTS / f"lesson-{lesson_id}-1.png"))
    before = driver.execute_script(SIGNATURE)
    assert before[2] >= 1 and before[1] > 1000, f"{lesson_id}: nothing drawn"
    for k in range(2, n + 1):
        _key(driver, Keys.ARROW_RIGHT)
        assert _ready(driver, k) == "", f"{lesson_id} step {k}"
        assert driver.execute_script("return location.hash") == f"#step={k}"
        after = driver.execute_script(SIGNATURE)
        assert after[2] >= 1 and after[:2] != before[:2], f"{lesson_id}: step {k} draws the same as step {k - 1}"
        before = after
    driver.save_screenshot(str(ARTIFACTS / f"lesson-{lesson_id}-{n}.png"))
    assert driver.find_element(By.ID, "next").get_attribute("disabled") is not None  # the last step
    _key(driver, Keys.ARROW_LEFT)
    assert _ready(driver, n - 1) == ""
    driver.find_element(By.ID, "next").click()
    assert _ready(driver, n) == ""
    driver.back()  # the browser's history holds the steps
    assert _ready(driver, n - 1) == ""
    # A URL per step: opening one lands on it.
    _open(driver, server, lesson_id, step=min(3, n))
    assert driver.find_element(By.ID, "step-count").text == f"step {min(3, n)} of {n}"


def _text_sizes(driver):
    small = [(name, size) for name, size in driver.execute_script(FONT_SIZES) if size < 16]
    assert not small, small


def test_paths_and_edges(server, browser):
    """The first lesson: the profiles, keys, text size, presentation mode, clicking an input, no console error."""
    _walk(browser, server, "paths-and-edges")
    _open(browser, server, "paths-and-edges", 2)
    assert "5 13 24 31 36 37" in browser.find_element(By.ID, "step-text").text
    labels = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#stage svg.bars text.val")]
    assert labels[:11] == "5 13 24 31 36 37 36 31 24 13 5".split()
    _open(browser, server, "paths-and-edges", 3)
    assert "1 5 15 30 45 51" in browser.find_element(By.ID, "step-text").text
    _open(browser, server, "paths-and-edges", 4)
    assert "input 4 → conv5[2]: 15 paths, 24 distinct edges" in browser.find_element(By.ID, "stage").text
    _text_sizes(browser)
    assert float(browser.execute_script("return parseFloat(getComputedStyle(document.body).fontSize)")) >= 16
    # Click any input (the last step): the counts and the drawing follow.
    _open(browser, server, "paths-and-edges", 6)
    before = browser.execute_script(SIGNATURE)
    node = browser.find_elements(By.CSS_SELECTOR, "#stage svg.graph circle.node")[2]  # input 2
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", node)
    assert _ready(browser) == ""
    assert "input 2 → conv5[2]: 1 paths, 5 distinct edges" in browser.find_element(By.ID, "stage").text
    assert browser.execute_script(SIGNATURE) != before
    # Presentation mode: large, high-contrast text; key P toggles it back.
    browser.find_element(By.ID, "present").click()
    assert browser.execute_script("return parseFloat(getComputedStyle(document.body).fontSize)") >= 22
    browser.save_screenshot(str(ARTIFACTS / "lesson-paths-and-edges-presentation.png"))
    small = [(name, size) for name, size in browser.execute_script(FONT_SIZES) if size < 22]
    assert not small, small
    _key(browser, "p")
    assert browser.execute_script("return parseFloat(getComputedStyle(document.body).fontSize)") < 22
    assert not _severe(browser)


def test_sliding_kernel_plays(server, browser):
    _open(browser, server, "sliding-kernel", 5)
    before = browser.execute_script(SIGNATURE)
    browser.find_element(By.ID, "play").click()
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(SIGNATURE) != before)
    browser.find_element(By.ID, "play").click()  # pause
    text = browser.find_element(By.ID, "window-text").text
    time.sleep(1.6)
    assert browser.find_element(By.ID, "window-text").text == text  # paused
    browser.find_element(By.ID, "step-one").click()
    assert _ready(browser) == "" and browser.find_element(By.ID, "window-text").text != text
    cells = browser.find_elements(By.CSS_SELECTOR, "#stage svg.slide rect")
    browser.execute_script(
        "arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", cells[-1]
    )  # the last output
    assert _ready(browser) == "" and browser.find_element(By.ID, "window-text").text.startswith("output (2, 2) reads")
    _open(browser, server, "sliding-kernel", 7)
    assert (
        "o = (i − 1)·s − 2p + d(k − 1) + 1 = (3 − 1)·2 − 2·0 + 1·(3 − 1) + 1 = 7"
        in browser.find_element(By.ID, "stage").text
    )
    assert not _severe(browser)


@pytest.mark.parametrize("lesson_id", [lesson.id for lesson in LESSONS if lesson.id != "paths-and-edges"])
def test_every_lesson_walks_through_its_steps(server, browser, lesson_id):
    _walk(browser, server, lesson_id)
    _text_sizes(browser)
    assert not _severe(browser)


def test_growing_field_slider_and_formula(server, browser):
    _open(browser, server, "growing-field", 4)
    assert browser.find_element(By.ID, "numbers").text == "10 = 6 + (3 − 1) · 2"
    before = browser.execute_script(SIGNATURE)
    slider = browser.find_element(By.CSS_SELECTOR, "#controls input[type=range]")
    browser.execute_script("arguments[0].value = 12; arguments[0].dispatchEvent(new Event('input'))", slider)
    assert _ready(browser) == ""
    assert browser.find_element(By.ID, "numbers").text == "92 = 76 + (3 − 1) · 8"
    assert browser.execute_script(SIGNATURE) != before
    assert "conv4_3" in browser.find_element(By.CSS_SELECTOR, "#stage tr.mark").text
    rows = browser.find_elements(By.CSS_SELECTOR, "#stage tbody tr")
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", rows[3])  # pool1
    assert _ready(browser) == "" and browser.find_element(By.ID, "numbers").text == "6 = 5 + (2 − 1) · 1"
    browser.find_element(By.ID, "present").click()  # presentation mode: every text at least 22 px
    small = [(name, size) for name, size in browser.execute_script(FONT_SIZES) if size < 22]
    browser.save_screenshot(str(ARTIFACTS / "lesson-growing-field-presentation.png"))
    browser.find_element(By.ID, "present").click()
    assert not small, small
    assert not _severe(browser)


def test_an_image_dropped_under_the_map(server, browser):
    _open(browser, server, "effective-vs-theoretical", 2)
    before = browser.execute_script(SIGNATURE)
    # A small PNG made here, dropped on the page as a file (read by FileReader, never uploaded).
    png = base64.b64encode(_png(32, 32)).decode()
    browser.execute_script(
        """
        const bytes = Uint8Array.from(atob(arguments[0]), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'photo.png', {type: 'image/png'}));
        document.getElementById('drop').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
        """,
        png,
    )
    WebDriverWait(browser, 30).until(lambda d: "photo.png" in d.find_element(By.ID, "drop").text)
    assert _ready(browser) == ""
    assert browser.execute_script(SIGNATURE) != before
    browser.save_screenshot(str(ARTIFACTS / "lesson-effective-dropped-image.png"))
    assert not _severe(browser)


def _png(w: int, h: int) -> bytes:
    """A w x h RGB PNG of diagonal stripes (standard library only)."""
    import struct
    import zlib

    rows = b"".join(
        b"\x00" + bytes((255 if (x + y) % 8 < 4 else 40, 120, 60)[c] for x in range(w) for c in range(3))
        for y in range(h)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# --------------------------------------------------------------------------- the explorer page (issue 27, part 2)


def _idle(driver, timeout=120):
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script(
            "return document.getElementById('status').textContent === '' && "
            "(document.getElementById('map-caption').textContent !== '' || !document.getElementById('error').hidden)"
        )
    )


def _explore(driver, server, fragment):
    driver.get(f"{server.url}#{fragment}")
    driver.refresh()
    _idle(driver)


def _top(driver, element_id):
    return driver.execute_script(f"return document.getElementById('{element_id}').getBoundingClientRect().top")


def test_explorer_layout_text_and_legends(server, browser):
    _explore(browser, server, "net=conv3*5&input=15&metric=edges&scale=linear")
    height = browser.execute_script("return innerHeight")
    assert _top(browser, "graph") < height - 150  # the graph is above the fold, beside the map
    assert abs(_top(browser, "profile-paths") - _top(browser, "profile-edges")) < 2  # paths and edges side by side
    edges = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#profile-edges text")]
    paths = [t.text for t in browser.find_elements(By.CSS_SELECTOR, "#profile-paths text")]
    assert all(v in edges for v in "5 13 24 31 36 37".split()) and all(v in paths for v in "1 5 15 30 45 51".split())
    assert "centred on pixel 7" in browser.find_element(By.ID, "map-caption").text  # the target marker's place
    marker = browser.execute_script(
        "const c = document.getElementById('map'); const [x, y] = c.dataset.marker.split(',').map(Number);"
        " return [...c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3)]"
    )
    assert marker == [224, 36, 94]  # a red cross at the target's centre
    _text_sizes(browser)
    # The legend's swatches are drawn in the colours of the boxes on the map.
    colours = browser.execute_script(
        "return ['.sw.box', '.sw.erf', '.sw.tgt'].map((s) => { const st = getComputedStyle(document.querySelector(s));"
        " return [st.borderTopColor, st.backgroundColor]; })"
    )
    assert colours[0][0] == "rgb(255, 255, 255)"  # the theoretical box is drawn white and dashed
    assert colours[1][0] == "rgb(255, 138, 31)"  # the 95 % square is drawn #ff8a1f
    assert colours[2][1] == "rgb(224, 36, 94)"  # the target #e0245e
    # 2-D: the map is above the fold, beside the output grid and the table.
    _explore(browser, server, "net=conv3p1*2,pool2,conv3p1*2&input=32x32&metric=paths&scale=linear")
    assert _top(browser, "map") < height - 300 and _top(browser, "table") < height - 100
    # Pixel ticks in the map's margins: the top-left corner is the white margin, not the map.
    assert (
        browser.execute_script(
            "const c = document.getElementById('map');"
            " return [...c.getContext('2d').getImageData(2, 2, 1, 1).data.slice(0, 3)].join(',') + ';' + c.dataset.ticks"
        )
        == "255,255,255;1"
    )
    # Averaging weights (SPEC section 11) for the paths metric: the 95 % square shrinks for a residual stack.
    _explore(browser, server, "net=res(conv3p1,conv3p1)*4&input=33x33&metric=paths&scale=linear&weights=mean")
    caption = browser.find_element(By.ID, "map-caption").text
    assert "weights=mean" in caption and "within 9×9 pixels" in caption, caption
    # Reach is the exact field: no 95 % square, no "effective field".
    _explore(browser, server, "net=conv3d2*3&input=21x21&metric=reach&scale=linear")
    caption = browser.find_element(By.ID, "map-caption").text
    assert "95" not in caption and "effective" not in caption.lower()
    assert not browser.find_element(By.ID, "sw-erf").is_displayed()
    # Presentation mode: at least 22 px.
    browser.find_element(By.ID, "present").click()
    small = [(name, size) for name, size in browser.execute_script(FONT_SIZES) if size < 22]
    assert not small, small
    browser.save_screenshot(str(ARTIFACTS / "explorer-presentation.png"))
    browser.find_element(By.ID, "present").click()
    assert not _severe(browser)


def test_explorer_examples_errors_and_hover(server, browser):
    _explore(browser, server, "net=conv3p1*2,pool2,conv3p1*2&input=32x32&metric=paths&scale=linear")
    browser.save_screenshot(str(ARTIFACTS / "explorer-2d.png"))
    hover = """
        const c = document.getElementById('map'), r = c.getBoundingClientRect();
        c.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + r.width * arguments[0], clientY: r.top + r.height * arguments[1], bubbles: true}));
        return document.getElementById('readout').textContent;
    """
    assert browser.execute_script(hover, 0.5, 0.5).startswith("pixel (")
    # Hover an output neuron: its theoretical window is drawn on the map; leaving restores the map.
    preview = """
        const g = document.getElementById('output-grid'), r = g.getBoundingClientRect(), m = document.getElementById('map');
        const before = m.toDataURL();
        g.dispatchEvent(new MouseEvent('mousemove', {clientX: r.left + 6.5 * r.width / g.dataset.cols,
                                                     clientY: r.top + 5.5 * r.height / g.dataset.rows, bubbles: true}));
        const during = m.toDataURL(), text = document.getElementById('readout').textContent;
        g.dispatchEvent(new MouseEvent('mouseleave', {bubbles: true}));
        return [before !== during, m.toDataURL() === before, text];
    """
    changed, restored, text = browser.execute_script(preview)
    assert (
        changed
        and restored
        and text.startswith("output (5, 6): theoretical window 4–17 × 6–19, centred on pixel 10.5, 12.5")
    ), text
    # A spec example is a button: one click shows it; 2-D -> 1-D leaves no stale 2-D pixel in the readout.
    browser.find_element(By.CSS_SELECTOR, "button.ex[data-net='conv3*5']").click()
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "input").get_attribute("value") == "15")
    _idle(browser)
    assert "conv3*5 on 15" in browser.find_element(By.ID, "map-caption").text
    assert browser.find_element(By.ID, "readout").text.strip() == ""
    text = browser.execute_script(hover, 0.5, 0.3)
    assert text.startswith("pixel ") and "(" not in text.split(":")[0], text
    # A bad spec: the error, and nothing of the previous answer left on screen; no shell command in the message.
    net = browser.find_element(By.ID, "net")
    net.clear()
    net.send_keys("conv3,foo")
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 30).until(lambda d: not d.find_element(By.ID, "error").get_attribute("hidden"))
    message = browser.find_element(By.ID, "error").text
    assert "foo" in message and "rfgraph spec-help" not in message
    blank = browser.execute_script(
        "const c = document.getElementById('map'); const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " return d.every((x) => x === 0)"
    )
    assert (
        blank
        and browser.find_element(By.ID, "table").text == ""
        and browser.find_element(By.ID, "map-caption").text == ""
    )
    assert not browser.find_element(By.ID, "graph-card").is_displayed()
    assert not [e for e in _severe(browser) if "400" not in e["message"]]


@pytest.mark.parametrize(
    ("lesson_id", "step", "words"),
    [
        ("residual-paths", 2, "counts: 1 18 135 540 1215 1458 729"),  # C(6, k) 3^k, Veit et al.'s binomial per tap
        ("residual-paths", 4, "95 % of the paths within 7 pixels"),
        ("residual-paths", 5, "95 % of the paths: 11 × 11"),
        ("residual-paths", 6, "95 % of the paths: 9 × 9"),
        ("residual-paths", 6, "the centre pixel holds 12.2 % of the map"),
        ("residual-paths", 7, "lengths 8 to 52"),
        ("alignment", 2, "aligned = NO"),
        ("alignment", 1, "aligned = yes"),
        ("alignment", 3, "aligned = NO"),
        ("alignment", 7, "0, 32, 64, 96, 128, 160, 192"),
        ("stride-and-dilation", 2, "6 holes"),
        ("stride-and-dilation", 5, "theoretical field 11 pixels"),
        ("stride-and-dilation", 6, "theoretical field 7 pixels"),
        ("effective-vs-theoretical", 2, "95 % field: 122 × 122"),
        ("effective-vs-theoretical", 4, "theoretical field 427 × 427"),
        ("attention", 2, "50,176 of the 50,176 pixels"),
        ("attention", 4, "784 of the 50,176 pixels"),
        ("growing-field", 6, "212 = 196 + (2 − 1) · 16"),
    ],
)
def test_lesson_facts(server, browser, lesson_id, step, words):
    """The numbers a lesson states are the ones its drawing computes."""
    _open(browser, server, lesson_id, step)
    assert words in browser.find_element(By.ID, "stage").text
