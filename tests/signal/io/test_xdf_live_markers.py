"""XDF import of the LSL relay's provisional markers: only decided twitches become twitches."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.signal.io.test_xdf import _emg, _markers
from tests.signal.io.xdf_writer import write_xdf
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.io.xdf import PROVISIONAL_MARKER, WITHDRAWN_MARKER, parse_marker_fields


def test_provisional_and_withdrawn_markers_are_not_twitches(tmp_path: Path) -> None:
    emg, _, _ = _emg()
    markers = _markers(
        [
            (1.010, "LTR? channel=FDI id=1"),
            (1.000, "LTR channel=FDI peak_uv=212.3 duration_ms=60.0 id=1"),  # confirms 1
            (2.200, 'LTR? channel="APB" id=2'),
            (2.200, "LTR-withdrawn id=2 reason=sustained"),
            (3.000, "LTR channel=APB peak_uv=90.0 duration_ms=40.0"),  # never provisional
            (4.100, "LTR? channel=APB id=3"),  # the stream ended before its decision
            (4.500, "task end"),
        ]
    )
    path = tmp_path / "live.xdf"
    write_xdf(path, [emg, markers])
    raw = read_recording(path, preload=True)
    ev = recording_events(raw)
    assert [(t.channel, round(t.onset_s, 3)) for t in ev.twitches] == [("FDI", 1.0), ("APB", 3.0)]
    assert ev.twitches[0].peak_v == pytest.approx(212.3e-6)
    assert [d for _, _, d in ev.other] == ["task end"]
    descriptions = [str(d) for d in raw.annotations.description]
    assert not [d for d in descriptions if d.startswith((PROVISIONAL_MARKER, WITHDRAWN_MARKER))]


def test_marker_heads_and_fields() -> None:
    assert (PROVISIONAL_MARKER, WITHDRAWN_MARKER) == ("LTR?", "LTR-withdrawn")
    assert parse_marker_fields("LTR-withdrawn id=7 reason=low_freq_artifact") == (
        "LTR-withdrawn",
        {"id": "7", "reason": "low_freq_artifact"},
    )
    head, fields = parse_marker_fields('LTR channel="R MG" peak_uv=50.0 duration_ms=80.0 id=7')
    assert head == "LTR" and fields["id"] == "7" and fields["channel"] == "R MG"
