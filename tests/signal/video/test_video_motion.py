"""Optical-flow motion on synthetic ultrasound videos written to MP4 and read back."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.video.backend import INSTALL_HINT, video_info
from twitchscope.signal.video.motion import (
    MotionConfig,
    SpeedTrace,
    detect_movements,
    grade_speed,
    measure_motion,
    speed_trace,
)
from twitchscope.signal.video.synthetic import (
    SyntheticVideoSpec,
    VideoTwitch,
    plan_twitches,
    write_video,
)

pytest.importorskip("cv2")

FPS = 30.0
DURATION_S = 20.0
#: injected peak speeds (px/s) by the grade they should get with the default thresholds
CLASSES = {"weak": 18.0, "medium": 45.0, "strong": 130.0}


@pytest.fixture(scope="module")
def twitch_video(tmp_path_factory) -> tuple:
    speeds = [s for s in CLASSES.values() for _ in range(3)]
    twitches = plan_twitches(DURATION_S, speeds, seed=3)
    spec = SyntheticVideoSpec(duration_s=DURATION_S, fps=FPS, twitches=twitches)
    video = write_video(tmp_path_factory.mktemp("vid") / "twitches.mp4", spec, seed=5)
    return video, measure_motion(video.path)


def _match(truth: np.ndarray, found: np.ndarray, tol: float) -> dict[int, int]:
    """Truth index -> found index, nearest within ``tol`` (one-to-one)."""
    pairs = sorted(
        (abs(f - t), i, j)
        for i, t in enumerate(truth)
        for j, f in enumerate(found)
        if abs(f - t) <= tol
    )
    out: dict[int, int] = {}
    used: set[int] = set()
    for _, i, j in pairs:
        if i not in out and j not in used:
            out[i] = j
            used.add(j)
    return out


def test_motion_finds_the_injected_twitches(twitch_video) -> None:
    video, result = twitch_video
    tol = 1.0 / FPS + 0.020
    found = np.array([m.onset_s for m in result.movements])
    matched = _match(video.onsets_s, found, tol)
    assert len(matched) / len(video.twitches) >= 0.9
    false = len(result.movements) - len(matched)
    assert false <= DURATION_S / 60.0
    for i, j in matched.items():
        assert abs(found[j] - video.onsets_s[i]) <= tol
        assert result.movements[j].offset_s > result.movements[j].onset_s


def test_grades_follow_the_injected_speeds(twitch_video) -> None:
    video, result = twitch_video
    found = np.array([m.onset_s for m in result.movements])
    matched = _match(video.onsets_s, found, 1.0 / FPS + 0.020)
    by_class: dict[str, list[float]] = {g: [] for g in CLASSES}
    for i, j in matched.items():
        grade = next(g for g, s in CLASSES.items() if s == video.twitches[i].peak_speed)
        assert result.movements[j].grade == grade
        by_class[grade].append(result.movements[j].peak_speed / video.twitches[i].peak_speed)
    ratios = [r for rs in by_class.values() for r in rs]
    # frame-averaged optical flow reads a twitch's peak speed low, but by a steady factor
    assert 0.5 < min(ratios) and max(ratios) < 1.1


def test_speed_trace_times_and_units(twitch_video) -> None:
    video, result = twitch_video
    trace = result.trace
    assert trace.unit == "px/s" and trace.fps == pytest.approx(FPS)
    assert len(trace.speed) == video.spec.n_frames - 1
    assert np.allclose(np.diff(trace.times_s), 1.0 / FPS)
    assert trace.times_s[0] == 0.0
    scaled = speed_trace(video.path, scale=0.1)
    assert scaled.unit == "mm/s"
    assert np.allclose(scaled.speed, 0.1 * trace.speed, rtol=1e-5, atol=1e-6)


def test_breathing_and_drift_alone_give_no_movement(tmp_path) -> None:
    spec = SyntheticVideoSpec(
        duration_s=15.0, fps=FPS, breathing_px=6.0, breathing_hz=0.3, drift_px=8.0, drift_hz=0.08
    )
    video = write_video(tmp_path / "slow.mp4", spec, seed=11)
    result = measure_motion(video.path)
    assert result.movements == ()
    # the slow movement is there in the raw flow: without the baseline it would show
    raw = speed_trace(video.path, config=MotionConfig(baseline_s=30.0))
    assert np.percentile(raw.speed, 90) > 2 * np.percentile(result.trace.speed, 90)


def test_roi_sees_only_its_region(tmp_path) -> None:
    twitches = (VideoTwitch(onset_s=3.0, peak_speed=130.0, center=(0.8, 0.5)),)
    spec = SyntheticVideoSpec(duration_s=6.0, fps=FPS, twitches=twitches, radius=0.1)
    video = write_video(tmp_path / "right.mp4", spec, seed=2)
    right = measure_motion(video.path, roi=(100, 20, 60, 80))
    left = measure_motion(video.path, roi=(0, 20, 50, 80))
    assert [round(m.onset_s, 1) for m in right.movements] == [3.0]
    assert left.movements == ()


def test_start_and_end_limit_the_frames(twitch_video) -> None:
    video, _ = twitch_video
    result = measure_motion(video.path, start_s=5.0, end_s=15.0)
    times = result.trace.times_s
    assert times[0] == pytest.approx(5.0) and times[-1] <= 15.0
    inside = [t for t in video.onsets_s if 5.5 < t < 14.5]
    found = [m.onset_s for m in result.movements]
    assert all(5.0 <= t <= 15.0 for t in found)
    assert len(_match(np.array(inside), np.array(found), 1.0 / FPS + 0.02)) >= len(inside) - 1


def _trace(speed: list[float], fps: float = 30.0) -> SpeedTrace:
    arr = np.array(speed, dtype=float)
    return SpeedTrace(times_s=np.arange(arr.size) / fps, speed=arr, fps=fps, unit="px/s")


def test_hysteresis_duration_and_merging_on_a_known_trace() -> None:
    base = [1.0, 1.2, 0.8, 1.1, 0.9] * 40  # median 1, MAD 0.1
    speed = list(base)
    speed[28:34] = [3.0, 5.0, 20.0, 40.0, 70.0, 5.0]  # a twitch; its ends < 0.2 x peak
    speed[35:37] = [30.0, 4.0]  # its return, one sample later: merged into it
    speed[100] = 50.0  # one frame: shorter than min_duration_s
    speed[140:180] = [20.0] * 40  # 1.33 s of sustained movement: longer than max_duration_s
    (m,) = detect_movements(_trace(speed))
    assert m.onset_s == pytest.approx(30 / 30.0)
    assert m.offset_s == pytest.approx(36 / 30.0)
    assert m.peak_speed == 70.0 and m.grade == "strong"


def test_min_speed_floor_keeps_a_still_video_quiet() -> None:
    speed = [0.01 * (i % 3) for i in range(90)]
    speed[45] = speed[46] = 3.0  # far above a tiny MAD, but below the 6 px/s floor
    assert detect_movements(_trace(speed)) == []
    scaled = SpeedTrace(np.arange(90) / 30.0, np.array(speed) * 0.1, 30.0, "mm/s", scale=0.1)
    assert detect_movements(scaled) == []


def test_grades_use_settable_thresholds() -> None:
    assert [grade_speed(s) for s in (10.0, 30.0, 80.0)] == ["weak", "medium", "strong"]
    config = MotionConfig(strong_speed=5.0, medium_speed=2.0)
    assert [grade_speed(s, config) for s in (1.0, 3.0, 6.0)] == ["weak", "medium", "strong"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"strong_speed": 10.0, "medium_speed": 20.0},
        {"k_low": 9.0, "k_high": 8.0},
        {"min_duration_s": 2.0, "max_duration_s": 1.0},
        {"baseline_s": 0.0},
        {"flow_width": 4},
    ],
)
def test_bad_config_is_refused(kwargs) -> None:
    with pytest.raises(ConfigError):
        MotionConfig(**kwargs)


def test_bad_inputs_say_what_is_wrong(twitch_video, tmp_path) -> None:
    video, _ = twitch_video
    with pytest.raises(FileFormatError, match="no such video"):
        measure_motion(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video at all" * 10)
    with pytest.raises(FileFormatError, match="cannot decode"):
        measure_motion(junk)
    with pytest.raises(ConfigError, match="does not fit"):
        measure_motion(video.path, roi=(150, 0, 40, 40))
    with pytest.raises(ConfigError, match="mm per pixel"):
        measure_motion(video.path, scale=-1.0)
    with pytest.raises(FileFormatError, match="at least 5"):
        measure_motion(video.path, start_s=1.0, end_s=1.05)
    with pytest.raises(ConfigError, match="after"):
        measure_motion(video.path, start_s=3.0, end_s=2.0)


def test_synthetic_video_is_deterministic(tmp_path) -> None:
    import cv2

    spec = SyntheticVideoSpec(duration_s=1.0, fps=FPS, width=64, height=48)
    a = write_video(tmp_path / "a.mp4", spec, seed=7)
    b = write_video(tmp_path / "b.mp4", spec, seed=7)
    c = write_video(tmp_path / "c.mp4", spec, seed=8)

    def frames(path: Path) -> np.ndarray:
        cap = cv2.VideoCapture(str(path))
        out = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            out.append(frame)
        cap.release()
        return np.stack(out)

    fa, fb, fc = frames(a.path), frames(b.path), frames(c.path)
    assert fa.shape == (30, 48, 64, 3)
    assert np.array_equal(fa, fb) and not np.array_equal(fa, fc)
    info = video_info(a.path)
    assert (info.width, info.height, info.fps) == (64, 48, FPS)


def test_plan_twitches_spacing_and_fit() -> None:
    tw = plan_twitches(20.0, [10.0, 20.0, 30.0], seed=1, min_gap_s=2.0)
    onsets = sorted(t.onset_s for t in tw)
    assert np.all(np.diff(onsets) >= 2.0 - 1e-3) and onsets[0] >= 1.0 and onsets[-1] <= 19.0
    assert sorted(t.peak_speed for t in tw) == [10.0, 20.0, 30.0]
    assert tw == plan_twitches(20.0, [10.0, 20.0, 30.0], seed=1, min_gap_s=2.0)
    with pytest.raises(ConfigError, match="do not fit"):
        plan_twitches(5.0, [10.0] * 5, seed=1)


def test_without_opencv_the_video_features_say_what_to_install(monkeypatch, tmp_path) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)
    spec = SyntheticVideoSpec(duration_s=1.0)
    for call in (
        lambda: write_video(tmp_path / "x.mp4", spec, seed=0),
        lambda: measure_motion(tmp_path / "x.mp4"),
        lambda: video_info(tmp_path / "x.mp4"),
    ):
        with pytest.raises(ConfigError) as info:
            call()
        assert str(info.value) == INSTALL_HINT
        assert "twitchscope[video]" in str(info.value) and "\n" not in str(info.value)
