"""CSV files of the video features: the movements and the speed trace.

``MOTION.csv`` has one row per movement with the columns ``onset_s,offset_s,
peak_speed,grade`` (seconds from the first frame; speed in px/s or mm/s), and
``TRACE.csv`` one row per frame pair with ``time_s,speed``. Both are read back with
clear errors for a missing column or a value that is not a number.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.video.motion import GRADES, Movement, SpeedTrace

__all__ = [
    "MOVEMENT_COLUMNS",
    "TRACE_COLUMNS",
    "write_movements",
    "read_movements",
    "write_trace",
    "read_trace",
]

#: Columns of a movements file, in order.
MOVEMENT_COLUMNS: tuple[str, ...] = ("onset_s", "offset_s", "peak_speed", "grade")
#: Columns of a speed-trace file, in order.
TRACE_COLUMNS: tuple[str, ...] = ("time_s", "speed")


def _check_csv(path: Path) -> None:
    if path.suffix.lower() != ".csv":
        raise FileFormatError(f"{path.name}: expected a .csv file, got {path.suffix!r}.")


def write_movements(path: str | Path, movements: Sequence[Movement]) -> Path:
    """Write ``movements`` to the CSV ``path``; returns the path."""
    path = Path(path)
    _check_csv(path)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(MOVEMENT_COLUMNS)
        for m in movements:
            writer.writerow(
                [f"{m.onset_s:.4f}", f"{m.offset_s:.4f}", f"{m.peak_speed:.3f}", m.grade]
            )
    return path


def write_trace(path: str | Path, trace: SpeedTrace) -> Path:
    """Write the speed trace to the CSV ``path``; returns the path."""
    path = Path(path)
    _check_csv(path)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(TRACE_COLUMNS)
        for t, v in zip(trace.times_s, trace.speed, strict=True):
            writer.writerow([f"{t:.5f}", f"{v:.4f}"])
    return path


def _rows(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    if not path.is_file():
        raise FileFormatError(f"{path}: no such file.")
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise FileFormatError(
                f"{path.name}: missing column(s) {', '.join(missing)}; "
                f"expected {','.join(columns)}."
            )
        return list(reader)


def _number(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise FileFormatError(
            f"{path.name}, line {line}: {column} must be a number, got {text!r}."
        ) from None
    if not math.isfinite(value):
        raise FileFormatError(f"{path.name}, line {line}: {column} must be finite, got {text!r}.")
    return value


def read_movements(path: str | Path) -> list[Movement]:
    """Read a movements CSV written by :func:`write_movements` (or by hand)."""
    path = Path(path)
    out = []
    for i, row in enumerate(_rows(path, MOVEMENT_COLUMNS), start=2):
        grade = (row["grade"] or "").strip().lower()
        if grade not in GRADES:
            raise FileFormatError(
                f"{path.name}, line {i}: grade must be one of {', '.join(GRADES)}, got {grade!r}."
            )
        out.append(
            Movement(
                onset_s=_number(path, i, "onset_s", row["onset_s"]),
                offset_s=_number(path, i, "offset_s", row["offset_s"]),
                peak_speed=_number(path, i, "peak_speed", row["peak_speed"]),
                grade=grade,
            )
        )
    return out


def read_trace(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a speed-trace CSV; returns ``(time_s, speed)`` arrays."""
    path = Path(path)
    rows = _rows(path, TRACE_COLUMNS)
    times = np.array([_number(path, i, "time_s", r["time_s"]) for i, r in enumerate(rows, 2)])
    speed = np.array([_number(path, i, "speed", r["speed"]) for i, r in enumerate(rows, 2)])
    return times.astype(float), speed.astype(float)
