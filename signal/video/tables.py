"""Files of the video features: the movements, the speed trace, and twitches fused with them.

``MOTION.csv`` has one row per movement with the columns ``onset_s,offset_s,
peak_speed,grade`` (seconds from the first frame; speed in px/s or mm/s), and
``TRACE.csv`` one row per frame pair with ``time_s,speed``. Both are read back with
clear errors for a missing column or a value that is not a number.

A fused table (:func:`write_fusion`; also what ``twitchscope detect --out`` writes for
a recording with a video attached) has one row per EMG twitch, the events columns
(:data:`~twitchscope.signal.io.events.EVENT_COLUMNS`) then :data:`FUSION_COLUMNS`
(``motion``: ``matched``, ``twitch only``, or ``outside video`` for a twitch the video
does not cover; the lag from the twitch onset to the movement onset in ms, the
movement's peak speed, grade and the speed's unit), then one row per movement that no
twitch explains (``movement only``: its onset, offset, speed and grade). The JSON form
is an object: ``speed_unit``, ``events`` (those rows) and ``sites`` (the agreement
per needle site). :func:`~twitchscope.signal.io.events.read_events` reads either form
back, skipping the ``movement only`` rows.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import Twitch
from twitchscope.signal.io.events import EVENT_COLUMNS, MOVEMENT_ONLY, twitch_row
from twitchscope.signal.video.attached import VideoFusion
from twitchscope.signal.video.fuse import Fusion
from twitchscope.signal.video.motion import GRADES, Movement, SpeedTrace

__all__ = [
    "MOVEMENT_COLUMNS",
    "TRACE_COLUMNS",
    "write_movements",
    "read_movements",
    "write_trace",
    "read_trace",
    "FUSION_COLUMNS",
    "MATCHED",
    "TWITCH_ONLY",
    "OUTSIDE_VIDEO",
    "MOVEMENT_ONLY",
    "fusion_rows",
    "site_agreement_rows",
    "write_fusion",
    "write_fused",
]

#: Columns a fused table adds after the events columns.
FUSION_COLUMNS: tuple[str, ...] = (
    "motion",
    "motion_lag_ms",
    "motion_peak_speed",
    "motion_grade",
    "motion_speed_unit",
)
#: Values of the ``motion`` column.
MATCHED, TWITCH_ONLY, OUTSIDE_VIDEO = ("matched", "twitch only", "outside video")

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


def fusion_rows(
    fusion: Fusion, *, unit: str, outside: Sequence[Twitch] = ()
) -> list[dict[str, object]]:
    """The rows of a fused table (see the module docstring); times in recording time.

    ``unit`` is the unit of the peak speeds (``px/s`` or ``mm/s``); ``outside`` are
    twitches outside the span the video covers (``motion`` = ``outside video``). Twitch
    rows come in onset order, then the movements without a twitch.
    """
    rows: list[tuple[float, dict[str, object]]] = []
    for m in fusion.matches:
        row: dict[str, object] = dict(twitch_row(m.twitch))
        row["motion"] = MATCHED if m.movement is not None else TWITCH_ONLY
        row["motion_lag_ms"] = None if m.lag_s is None else round(m.lag_s * 1e3, 3)
        row["motion_peak_speed"] = None if m.peak_speed is None else round(m.peak_speed, 3)
        row["motion_grade"] = m.grade
        row["motion_speed_unit"] = unit if m.movement is not None else None
        rows.append((m.twitch.onset_s, row))
    for t in outside:
        row = dict(twitch_row(t))
        row.update(dict.fromkeys(FUSION_COLUMNS), motion=OUTSIDE_VIDEO)
        rows.append((t.onset_s, row))
    out = [row for _, row in sorted(rows, key=lambda r: r[0])]
    for mv in fusion.movements_without_twitch:
        row = dict.fromkeys(EVENT_COLUMNS)
        row.update(
            onset_s=mv.onset_s,
            offset_s=mv.offset_s,
            motion=MOVEMENT_ONLY,
            motion_lag_ms=None,
            motion_peak_speed=round(mv.peak_speed, 3),
            motion_grade=mv.grade,
            motion_speed_unit=unit,
        )
        out.append(row)
    return out


def site_agreement_rows(fusion: Fusion) -> list[dict[str, object]]:
    """Agreement per needle site, one row each (``site`` None: outside any site)."""
    return [
        {
            "site": a.site,
            "twitches": a.n_twitches,
            "matched": a.n_matched,
            "movements_without_twitch": a.n_unmatched_movements,
            "agreement": None if math.isnan(a.agreement) else round(a.agreement, 4),
        }
        for a in fusion.sites
    ]


def write_fusion(
    path: str | Path, fusion: Fusion, *, unit: str, outside: Sequence[Twitch] = ()
) -> Path:
    """Write the fused table as CSV or JSON (by ``path``'s extension); returns the path.

    ``unit`` is the unit of ``motion_peak_speed`` (``px/s``, or ``mm/s`` with a scale);
    ``outside``: twitches outside the span the video covers (see :func:`fusion_rows`).
    """
    import json

    path = Path(path)
    rows = fusion_rows(fusion, unit=unit, outside=outside)
    columns = (*EVENT_COLUMNS, *FUSION_COLUMNS)
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            with path.open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f)
                writer.writerow(columns)
                for row in rows:
                    writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
        elif suffix == ".json":
            data = {"speed_unit": unit, "events": rows, "sites": site_agreement_rows(fusion)}
            path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        else:
            raise FileFormatError(f"{path.name}: a fused table is written as .csv or .json.")
    except OSError as exc:
        raise FileFormatError(f"cannot write {path}: {exc.strerror or exc}.") from None
    return path


def write_fused(path: str | Path, fused: VideoFusion) -> Path:
    """Write a recording's :class:`~.attached.VideoFusion` (see :func:`write_fusion`)."""
    return write_fusion(path, fused.fusion, unit=fused.unit, outside=fused.outside)
