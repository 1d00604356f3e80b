"""Record on the Live page: the stream from the press of Record to a FIF file with its sites
and twitches; the Review page shows an attached video beside the trace."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from twitchscope.dashboard.app.state import ENV_SOURCE, K, acquisition_owner
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.io.readers import read_recording

pytestmark = pytest.mark.usefixtures("clean_dashboard")

LABEL = "R infraspinatus TrP1"
SAMPLES = Path(__file__).resolve().parents[3] / "sample_recordings"


def _rerun_for(at: AppTest, seconds: float) -> None:
    """Rerun the page for ``seconds`` (run_every never fires under AppTest)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        at.run()
        time.sleep(0.2)


def test_record_writes_the_stream_from_the_press_with_its_sites(app_path, tmp_path) -> None:
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.checkbox(key="live_sim_label").uncheck()
    at.button(key="live_start").click().run()
    assert not at.exception
    source = acquisition_owner().source
    assert source is not None and source.running
    _rerun_for(at, 1.0)  # streamed before Record: not in the file

    at.text_input(key="live_rec_dir").set_value(str(tmp_path))
    at.button(key="live_rec").click().run()
    assert not at.exception
    rec = source.recording
    assert rec is not None and rec.target.parent == tmp_path
    assert rec.partial.is_dir()  # crash-safe while recording
    at.selectbox(key="live_site_side").select("R")
    at.selectbox(key="live_site_muscle").select("infraspinatus").run()
    at.selectbox(key="live_site_point").select("TrP1")
    _rerun_for(at, 1.0)
    at.button(key="live_site_in").click().run()
    _rerun_for(at, 3.0)
    at.button(key="live_site_out").click().run()
    _rerun_for(at, 0.5)
    start_s = rec.start_s
    assert start_s is not None and start_s > 0.5

    at.button(key="live_rec").click().run()  # Stop recording
    assert not at.exception
    assert source.recording is None
    message = at.session_state["live_recording_message"]
    assert message.startswith("Recorded"), message
    assert not rec.partial.exists()  # written, read back, removed
    raw = read_recording(rec.target, preload=True)
    assert raw.info["sfreq"] == source.sfreq
    assert raw.n_times / raw.info["sfreq"] >= 4.0
    (site,) = recording_events(raw).sites
    (live_site,) = source.sites.sites()
    assert site.label == LABEL
    # the site is where it was on the stream, in the recording's own time
    assert site.onset_s == pytest.approx(live_site.onset_s - start_s, abs=0.01)
    assert site.duration_s == pytest.approx(live_site.duration_s, abs=0.01)
    # the camera panel has no recording to attach to any more, and says why or what to install
    assert not at.exception


def test_record_into_a_folder_that_cannot_be_made_is_one_message(app_path, tmp_path) -> None:
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.button(key="live_start").click().run()
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    at.text_input(key="live_rec_dir").set_value(str(blocker / "sub"))
    at.button(key="live_rec").click().run()
    assert not at.exception
    assert acquisition_owner().source.recording is None
    assert at.session_state["live_recording_message"].startswith("Recording: ")


def test_review_shows_the_attached_video_at_the_selected_twitch(
    app_path, tmp_path, monkeypatch
) -> None:
    for suffix in (".edf", ".mp4", ".video.json"):
        shutil.copy(SAMPLES / f"gastrocnemius_limb_2khz{suffix}", tmp_path)
    monkeypatch.setenv(ENV_SOURCE, str(tmp_path / "gastrocnemius_limb_2khz.edf"))
    at = AppTest.from_file(app_path, default_timeout=90).run()
    at.switch_page("page_review.py").run()
    assert not at.exception
    assert len(at.get("image")) == 1, "no video frame beside the Review trace"
    first = at.session_state["review_video_frame"]
    at.session_state[K.REVIEW_SELECTED] = 1
    at.run()
    assert not at.exception
    frame = at.session_state["review_video_frame"]
    assert frame is not None and frame != first
    assert len(at.get("image")) == 1
