"""``detect`` and ``report`` on a recording with a video: each twitch with its movement."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from twitchscope.dashboard.cli.main import main
from twitchscope.signal.io.events import EVENT_COLUMNS, read_events
from twitchscope.signal.video.link import VideoLink, write_link
from twitchscope.signal.video.tables import FUSION_COLUMNS

pytest.importorskip("cv2")


def _table(html: str, table_id: str) -> list[dict[str, str]]:
    body = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert body is not None, f"no table {table_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    cells = [dict(re.findall(r'<td data-col="([^"]*)">(.*?)</td>', r, re.S)) for r in rows]
    return [c for c in cells if c]


def test_detect_writes_the_movement_of_each_twitch(
    video_sample: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "events.csv"
    assert main(["detect", str(video_sample), "--preset", "limb", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "twitches with their movement" in printed and "agreement" in printed
    with out.open() as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames or ()) == (*EVENT_COLUMNS, *FUSION_COLUMNS)
        rows = list(reader)
    matched = [r for r in rows if r["motion"] == "matched"]
    outside = [r for r in rows if r["motion"] == "outside video"]
    assert len(matched) >= 5 and outside
    assert all(0 <= float(r["motion_lag_ms"]) <= 60 and r["motion_grade"] for r in matched)
    assert all(not 5.0 <= float(r["onset_s"]) < 35.0 for r in outside)
    # still an events file: every twitch reads back, the same as without the video
    plain = tmp_path / "plain.csv"
    assert (
        main(["detect", str(video_sample), "--preset", "limb", "--out", str(plain), "--no-video"])
        == 0
    )
    assert "movement" not in capsys.readouterr().out
    with plain.open() as f:
        assert tuple(csv.DictReader(f).fieldnames or ()) == EVENT_COLUMNS
    assert [t.onset_s for t in read_events(out)] == [t.onset_s for t in read_events(plain)]


def test_detect_json_and_printed_table_carry_the_movement(
    video_sample: Path, tmp_path: Path, capsys
) -> None:
    out = tmp_path / "events.json"
    assert main(["detect", str(video_sample), "--preset", "limb", "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["speed_unit"] == "px/s"
    assert data["sites"][0]["site"] == "R medial gastrocnemius TrP1"
    assert {e["motion"] for e in data["events"]} >= {"matched", "outside video"}
    capsys.readouterr()
    assert main(["detect", str(video_sample), "--preset", "limb"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert "movement (lag ms, peak px/s, grade)" in printed[0]
    assert any(line.rstrip().endswith(("strong", "medium", "weak")) for line in printed[1:])
    assert any(line.rstrip().endswith("outside the video") for line in printed[1:])


def test_a_video_that_cannot_be_used_is_said_and_the_events_still_written(
    video_sample: Path, tmp_path: Path, capsys
) -> None:
    write_link(video_sample, VideoLink(video=tmp_path / "gone.mp4", offset_s=5.0))
    out = tmp_path / "events.csv"
    assert main(["detect", str(video_sample), "--preset", "limb", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "video not used:" in printed and "gone.mp4" in printed
    assert read_events(out)


@pytest.mark.parametrize("ext", [".html", ".pdf"])
def test_report_has_the_movement_section(
    video_sample: Path, tmp_path: Path, ext: str, capsys
) -> None:
    out = tmp_path / f"report{ext}"
    assert main(["report", str(video_sample), "--preset", "limb", "--out", str(out)]) == 0
    assert "twitches with their movement" in capsys.readouterr().out
    if ext == ".pdf":
        assert out.read_bytes().startswith(b"%PDF") and out.stat().st_size > 10_000
        return
    html = out.read_text(encoding="utf-8")
    assert "Movement in the attached video" in html
    (site,) = _table(html, "motion_sites")
    assert site["site"] == "R medial gastrocnemius TrP1"
    assert int(site["matched"]) >= 0.9 * int(site["twitches"])
    events = _table(html, "motion_events")
    assert {"matched", "outside video"} <= {e["motion"] for e in events}
    assert all(
        e["grade"] in ("strong", "medium", "weak") for e in events if e["motion"] == "matched"
    )
    assert "-50 to +300 ms" in html
    bare = tmp_path / "bare.html"
    assert (
        main(["report", str(video_sample), "--preset", "limb", "--out", str(bare), "--no-video"])
        == 0
    )
    assert "motion_sites" not in bare.read_text(encoding="utf-8")
    capsys.readouterr()
