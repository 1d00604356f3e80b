"""The scope's trace layer in Chromium: traces stroked column by column as chunks come
look the same as the same bins stroked whole.

The scope strokes each lane's new pixel columns into a layer beside its canvas and
copies the visible columns from it each frame; a frozen picture is stroked whole,
straight onto the canvas. Real messages of a stream view (three channels at 1 kHz, a
burst that raises one lane's scale and leaves the window again, 32 s: the layer's ring
of columns wraps twice) are sent to the scope's own module in 0.1 s steps with frames
between them; once the display has come to rest, a picture of the canvas is taken,
then the same moment is frozen (stroked whole) and taken again.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

from tests.dashboard.app.test_browser import chromium_page
from tests.dashboard.app.test_browser_scope import open_scope_module

pytestmark = pytest.mark.browser

SFREQ = 1000.0
NAMES = ("APB", "FDI", "ADM")
STEP = 100  # samples per message


def _messages() -> list[dict]:
    from twitchscope.dashboard.app.scope.panel import ScopeOptions, feed_for, scope_message
    from twitchscope.dashboard.services.stream_view import StreamView
    from twitchscope.signal.core.model import SampleBlock
    from twitchscope.signal.detect.config import preset

    n = 32_000
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, n)) * 8e-6
    x[0] += 30e-6 * np.sin(2 * np.pi * 1.3 * np.arange(n) / SFREQ)  # slow: long strokes
    x[1, 12_000:12_300] += rng.standard_normal(300) * 400e-6 * np.hanning(300)
    view = StreamView(preset("limb", mains="50"), sfreq=SFREQ, ch_names=NAMES)
    feed = feed_for(view, "test", range(3))
    out = []
    for a in range(0, n, STEP):
        view.ingest([SampleBlock(x[:, a : a + STEP], SFREQ, a, NAMES)], a + STEP)
        feed.push(view.trace, view.trace_end)
        out.append(
            scope_message(
                view, feed, twitches=(), sites=(), options=ScopeOptions(), src_now=view.now_s
            )
        )
    return json.loads(json.dumps(out))


def _rgb(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def test_traces_stroked_chunk_by_chunk_match_the_same_stroked_whole() -> None:
    messages = _messages()
    with chromium_page(viewport={"width": 1000, "height": 600}) as (page, errors):
        open_scope_module(page)
        out = page.evaluate(
            """async (messages) => {
              const {call, root, frames} = window.__scope;
              const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
              for (const m of messages) {
                call(m);
                const f = frames();
                while (frames() < f + 1) await sleep(5);  // a frame after each message
              }
              // the display comes to rest at the newest bin
              let end = root().dataset.viewEnd;
              for (let same = 0; same < 10; ) {
                await sleep(40);
                const now = root().dataset.viewEnd;
                same = now === end ? same + 1 : 0;
                end = now;
              }
              return {viewEnd: Number(end), latest: Number(root().dataset.latest),
                      whole: Number(root().dataset.lanesWhole),
                      part: Number(root().dataset.lanesPart)};
            }""",
            messages,
        )
        canvas = page.locator(".ts-scope canvas")
        layered = _rgb(canvas.screenshot())
        last = dict(messages[-1])
        last["mseq"] = last["mseq"] + 1
        last["frozen"] = [out["viewEnd"] - last["window"], out["viewEnd"]]
        page.evaluate(
            """async (m) => {
              window.__scope.call(m);
              await new Promise((r) => setTimeout(r, 300));
            }""",
            last,
        )
        whole = _rgb(canvas.screenshot())
    assert not errors, errors
    assert abs(out["viewEnd"] - out["latest"]) < 0.02  # at rest on the newest bin
    # most lanes were stroked only in their new columns; some whole (first, scale steps)
    assert out["part"] > 20 * out["whole"] > 0
    trace = (np.abs(whole - np.array([31, 59, 115])).sum(axis=2) < 60).sum()
    assert trace > 3000  # the picture holds traces
    differ = (np.abs(layered - whole).max(axis=2) > 60).sum()
    assert differ < 0.01 * trace, (differ, trace)


def test_the_canvas_is_white_before_the_first_bin_comes() -> None:
    """The canvas is opaque (the compositor need not blend it): it starts black, and a
    resize clears it to black. A scope mounted on a stream whose first bins have not
    come yet shows a white canvas, not a black box."""
    first = dict(_messages()[0])
    first["chunks"] = []
    with chromium_page(viewport={"width": 1000, "height": 600}) as (page, errors):
        open_scope_module(page)
        page.evaluate(
            """async (m) => {
              window.__scope.call(m);
              await new Promise((r) => setTimeout(r, 300));
              // the host made narrower: the canvas is resized, then still nothing to draw
              document.getElementById("host").style.width = "700px";
              await new Promise((r) => setTimeout(r, 300));
            }""",
            first,
        )
        rgb = _rgb(page.locator(".ts-scope canvas").screenshot())
    assert not errors, errors
    assert rgb.shape[0] * rgb.shape[1] > 10_000
    assert (rgb.min(axis=2) > 240).mean() > 0.99
