"""Expert review with the keyboard in Chromium: verdicts saved, and restored after a reload."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.dashboard.app.test_browser import ARGS, CHROMIUM, running_dashboard
from twitchscope.signal.review.sidecar import read_review, review_path

pytestmark = pytest.mark.browser

NAME_LABEL = "Your name or initials (asked once per session)"


@pytest.fixture
def review_url(limb_file: Path, tmp_path: Path):
    """``twitchscope dashboard --source COPY``; stopped (terminate, then kill) afterwards."""
    rec = tmp_path / limb_file.name
    shutil.copy(limb_file, rec)
    with running_dashboard(tmp_path, "--source", str(rec)) as url:
        yield url, rec


def test_review_with_the_keyboard_survives_a_reload(review_url, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("this test needs Debian's chromium: apt-get install -y chromium")
    from playwright.sync_api import expect, sync_playwright

    url, rec = review_url
    progress = re.compile(r"(\d+) of (\d+) reviewed")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1600})

            def start() -> None:
                page.goto(url + "page_review")
                expect(page.get_by_role("heading", name="Expert review")).to_be_visible(
                    timeout=90_000
                )
                page.get_by_label(NAME_LABEL).fill("AL")
                page.get_by_label(NAME_LABEL).press("Enter")
                page.get_by_role("button", name="Start reviewing").click()
                expect(page.get_by_text(progress).first).to_be_visible(timeout=30_000)

            def pressed(key: str, done: int) -> None:
                page.get_by_role("heading", name="Expert review").click()  # keys go to the page
                page.keyboard.press(key)
                expect(page.get_by_text(re.compile(rf"\b{done} of \d+ reviewed"))).to_be_visible(
                    timeout=30_000
                )

            start()
            pressed("y", 1)  # confirm
            pressed("n", 2)  # reject
            rows = read_review(review_path(rec))
            assert [r.verdict for r in rows] == ["confirmed", "rejected"]
            page.reload()  # a new session: the name is asked again, the review comes back
            start()
            expect(page.get_by_text(re.compile(r"\b2 of \d+ reviewed"))).to_be_visible(
                timeout=30_000
            )
            assert page.get_by_test_id("stException").count() == 0
        finally:
            browser.close()
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log, log[-4000:]
