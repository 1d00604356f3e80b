"""Attaching a video from the Review page: by offset, automatically, nudged, detached."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from twitchscope.dashboard.app.state import K
from twitchscope.dashboard.services.stream_source import ENV_SOURCE
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.io.writers import write_recording
from twitchscope.signal.video.link import link_path, read_link

pytest.importorskip("cv2")
pytestmark = pytest.mark.usefixtures("clean_dashboard")

SAMPLES = Path(__file__).resolve().parents[3] / "sample_recordings"
STEM = "gastrocnemius_limb_2khz"


@pytest.fixture
def bare(tmp_path: Path) -> tuple[Path, Path]:
    """The sample recording without its link, and its video in another folder."""
    shutil.copy(SAMPLES / f"{STEM}.edf", tmp_path)
    videos = tmp_path / "videos"
    videos.mkdir()
    shutil.copy(SAMPLES / f"{STEM}.mp4", videos / "camera.mp4")
    return tmp_path / f"{STEM}.edf", videos / "camera.mp4"


def _review(app_path: str, recording: Path, monkeypatch) -> AppTest:
    monkeypatch.setenv(ENV_SOURCE, str(recording))
    at = AppTest.from_file(app_path, default_timeout=120).run()
    at.switch_page("page_review.py").run()
    assert not at.exception
    assert Path(at.session_state[K.REVIEW_NAME]) == recording
    return at


def _events_columns(at: AppTest) -> set[str]:
    (events,) = [d.value for d in at.dataframe if "confidence" in d.value.columns]
    return set(events.columns)


def test_attach_by_offset_then_nudge_then_detach(app_path, bare, monkeypatch) -> None:
    recording, video = bare
    at = _review(app_path, recording, monkeypatch)
    assert "movement" not in _events_columns(at)
    # a wrong path is one line, nothing written
    at.text_input(key="review_attach_path").set_value(str(video.with_name("nope.mp4")))
    at.button(key="review_attach_go").click().run()
    assert not at.exception
    assert any("Not attached" in e.value and "nope.mp4" in e.value for e in at.error)
    assert not link_path(recording).is_file()
    # the right one, with the offset typed in
    at.text_input(key="review_attach_path").set_value(str(video))
    at.number_input(key="review_attach_offset").set_value(5.0)
    at.button(key="review_attach_go").click().run()
    assert not at.exception
    assert any("Attached camera.mp4 with offset 5.000 s" in s.value for s in at.success)
    assert read_link(recording).offset_s == pytest.approx(5.0)
    assert "movement" in _events_columns(at)  # the event table now fuses the video
    (events,) = [d.value for d in at.dataframe if "movement" in d.value.columns]
    assert "matched" in set(events["movement"])
    # nudged by 20 ms
    at.number_input(key="review_attach_nudge").set_value(5.02)
    at.button(key="review_attach_apply").click().run()
    assert not at.exception
    link = read_link(recording)
    assert link.offset_s == pytest.approx(5.02) and link.sync_event is None
    assert any("Offset set to 5.020 s (was 5.000 s)" in s.value for s in at.success)
    # detached: the link goes, the video stays
    at.button(key="review_attach_detach").click().run()
    assert not at.exception
    assert not link_path(recording).is_file() and video.is_file()
    assert "movement" not in _events_columns(at)


def test_attach_synced_from_the_emg_shows_its_residual(app_path, bare, monkeypatch) -> None:
    recording, video = bare
    at = _review(app_path, recording, monkeypatch)
    at.text_input(key="review_attach_path").set_value(str(video))
    at.radio(key="review_attach_sync").set_value("Auto: EMG twitches and artefacts")
    at.button(key="review_attach_go").click().run()
    assert not at.exception
    link = read_link(recording)
    assert link.sync_event == "emg"
    assert link.offset_s == pytest.approx(5.0, abs=0.05)  # the sample's true offset
    shown = " ".join(s.value for s in at.success)
    assert "found from emg" in shown and "residual" in shown
    captions = " ".join(c.value for c in at.caption)
    assert "found from emg, residual" in captions  # kept with the link, for nudging
    # the agreement per site is listed under it
    sites = [d.value for d in at.dataframe if "agreement" in d.value.columns]
    assert len(sites) == 1 and sites[0]["matched"].sum() >= 5


def test_a_recording_without_needle_ins_says_so_in_one_line(
    app_path, bare, monkeypatch, tmp_path
) -> None:
    _, video = bare
    raw = read_recording(SAMPLES / f"{STEM}.edf", preload=True)
    raw.set_annotations(None)
    recording = write_recording(raw, tmp_path / "no_sites_raw.fif")
    at = _review(app_path, recording, monkeypatch)
    at.text_input(key="review_attach_path").set_value(str(video))
    at.radio(key="review_attach_sync").set_value("Auto: needle-in annotations")
    at.button(key="review_attach_go").click().run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert error.startswith("Not attached:") and "no needle-in annotation" in error
    assert not link_path(recording).is_file()
