"""Buttons, toggles and keys pressed fast while the simulated amplifier streams, in Chromium.

Only a real browser reproduces what broke here: Streamlit starts the new run of a
session before the interrupted one has stopped (``runner.fastReruns``), so two script
threads updated the same stream view and the detector was fed a block twice
(``ConfigError: block starts at sample N, before the next expected sample N+1``).
"""

from __future__ import annotations

import pytest

from tests.dashboard.app.test_browser import (  # noqa: F401 (dashboard_url: a fixture)
    chromium_page,
    dashboard_url,
    server_tracebacks,
)

pytestmark = pytest.mark.browser


def test_ten_rounds_of_needle_and_toggles_while_streaming_raise_nothing(
    dashboard_url,  # noqa: F811
    tmp_path,
) -> None:
    from playwright.sync_api import expect

    with chromium_page(viewport={"width": 1400, "height": 1500}) as (page, _):
        page.goto(dashboard_url)
        needle_in = page.get_by_role("button", name="Needle in")
        expect(needle_in).to_be_visible(timeout=60_000)
        toggle = page.get_by_test_id("stSidebarUserContent").get_by_text("Show rejected candidates")
        page.wait_for_timeout(2000)  # streaming, with the live panel's timer running
        scope = page.locator(".ts-scope")
        stream = scope.get_attribute("data-stream")
        for _ in range(10):
            needle_in.click(force=True)
            page.wait_for_timeout(250)
            toggle.click(force=True)
            page.wait_for_timeout(250)
            page.get_by_role("button", name="Needle out").click(force=True)
            page.wait_for_timeout(250)
            page.get_by_role("heading", name="Live").click(force=True)  # keys go to the page
            for key in ("i", "f", "o", "f"):  # needle in, freeze, needle out, go on
                page.keyboard.press(key)
                page.wait_for_timeout(200)
        page.wait_for_timeout(2000)
        assert page.get_by_test_id("stException").count() == 0
        # the page still streams, into the same scope: never mounted anew, still drawing
        expect(page.locator(".ts-scope canvas")).to_be_visible(timeout=20_000)
        assert scope.get_attribute("data-stream") == stream
        go_on = page.get_by_role("button", name="Go on")  # a key press may have frozen it
        if go_on.count():
            go_on.click()
            page.wait_for_timeout(1000)
        frames = int(scope.get_attribute("data-frames") or 0)
        page.wait_for_timeout(1000)
        assert int(scope.get_attribute("data-frames") or 0) > frames
    log = (tmp_path / "server.log").read_text()
    assert server_tracebacks(log) == [], log[-4000:]
    assert "before the next expected sample" not in log
    assert "StreamlitDuplicateElementKey" not in log
