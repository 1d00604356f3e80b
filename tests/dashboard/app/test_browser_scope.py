"""The live scope in Chromium: it draws, marks twitches, clicks, plays the EMG and freezes.

The dashboard streams the simulated amplifier; Chromium runs with
``--autoplay-policy=no-user-gesture-required`` so that Web Audio plays without a
click. What is drawn is judged from screenshots of the canvas (pixels), what is
played from what the scope says it scheduled on its element (``data-*``).
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.dashboard.app.test_browser import (  # noqa: F401 (dashboard_url: a fixture)
    chromium_page,
    dashboard_url,
    server_tracebacks,
)

pytestmark = pytest.mark.browser

TWITCH_RGB = np.array([214, 39, 40])  # the scope's twitch marker colour (#d62728)


def _attr(scope, name: str) -> int:
    return int(float(scope.get_attribute(f"data-{name}") or 0))


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def _marker_pixels(png: bytes) -> int:
    """Pixels of the twitch-marker colour in a screenshot."""
    return int((np.abs(_pixels(png) - TWITCH_RGB).sum(axis=2) < 40).sum())


def test_the_scope_draws_marks_clicks_plays_and_freezes(
    dashboard_url,  # noqa: F811
    tmp_path,
) -> None:
    from playwright.sync_api import expect

    with chromium_page(
        "--autoplay-policy=no-user-gesture-required", viewport={"width": 1400, "height": 1500}
    ) as (page, errors):
        page.goto(dashboard_url)
        scope = page.locator(".ts-scope")
        canvas = page.locator(".ts-scope canvas")
        expect(canvas).to_be_visible(timeout=60_000)
        page.wait_for_function(
            "() => Number(document.querySelector('.ts-scope').dataset.frames || 0) > 0",
            timeout=30_000,
        )
        stream = scope.get_attribute("data-stream")
        # it moves: two screenshots of the canvas half a second apart differ
        first = canvas.screenshot()
        page.wait_for_timeout(500)
        second = canvas.screenshot()
        assert np.abs(_pixels(first) - _pixels(second)).sum() > 0

        # the click: switched on, it sounds when the next twitch's marker shows
        page.get_by_text("Click at each twitch").click()
        page.wait_for_function(
            "() => Number(document.querySelector('.ts-scope').dataset.clicks || 0) > 0",
            timeout=60_000,
        )
        # the twitch markers are drawn: their colour is on the canvas
        assert _attr(scope, "markers-drawn") > 0
        assert _marker_pixels(canvas.screenshot()) > 50
        # and before them, while a twitch goes on, its pending (provisional) marker
        page.wait_for_function(
            "() => JSON.parse(document.querySelector('.ts-scope').dataset.pendingLog"
            " || '[]').length > 0",
            timeout=60_000,
        )

        # the EMG audio monitor: chunks of sound are scheduled while it is on
        page.get_by_text("EMG audio monitor").click()
        page.wait_for_function(
            "() => Number(document.querySelector('.ts-scope').dataset.audioChunks || 0) >= 5",
            timeout=30_000,
        )
        assert scope.get_attribute("data-audio-state") == "running"
        page.get_by_text("EMG audio monitor").click()  # off: no more sound scheduled
        page.wait_for_timeout(1500)
        n_audio = _attr(scope, "audio-chunks")
        page.wait_for_timeout(1500)
        assert _attr(scope, "audio-chunks") == n_audio

        # freeze: the canvas holds still while the page goes on streaming
        # (a press that lands while the timed fragment reruns can be lost on this loaded
        # machine: press again, at most three times)
        for _ in range(3):
            if page.get_by_role("button", name="Go on").count():
                break
            page.get_by_role("button", name="Freeze").click()
            try:
                expect(page.get_by_role("button", name="Go on")).to_be_visible(timeout=10_000)
                break
            except AssertionError:
                continue
        expect(page.get_by_role("button", name="Go on")).to_be_visible(timeout=10_000)
        page.wait_for_timeout(1000)
        chunks = _attr(scope, "chunks")
        held = canvas.screenshot()
        page.wait_for_timeout(1500)
        assert canvas.screenshot() == held
        assert _attr(scope, "chunks") > chunks  # still fed meanwhile
        page.get_by_role("button", name="Go on").click()
        page.wait_for_timeout(1500)
        assert canvas.screenshot() != held

        # all along one scope, mounted once
        assert scope.get_attribute("data-stream") == stream

        # away and back: the scope mounted anew shows the whole window again, its left
        # half drawn too (not only the last chunks, at the right edge)
        page.get_by_role("link", name="Teaching mode").click()
        expect(page.get_by_role("heading", name="Teaching mode")).to_be_visible()
        page.get_by_role("link", name="Live").click()
        expect(canvas).to_be_visible(timeout=30_000)
        page.wait_for_timeout(3000)
        rgb = _pixels(canvas.screenshot())
        left = rgb[:, : rgb.shape[1] // 2]
        assert int((((left[..., 2] - left[..., 0]) > 40) & (left[..., 0] < 120)).sum()) > 500
    assert not errors, errors
    log = (tmp_path / "server.log").read_text()
    assert server_tracebacks(log) == [], log[-4000:]


def test_the_page_opens_on_the_scope_and_builds_around_the_same_scope(
    dashboard_url,  # noqa: F811
    tmp_path,
) -> None:
    """The Live page's first run draws the scope alone; once the browser has drawn its
    first trace, the controls, counters, camera and tables come around it. The scope
    drawn first is the one that stays: the same element (not mounted again, its buffer
    kept), under the controls, still drawing, with no page error and no server
    traceback."""
    from playwright.sync_api import expect

    with chromium_page(viewport={"width": 1400, "height": 1500}) as (page, errors):
        # remember the first scope element the moment it has drawn its first frame, and
        # the order in which that frame and the first counter came
        page.add_init_script(
            "window.__order = [];"
            "new MutationObserver(() => { const s = document.querySelector('.ts-scope');"
            " if (s && !window.__first && Number(s.dataset.frames || 0) > 0) {"
            " window.__first = s; window.__order.push('scope'); }"
            " if (!window.__order.includes('counter')"
            " && document.querySelector('[data-testid=\"stMetric\"]'))"
            " window.__order.push('counter'); }).observe(document, {subtree: true,"
            " childList: true, attributes: true, attributeFilter: ['data-frames']});"
        )
        page.goto(dashboard_url)
        page.wait_for_function("() => !!window.__first", timeout=60_000)
        stop = page.get_by_role("button", name="Stop")
        expect(stop).to_be_visible(timeout=30_000)
        expect(page.get_by_text("Needle site").first).to_be_visible(timeout=30_000)
        expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=30_000)
        expect(page.get_by_role("tab", name="Events")).to_be_visible(timeout=30_000)
        # the first trace came before the rest of the page
        assert page.evaluate("() => window.__order") == ["scope", "counter"]
        frames = page.evaluate("() => Number(window.__first.dataset.frames)")
        page.wait_for_timeout(1000)
        same = page.evaluate(
            "() => document.querySelectorAll('.ts-scope').length === 1"
            " && document.querySelector('.ts-scope') === window.__first"
            " && window.__first.isConnected"
        )
        assert same, "the scope drawn first was replaced when the page was built around it"
        assert page.evaluate("() => Number(window.__first.dataset.frames)") > frames
        # in its place under the controls
        box, under = stop.bounding_box(), page.locator(".ts-scope canvas").bounding_box()
        assert box is not None and under is not None and under["y"] > box["y"] + box["height"]
    assert not errors, errors
    log = (tmp_path / "server.log").read_text()
    assert server_tracebacks(log) == [], log[-4000:]


def open_scope_module(page) -> None:
    """Load the scope's own module into ``page`` on a 900 px host, for tests that drive
    it with messages of their own: ``window.__scope`` holds ``call(data)`` (one call of
    the module, as Streamlit makes it), ``root()`` (the scope's element) and ``frames()``."""
    import base64

    from twitchscope.dashboard.app.scope.component import FRONTEND

    module = base64.b64encode((FRONTEND / "scope.js").read_bytes()).decode()
    page.set_content("<div id='host' style='width:900px'></div>")
    page.evaluate(
        """async (src) => {
          const mod = await import("data:text/javascript;base64," + src);
          const host = document.getElementById("host");
          const root = () => host.querySelector(".ts-scope");
          window.__scope = {
            call: (data) => mod.default({parentElement: host, data, setStateValue: () => {}}),
            root,
            frames: () => Number(root()?.dataset.frames || 0),
          };
        }""",
        module,
    )


def _messages_of_a_burst() -> tuple[dict, dict, float]:
    """Two real scope messages of a stream view (two channels at 1 kHz, one burst at
    12 s, past the first 10 s window; fed in 20 ms blocks): the update just before the burst goes pending, and the
    one that first carries it pending; and its onset, s."""
    from twitchscope.dashboard.app.scope.panel import ScopeOptions, feed_for, scope_message
    from twitchscope.dashboard.services.stream_view import StreamView
    from twitchscope.signal.core.model import SampleBlock
    from twitchscope.signal.detect.config import preset

    sfreq, names = 1000.0, ("APB", "FDI")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 14000)) * 5e-6
    x[1, 12000:12150] += rng.standard_normal(150) * 80e-6 * np.hanning(150) ** 0.25
    view = StreamView(preset("limb", mains="50"), sfreq=sfreq, ch_names=names)
    feed = feed_for(view, "test", range(2))
    before = None
    for a in range(0, 14000, 20):
        view.ingest([SampleBlock(x[:, a : a + 20], sfreq, a, names)], a + 20)
        feed.push(view.trace, view.trace_end)
        msg = scope_message(
            view, feed, twitches=view.twitches, sites=(), options=ScopeOptions(), src_now=view.now_s
        )
        if msg["pending"]:
            assert before is not None
            return before, msg, msg["pending"][0][0]
        before = msg
    raise AssertionError("the burst was never pending")


