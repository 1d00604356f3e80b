"""The bundled sample replayed with its video in Chromium: picking a twitch in the event
table moves the video to it (the frame shown changes)."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest

from tests.dashboard.app.test_browser import TWITCHES_JS, chromium_page, running_dashboard

pytestmark = pytest.mark.browser
pytest.importorskip("cv2")

SAMPLES = Path(__file__).resolve().parents[3] / "sample_recordings"
STEM = "gastrocnemius_limb_2khz"
FRAME = 'img[alt="video frame at the cursor"]'
#: The first twitch of the sample (the detector's, limb preset) and the video's offset.
FIRST_ONSET_S, OFFSET_S, FPS = 9.8715, 5.0, 30.0


@pytest.fixture
def replay_url(tmp_path: Path):
    """``twitchscope dashboard --source COPY`` of the sample, its video and link beside it."""
    for suffix in (".edf", ".mp4", ".video.json"):
        shutil.copy(SAMPLES / f"{STEM}{suffix}", tmp_path / f"{STEM}{suffix}")
    with running_dashboard(tmp_path, "--source", str(tmp_path / f"{STEM}.edf")) as url:
        yield url


def test_picking_a_twitch_moves_the_video_to_it(replay_url, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with chromium_page(viewport={"width": 1500, "height": 1700}) as (page, _):
        page.goto(replay_url)
        expect(page.get_by_role("heading", name="Replay")).to_be_visible(timeout=60_000)
        # it plays at 1x from the start: wait for the first two twitches, then pause
        page.wait_for_function(
            TWITCHES_JS.replace("v > 0", "v > 1").replace("LABEL", "'Twitches'"),
            timeout=90_000,
        )
        page.get_by_role("button", name="Pause").click()
        frame = page.locator(FRAME)
        expect(frame).to_be_visible(timeout=30_000)
        page.wait_for_timeout(1500)  # the paused page settles
        before_src = frame.get_attribute("src")
        before_png = frame.screenshot()
        caption = re.compile(r"frame (\d+) of 900")
        before_text = page.get_by_text(caption).inner_text()
        # pick the first twitch: the row marker at the left of the event table's first row
        table = page.locator(".st-key-replay_events")
        expect(table).to_be_visible(timeout=30_000)
        box = table.bounding_box()
        assert box is not None
        page.mouse.click(box["x"] + 12, box["y"] + 35 + 17)
        index = math.floor((FIRST_ONSET_S - OFFSET_S) * FPS + 1e-6)
        expect(page.get_by_text(f"frame {index + 1} of 900")).to_be_visible(timeout=30_000)
        page.wait_for_function(
            f"() => {{ const i = document.querySelector('{FRAME}');"
            f" return i && i.complete && i.getAttribute('src') !== {before_src!r}; }}",
            timeout=30_000,
        )
        after_png = frame.screenshot()
        assert frame.get_attribute("src") != before_src
        assert after_png != before_png
        assert f"frame {index + 1} of 900" not in before_text
        # one frame on with ▶: the picture changes again
        page.get_by_role("button", name="▶").click()
        expect(page.get_by_text(f"frame {index + 2} of 900")).to_be_visible(timeout=30_000)
        assert page.get_by_test_id("stException").count() == 0
        page.screenshot(path=str(tmp_path / "replay_video.png"))
