"""The camera panel in Chromium with its fake camera: a capture saved beside the recording.

``camera_page_fixture.py`` (the panel alone, on a stream clock that is the wall clock
from a time the test gives) runs under ``streamlit run`` on a free port; Debian's
Chromium opens it with the fake camera and the permission prompt answered
(``--use-fake-device-for-media-stream --use-fake-ui-for-media-stream``), starts the
camera, lets it record, stops it, and the test reads back the video and its link.
WebRTC has no ICE server: it must connect without the internet.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.dashboard.app.test_browser import ARGS, CHROMIUM, _free_port, stop_process_group
from twitchscope.signal.video.link import read_link

pytestmark = pytest.mark.browser

FIXTURE = Path(__file__).with_name("camera_page_fixture.py")
#: The fake camera, its prompt answered, and loopback candidates allowed: a machine with no
#: network but loopback (CI's, sometimes) connects only through 127.0.0.1, which the
#: dashboard then offers (``camera/loopback.py``).
FAKE_CAMERA = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]
#: Stream time of the recording's first sample in the fixture, s.
RECORDING_START_S = 1.5
RECORD_S = 4.0
#: Notes (Date.now(), ms) when a peer connection of the page becomes connected, and every
#: state it goes through (for the message when the test fails).
CONNECTED_AT_JS = """(() => {
  const Native = window.RTCPeerConnection;
  if (!Native) return;
  window.RTCPeerConnection = function (...args) {
    const pc = new Native(...args);
    pc.addEventListener("connectionstatechange", () => {
      (window.__pcStates = window.__pcStates || []).push([Date.now(), pc.connectionState]);
      if (pc.connectionState === "connected" && !window.__connectedAt) {
        window.__connectedAt = Date.now();
      }
    });
    return pc;
  };
  window.RTCPeerConnection.prototype = Native.prototype;
})();"""


@contextlib.contextmanager
def camera_page(
    tmp_path: Path, recording: Path, t0: float, *, other_page: bool = False
) -> Iterator[str]:
    """``streamlit run camera_page_fixture.py`` on a free port (with a second page, without
    the camera, when ``other_page``); its URL once healthy."""
    if importlib.util.find_spec("streamlit_webrtc") is None:
        pytest.fail("this test needs streamlit-webrtc: pip install 'twitchscope[video]'")
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    env = {
        **os.environ,
        "CAMERA_CLOCK_T0": repr(t0),
        "CAMERA_RECORDING": str(recording),
        "CAMERA_START_S": repr(RECORDING_START_S),
        "CAMERA_WEBRTC_LOG": str(tmp_path / "webrtc.log"),
        **({"CAMERA_OTHER_PAGE": "1"} if other_page else {}),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(FIXTURE),
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
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
                pytest.fail(
                    f"the camera page did not start:\n{(tmp_path / 'server.log').read_text()}"
                )
            time.sleep(0.2)
        yield url
    finally:
        stop_process_group(proc)
        log.close()


def _record_with_the_camera(page: Any, t0: float) -> tuple[float, float, float]:
    """Start the camera, record ``RECORD_S``, stop: (clicked, stopped s from t0, connected ms)."""
    from playwright.sync_api import expect

    expect(page.get_by_role("heading", name="Camera")).to_be_visible(timeout=60_000)
    component = page.frame_locator('iframe[title*="streamlit_webrtc"]').first
    start = component.get_by_role("button", name="Start camera")
    expect(start).to_be_visible(timeout=60_000)
    clicked_s = time.time() - t0
    start.click()
    expect(page.get_by_text("Recording the camera:")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(RECORD_S * 1000)
    component.get_by_role("button", name="Stop camera").click()
    expect(page.get_by_text("saved: session.mp4")).to_be_visible(timeout=60_000)
    stopped_s = time.time() - t0
    connected_ms = max(f.evaluate("() => window.__connectedAt || 0") for f in page.frames)
    expect(page.get_by_text("linked it in session.video.json")).to_be_visible()
    return clicked_s, stopped_s, connected_ms


def _what_happened(page: Any, tmp_path: Path, t0: float, console: list[str]) -> str:
    """The peer connections' states, the browser's console and the server's log's tail."""
    states = []
    for frame in page.frames:
        with contextlib.suppress(Exception):
            states += frame.evaluate("() => window.__pcStates || []")
    states_s = ", ".join(f"{ms / 1000.0 - t0:.2f} {state}" for ms, state in states)
    server = (tmp_path / "server.log").read_text()[-3000:]
    webrtc_log = tmp_path / "webrtc.log"
    webrtc = [  # the debug log without the SDP and candidates it prints in full
        line[:200]
        for line in (webrtc_log.read_text().splitlines() if webrtc_log.exists() else [])
        if line[:4].isdigit() and "candidate" not in line.lower()
    ]
    return (
        f"peer connection states (s from t0): {states_s or 'none'}\n"
        f"browser console:\n" + "\n".join(console[-40:]) + f"\nserver log (tail):\n{server}"
        "\nstreamlit-webrtc (tail):\n" + "\n".join(webrtc[-40:])
    )


@contextlib.contextmanager
def fake_camera_page(
    tmp_path: Path, recording: Path, t0: float, *, other_page: bool = False
) -> Iterator[Any]:
    """The camera page open in Chromium with its fake camera; an assertion that fails
    inside says what WebRTC did (peer connection states, console, server logs)."""
    if not CHROMIUM.exists():
        pytest.fail("this test needs Debian's chromium: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with (
        camera_page(tmp_path, recording, t0, other_page=other_page) as url,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[*ARGS, *FAKE_CAMERA]
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1200})
            page.add_init_script(CONNECTED_AT_JS)  # in every frame, the component's too
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{time.time() - t0:.2f} {m.text}"))
            page.goto(url)
            try:
                yield page
            except AssertionError as exc:  # say what WebRTC did: the flake's cause, next time
                raise AssertionError(
                    f"{exc}\n{_what_happened(page, tmp_path, t0, console)}"
                ) from None
        finally:
            browser.close()


def test_fake_camera_is_recorded_and_linked_on_the_stream_clock(tmp_path: Path) -> None:
    import cv2

    recording = tmp_path / "session.fif"
    t0 = time.time()
    with fake_camera_page(tmp_path, recording, t0) as page:
        clicked_s, stopped_s, connected_ms = _record_with_the_camera(page, t0)

    video = tmp_path / "session.mp4"
    assert video.is_file()
    link = read_link(recording)
    assert link.video == video
    # the video opens and holds frames of the fake camera, which change (its clock moves)
    cap = cv2.VideoCapture(str(video))
    try:
        assert cap.isOpened()
        fps = cap.get(cv2.CAP_PROP_FPS)
        frames = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        cap.release()
    assert fps == pytest.approx(30.0)
    assert len(frames) >= 1.0 * fps  # at least a second of camera
    assert frames[0].shape[2] == 3 and frames[0].shape[0] >= 120
    assert any(np.abs(f.astype(int) - frames[0].astype(int)).mean() > 1 for f in frames[1:])
    duration_s = len(frames) / fps
    # the offset is consistent with the stream clock (here the wall clock from t0): the
    # first frame was captured after the camera was started and early enough for the
    # whole video to fit before the stop
    capture_start_s = link.offset_s + RECORDING_START_S
    assert clicked_s <= capture_start_s <= stopped_s - duration_s + 1.0 / fps
    # and the camera's first frame sent was taken about when the peer connection (in the
    # browser, on the same machine's clock) became connected: measured 40-90 ms after it
    assert connected_ms > 0
    connected_s = connected_ms / 1000.0 - t0
    assert connected_s - 0.5 <= capture_start_s <= connected_s + 1.5
    sidecar = json.loads((tmp_path / "session.video.json").read_text())
    assert sidecar["video"] == "session.mp4"
    assert sidecar["offset_s"] == pytest.approx(link.offset_s)


def test_the_camera_starts_again_after_a_quick_visit_to_another_page(tmp_path: Path) -> None:
    """Leave the camera's page while it records and come straight back: the capture is
    saved, and the camera, mounted anew, starts and records again (streamlit-webrtc must
    not keep the old connection's state; the panel clears one of its stamps, see
    ``camera/panel.py``)."""
    from playwright.sync_api import expect

    recording = tmp_path / "session.fif"
    with fake_camera_page(tmp_path, recording, time.time(), other_page=True) as page:
        for visit in range(2):
            component = page.frame_locator('iframe[title*="streamlit_webrtc"]').first
            component.get_by_role("button", name="Start camera").click(timeout=60_000)
            expect(page.get_by_text("Recording the camera:")).to_be_visible(timeout=60_000)
            page.wait_for_timeout(1500)
            if visit == 0:  # away and straight back
                page.get_by_role("link", name="Other").click()
                expect(page.get_by_text("Nothing to see here.")).to_be_visible()
                page.get_by_role("link", name="Camera").click()
                expect(page.get_by_role("heading", name="Camera")).to_be_visible()
        component.get_by_role("button", name="Stop camera").click()
        expect(page.get_by_text("saved: session-2.mp4")).to_be_visible(timeout=60_000)
    # the first capture was saved when its connection ended, the second when stopped
    assert (tmp_path / "session.mp4").is_file() and (tmp_path / "session-2.mp4").is_file()
    assert read_link(recording).video == tmp_path / "session-2.mp4"


def test_without_a_camera_the_panel_says_so_and_saves_nothing(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("this test needs Debian's chromium: apt-get install -y chromium")
    from playwright.sync_api import expect, sync_playwright

    recording = tmp_path / "session.fif"
    with camera_page(tmp_path, recording, time.time()) as url, sync_playwright() as p:
        # permission granted, but no fake device: this machine has no camera
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*ARGS, "--use-fake-ui-for-media-stream"],
        )
        try:
            page = browser.new_page()
            page.goto(url)
            component = page.frame_locator('iframe[title*="streamlit_webrtc"]').first
            component.get_by_role("button", name="Start camera").click(timeout=60_000)
            expect(component.get_by_text("Requested device not found")).to_be_visible(
                timeout=30_000
            )
            expect(page.get_by_text("A browser without a camera says")).to_be_visible()
        finally:
            browser.close()
    assert {p.name for p in tmp_path.iterdir()} <= {"server.log", "webrtc.log"}  # no video
