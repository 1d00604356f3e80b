"""EMG twitches matched to video movements, by hand-made events and end to end."""

from __future__ import annotations

import math

import pytest

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite, Twitch
from twitchscope.signal.video.fuse import FuseConfig, fuse
from twitchscope.signal.video.link import VideoLink, read_link, write_link
from twitchscope.signal.video.motion import Movement, measure_motion
from twitchscope.signal.video.synthetic import SyntheticVideoSpec, VideoTwitch, write_video


def _tw(onset: float, site: str | None = None) -> Twitch:
    return Twitch(onset_s=onset, offset_s=onset + 0.08, channel="ch1", site=site)


def _mv(onset: float, speed: float = 50.0, grade: str = "medium") -> Movement:
    return Movement(onset_s=onset, offset_s=onset + 0.2, peak_speed=speed, grade=grade)


def test_matches_with_the_offset_and_lag_window() -> None:
    # video time = recording time - 10
    twitches = [_tw(12.0, "A"), _tw(15.0, "A"), _tw(20.0, "B")]
    movements = [_mv(2.1, 90.0, "strong"), _mv(5.5), _mv(9.96, 10.0, "weak"), _mv(30.0)]
    result = fuse(twitches, movements, offset_s=10.0)
    first, second, third = result.matches
    assert first.lag_s == pytest.approx(0.1) and first.grade == "strong"
    assert first.peak_speed == 90.0 and first.movement is not None
    assert first.movement.onset_s == pytest.approx(12.1)  # in recording time
    assert second.movement is None and second.lag_s is None and second.grade is None
    assert third.lag_s == pytest.approx(-0.04) and third.grade == "weak"
    assert [t.onset_s for t in result.twitches_without_movement] == [15.0]
    assert [m.onset_s for m in result.movements_without_twitch] == pytest.approx([15.5, 40.0])


def test_matching_is_one_to_one_nearest_lag_first() -> None:
    result = fuse([_tw(1.0), _tw(1.1)], [_mv(1.15)], offset_s=0.0)
    a, b = result.matches
    assert a.movement is None
    assert b.lag_s == pytest.approx(0.05)
    assert result.twitches_without_movement == (_tw(1.0),)


def test_lag_window_edges_are_settable() -> None:
    twitches, movements = [_tw(1.0)], [_mv(1.4)]
    assert fuse(twitches, movements, offset_s=0.0).matches[0].movement is None
    wide = fuse(twitches, movements, offset_s=0.0, config=FuseConfig(max_lag_s=0.5))
    assert wide.matches[0].lag_s == pytest.approx(0.4)
    with pytest.raises(ConfigError):
        FuseConfig(min_lag_s=0.3, max_lag_s=0.1)
    with pytest.raises(ConfigError):
        fuse(twitches, movements, offset_s=math.inf)


def test_agreement_per_site() -> None:
    sites = [NeedleSite("A", 0.0, 10.0), NeedleSite("B", 10.0, 10.0)]
    twitches = [_tw(1.0), _tw(3.0), _tw(5.0), _tw(12.0, "B")]
    movements = [_mv(1.1), _mv(3.05), _mv(7.0), _mv(12.2), _mv(25.0)]
    result = fuse(twitches, movements, offset_s=0.0, sites=sites)
    by_site = {s.site: s for s in result.sites}
    a, b, none = by_site["A"], by_site["B"], by_site[None]
    assert (a.n_twitches, a.n_matched, a.n_unmatched_movements) == (3, 2, 1)
    assert a.agreement == pytest.approx(2 / 4)
    assert (b.n_twitches, b.n_matched, b.agreement) == (1, 1, 1.0)
    assert (none.n_twitches, none.n_unmatched_movements, none.agreement) == (0, 1, 0.0)
    assert [s.site for s in result.sites] == ["A", "B", None]


def test_synthetic_video_fused_with_its_twitches(tmp_path) -> None:
    pytest.importorskip("cv2")
    onsets = (2.0, 4.5, 7.0)
    spec = SyntheticVideoSpec(
        duration_s=9.0,
        twitches=tuple(VideoTwitch(t, s) for t, s in zip(onsets, (130.0, 45.0, 20.0), strict=True)),
    )
    video = write_video(tmp_path / "us.mp4", spec, seed=4)
    recording = tmp_path / "rec.fif"
    recording.write_bytes(b"")
    write_link(recording, VideoLink(video=video.path, offset_s=3.0, roi=(10, 10, 140, 100)))
    link = read_link(recording)
    motion = measure_motion(link.video, roi=link.roi, scale=link.scale_mm_per_px)
    # the EMG twitch precedes the movement by 20 ms, in recording time
    twitches = [_tw(t + link.offset_s - 0.02, "TrP1") for t in onsets]
    twitches.append(_tw(13.0, "TrP1"))  # EMG only, after the video ends
    result = fuse(twitches, motion.movements, offset_s=link.offset_s)
    assert [m.grade for m in result.matches[:3]] == ["strong", "medium", "weak"]
    lags = [m.lag_s for m in result.matches[:3]]
    assert all(lag is not None and abs(lag - 0.02) <= 1 / 30 + 0.02 for lag in lags)
    assert [t.onset_s for t in result.twitches_without_movement] == [13.0]
    assert result.movements_without_twitch == ()
    (site,) = result.sites
    assert (site.site, site.n_matched, site.total) == ("TrP1", 3, 4)
