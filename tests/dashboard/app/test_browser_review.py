"""Expert review in Chromium: verdicts with the keyboard and a missed twitch added by clicking
on the zoomed trace, saved, and restored after a reload."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.dashboard.app.test_browser import chromium_page, running_dashboard, server_tracebacks
from twitchscope.signal.review.sidecar import read_review, review_path

pytestmark = pytest.mark.browser

NAME_LABEL = "Your name or initials (asked once per session)"
#: Where time ``t`` (the middle of the visible range) lies on the zoomed chart's first row, in
#: page pixels, from Plotly's own axis objects (``l2p``: data to pixels inside the plot area).
ZOOM_POINT_JS = """() => {
  const gd = document.querySelector('.st-key-review_zoom_marks .js-plotly-plot');
  if (!gd || !gd._fullLayout || !gd._fullLayout.xaxis) return null;
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const t = (xa.range[0] + xa.range[1]) / 2;
  const box = gd.getBoundingClientRect();
  return {t: t, x: box.left + xa._offset + xa.l2p(t), y: box.top + ya._offset + ya._length / 3};
}"""
#: The zoomed chart is drawn once (not while a rerun swaps it) and Plotly has laid it out.
ONE_ZOOM_JS = """() => {
  const all = document.querySelectorAll('.st-key-review_zoom_marks .js-plotly-plot');
  return all.length === 1 && !!all[0]._fullLayout && !!all[0]._fullLayout.xaxis2;
}"""
#: A span over the second row of the zoomed chart: from 20 % to 30 % of the visible range.
ZOOM_SPAN_JS = """() => {
  const gd = document.querySelector('.st-key-review_zoom_marks .js-plotly-plot');
  const xa = gd._fullLayout.xaxis2, ya = gd._fullLayout.yaxis2;
  const t0 = xa.range[0] + 0.2 * (xa.range[1] - xa.range[0]);
  const t1 = xa.range[0] + 0.3 * (xa.range[1] - xa.range[0]);
  const box = gd.getBoundingClientRect(), px = t => box.left + xa._offset + xa.l2p(t);
  return {t0: t0, t1: t1, a: px(t0), b: px(t1), y: box.top + ya._offset + ya._length / 2};
}"""


@pytest.fixture
def review_url(limb_file: Path, tmp_path: Path):
    """``twitchscope dashboard --source COPY``; stopped (terminate, then kill) afterwards."""
    rec = tmp_path / limb_file.name
    shutil.copy(limb_file, rec)
    with running_dashboard(tmp_path, "--source", str(rec)) as url:
        yield url, rec


def test_review_with_the_keyboard_survives_a_reload(review_url, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    url, rec = review_url
    progress = re.compile(r"(\d+) of (\d+) reviewed")
    with chromium_page(viewport={"width": 1400, "height": 1600}) as (page, _):

        def start() -> None:
            page.goto(url + "page_review")
            expect(page.get_by_role("heading", name="Expert review")).to_be_visible(timeout=90_000)
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
        expect(page.get_by_text(re.compile(r"\b2 of \d+ reviewed"))).to_be_visible(timeout=30_000)
        # a missed twitch: click on the first channel's row of the zoomed trace, then Add
        page.wait_for_function(ONE_ZOOM_JS, timeout=30_000)
        page.wait_for_timeout(500)  # let Plotly settle its layout
        where = page.evaluate(ZOOM_POINT_JS)
        page.mouse.click(where["x"], where["y"])
        expect(page.get_by_text("Marked on the trace:")).to_be_visible(timeout=30_000)
        page.get_by_role("button", name=re.compile(r"^Add\b")).click()
        expect(page.get_by_text(re.compile(r"\b2 of \d+ reviewed, 1 added"))).to_be_visible(
            timeout=30_000
        )
        # a span: the chart's box-select tool, dragged across the second channel's row
        page.wait_for_function(ONE_ZOOM_JS, timeout=30_000)
        page.wait_for_timeout(500)
        page.locator(".st-key-review_zoom_marks .js-plotly-plot").hover()
        page.locator('.st-key-review_zoom_marks [data-title="Box Select"]').click()
        span = page.evaluate(ZOOM_SPAN_JS)
        page.mouse.move(span["a"], span["y"])
        page.mouse.down()
        page.mouse.move(span["b"], span["y"], steps=8)
        page.mouse.up()
        expect(page.get_by_text(re.compile(r"Marked on the trace: [\d.]+–[\d.]+ s"))).to_be_visible(
            timeout=30_000
        )
        page.get_by_role("button", name=re.compile(r"^Add\b")).click()
        expect(page.get_by_text(re.compile(r"\b2 of \d+ reviewed, 2 added"))).to_be_visible(
            timeout=30_000
        )
        page.reload()
        start()
        expect(page.get_by_text(re.compile(r"\b2 of \d+ reviewed, 2 added"))).to_be_visible(
            timeout=30_000
        )
        assert page.get_by_test_id("stException").count() == 0
    rows = read_review(review_path(rec))
    added = [r for r in rows if r.verdict == "added"]
    assert len(added) == 2 and {r.reviewer for r in added} == {"AL"}
    clicked = min(added, key=lambda r: abs(r.onset_s - where["t"]))
    (boxed,) = [r for r in added if r is not clicked]
    assert clicked.channel != boxed.channel  # first row, then second row
    assert abs(clicked.onset_s - where["t"]) < 0.05  # the time under the pointer
    assert clicked.offset_s > clicked.onset_s
    # the span dragged over: onset and offset within a few pixels' time of its ends
    assert abs(boxed.onset_s - span["t0"]) < 0.05 and abs(boxed.offset_s - span["t1"]) < 0.05
    log = (tmp_path / "server.log").read_text()
    assert server_tracebacks(log) == [], log[-4000:]
