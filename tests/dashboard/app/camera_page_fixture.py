"""A page with only the camera panel, for ``test_browser_camera.py`` (``streamlit run`` it).

The stream clock is the wall clock from ``CAMERA_CLOCK_T0`` (a ``time.time()``), so
the test, in another process, knows the stream time of anything it does. The
recording goes to ``CAMERA_RECORDING`` and starts at stream time ``CAMERA_START_S``.
With ``CAMERA_OTHER_PAGE`` set, the app has a second page, without the camera. With
``CAMERA_WEBRTC_LOG``, streamlit-webrtc's and aiortc's debug log goes to that file
(the test shows its tail when it fails).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import streamlit as st

from twitchscope.dashboard.app.camera import camera_panel

T0 = float(os.environ["CAMERA_CLOCK_T0"])


@st.cache_resource
def _webrtc_log(path: str) -> None:
    """Once per server: streamlit-webrtc's and aiortc's debug log to ``path``."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    for name in ("streamlit_webrtc", "aiortc.rtcpeerconnection"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)


if os.environ.get("CAMERA_WEBRTC_LOG"):
    _webrtc_log(os.environ["CAMERA_WEBRTC_LOG"])


def stream_clock() -> float:
    """Seconds on the stream clock."""
    return time.time() - T0


def camera_page() -> None:
    """The camera panel on the stream clock."""
    st.title("Camera")
    result = camera_panel(
        Path(os.environ["CAMERA_RECORDING"]),
        clock=stream_clock,
        recording_start_s=float(os.environ["CAMERA_START_S"]),
        key="cam",
    )
    if result is not None:
        st.write(f"saved: {result.video.name}")


def other_page() -> None:
    """A page without the camera, to leave the camera's page for."""
    st.title("Other")
    st.write("Nothing to see here.")


if os.environ.get("CAMERA_OTHER_PAGE"):  # two pages: the camera's and another
    st.navigation(
        [st.Page(camera_page, title="Camera", default=True), st.Page(other_page, title="Other")]
    ).run()
else:
    camera_page()
