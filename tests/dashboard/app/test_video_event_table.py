"""The Review page's event table on the bundled sample with its video: the movement columns."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from twitchscope.dashboard.app.state import K
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.detect.run import detect_recording
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.video.attached import fuse_attached

pytest.importorskip("cv2")
pytestmark = pytest.mark.usefixtures("clean_dashboard")


def test_review_table_shows_each_twitch_with_its_movement(app_path) -> None:
    at = AppTest.from_file(app_path, default_timeout=120).run()
    at.switch_page("page_review.py").run()
    assert not at.exception
    name = at.session_state[K.REVIEW_NAME]
    assert name.endswith("gastrocnemius_limb_2khz.edf")  # the sample with a video
    (table,) = [d.value for d in at.dataframe if "confidence" in d.value.columns]
    assert {"movement", "lag (ms)", "peak speed (px/s)", "grade"} <= set(table.columns)
    # the same as the offline fusion of the same twitches
    raw = read_recording(name, preload=True)
    twitches = detect_recording(raw, at.session_state[K.SETTINGS].config()).twitches
    fused = fuse_attached(name, twitches, sites=recording_events(raw).sites)
    assert fused is not None
    assert list(table["onset_s"]) == [round(t.onset_s, 3) for t in twitches]
    expected = {
        round(m.twitch.onset_s, 3): m.grade for m in fused.fusion.matches if m.movement is not None
    }
    shown = dict(zip(table["onset_s"], table["grade"], strict=True))
    assert expected and all(shown[t] == g for t, g in expected.items())
    outside = {round(t.onset_s, 3) for t in fused.outside}
    assert outside and all(
        m == "outside video"
        for t, m in zip(table["onset_s"], table["movement"], strict=True)
        if t in outside
    )
