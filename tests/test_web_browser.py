"""The teaching page in a real browser: Debian's headless Chromium driven by selenium.

Skips unless /usr/bin/chromium, /usr/bin/chromedriver and selenium are present.  Only
the system chromedriver is used (never selenium-manager, which would download one);
the server listens on a free loopback port.  A screenshot is kept in
``tests/artifacts/`` (git-ignored) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .browser import have_chromium, serve_page, start_chromium

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

if not have_chromium():
    pytest.skip("needs Debian's chromium and chromium-driver", allow_module_level=True)
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def server():
    yield from serve_page()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from start_chromium(tmp_path_factory.mktemp("chromium-profile"), "1300,1700", console_logs=False)


def _wait_idle(driver):
    """Until the page has an answer on screen and no request is running."""
    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script(
            "return document.getElementById('status').textContent === '' && "
            "(document.getElementById('map-caption').textContent !== '' || !document.getElementById('error').hidden)"
        )
    )


def _map_pixels(driver):
    """A summary of the map canvas: its data URL (changes when the picture changes) and its colours."""
    return driver.execute_script(
        """
        const c = document.getElementById('map');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const colours = new Set();
        for (let i = 0; i < d.length; i += 4 * 7) colours.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]);
        return [c.toDataURL(), colours.size, c.width, c.height];
        """
    )


def _click_output(driver, x, y=0):
    """Click output position (y, x) of the output grid."""
    canvas = driver.find_element(By.ID, "output-grid")
    driver.execute_script(
        """
        const [c, x, y] = arguments;
        const r = c.getBoundingClientRect();
        c.dispatchEvent(new MouseEvent('click', {clientX: r.left + (x + 0.5) * r.width / c.dataset.cols,
                                                 clientY: r.top + (y + 0.5) * r.height / c.dataset.rows,
                                                 bubbles: true}));
        """,
        canvas,
        x,
        y,
    )


def test_page_renders_and_a_click_moves_the_target(server, browser):
    browser.get(server.url)
    _wait_idle(browser)
    text = browser.find_element(By.TAG_NAME, "body").text
    assert "paths" in text and "edges" in text
    assert browser.find_element(By.ID, "error").get_attribute("hidden") is not None
    # The page opens on five 3-tap convolutions over 15 inputs: the importance profile.
    bars = browser.find_elements(By.CSS_SELECTOR, "#profile-edges text")
    labels = [b.text for b in bars]
    for value in ("5", "13", "24", "31", "36", "37"):
        assert value in labels
    assert browser.find_elements(By.CSS_SELECTOR, "#graph circle")
    assert browser.find_elements(By.CSS_SELECTOR, "#graph .edge.hot")  # paths from input 4 highlighted

    # A 2-D network: the map canvas is drawn with many colours; a click moves the target and the map.
    browser.get(server.url + "#net=conv3p1*2,pool2,conv3p1*2&input=32x32&metric=paths&scale=linear")
    browser.refresh()
    _wait_idle(browser)
    before, colours, width, height = _map_pixels(browser)
    assert colours > 5 and width >= 100 and height >= 100
    target_before = browser.find_element(By.ID, "output-caption").text
    _click_output(browser, 1, 2)
    WebDriverWait(browser, 60).until(lambda d: d.find_element(By.ID, "output-caption").text != target_before)
    _wait_idle(browser)
    after = _map_pixels(browser)[0]
    assert "target (2, 1)" in browser.find_element(By.ID, "output-caption").text
    assert after != before

    # A bad spec shows the library's one-line message on the page.
    net = browser.find_element(By.ID, "net")
    net.clear()
    net.send_keys("conv0")
    browser.find_element(By.ID, "go").click()
    WebDriverWait(browser, 30).until(lambda d: not d.find_element(By.ID, "error").get_attribute("hidden"))
    assert "kernel_size=0" in browser.find_element(By.ID, "error").text

    # Nothing failed to load (no request leaves the machine: the page's CSP is 'self' only).
    try:
        logs = browser.get_log("browser")
    except Exception:  # not every driver keeps the console log
        logs = []
    assert not [e for e in logs if e["level"] == "SEVERE" and "400" not in e["message"]], logs

    # The screenshot a teacher would see, on the opening example.
    browser.get(server.url + "#net=conv3*5&input=15&metric=edges&scale=linear")
    browser.refresh()
    _wait_idle(browser)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "teaching_page.png"
    browser.save_screenshot(str(shot))
    assert shot.stat().st_size > 20_000  # a real picture, not a blank page
