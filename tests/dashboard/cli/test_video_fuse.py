"""``twitchscope video fuse``: each twitch with its movement, the unmatched of both, per site."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from twitchscope.dashboard.cli.main import main
from twitchscope.signal.core.model import Twitch
from twitchscope.signal.video.fuse import fuse
from twitchscope.signal.video.motion import Movement
from twitchscope.signal.video.tables import FUSION_COLUMNS, fusion_rows

SAMPLES = Path(__file__).resolve().parents[3] / "sample_recordings"


def test_fuse_writes_each_twitch_with_its_movement(
    video_sample: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "fused.csv"
    assert main(["video", "fuse", str(video_sample), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "with their movement" in printed and "agreement" in printed
    rows = list(csv.DictReader(out.open()))
    assert rows and list(rows[0])[-len(FUSION_COLUMNS) :] == list(FUSION_COLUMNS)
    twitches = [r for r in rows if r["motion"] in ("matched", "twitch only")]
    assert twitches and all(5.0 <= float(r["onset_s"]) < 35.0 for r in twitches)  # the video's
    outside = [r for r in rows if r["motion"] == "outside video"]
    assert outside and all(not 5.0 <= float(r["onset_s"]) < 35.0 for r in outside)
    assert all(r["motion_lag_ms"] == r["motion_grade"] == "" for r in outside)
    onsets = [float(r["onset_s"]) for r in rows if r["motion"] != "movement only"]
    assert onsets == sorted(onsets)
    matched = [r for r in twitches if r["motion"] == "matched"]
    assert len(matched) >= 0.9 * len(twitches)
    # the simulated muscle moves 30 ms after its EMG onset
    assert all(0.0 <= float(r["motion_lag_ms"]) <= 60.0 for r in matched)
    assert {r["motion_speed_unit"] for r in matched} == {"px/s"}
    assert {r["motion_grade"] for r in matched} >= {"strong", "medium"}

    js = tmp_path / "fused.json"
    assert main(["video", "fuse", str(video_sample), "--out", str(js)]) == 0
    data = json.loads(js.read_text())
    assert data["speed_unit"] == "px/s"
    (site,) = data["sites"]
    assert site["site"] == "R medial gastrocnemius TrP1" and site["agreement"] >= 0.9
    capsys.readouterr()


def test_fuse_lists_twitches_and_movements_without_the_other() -> None:
    twitches = [Twitch(1.0, 1.1, "A"), Twitch(3.0, 3.1, "A")]
    movements = [Movement(0.53, 0.7, 40.0, "medium"), Movement(7.0, 7.2, 90.0, "strong")]
    # video time = recording time - 0.5: the first movement starts 30 ms after twitch 1
    outside = [Twitch(0.2, 0.3, "A")]
    rows = fusion_rows(fuse(twitches, movements, offset_s=0.5), unit="mm/s", outside=outside)
    assert [r["motion"] for r in rows] == [
        "outside video",
        "matched",
        "twitch only",
        "movement only",
    ]
    assert [r["motion_speed_unit"] for r in rows] == [None, "mm/s", None, "mm/s"]
    rows = rows[1:]
    assert rows[0]["motion_lag_ms"] == pytest.approx(30.0)
    assert rows[2]["onset_s"] == pytest.approx(7.5) and rows[2]["channel"] is None


def test_fuse_without_a_link_or_with_a_bad_extension_is_one_line(
    video_sample: Path, tmp_path: Path, capsys
) -> None:
    assert main(["video", "fuse", str(video_sample), "--out", str(tmp_path / "f.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and ".csv or .json" in err[0]
    bare = tmp_path / "bare.edf"
    shutil.copy(SAMPLES / "not_a_twitch_1khz.edf", bare)
    assert main(["video", "fuse", str(bare), "--out", str(tmp_path / "f.csv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("twitchscope: error:")