def test_a_new_marker_shows_in_the_first_frame_after_it_arrives(tmp_path) -> None:
    """The display runs a little behind the newest sample (so that it scrolls evenly
    between updates); a marker that arrives ahead of it brings the display forward at
    once: the pending marker of a burst is drawn in the first frame after its message."""
    import json

    first, second, onset = _messages_of_a_burst()
    assert second["now"] - onset < 0.2  # newer than where the display runs (0.1-0.3 s behind)
    with chromium_page(viewport={"width": 1000, "height": 600}) as (page, errors):
        open_scope_module(page)
        out = page.evaluate(
            """async ([first, second]) => {
              const {call, root, frames} = window.__scope;
              const next = async (n) => {
                while (frames() < n) await new Promise((r) => setTimeout(r, 5));
              };
              call(first);
              await next(3);
              const viewBefore = Number(root().dataset.viewEnd);
              call(second);
              const f = frames();
              await next(f + 1);
              return {viewBefore, viewAfter: Number(root().dataset.viewEnd),
                      latest: Number(root().dataset.latest),
                      pending: JSON.parse(root().dataset.pendingLog || "[]"),
                      catchUps: Number(root().dataset.catchUps || 0)};
            }""",
            [json.loads(json.dumps(first)), json.loads(json.dumps(second))],
        )
    assert not errors
    assert out["viewBefore"] < onset  # the display was behind the burst's onset ...
    assert len(out["pending"]) == 1 and abs(out["pending"][0][0] - onset) < 1e-6  # ... and
    assert out["viewAfter"] >= onset and out["catchUps"] == 1  # its marker is drawn at once
    assert out["viewAfter"] <= out["latest"]  # never ahead of the samples
