"""The scope's line in Chromium: the scope draws from it, and without it from the page's runs.

One dashboard streams the simulated amplifier; two browser contexts open the Live
page. In the first the scope listens on its line (Server-Sent Events from the
dashboard process on loopback) and draws what it brings. In the second every request
to the line is refused (as for a browser that cannot reach the dashboard's loopback
port): the scope still fills and moves, from the page's own runs.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.dashboard.app.test_browser import (  # noqa: F401 (dashboard_url: a fixture)
    ARGS,
    CHROMIUM,
    dashboard_url,
    server_tracebacks,
)

pytestmark = pytest.mark.browser

DATASET = "() => Object.assign({}, document.querySelector('.ts-scope')?.dataset || {})"


def _pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def _trace_pixels(png: bytes) -> int:
    """Pixels of the traces' dark blue (#1f3b73) in a screenshot of the canvas."""
    rgb = _pixels(png)
    return int((((rgb[..., 2] - rgb[..., 0]) > 40) & (rgb[..., 0] < 120)).sum())


def _open_live(context, url: str, errors: list[str]):
    page = context.new_page()
    page.set_viewport_size({"width": 1400, "height": 1400})
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(url)
    page.wait_for_function(
        "() => Number(document.querySelector('.ts-scope')?.dataset.frames || 0) > 0",
        timeout=60_000,
    )
    return page


def test_the_scope_draws_from_its_line_and_falls_back_to_page_runs(
    dashboard_url,  # noqa: F811
    tmp_path,
) -> None:
    if not CHROMIUM.exists():
        pytest.fail("this test needs Debian's chromium: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            # the line: opened, messages arrive on it and the scope draws their chunks
            page = _open_live(browser.new_context(), dashboard_url, errors)
            page.wait_for_function(
                "() => Number(document.querySelector('.ts-scope').dataset.lineMessages || 0) > 20",
                timeout=60_000,
            )
            seen = page.evaluate(DATASET)
            assert seen["line"] == "open"
            canvas = page.locator(".ts-scope canvas")
            first = canvas.screenshot()
            page.wait_for_timeout(1000)
            later = page.evaluate(DATASET)
            assert int(later["lineMessages"]) > int(seen["lineMessages"])
            assert int(later["chunks"]) > int(seen["chunks"])
            second = canvas.screenshot()
            assert _trace_pixels(second) > 500
            assert np.abs(_pixels(first) - _pixels(second)).sum() > 0  # it scrolls
            page.close()

            # no line (every request to it refused): the page's runs feed the scope
            blocked = browser.new_context()
            refused: list[str] = []

            def refuse(route) -> None:
                refused.append(route.request.url)
                route.abort()

            blocked.route("**/line/**", refuse)
            page = _open_live(blocked, dashboard_url, errors)
            page.wait_for_timeout(2000)
            seen = page.evaluate(DATASET)
            assert refused and seen.get("line") in ("failed", "retrying")
            assert "lineMessages" not in seen
            canvas = page.locator(".ts-scope canvas")
            first = canvas.screenshot()
            page.wait_for_timeout(1500)
            later = page.evaluate(DATASET)
            assert int(later["chunks"]) > int(seen["chunks"])
            second = canvas.screenshot()
            assert _trace_pixels(second) > 500
            assert np.abs(_pixels(first) - _pixels(second)).sum() > 0
        finally:
            browser.close()
    assert not errors, errors
    log = (tmp_path / "server.log").read_text()
    assert server_tracebacks(log) == [], log[-4000:]
