"""The camera panel under AppTest: its messages without the extra or without a recording."""

from __future__ import annotations

import sys

import pytest
from streamlit.testing.v1 import AppTest

from twitchscope.dashboard.app.camera.panel import INSTALL_HINT, camera_support


def _page() -> None:
    import os
    from pathlib import Path

    import streamlit as st

    from twitchscope.dashboard.app.camera import camera_panel

    rec = os.environ.get("CAMERA_TEST_RECORDING", "")
    st.title("Live")
    camera_panel(Path(rec) if rec else None, clock=lambda: 0.0, recording_start_s=0.0)
    st.write("after the camera")


def _texts(at: AppTest) -> list[str]:
    return [e.value for e in [*at.info, *at.caption, *at.markdown, *at.warning, *at.error]]


@pytest.mark.parametrize("module", ["streamlit_webrtc", "cv2"])
def test_without_the_video_extra_it_says_what_to_install(monkeypatch, module: str) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    assert camera_support() == INSTALL_HINT
    monkeypatch.setenv("CAMERA_TEST_RECORDING", "/tmp/never-written.fif")
    at = AppTest.from_function(_page, default_timeout=30).run()
    assert not at.exception
    assert [i.value for i in at.info] == [INSTALL_HINT]
    assert "twitchscope[video]" in INSTALL_HINT
    assert "after the camera" in _texts(at)  # the rest of the page goes on


def test_without_a_recording_it_asks_for_one() -> None:
    pytest.importorskip("streamlit_webrtc")
    pytest.importorskip("cv2")
    assert camera_support() == ""
    at = AppTest.from_function(_page, default_timeout=30).run()
    assert not at.exception
    assert "Start a recording to record the camera with it." in _texts(at)
    assert "after the camera" in _texts(at)


def test_with_a_recording_it_offers_the_camera_and_writes_nothing_yet(
    monkeypatch, tmp_path
) -> None:
    pytest.importorskip("streamlit_webrtc")
    pytest.importorskip("cv2")
    monkeypatch.setenv("CAMERA_TEST_RECORDING", str(tmp_path / "session.fif"))
    at = AppTest.from_function(_page, default_timeout=30).run()
    assert not at.exception
    assert "after the camera" in _texts(at)
    assert not any("Start a recording" in t for t in _texts(at))
    # AppTest has no server for WebRTC: the panel says where the camera is (the browser
    # test drives the real component)
    assert "The camera is shown in a browser session of the dashboard." in _texts(at)
    assert list(tmp_path.iterdir()) == []  # nothing until the camera sends frames


def _page_with_a_stamped_context() -> None:
    import streamlit as st
    from streamlit_webrtc.component import WebRtcStreamerContext, WebRtcStreamerState

    from twitchscope.dashboard.app.camera.panel import RENDER_COUNT_ATTR, _forget_render_count

    context = WebRtcStreamerContext(
        worker=None, state=WebRtcStreamerState(playing=True, signalling=False)
    )
    setattr(context, RENDER_COUNT_ATTR, 7)  # as streamlit-webrtc stamps a rendered run
    st.session_state["cam"] = context
    _forget_render_count("cam")
    _forget_render_count("no-such-panel")  # nothing to forget: nothing happens
    st.write(f"stamp={getattr(st.session_state['cam'], RENDER_COUNT_ATTR)!r}")
    st.write(f"playing={st.session_state['cam'].state.playing}")


def test_the_panel_clears_streamlit_webrtcs_racy_render_stamp() -> None:
    """streamlit-webrtc resets (and disconnects) a context whose stamp lags the session's
    run count by two; the count lags the runs on a busy machine, so the panel clears the
    stamp before each render. The stamp must exist under that name in the installed
    streamlit-webrtc (else the workaround would silently do nothing)."""
    pytest.importorskip("streamlit_webrtc")
    from streamlit_webrtc.component import WebRtcStreamerContext, WebRtcStreamerState

    from twitchscope.dashboard.app.camera.panel import RENDER_COUNT_ATTR

    fresh = WebRtcStreamerContext(
        worker=None, state=WebRtcStreamerState(playing=False, signalling=False)
    )
    assert hasattr(fresh, RENDER_COUNT_ATTR)
    at = AppTest.from_function(_page_with_a_stamped_context, default_timeout=30).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["stamp=None", "playing=True"]
