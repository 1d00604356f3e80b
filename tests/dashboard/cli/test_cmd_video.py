"""``twitchscope motion`` and ``twitchscope video attach`` on real video files.

The subcommands are registered on a fresh parser (the module's ``register``), exactly
as ``twitchscope.dashboard.cli.main`` does for its listed modules.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import pytest

from twitchscope.dashboard.cli import video as cmd
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.video.backend import INSTALL_HINT
from twitchscope.signal.video.link import read_link
from twitchscope.signal.video.synthetic import SyntheticVideoSpec, VideoTwitch, write_video
from twitchscope.signal.video.tables import read_movements, read_trace

pytest.importorskip("cv2")

ONSETS = (2.0, 5.0, 8.0)
SPEEDS = (130.0, 45.0, 20.0)


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="twitchscope")
    cmd.register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def _run(argv: list[str]) -> int:
    args = _parse(argv)
    return int(args.func(args))


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    spec = SyntheticVideoSpec(
        duration_s=10.0,
        twitches=tuple(VideoTwitch(t, s) for t, s in zip(ONSETS, SPEEDS, strict=True)),
    )
    return write_video(tmp_path_factory.mktemp("cli") / "us.mp4", spec, seed=9).path


def test_motion_writes_movements_and_trace(video, tmp_path, capsys) -> None:
    out, trace = tmp_path / "motion.csv", tmp_path / "trace.csv"
    argv = ["motion", str(video), "--roi", "10,10,140,100", "--out", str(out)]
    assert _run([*argv, "--trace", str(trace)]) == 0
    with out.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["onset_s", "offset_s", "peak_speed", "grade"]
    assert [r["grade"] for r in rows] == ["strong", "medium", "weak"]
    onsets = [float(r["onset_s"]) for r in rows]
    assert onsets == pytest.approx(ONSETS, abs=1 / 30 + 0.02)
    assert [m.onset_s for m in read_movements(out)] == onsets
    times, speed = read_trace(trace)
    assert trace.read_text().splitlines()[0] == "time_s,speed"
    assert len(times) == 299 and speed.max() == pytest.approx(
        max(float(r["peak_speed"]) for r in rows), abs=1e-3
    )
    printed = capsys.readouterr().out
    assert "3 movements (1 strong, 1 medium, 1 weak)" in printed and "px/s" in printed


def test_motion_scale_range_and_thresholds(video, tmp_path) -> None:
    out = tmp_path / "mm.csv"
    argv = ["motion", str(video), "--scale", "0.1", "--start", "4", "--end", "9"]
    assert _run([*argv, "--strong", "6", "--medium", "2.5", "--out", str(out)]) == 0
    moves = read_movements(out)
    assert [round(m.onset_s) for m in moves] == [5, 8]
    assert [m.grade for m in moves] == ["medium", "weak"]
    assert all(m.peak_speed < 6.0 for m in moves)  # mm/s: a tenth of the px/s


def test_motion_refuses_bad_arguments(video, tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        _parse(["motion", str(video), "--roi", "1,2,3", "--out", "m.csv"])
    assert exc.value.code == 2
    assert "X,Y,W,H" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parse(["motion", str(video), "--scale", "-1", "--out", "m.csv"])
    with pytest.raises(FileFormatError, match=r"\.csv"):
        _run(["motion", str(video), "--out", str(tmp_path / "m.json")])
    with pytest.raises(ConfigError, match="--medium"):
        _run(["motion", str(video), "--medium", "9", "--strong", "5", "--out", "m.csv"])
    with pytest.raises(ConfigError, match="does not fit"):
        _run(["motion", str(video), "--roi", "100,100,100,100", "--out", str(tmp_path / "m.csv")])


def test_attach_writes_the_sidecar(video, tmp_path, capsys) -> None:
    rec = tmp_path / "session.edf"
    rec.write_bytes(b"")
    argv = ["video", "attach", str(rec), str(video), "--offset", "1.5"]
    assert _run([*argv, "--roi", "10,10,140,100", "--scale", "0.2"]) == 0
    sidecar = tmp_path / "session.video.json"
    data = json.loads(sidecar.read_text())
    assert data["offset_s"] == 1.5 and data["roi"] == [10, 10, 140, 100]
    link = read_link(rec)
    assert link.video == video.resolve() and link.scale_mm_per_px == 0.2
    assert "session.video.json" in capsys.readouterr().out


def test_attach_refuses_what_cannot_work(video, tmp_path) -> None:
    rec = tmp_path / "s.fif"
    with pytest.raises(FileFormatError, match="no such recording"):
        _run(["video", "attach", str(rec), str(video)])
    rec.write_bytes(b"")
    with pytest.raises(FileFormatError, match="no such video"):
        _run(["video", "attach", str(rec), str(tmp_path / "none.mp4")])
    with pytest.raises(ConfigError, match="does not fit"):
        _run(["video", "attach", str(rec), str(video), "--roi", "0,0,400,300"])
    assert not (tmp_path / "s.video.json").exists()


def test_without_opencv_both_commands_say_what_to_install(video, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)
    rec = tmp_path / "s.edf"
    rec.write_bytes(b"")
    for argv in (
        ["motion", str(video), "--out", str(tmp_path / "m.csv")],
        ["video", "attach", str(rec), str(video)],
    ):
        with pytest.raises(ConfigError) as exc:
            _run(argv)
        assert str(exc.value) == INSTALL_HINT
    assert not (tmp_path / "m.csv").exists() and not (tmp_path / "s.video.json").exists()
