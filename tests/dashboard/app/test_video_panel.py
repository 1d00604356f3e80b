"""``video_beside_trace``: the one call the Review page makes, under AppTest."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytest.importorskip("cv2")
pytestmark = pytest.mark.usefixtures("clean_dashboard")

SAMPLE = Path(__file__).resolve().parents[3] / "sample_recordings" / "gastrocnemius_limb_2khz.edf"
ONSETS = (9.8715, 12.4715, 60.0)


def _script() -> None:
    import streamlit as st

    from twitchscope.dashboard.app.video.panel import video_beside_trace
    from twitchscope.signal.core.model import Twitch

    onsets = (9.8715, 12.4715, 60.0)  # the function runs as its own script: ONSETS here
    twitches = [Twitch(onset_s=o, offset_s=o + 0.1, channel="R-MG-TrP") for o in onsets]
    video_beside_trace(
        st.session_state["rec"], key="review", twitches=twitches, selected=st.session_state["sel"]
    )


def _frame(t: float) -> int:
    return math.floor((t - 5.0) * 30.0 + 1e-6)


def test_selecting_a_twitch_seeks_the_video(tmp_path) -> None:
    at = AppTest.from_function(_script, default_timeout=60)
    at.session_state["rec"] = str(SAMPLE)
    at.session_state["sel"] = None
    at.run()
    assert not at.exception
    assert at.session_state["review_video_frame"] == 0  # no cursor yet: the first frame
    start = at.get("image")[0].value
    at.session_state["sel"] = 1
    at.run()
    assert at.session_state["review_video_frame"] == _frame(ONSETS[1])
    second = at.get("image")[0].value
    assert second != start
    # the speed trace beside it, with the cursor at the twitch
    (chart,) = [c for c in at.get("plotly_chart") if "motion" in c.proto.spec]
    assert '"x0":12.4715' in chart.proto.spec.replace(" ", "")
    at.button(key="review_video_prev").click().run()
    assert at.session_state["review_video_frame"] == _frame(ONSETS[1]) - 1
    # a twitch outside the video: said, no picture
    at.session_state["sel"] = 2
    at.run()
    assert at.session_state["review_video_frame"] is None
    assert len(at.get("image")) == 0
    assert "covers 5.00–35.00 s" in at.info[0].value
    # a link whose video is gone: one line saying so
    broken = tmp_path / "broken.edf"
    broken.write_bytes(SAMPLE.read_bytes())
    (tmp_path / "broken.video.json").write_text('{"video": "gone.mp4", "offset_s": 0}')
    at.session_state["rec"] = str(broken)
    at.run()
    assert not at.exception and len(at.get("image")) == 0
    assert "no such video file" in at.caption[0].value
    # a recording without a video: nothing at all
    bare = tmp_path / "bare.edf"
    bare.write_bytes(SAMPLE.read_bytes())
    at.session_state["rec"] = str(bare)
    at.run()
    assert not at.exception and len(at.get("image")) == 0
    assert len(at.caption) == 0 and len(at.get("plotly_chart")) == 0
