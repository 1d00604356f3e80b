"""Movements and speed-trace CSV files: written, read back, and bad files refused."""

from __future__ import annotations

import numpy as np
import pytest

from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.video.motion import Movement, SpeedTrace
from twitchscope.signal.video.tables import (
    read_movements,
    read_trace,
    write_movements,
    write_trace,
)


def test_movements_round_trip(tmp_path) -> None:
    moves = [Movement(1.0333, 1.3, 95.125, "strong"), Movement(4.5, 4.7, 12.5, "weak")]
    path = write_movements(tmp_path / "motion.csv", moves)
    assert path.read_text().splitlines()[0] == "onset_s,offset_s,peak_speed,grade"
    assert read_movements(path) == moves


def test_empty_movements_file_has_its_header(tmp_path) -> None:
    path = write_movements(tmp_path / "none.csv", [])
    assert path.read_text().strip() == "onset_s,offset_s,peak_speed,grade"
    assert read_movements(path) == []


def test_trace_round_trip(tmp_path) -> None:
    times = np.arange(10) / 30.0
    speed = np.linspace(0.0, 9.0, 10)
    path = write_trace(tmp_path / "trace.csv", SpeedTrace(times, speed, 30.0, "px/s"))
    assert path.read_text().splitlines()[0] == "time_s,speed"
    t, v = read_trace(path)
    assert np.allclose(t, times, atol=1e-5) and np.allclose(v, speed, atol=1e-4)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("onset_s,offset_s,grade\n1,2,weak\n", "missing column"),
        ("onset_s,offset_s,peak_speed,grade\n1,2,fast,weak\n", "line 2: peak_speed must be"),
        ("onset_s,offset_s,peak_speed,grade\n1,2,3,huge\n", "grade must be one of"),
    ],
)
def test_bad_movements_files_are_refused(tmp_path, text, match) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=match):
        read_movements(path)


def test_wrong_suffix_and_missing_file(tmp_path) -> None:
    with pytest.raises(FileFormatError, match="expected a .csv"):
        write_movements(tmp_path / "motion.json", [])
    with pytest.raises(FileFormatError, match="no such file"):
        read_trace(tmp_path / "absent.csv")
