"""``twitchscope video clip`` and ``twitchscope video attach --sync auto`` on real files."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from twitchscope.dashboard.cli import video as cmd
from twitchscope.dashboard.cli.main import main
from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite, RecordingEvents
from twitchscope.signal.io.writers import write_recording
from twitchscope.signal.video.link import read_link
from twitchscope.signal.video.synthetic import SyntheticVideoSpec, write_video

cv2 = pytest.importorskip("cv2")

SAMPLES = Path(__file__).resolve().parents[3] / "sample_recordings"
STEM = "gastrocnemius_limb_2khz"
FPS = 30.0


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="twitchscope")
    cmd.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_clip_one_twitch_as_gif_and_all_as_mp4(video_sample, tmp_path, capsys) -> None:
    from PIL import Image

    gif = tmp_path / "t2.gif"
    assert _run(["video", "clip", str(video_sample), "--twitch", "2", "--out", str(gif)]) == 0
    with Image.open(gif) as im:
        assert im.n_frames == round(2.5 * FPS) and im.size == (320 + 360, 240)
    assert "twitch 2 at 12.47 s, 75 frames 680x240" in capsys.readouterr().out
    folder = tmp_path / "clips"
    argv = ["video", "clip", str(video_sample), "--all", "--before", "0.5", "--after", "0.5"]
    assert _run([*argv, "--out", str(folder)]) == 0
    clips = sorted(folder.glob("*.mp4"))
    # the video covers 5-35 s of the recording: the 9 twitches of the first site
    assert [p.name for p in clips] == [f"{STEM}_twitch{n:02d}.mp4" for n in range(1, 10)]
    cap = cv2.VideoCapture(str(clips[0]))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == round(1.0 * FPS)
    cap.release()
    assert "10 twitches outside the video skipped" in capsys.readouterr().out


def test_clip_refuses_what_cannot_work(video_sample, tmp_path, capsys) -> None:
    with pytest.raises(ConfigError, match="outside the video"):
        _run(
            ["video", "clip", str(video_sample), "--twitch", "15", "--out", str(tmp_path / "a.mp4")]
        )
    with pytest.raises(ConfigError, match=r"has 19 twitches \(1\.\.19\)"):
        _run(
            ["video", "clip", str(video_sample), "--twitch", "40", "--out", str(tmp_path / "a.mp4")]
        )
    # the command line: one line, exit 2
    argv = ["video", "clip", str(video_sample), "--twitch", "1", "--out", str(tmp_path / "a.avi")]
    assert main(argv) == 2
    assert "twitchscope: error:" in capsys.readouterr().err
    bare = tmp_path / "bare.edf"
    shutil.copy(video_sample, bare)
    with pytest.raises(Exception, match="no attached video"):
        _run(["video", "clip", str(bare), "--twitch", "1", "--out", str(tmp_path / "b.mp4")])


def test_attach_sync_auto_from_needle_in_and_emg(tmp_path, video_sample, capsys) -> None:
    # a recording with three needle-ins, and a video whose LED flashes at each, 1.8 s earlier
    offset, needle_in = 1.8, (2.5, 7.0, 11.0)
    sfreq = 500.0
    events = RecordingEvents(
        sites=tuple(
            NeedleSite(label=f"P{i}", onset_s=t, duration_s=1.5) for i, t in enumerate(needle_in)
        )
    )
    data = np.random.default_rng(0).normal(0, 5e-6, (1, int(14 * sfreq)))
    rec = tmp_path / "led_session.fif"
    write_recording(make_raw(data, sfreq=sfreq, ch_names=["APB"], events=events), rec)
    spec = SyntheticVideoSpec(duration_s=12.0, flashes=tuple((t - offset, 0.2) for t in needle_in))
    video = write_video(tmp_path / "led.mp4", spec, seed=2).path
    roi = ",".join(str(v) for v in spec.flash_roi)
    assert _run(["video", "attach", str(rec), str(video), "--sync", "auto", "--roi", roi]) == 0
    link = read_link(rec)
    assert abs(link.offset_s - offset) <= 1 / FPS
    assert link.sync_event == "needle-in" and link.sync_n_checked == 2
    assert link.sync_residual_s is not None and link.sync_residual_s <= 1 / FPS
    stored = json.loads((tmp_path / "led_session.video.json").read_text())
    assert stored["sync"]["event"] == "needle-in" and stored["roi"] == list(spec.flash_roi)
    out = capsys.readouterr().out
    assert "found from needle-in" in out and "over 2 other matched events" in out
    assert "--offset" in out
    # the bundled sample: its twitches and their movements give its 5 s offset
    argv = [
        "video",
        "attach",
        str(video_sample),
        str(video_sample.with_suffix(".mp4")),
        "--sync",
        "auto",
    ]
    assert _run([*argv, "--sync-event", "emg", "--sync-kind", "motion"]) == 0
    assert abs(read_link(video_sample).offset_s - 5.0) <= 1 / FPS


def test_attach_sync_auto_refusals(tmp_path, video_sample) -> None:
    video = str(video_sample.with_suffix(".mp4"))
    with pytest.raises(ConfigError, match="either --offset"):
        _run(["video", "attach", str(video_sample), video, "--sync", "auto", "--offset", "1"])
    with pytest.raises(ConfigError, match="no annotation 'LED'"):
        _run(
            [
                "video",
                "attach",
                str(video_sample),
                video,
                "--sync",
                "auto",
                "--sync-event",
                "marker:LED",
            ]
        )
    with pytest.raises(ConfigError, match="marker:LABEL"):
        _run(["video", "attach", str(video_sample), video, "--sync", "auto", "--sync-event", "tap"])
