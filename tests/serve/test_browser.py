"""The page in a real browser (slow): Debian's chromium, headless, driven by Playwright's Python package. It uploads
a video, waits for the timeline, checks one chart point per frame and the API's label, feeds the live stream from a
file, and saves a screenshot. Install the browser with ``apt-get install -y chromium`` (Playwright's own browser
download is not needed); run: python -m pytest -m slow tests/serve/test_browser.py"""
import os

import httpx
import pytest

from conftest import BROWSER_ARGS
from lrcn.data.video import read_video, write_video

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists("/usr/bin/chromium"),
                                 reason="no /usr/bin/chromium: install it with `apt-get install -y chromium`")]


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        problems = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("requestfailed", lambda r: problems.append(f"{r.url}: {r.failure}"))
        yield page, problems
        browser.close()


def test_the_page_shows_the_timeline_of_a_video_and_streams_a_file_live(server, runs, page, tmp_path):
    page, problems = page
    _, avi = runs["activity"]
    frames = read_video(avi)
    webm = tmp_path / "clip.webm"  # a file the browser plays itself (the AVI goes through /v1/preview)
    write_video(webm, frames, codec="libvpx")
    api = httpx.post(server + "/v1/classify", files={"video": (avi.name, avi.read_bytes())}, timeout=60).json()

    page.goto(server + "/")
    page.wait_for_selector("body[data-ready=true]")
    assert "activity-tiny" in page.inner_text("#models")
    page.set_input_files("#file", str(avi))
    page.wait_for_selector(".card[data-task=activity] svg.timeline polyline", timeout=120_000)
    chart = page.query_selector(".card[data-task=activity] svg.timeline")
    assert chart.get_attribute("data-frames") == str(len(frames)) == str(api["frames"])
    lines = chart.query_selector_all("polyline")
    assert sorted(line.get_attribute("data-class") for line in lines) == ["MoveLeft", "MoveRight"]
    assert all(len(line.get_attribute("points").split()) == len(frames) for line in lines)  # one point per frame
    assert page.inner_text(".card[data-task=activity] .label").split()[0] == api["label"]
    page.wait_for_selector(".card[data-task=describe] .sentence", timeout=120_000)
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=60_000)  # plays (as WebM)
    page.click(".card[data-task=activity] svg.timeline", position={"x": 700, "y": 100})  # seek near the end
    page.wait_for_function("document.getElementById('player').currentTime > 0", timeout=30_000)
    assert "frame " in page.inner_text(".card[data-task=activity] .readout")

    page.set_input_files("#live-file", str(webm))  # a file stands in for the camera: stepped through frame by frame
    page.wait_for_function("document.getElementById('live-status').textContent.includes('ended')", timeout=300_000)
    assert page.get_attribute("#live-label", "data-frames") == str(len(frames))  # every frame reached the LSTM
    assert page.inner_text("#live-label") in ("MoveLeft", "MoveRight")
    assert len(page.query_selector_all("#live-chart polyline")) == 2
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert (tmp_path / "page.png").stat().st_size > 10_000
    assert not problems, problems
