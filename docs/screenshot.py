"""The README's picture of the page: ``lrcn serve`` on RUNs, VIDEO dropped on the page, then streamed live.

Usage: python docs/screenshot.py RUN... --video VIDEO [--out docs/serve.png]
Needs Debian's chromium (``apt-get install -y chromium``) and the test extra (Playwright's Python package).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "serve"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--video", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "serve.png")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from conftest import BROWSER_ARGS, serving
    from lrcn.serve.app import create_app
    from lrcn.serve.models import Models

    with serving(create_app(Models.load(args.runs, device="cpu"))) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 900}, device_scale_factor=1)
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready=true]")
        page.set_input_files("#file", str(args.video))
        page.wait_for_selector("svg.timeline polyline", timeout=300_000)
        page.wait_for_function("document.getElementById('player').readyState >= 2", timeout=120_000)
        page.evaluate("document.getElementById('player').currentTime = document.getElementById('player').duration * 0.6")
        page.wait_for_timeout(1000)
        page.set_input_files("#live-file", str(args.video))
        page.wait_for_function("document.getElementById('live-status').textContent.includes('ended')", timeout=300_000)
        page.screenshot(path=str(args.out), full_page=True)
        browser.close()
    print(f"screenshot: {args.out}")


if __name__ == "__main__":
    main()
