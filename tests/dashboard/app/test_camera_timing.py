"""Camera frames on the stream clock: stamping, constant-rate placement, the link's offset."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twitchscope.dashboard.app.camera.timing import (
    FrameTimeline,
    place_frame,
    stamp_frame,
    video_offset_s,
)
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.video.link import VideoLink

FPS = 30.0


def _stamp_all(media, arrival, stream=None):
    stream = arrival if stream is None else stream
    state, times = FrameTimeline(), []
    for m, a, s in zip(media, arrival, stream, strict=True):
        t, state = stamp_frame(state, m, a, s)
        times.append(t)
    return np.array(times), state


def test_first_frame_on_the_stream_clock_from_the_least_delay_and_lag() -> None:
    # captured at stream times 20 + i/30; the media clock has its own origin (-3 s), the
    # monotonic clock too (+1000 s); network delays 40-90 ms, the least (25 ms) on frame 7;
    # the stream clock lags 4-20 ms, the least (2 ms) on frame 11, and stalls for half a
    # second from frame 30 on (the board silent: its clock stands still)
    rng = np.random.default_rng(0)
    capture = 20.0 + np.arange(60) / FPS
    delay = rng.uniform(0.04, 0.09, capture.size)
    delay[7] = 0.025
    arrival = capture + 1000.0 + delay
    lag = rng.uniform(0.004, 0.02, capture.size)
    lag[11] = 0.002
    stream = arrival - 1000.0 - lag
    stream[30:45] = stream[30]
    times, state = _stamp_all(capture - 23.0, arrival, stream)
    assert state.n_frames == 60
    np.testing.assert_allclose(times, np.arange(60) / FPS, atol=1e-9)  # spaced by media time
    # off by the least delay and the least lag only, not by the stall
    assert state.capture_start_s == pytest.approx(20.0 + 0.025 - 0.002)
    assert state.duration_s == pytest.approx(59 / FPS)


def test_frames_without_media_time_use_their_arrival() -> None:
    times, state = _stamp_all([None, None, None], [5.0, 5.04, 5.1], [2.0, 2.04, 2.1])
    np.testing.assert_allclose(times, [0.0, 0.04, 0.1])
    assert state.capture_start_s == pytest.approx(2.0)


def test_a_media_clock_that_jumps_is_reanchored_to_arrival() -> None:
    media = [100.0, 100.033, 100.066, 0.0, 0.033]  # wrapped after the third frame
    arrival = [1.0, 1.033, 1.066, 1.1, 1.133]
    times, state = _stamp_all(media, arrival)
    assert np.all(np.diff(times) > 0)
    np.testing.assert_allclose(times, [0.0, 0.033, 0.066, 0.1, 0.133], atol=1e-9)
    assert state.capture_start_s == pytest.approx(1.0)
    # a jump far ahead of the arrival times is not believed either
    t, _ = stamp_frame(state, 500.0, 1.166, 1.166)
    assert t == pytest.approx(0.166)


def test_stamping_never_changes_the_state_it_is_given() -> None:
    _, state = _stamp_all([0.0, 0.033], [2.0, 2.04])
    before = (state.n_frames, state.last_media_s, state.min_delay_s, state.max_stream_lead_s)
    stamp_frame(state, 0.066, 2.07, 9.0)
    assert (
        state.n_frames,
        state.last_media_s,
        state.min_delay_s,
        state.max_stream_lead_s,
    ) == before


def test_no_frame_no_start() -> None:
    assert math.isnan(FrameTimeline().capture_start_s)
    assert FrameTimeline().duration_s == 0.0


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_bad_times_are_refused(bad: float) -> None:
    with pytest.raises(ConfigError, match="arrival time must be a finite"):
        stamp_frame(FrameTimeline(), 0.0, bad, 0.0)
    with pytest.raises(ConfigError, match="stream time must be a finite"):
        stamp_frame(FrameTimeline(), 0.0, 0.0, bad)
    with pytest.raises(ConfigError, match="media time must be a finite"):
        stamp_frame(FrameTimeline(), bad, 0.0, 0.0)
    with pytest.raises(ConfigError, match="recording_start_s must be a finite"):
        video_offset_s(1.0, bad)


def _place_all(times, fps):
    written = []  # index of the input frame in each slot of the file
    for i, t in enumerate(times):
        n_repeat, write = place_frame(t, len(written), fps)
        if n_repeat:
            written.extend([written[-1]] * n_repeat)
        if write:
            written.append(i)
    return written


def test_a_slow_camera_is_filled_and_a_fast_one_thinned() -> None:
    slow = _place_all(np.arange(10) / 15.0, FPS)  # 15 frames/s into 30
    assert slow == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9]
    fast = _place_all(np.arange(12) / 90.0, FPS)  # 90 frames/s into 30
    assert fast == [0, 2, 5, 8, 11]
    gap = _place_all([0.0, 1 / FPS, 0.5], FPS)  # the camera froze for ~0.45 s
    assert gap == [0, 1, *[1] * 13, 2]


@given(
    steps=st.lists(st.floats(min_value=0.0, max_value=0.2), min_size=1, max_size=80),
    fps=st.sampled_from([10.0, 25.0, 30.0, 59.94]),
)
@settings(max_examples=100, deadline=None)
def test_frame_k_of_the_file_shows_the_camera_at_k_over_fps(steps, fps) -> None:
    times = np.concatenate([[0.0], np.cumsum(steps)])
    written = _place_all(times, fps)
    slots = np.floor(times * fps + 0.5).astype(int)  # the slot nearest each frame's time
    assert len(written) == slots[-1] + 1
    for k, i in enumerate(written):
        taken = np.flatnonzero(slots == k)
        if taken.size:  # the first frame taken nearest k/fps is shown
            assert i == taken[0]
        else:  # no frame near k/fps: the previous one is held
            assert i == written[k - 1]


def test_the_offset_maps_recording_time_to_video_time() -> None:
    _, capture = stamp_frame(FrameTimeline(), 3.0, 7.0, 12.5)  # first frame at stream time 12.5
    assert capture.capture_start_s == pytest.approx(12.5)
    recording_start = 10.0
    link = VideoLink(
        video="x.mp4", offset_s=video_offset_s(capture.capture_start_s, recording_start)
    )
    assert link.offset_s == pytest.approx(2.5)
    # something seen 4 s into the video happened at stream time 16.5 = recording time 6.5
    assert link.to_video_time(16.5 - recording_start) == pytest.approx(4.0)
    assert link.to_recording_time(0.0) == pytest.approx(2.5)
    # a camera started before the recording gives a negative offset
    assert video_offset_s(8.0, 10.0) == pytest.approx(-2.0)
