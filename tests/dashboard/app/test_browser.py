"""End to end in a real headless browser: ``twitchscope dashboard`` on the simulated amplifier.

Debian's ``chromium`` driven by Playwright (``executable_path``: Playwright's own
browser download cannot work offline). The dashboard runs as a subprocess on a free
localhost port; the test waits until a twitch is flagged and saves a screenshot
in the test's temporary folder. ``TWITCHSCOPE_SCREENSHOT=docs/screenshot.png`` makes it
save the README's picture there instead.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TWITCHES_JS = """() => {
  const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
    .find(e => e.innerText.trim().startsWith(LABEL));
  if (!m) return false;
  const v = parseInt(m.querySelector('[data-testid="stMetricValue"]').innerText);
  return v > 0;
}"""

#: the "Stream time" counter's seconds, once it shows (else false)
STREAM_TIME_JS = """() => {
  const m = [...document.querySelectorAll('[data-testid="stMetric"]')]
    .find(e => e.innerText.trim().startsWith('Stream time'));
  if (!m) return false;
  const v = parseFloat(m.querySelector('[data-testid="stMetricValue"]').innerText);
  return v > 0 ? v : false;
}"""


#: the scope has drawn frames and at least one flagged twitch's marker
SCOPE_MARKED_JS = """() => {
  const e = document.querySelector('.ts-scope');
  return !!e && Number(e.dataset.frames || 0) > 0 && Number(e.dataset.markersDrawn || 0) > 0;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_tracebacks(log: str) -> list[str]:
    """The exceptions the dashboard's server logged (each traceback's last line).

    Starlette's websocket-disconnect race when a browser closes its page
    (``starlette.websockets.WebSocketDisconnected`` raised inside Streamlit's own
    websocket endpoint) is left out: it is the server's, not the app's, and comes and goes
    with the timing of the browser's shutdown.
    """
    found: list[str] = []
    in_traceback = False
    for line in log.splitlines():
        if line.startswith("Traceback (most recent call last):"):
            in_traceback = True
        elif in_traceback and line and not line.startswith((" ", "\t")):
            in_traceback = False
            if not line.startswith("starlette.websockets.WebSocketDisconnected"):
                found.append(line)
    return found


def stop_process_group(proc: subprocess.Popen) -> None:
    """Terminate a server started in its own session, then kill it; a server that has
    already exited (e.g. it failed to start) is fine."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(10)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def running_dashboard(tmp_path: Path, *args: str) -> Iterator[str]:
    """``twitchscope dashboard ARGS`` on a free port, its URL once healthy; stopped
    (terminate, then kill) afterwards. Its output goes to ``tmp_path/server.log``."""
    with dashboard_process(tmp_path, *args) as (url, _):
        yield url


@contextlib.contextmanager
def dashboard_process(tmp_path: Path, *args: str) -> Iterator[tuple[str, subprocess.Popen]]:
    """:func:`running_dashboard`'s URL and the server's process (the command becomes it)."""
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "twitchscope.dashboard", "dashboard", "--port", str(port), *args],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: nothing can outlive the test
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "_stcore/health", timeout=1) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail(f"dashboard did not start:\n{(tmp_path / 'server.log').read_text()}")
            time.sleep(0.2)
        yield url, proc
    finally:
        stop_process_group(proc)
        log.close()


@contextlib.contextmanager
def chromium_page(*extra_args: str, **page_kw: Any) -> Iterator[tuple[Any, list[str]]]:
    """A new page of headless Debian chromium (``ARGS`` and ``extra_args``; ``page_kw``
    go to ``new_page``) and the list the page's uncaught errors are added to; the
    browser is closed afterwards. Fails (not skips) when chromium is missing."""
    if not CHROMIUM.exists():
        pytest.fail("this test needs Debian's chromium: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*ARGS, *extra_args]
        )
        try:
            page = browser.new_page(**page_kw)
            page.on("pageerror", lambda e: errors.append(str(e)))
            yield page, errors
        finally:
            browser.close()


@pytest.fixture
def dashboard_url(tmp_path):
    """``twitchscope dashboard`` on a free port (see :func:`running_dashboard`)."""
    with running_dashboard(tmp_path) as url:
        yield url


def test_dashboard_flags_a_twitch_in_a_real_browser(dashboard_url, tmp_path) -> None:
    from playwright.sync_api import expect

    screenshot = Path(os.environ.get("TWITCHSCOPE_SCREENSHOT") or tmp_path / "screenshot.png")

    with chromium_page(viewport={"width": 1400, "height": 1500}) as (page, _):
        page.goto(dashboard_url)
        expect(page.get_by_role("heading", name="Live")).to_be_visible(timeout=60_000)
        page.wait_for_function(TWITCHES_JS.replace("LABEL", "'Twitches'"), timeout=60_000)
        expect(page.locator(".ts-scope canvas")).to_be_visible(timeout=20_000)
        # the twitch is in the event table too
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible(timeout=20_000)
        # the scope stays mounted and draws on its own: shoot once a marker is drawn
        page.wait_for_function(SCOPE_MARKED_JS, timeout=45_000)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 20_000


def _pty_masters(pid: int) -> int:
    """How many pseudo-terminal masters process ``pid`` holds (an emulated board holds one)."""
    fd_dir = Path(f"/proc/{pid}/fd")
    return sum(1 for fd in fd_dir.iterdir() if os.path.realpath(fd) == "/dev/ptmx")


def test_the_server_streams_before_the_first_visit_and_the_visit_shows_that_stream(
    tmp_path,
) -> None:
    """The command's server starts the simulated amplifier before it serves: the first
    visitor finds it streaming (nothing to start in the page's first run) and the page
    shows that stream, not a second one (the server still holds one emulated board)."""
    from playwright.sync_api import expect

    with dashboard_process(tmp_path) as (url, proc):
        assert _pty_masters(proc.pid) == 1  # the board, before any page was opened
        time.sleep(3.0)
        with chromium_page(viewport={"width": 1400, "height": 1000}) as (page, errors):
            page.goto(url)
            expect(page.get_by_role("heading", name="Live")).to_be_visible(timeout=60_000)
            expect(page.locator(".ts-scope canvas")).to_be_visible(timeout=30_000)
            # the stream's clock started with the server, before the visit
            stream_s = page.wait_for_function(STREAM_TIME_JS, timeout=30_000).json_value()
            assert errors == []
        assert stream_s >= 3.0
        assert _pty_masters(proc.pid) == 1
    log = (tmp_path / "server.log").read_text()
    assert server_tracebacks(log) == []
