"""Automatic sync: synthetic videos with a known offset, recovered within one frame."""

from __future__ import annotations

from pathlib import Path

import pytest

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite, RecordingEvents, RejectedCandidate, Twitch
from twitchscope.signal.detect.config import preset
from twitchscope.signal.detect.run import detect_recording
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.video.link import VideoLink, read_link, write_link
from twitchscope.signal.video.sync import (
    SyncConfig,
    brightness_steps,
    emg_events,
    find_offset,
    parse_sync_event,
    video_events,
)
from twitchscope.signal.video.synthetic import SyntheticVideoSpec, VideoTwitch, write_video

pytest.importorskip("cv2")

FPS = 30.0
FRAME = 1 / FPS
OFFSET = 2.37  # video time = recording time - OFFSET
NEEDLE_IN = (3.0, 9.5, 15.2)
SAMPLE = Path(__file__).resolve().parents[3] / "sample_recordings" / "gastrocnemius_limb_2khz.edf"


@pytest.fixture(scope="module")
def flash_video(tmp_path_factory) -> tuple[Path, SyntheticVideoSpec]:
    """An LED flash at each needle-in (0.2 s), plus a stray flash before the first, and
    twitches (motion) that are not the sync event."""
    flashes = ((0.05, 0.1), *((t - OFFSET, 0.2) for t in NEEDLE_IN))
    spec = SyntheticVideoSpec(
        duration_s=16.0,
        fps=FPS,
        flashes=flashes,
        twitches=(VideoTwitch(4.0, 100.0), VideoTwitch(10.0, 100.0)),
    )
    path = write_video(tmp_path_factory.mktemp("sync") / "led.mp4", spec, seed=4).path
    return path, spec


def _sites(onsets: tuple[float, ...]) -> RecordingEvents:
    return RecordingEvents(
        sites=tuple(
            NeedleSite(label=f"P{i}", onset_s=t, duration_s=2.0) for i, t in enumerate(onsets)
        )
    )


def test_brightness_steps_are_the_flashes_within_a_frame(flash_video) -> None:
    path, spec = flash_video
    steps = brightness_steps(path, roi=spec.flash_roi)
    expected = [on for on, _dur in spec.flashes]
    assert len(steps) == len(expected)
    for got, want in zip(steps, expected, strict=True):
        assert abs(got - want) <= FRAME / 2 + 1e-9  # half-way to the first frame showing it


def test_needle_in_sync_recovers_the_offset_despite_a_stray_flash(flash_video) -> None:
    path, spec = flash_video
    found = video_events(path, roi=spec.flash_roi, config=SyncConfig(kind="brightness"))
    result = find_offset(emg_events(_sites(NEEDLE_IN), "needle-in"), found)
    assert abs(result.offset_s - OFFSET) <= FRAME
    assert result.anchor_recording_s == NEEDLE_IN[0]
    assert result.n_checked == 2 and result.residual_s is not None
    assert result.residual_s <= FRAME
    # with only the first needle-in there is nothing to check, and the stray flash wins
    alone = find_offset([NEEDLE_IN[0]], found)
    assert alone.residual_s is None and alone.n_checked == 0
    assert alone.anchor_video_s == pytest.approx(found[0])


def test_marker_sync_and_a_wrong_offset_shows_in_the_residual(flash_video) -> None:
    path, spec = flash_video
    found = brightness_steps(path, roi=spec.flash_roi)
    events = RecordingEvents(other=tuple((t, 0.0, "LED") for t in NEEDLE_IN) + ((1.0, 0.0, "x"),))
    times = emg_events(events, "marker", "LED")
    assert times == list(NEEDLE_IN)
    assert abs(find_offset(times, found).offset_s - OFFSET) <= FRAME
    # a marker 0.3 s late: matched still, and the residual says how far it disagrees
    late = [NEEDLE_IN[0], NEEDLE_IN[1] + 0.3, NEEDLE_IN[2]]
    result = find_offset(late, found)
    assert abs(result.offset_s - OFFSET) <= FRAME
    assert result.residual_s == pytest.approx(0.3, abs=FRAME)


def test_emg_sync_on_the_bundled_sample_within_a_frame(tmp_path) -> None:
    """The sample's video starts 5 s into the recording; its twitches move 30 ms after
    their EMG onset, so the movements give the offset within one frame."""
    raw = read_recording(SAMPLE, preload=False)
    run = detect_recording(raw, preset("limb"))
    times = emg_events(RecordingEvents(), "emg", twitches=run.twitches, rejected=run.rejected)
    video = read_link(SAMPLE).video
    found = video_events(video, config=SyncConfig(kind="motion"))
    result = find_offset(times, found)
    assert abs(result.offset_s - 5.0) <= FRAME
    assert result.n_checked >= 5 and result.residual_s is not None and result.residual_s < 0.05
    # the link keeps how it was found
    rec = tmp_path / "s.edf"
    rec.write_bytes(b"")
    link = VideoLink(
        video=video,
        offset_s=result.offset_s,
        sync_event="emg",
        sync_residual_s=result.residual_s,
        sync_n_checked=result.n_checked,
    )
    write_link(rec, link)
    assert read_link(rec) == link


def test_emg_events_keep_twitches_and_large_artefacts_once() -> None:
    twitches = [
        Twitch(onset_s=5.0, offset_s=5.1, channel="a", peak_v=100e-6),
        Twitch(onset_s=8.0, offset_s=8.1, channel="a", peak_v=50e-6),
    ]
    rejected = [
        RejectedCandidate(onset_s=2.0, offset_s=2.1, channel="a", reason="pop", peak_v=400e-6),
        RejectedCandidate(onset_s=3.0, offset_s=3.1, channel="a", reason="pop", peak_v=10e-6),
        RejectedCandidate(onset_s=8.05, offset_s=8.1, channel="a", reason="ecg", peak_v=60e-6),
    ]
    assert emg_events(RecordingEvents(), "emg", twitches=twitches, rejected=rejected) == [
        2.0,
        5.0,
        8.0,
    ]


def test_clear_errors() -> None:
    assert parse_sync_event("needle-in") == ("needle-in", None)
    assert parse_sync_event("marker:LED on") == ("marker", "LED on")
    with pytest.raises(ConfigError, match="marker:LABEL"):
        parse_sync_event("marker:")
    with pytest.raises(ConfigError, match="no needle-in"):
        find_offset([], [1.0], what="needle-in annotation")
    with pytest.raises(ConfigError, match="--roi"):
        find_offset([1.0], [])
    with pytest.raises(ConfigError, match="sync kind"):
        SyncConfig(kind="sound")
