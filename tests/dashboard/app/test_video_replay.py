"""The Replay page with the bundled sample's video beside the trace, under AppTest."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from twitchscope.dashboard.app.state import K
from twitchscope.signal.video.link import read_link

pytest.importorskip("cv2")
pytestmark = pytest.mark.usefixtures("clean_dashboard")

FPS = 30.0


def _image_url(at: AppTest) -> str:
    images = at.get("image")
    assert len(images) == 1, "one video frame on the page"
    return images[0].value[0]


def _frame_of(t_recording: float, offset: float) -> int:
    return math.floor((t_recording - offset) * FPS + 1e-6)


def test_replay_shows_the_video_and_seeks_and_steps_it(app_path) -> None:
    at = AppTest.from_file(app_path, default_timeout=120).run()
    at.switch_page("page_replay.py").run()
    assert not at.exception
    player = at.session_state[K.REPLAY]
    assert player.recording.name == "gastrocnemius_limb_2khz.edf"  # the sample opened first
    offset = read_link(at.session_state[K.REPLAY_NAME]).offset_s
    # at 0 s the video (5-35 s of the recording) has not started: the panel says so
    assert any("the video covers 5.00–35.00 s" in i.value for i in at.info)
    assert at.session_state["replay_video_frame"] is None
    # play at 8x until a few twitches of the first site are detected
    at.button(key="replay_play").click().run()
    at.select_slider(key="replay_speed").set_value(8.0).run()
    chooser = at.selectbox(key="replay_video_twitch")
    for _ in range(60):
        if len(chooser.options) >= 3:
            break
        time.sleep(0.25)
        at.run()
        chooser = at.selectbox(key="replay_video_twitch")
    assert len(chooser.options) >= 3
    view = at.session_state[K.REPLAY_VIEW]
    twitches = view.twitches
    # choosing a twitch pauses the replay and shows the frame at its onset
    chooser.set_value(chooser.options[1]).run()
    assert not at.exception
    assert not player.playing
    assert at.session_state["replay_video_t"] == pytest.approx(twitches[1].onset_s)
    assert at.session_state["replay_video_frame"] == _frame_of(twitches[1].onset_s, offset)
    first = _image_url(at)
    assert "frame" in at.get("image")[0].captions[0]
    at.selectbox(key="replay_video_twitch").set_value(chooser.options[2]).run()
    assert at.session_state["replay_video_frame"] == _frame_of(twitches[2].onset_s, offset)
    second = _image_url(at)
    assert second != first
    # ▶ and ◀: one frame on, one frame back (the same picture again)
    at.button(key="replay_video_next").click().run()
    assert at.session_state["replay_video_frame"] == _frame_of(twitches[2].onset_s, offset) + 1
    stepped = _image_url(at)
    assert stepped != second
    at.button(key="replay_video_prev").click().run()
    assert at.session_state["replay_video_frame"] == _frame_of(twitches[2].onset_s, offset)
    assert _image_url(at) == second  # the same picture: the same media file
    # the speed trace is drawn under the EMG, with the cursor
    speed = [c for c in at.get("plotly_chart") if "motion" in c.proto.spec]
    assert len(speed) == 1
    # the event table gives each twitch the movement it caused in the video
    (events,) = [d.value for d in at.dataframe if "movement" in d.value.columns]
    assert len(events) == len(view.twitches)
    assert "matched" in set(events["movement"]) and events["grade"].notna().any()
    # Follow: the video follows the (paused) play position again
    at.button(key="replay_video_follow").click().run()
    assert at.session_state["replay_video_t"] is None
    assert at.session_state["replay_video_frame"] == _frame_of(player.now_s(), offset)
    assert not at.exception


def test_replay_without_a_video_keeps_its_layout(app_path, limb_file, monkeypatch) -> None:
    from twitchscope.dashboard.services.stream_source import ENV_SOURCE

    monkeypatch.setenv(ENV_SOURCE, str(limb_file))
    at = AppTest.from_file(app_path, default_timeout=60).run()
    assert at.session_state[K.REPLAY].recording.name == limb_file.name
    assert not at.exception
    assert len(at.get("image")) == 0
    assert "replay_video_twitch" not in [s.key for s in at.selectbox]


def test_replay_says_why_an_attached_video_is_not_shown(app_path, tmp_path, monkeypatch) -> None:
    import shutil

    from twitchscope.dashboard.services.stream_source import ENV_SOURCE

    samples = Path(app_path).parents[2] / "sample_recordings"
    for suffix in (".edf", ".video.json"):  # the link, but not the video it names
        shutil.copy(samples / f"gastrocnemius_limb_2khz{suffix}", tmp_path)
    monkeypatch.setenv(ENV_SOURCE, str(tmp_path / "gastrocnemius_limb_2khz.edf"))
    at = AppTest.from_file(app_path, default_timeout=60).run()
    assert not at.exception
    assert any(
        "The attached video is not shown" in c.value and "no such video file" in c.value
        for c in at.caption
    )
    assert len(at.get("image")) == 0
