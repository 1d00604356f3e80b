"""A camera capture written beside a recording at a constant rate, and linked to it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twitchscope.dashboard.app.camera.capture import CameraCapture, video_path_for
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.video.backend import video_info
from twitchscope.signal.video.link import read_link

cv2 = pytest.importorskip("cv2")

W, H = 160, 120


def _frame(level: int, w: int = W, h: int = H) -> np.ndarray:
    return np.full((h, w, 3), level, dtype=np.uint8)


def _read_levels(path) -> list[float]:
    cap = cv2.VideoCapture(str(path))
    levels = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        levels.append(float(frame.mean()))
    cap.release()
    return levels


def test_capture_is_written_at_a_constant_rate_and_linked(tmp_path) -> None:
    recording = tmp_path / "session.fif"
    capture = CameraCapture(recording, recording_start_s=98.0, fps=30.0)
    # a 15 frames/s camera: captured at stream times 100 + i/15, media clock from 0,
    # arriving 50 ms later except frame 3 (30 ms), monotonic clock 500 s ahead
    for i in range(20):
        arrival = 100.0 + i / 15.0 + (0.03 if i == 3 else 0.05)
        capture.add_frame(_frame(12 * i), i / 15.0, arrival + 500.0, arrival)
    assert capture.n_frames == 20
    result = capture.finish()
    assert result is not None and result.link is not None
    assert result.video == tmp_path / "session.mp4"
    assert result.n_frames_written == 39  # each frame shown twice, the last once
    assert result.capture_start_s == pytest.approx(100.03)
    assert result.offset_s == pytest.approx(2.03)
    assert "linked it in session.video.json" in result.describe()
    # read back: the link, the declared rate and size, and which frame is in which slot
    link = read_link(recording)
    assert link.video == result.video
    assert link.offset_s == pytest.approx(2.03)
    info = video_info(result.video)
    assert (info.fps, info.width, info.height) == (30.0, W, H)
    levels = _read_levels(result.video)
    assert len(levels) == 39
    np.testing.assert_allclose(levels, [12 * (k // 2) for k in range(39)], atol=5)
    # finishing again changes nothing; later frames are ignored
    capture.add_frame(_frame(255), 2.0, 602.1, 102.1)
    assert capture.finish() is result
    assert len(_read_levels(result.video)) == 39


def test_an_earlier_capture_is_never_overwritten(tmp_path) -> None:
    recording = tmp_path / "trial.fif.gz"
    videos = []
    for start in (0.0, 10.0):
        capture = CameraCapture(recording, recording_start_s=0.0)
        for i in range(5):
            capture.add_frame(_frame(40), i / 30.0, 7.0 + i / 30.0, start + 1.0 + i / 30.0)
        result = capture.finish()
        assert result is not None
        videos.append(result.video.name)
    assert videos == ["trial.mp4", "trial-2.mp4"]
    # the link names the latest, with its own offset
    data = json.loads((tmp_path / "trial.video.json").read_text())
    assert data["video"] == "trial-2.mp4"
    assert data["offset_s"] == pytest.approx(11.0)
    assert video_path_for(recording).name == "trial-3.mp4"


def test_recording_start_asked_when_saved_and_unknown_leaves_it_unlinked(tmp_path) -> None:
    recording = tmp_path / "later.edf"
    asked: list[int] = []

    def start() -> float | None:
        asked.append(1)
        return None

    capture = CameraCapture(recording, recording_start_s=start)
    for i in range(3):
        capture.add_frame(_frame(90), None, 5.0 + i / 30.0, 5.0 + i / 30.0)
    assert asked == []  # not before saving
    result = capture.finish()
    assert asked == [1]
    assert result is not None and result.link is None
    assert "not linked" in result.describe() and "twitchscope video attach" in result.describe()
    assert result.video.is_file()
    assert not (tmp_path / "later.video.json").exists()


def test_frames_of_another_size_are_resized_to_the_first(tmp_path) -> None:
    capture = CameraCapture(tmp_path / "a.fif", recording_start_s=0.0)
    capture.add_frame(_frame(50), 0.0, 1.0, 1.0)
    capture.add_frame(_frame(200, w=2 * W, h=2 * H), 1 / 30, 1.0 + 1 / 30, 1.0 + 1 / 30)
    result = capture.finish()
    assert result is not None and (result.width, result.height) == (W, H)
    np.testing.assert_allclose(_read_levels(result.video), [50, 200], atol=5)


def test_no_frame_writes_nothing(tmp_path) -> None:
    capture = CameraCapture(tmp_path / "empty.fif", recording_start_s=0.0)
    assert capture.finish() is None
    assert list(tmp_path.iterdir()) == []


def test_a_bad_frame_stops_the_capture_with_a_message(tmp_path) -> None:
    capture = CameraCapture(tmp_path / "bad.fif", recording_start_s=0.0)
    capture.add_frame(_frame(30), 0.0, 1.0, 1.0)
    capture.add_frame(np.zeros((H, W), dtype=np.uint8), 1 / 30, 1.04, 1.04)
    capture.add_frame(_frame(60), 2 / 30, 1.07, 1.07)  # ignored once stopped
    assert "(height, width, 3) uint8 BGR image, got shape (120, 160)" in capture.error
    result = capture.finish()  # what was written before is kept and linked
    assert result is not None and result.n_frames_written == 1
    assert read_link(tmp_path / "bad.fif").video == result.video
    np.testing.assert_allclose(_read_levels(result.video), [30], atol=5)


@pytest.mark.parametrize("fps", [0.0, 500.0, float("nan")])
def test_frame_rate_out_of_range_is_refused(tmp_path, fps: float) -> None:
    with pytest.raises(ConfigError, match="capture frame rate must be 1-120"):
        CameraCapture(tmp_path / "x.fif", recording_start_s=0.0, fps=fps)


def test_the_panel_hands_frames_to_a_writer_and_finish_writes_them_all(tmp_path) -> None:
    """WebRTC's thread only stamps and queues each frame (it is aiortc's event loop, which
    must answer the browser's connectivity checks); the capture's writer thread converts
    and writes them; finish writes what is still queued, in order, then links the video."""
    import threading
    from fractions import Fraction

    av = pytest.importorskip("av")
    from twitchscope.dashboard.app.camera.panel import _PanelState

    state = _PanelState()
    ticks = iter(100.0 + np.arange(1000) / 15.0)
    state.recording, state.clock = tmp_path / "session.fif", lambda: float(next(ticks))
    state.recording_start, state.fps, state.accepting = 98.0, 30.0, True

    def receive() -> None:  # stands for aiortc's loop: real av frames, 15 a second
        for i in range(20):
            frame = av.VideoFrame.from_ndarray(_frame(12 * i), format="bgr24")
            frame.pts, frame.time_base = i, Fraction(1, 15)
            state.on_frame(frame)

    loop = threading.Thread(target=receive)
    loop.start()
    loop.join()
    state.finish()  # at once: what the writer has not written yet is written first
    result = state.result
    assert state.error == "" and state.n_dropped == 0 and state.capture is None
    assert result is not None and result.link is not None
    assert result.n_frames_received == 20 and result.n_frames_written == 39
    assert result.capture_start_s == pytest.approx(100.0)
    levels = _read_levels(result.video)
    np.testing.assert_allclose(levels, [12 * (k // 2) for k in range(39)], atol=5)
    assert not [t for t in threading.enumerate() if t.name == "twitchscope-camera-writer"]
