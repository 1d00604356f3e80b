"""The recording's video sidecar ``<stem>.video.json``: round trip and clear errors."""

from __future__ import annotations

import json
import shutil

import pytest

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.video.link import VideoLink, link_path, read_link, write_link


def test_link_path_drops_the_recording_extension(tmp_path) -> None:
    assert link_path(tmp_path / "s1.edf") == tmp_path / "s1.video.json"
    assert link_path(tmp_path / "s1.raw.fif.gz") == tmp_path / "s1.raw.video.json"
    assert link_path(tmp_path / "s1.csv") == tmp_path / "s1.video.json"


def test_round_trip_with_a_relative_video_path(tmp_path) -> None:
    folder = tmp_path / "session"
    (folder / "clips").mkdir(parents=True)
    rec = folder / "s1.fif"
    rec.write_bytes(b"")
    video = folder / "clips" / "s1.mp4"
    video.write_bytes(b"")
    link = VideoLink(video=video, offset_s=2.5, roi=(10, 20, 100, 80), scale_mm_per_px=0.12)
    path = write_link(rec, link)
    stored = json.loads(path.read_text())
    assert stored["video"] == "clips/s1.mp4"
    assert stored["roi"] == [10, 20, 100, 80]
    assert read_link(rec) == link
    # the folder moves as a whole: the relative path still finds the video
    moved = shutil.move(str(folder), str(tmp_path / "moved"))
    back = read_link(f"{moved}/s1.fif")
    assert back.video == tmp_path / "moved" / "clips" / "s1.mp4"
    assert back.offset_s == 2.5 and back.to_video_time(10.0) == 7.5
    assert back.to_recording_time(7.5) == 10.0


def test_defaults_round_trip_as_null(tmp_path) -> None:
    rec = tmp_path / "s2.edf"
    path = write_link(rec, VideoLink(video=tmp_path / "elsewhere" / "v.mp4"))
    stored = json.loads(path.read_text())
    assert stored["roi"] is None and stored["scale_mm_per_px"] is None
    assert stored["video"] == "elsewhere/v.mp4"
    assert read_link(rec) == VideoLink(video=tmp_path / "elsewhere" / "v.mp4")


def test_missing_sidecar_says_how_to_attach(tmp_path) -> None:
    with pytest.raises(FileFormatError, match="twitchscope video attach"):
        read_link(tmp_path / "s3.edf")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not a readable JSON"),
        ('{"offset_s": 1}', '"video" path'),
        ('{"video": "v.mp4", "offset_s": "soon"}', "offset_s must be a number"),
        ('{"video": "v.mp4", "roi": [1, 2, 3]}', "roi must be null"),
        ('{"video": "v.mp4", "roi": [1, 2, 0, 4]}', "region of interest"),
        ('{"video": "v.mp4", "scale_mm_per_px": -2}', "scale"),
        ('{"video": "v.mp4", "version": 7}', "version 7"),
    ],
)
def test_bad_sidecars_are_refused(tmp_path, content, match) -> None:
    (tmp_path / "s4.video.json").write_text(content)
    with pytest.raises(FileFormatError, match=match):
        read_link(tmp_path / "s4.edf")


def test_bad_links_are_refused() -> None:
    with pytest.raises(ConfigError):
        VideoLink(video="v.mp4", offset_s=float("nan"))
    with pytest.raises(ConfigError):
        VideoLink(video="v.mp4", roi=(0, 0, -5, 10))
    with pytest.raises(ConfigError):
        VideoLink(video="v.mp4", scale_mm_per_px=0.0)
