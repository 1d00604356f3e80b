"""The dashboard's event and rejected tables are display views of the export rows."""

from __future__ import annotations

import math

from twitchscope.dashboard.app.panels import (
    EVENT_TABLE_DECIMALS,
    REJECTED_TABLE_DECIMALS,
    event_frame,
    rejected_frame,
)
from twitchscope.signal.core.model import RejectedCandidate, RejectReason, Twitch
from twitchscope.signal.io.events import EVENT_COLUMNS, REJECTED_COLUMNS, twitch_row

TWITCHES = [
    Twitch(1.5, 1.62, "R-LevScap", channels=("R-LevScap", "R-UpTrap"), peak_v=1.2345e-4,
           rms_v=4.56e-5, snr_db=12.54, site="R levator scapulae TrP1", latency_s=0.43751,
           confidence=0.8765),
    Twitch(3.0, 3.1, "R-UpTrap"),  # features absent
]  # fmt: skip


def test_event_table_shows_columns_of_the_export_row_rounded() -> None:
    assert set(EVENT_TABLE_DECIMALS) <= set(EVENT_COLUMNS)
    df = event_frame(TWITCHES)
    assert list(df.columns) == list(EVENT_TABLE_DECIMALS)
    first = df.iloc[0].to_dict()
    row = twitch_row(TWITCHES[0])
    assert first["channel"] == row["channel"] and first["site"] == row["site"]
    assert first["onset_s"] == 1.5 and first["peak_uv"] == 123.5 and first["rms_uv"] == 45.6
    assert first["duration_ms"] == 120.0 and first["snr_db"] == 12.5
    assert first["latency_ms"] == 438.0 and first["confidence"] == 0.88
    second = df.iloc[1].to_dict()
    assert second["site"] == "" and math.isnan(second["peak_uv"])


def test_rejected_table_is_a_view_of_the_rejected_row() -> None:
    assert set(REJECTED_TABLE_DECIMALS) <= set(REJECTED_COLUMNS)
    rej = [RejectedCandidate(0.81234, 0.9, "R-UpTrap", RejectReason.ECG, peak_v=2.0412e-4)]
    df = rejected_frame(rej)
    assert list(df.columns) == list(REJECTED_TABLE_DECIMALS)
    got = df.iloc[0].to_dict()
    assert got["onset_s"] == 0.812 and got["peak_uv"] == 204.1
    assert got["reason"] == RejectReason.ECG.value and got["detail"] == ""
    assert event_frame([]).empty and list(event_frame([]).columns) == list(EVENT_TABLE_DECIMALS)
