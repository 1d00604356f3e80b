"""Twitches and rejected candidates to and from CSV and JSON."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import RejectedCandidate, RejectReason, Twitch
from twitchscope.signal.io.events import (
    EVENT_COLUMNS,
    REJECTED_COLUMNS,
    read_events,
    read_rejected,
    rejected_row,
    twitch_row,
    write_events,
    write_rejected,
)

TWITCHES = [
    Twitch(1.5, 1.62, "R-LevScap", channels=("R-LevScap", "R-UpTrap"), peak_v=1.234e-4,
           rms_v=4.5e-5, snr_db=12.5, area_vs=3.1e-6, site="R levator scapulae TrP1",
           latency_s=0.4375, median_freq_hz=87.5, confidence=0.875),
    Twitch(3.0, 3.1, "R-UpTrap"),  # features absent
]  # fmt: skip
REJECTED = [
    RejectedCandidate(0.8, 0.9, "R-UpTrap", RejectReason.ECG, peak_v=2e-4, detail="QRS, 72 bpm"),
    RejectedCandidate(5.0, 6.8, "R-LevScap", RejectReason.SUSTAINED, detail="1.8 s, limit 1.0 s"),
    RejectedCandidate(7.0, 7.01, "R-LevScap", RejectReason.POP),
]


def _same_twitch(a: Twitch, b: Twitch) -> None:
    assert (a.channel, a.channels, a.site) == (b.channel, b.channels, b.site)
    for name in ("onset_s", "offset_s", "peak_v", "rms_v", "snr_db", "area_vs", "confidence"):
        x, y = getattr(a, name), getattr(b, name)
        assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-9), name
    for name in ("latency_s", "median_freq_hz"):
        x, y = getattr(a, name), getattr(b, name)
        assert (x is None and y is None) or x == pytest.approx(y, rel=1e-9), name


def test_twitch_row_is_the_ordered_export_row() -> None:
    row = twitch_row(TWITCHES[0])
    assert tuple(row) == EVENT_COLUMNS
    assert row["peak_uv"] == 123.4 and row["rms_uv"] == 45.0 and row["area_uvs"] == 3.1
    assert row["duration_ms"] == 120.0 and row["latency_ms"] == 437.5
    assert row["channels"] == "R-LevScap;R-UpTrap" and row["site"] == "R levator scapulae TrP1"
    assert row["confidence"] == 0.875
    bare = twitch_row(TWITCHES[1])
    assert bare["confidence"] is None
    assert bare["peak_uv"] is None and bare["latency_ms"] is None and bare["site"] is None
    assert bare["duration_ms"] == 100.0


def test_rejected_row_is_the_ordered_export_row() -> None:
    row = rejected_row(REJECTED[0])
    assert tuple(row) == REJECTED_COLUMNS
    assert row["reason"] == RejectReason.ECG.value and row["peak_uv"] == 200.0
    assert rejected_row(REJECTED[1])["peak_uv"] is None


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_events_round_trip(tmp_path: Path, ext: str) -> None:
    path = write_events(tmp_path / f"events.{ext}", TWITCHES)
    back = read_events(path)
    assert len(back) == 2
    for a, b in zip(back, TWITCHES, strict=True):
        _same_twitch(a, b)


def test_events_csv_columns_are_in_microvolts_and_ms(tmp_path: Path) -> None:
    path = write_events(tmp_path / "events.csv", TWITCHES)
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == EVENT_COLUMNS
    first, second = rows
    assert float(first["peak_uv"]) == pytest.approx(123.4)
    assert float(first["rms_uv"]) == pytest.approx(45.0)
    assert float(first["area_uvs"]) == pytest.approx(3.1)
    assert float(first["duration_ms"]) == pytest.approx(120.0)
    assert float(first["latency_ms"]) == pytest.approx(437.5)
    assert first["channels"] == "R-LevScap;R-UpTrap"
    assert second["peak_uv"] == second["median_freq_hz"] == second["site"] == ""
    assert second["latency_ms"] == ""


def test_events_json_uses_null_for_absent(tmp_path: Path) -> None:
    path = write_events(tmp_path / "events.json", TWITCHES)
    records = json.loads(path.read_text())
    assert list(records[0]) == list(EVENT_COLUMNS)
    assert records[1]["peak_uv"] is None and records[1]["site"] is None
    assert records[0]["peak_uv"] == pytest.approx(123.4)


def test_events_minimal_scorer_file(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("onset_s,offset_s,channel\n1.0,1.05,APB\n")
    (tw,) = read_events(path)
    assert (tw.onset_s, tw.offset_s, tw.channel, tw.channels) == (1.0, 1.05, "APB", ("APB",))
    assert math.isnan(tw.peak_v) and tw.latency_s is None


def test_empty_events_round_trip(tmp_path: Path) -> None:
    for ext in ("csv", "json"):
        assert read_events(write_events(tmp_path / f"none.{ext}", [])) == []


@pytest.mark.parametrize("ext", ["csv", "json"])
def test_rejected_round_trip(tmp_path: Path, ext: str) -> None:
    path = write_rejected(tmp_path / f"rejected.{ext}", REJECTED)
    back = read_rejected(path)
    assert [(r.onset_s, r.offset_s, r.channel, r.reason, r.detail) for r in back] == [
        (r.onset_s, r.offset_s, r.channel, r.reason, r.detail) for r in REJECTED
    ]
    assert back[0].peak_v == pytest.approx(2e-4) and math.isnan(back[1].peak_v)


def test_rejected_csv_columns(tmp_path: Path) -> None:
    path = write_rejected(tmp_path / "rejected.csv", REJECTED)
    with path.open() as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == REJECTED_COLUMNS
    assert rows[0]["reason"] == "ecg" and float(rows[0]["peak_uv"]) == pytest.approx(200.0)
    assert rows[0]["detail"] == "QRS, 72 bpm"


def test_bad_number_names_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("onset_s,offset_s,channel,peak_uv\n1.0,1.1,APB,12\n2.0,2.1,APB,big\n")
    with pytest.raises(FileFormatError, match=r"events.csv: line 3, column 'peak_uv' holds 'big'"):
        read_events(path)
    js = tmp_path / "events.json"
    js.write_text('[{"onset_s": 1.0, "offset_s": "late", "channel": "APB"}]')
    with pytest.raises(FileFormatError, match=r"item 0, column 'offset_s' holds 'late'"):
        read_events(js)


def test_missing_required_column(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("onset_s,channel\n1.0,APB\n")
    with pytest.raises(FileFormatError, match=r"lacks columns \['offset_s'\]"):
        read_events(path)
    rej = tmp_path / "rejected.csv"
    rej.write_text("onset_s,offset_s,channel\n1.0,1.1,APB\n")
    with pytest.raises(FileFormatError, match=r"lacks columns \['reason'\]"):
        read_rejected(rej)


def test_empty_required_cell_and_bad_span(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("onset_s,offset_s,channel\n1.0,1.1,\n")
    with pytest.raises(FileFormatError, match="line 2, column 'channel' holds an empty cell"):
        read_events(path)
    path.write_text("onset_s,offset_s,channel\n2.0,1.0,APB\n")
    with pytest.raises(FileFormatError, match="events.csv: line 2: twitch needs .*duration"):
        read_events(path)


def test_unknown_reason(tmp_path: Path) -> None:
    path = tmp_path / "rejected.csv"
    path.write_text("onset_s,offset_s,channel,reason\n1.0,1.1,APB,ghost\n")
    with pytest.raises(FileFormatError, match="unknown reject reason 'ghost'; expected one of"):
        read_rejected(path)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="events file not found"):
        read_events(tmp_path / "nope.csv")
    with pytest.raises(FileFormatError, match=r"unsupported events file extension '.xlsx'"):
        write_events(tmp_path / "events.xlsx", TWITCHES)
    bad = tmp_path / "events.json"
    bad.write_text("{not json")
    with pytest.raises(FileFormatError, match="is not valid JSON"):
        read_events(bad)
    bad.write_text('{"onset_s": 1}')
    with pytest.raises(FileFormatError, match="not a JSON array of objects"):
        read_events(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(FileFormatError, match="empty.csv is empty"):
        read_events(empty)


def test_confidence_outside_zero_one_names_the_cell(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text("onset_s,offset_s,channel,confidence\n1.0,1.1,A,1.5\n")
    with pytest.raises(FileFormatError, match="confidence"):
        read_events(path)
