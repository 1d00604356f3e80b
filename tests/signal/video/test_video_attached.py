"""``fuse_attached``: a recording's twitches with its video's movements; fused tables read back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.errors import FileFormatError, TwitchscopeError
from twitchscope.signal.core.model import Twitch
from twitchscope.signal.detect.config import preset
from twitchscope.signal.detect.run import detect_recording
from twitchscope.signal.io.events import read_events, write_events
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.video.attached import fuse_attached, has_video
from twitchscope.signal.video.fuse import FuseConfig, fuse
from twitchscope.signal.video.link import VideoLink, write_link
from twitchscope.signal.video.motion import Movement
from twitchscope.signal.video.tables import write_fusion

pytest.importorskip("cv2")

SAMPLES = Path(__file__).resolve().parents[3] / "sample_recordings"


def test_twitches_inside_the_video_get_their_movement_the_others_are_outside(
    video_sample: Path,
) -> None:
    raw = read_recording(video_sample, preload=True)
    twitches = detect_recording(raw, preset("limb")).twitches
    fused = fuse_attached(video_sample, twitches, sites=recording_events(raw).sites)
    assert fused is not None and has_video(video_sample)
    lo, hi = fused.span_s
    assert (lo, hi) == pytest.approx((5.0, 35.0), abs=0.05)  # offset 5 s, a 30 s video
    inside = [m.twitch for m in fused.fusion.matches]
    assert inside and all(lo <= t.onset_s < hi for t in inside)
    assert fused.outside and all(not lo <= t.onset_s < hi for t in fused.outside)
    assert len(inside) + len(fused.outside) == len(twitches)
    assert fused.n_moved >= 0.9 * len(inside)
    assert fused.unit == "px/s"
    assert f"{fused.n_moved} of {len(inside)} twitches" in fused.summary()
    (line,) = fused.agreement_lines()
    assert line.startswith("R medial gastrocnemius TrP1:")
    # a narrower lag window than the simulated 30 ms delay matches nothing
    narrow = fuse_attached(
        video_sample, twitches, config=FuseConfig(min_lag_s=-0.05, max_lag_s=0.0)
    )
    assert narrow is not None and narrow.n_moved == 0 and narrow.config.max_lag_s == 0.0


def test_a_recording_without_a_link_has_no_fusion(tmp_path: Path) -> None:
    bare = tmp_path / "bare.edf"
    shutil.copy(SAMPLES / "not_a_twitch_1khz.edf", bare)
    assert not has_video(bare)
    assert fuse_attached(bare, [Twitch(1.0, 1.1, "A")]) is None


def test_a_link_to_a_missing_video_is_an_error_naming_it(
    video_sample: Path, tmp_path: Path
) -> None:
    write_link(video_sample, VideoLink(video=tmp_path / "gone.mp4"))
    with pytest.raises(TwitchscopeError, match="gone.mp4"):
        fuse_attached(video_sample, [Twitch(1.0, 1.1, "A")])


@pytest.mark.parametrize("ext", [".csv", ".json"])
def test_a_fused_table_reads_back_as_its_twitches(tmp_path: Path, ext: str) -> None:
    twitches = [Twitch(1.0, 1.1, "A", confidence=0.9), Twitch(3.0, 3.12, "B")]
    outside = [Twitch(0.2, 0.3, "A")]
    movements = [Movement(0.53, 0.7, 40.0, "medium"), Movement(7.0, 7.2, 90.0, "strong")]
    fusion = fuse(twitches, movements, offset_s=0.5)
    path = write_fusion(tmp_path / f"fused{ext}", fusion, unit="mm/s", outside=outside)
    back = read_events(path)  # the movement without a twitch is not read as one
    assert [(t.onset_s, t.channel) for t in back] == [(0.2, "A"), (1.0, "A"), (3.0, "B")]
    assert back[1].confidence == pytest.approx(0.9)
    if ext == ".json":
        data = json.loads(path.read_text())
        assert data["speed_unit"] == "mm/s" and len(data["events"]) == 4
    # a plain events file still reads as before
    plain = write_events(tmp_path / f"plain{ext}", twitches)
    assert len(read_events(plain)) == 2


def test_a_json_object_without_events_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"rows": []}))
    with pytest.raises(FileFormatError, match='"events" array'):
        read_events(path)
