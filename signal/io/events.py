"""Twitches and rejected candidates to and from CSV and JSON.

One twitch is one row: :func:`twitch_row` (and :func:`rejected_row` for a rejected
candidate) turns it into the ordered columns below, with the model's volts shown
in microvolts (``*_uv``) and seconds in milliseconds (``*_ms``) through
:mod:`twitchscope.signal.core.units`. The exports write that row as it is; the
dashboard's event table shows some of its columns. The file kind follows the
extension: ``.csv`` (a header row, one event per row) or ``.json`` (an array of
objects with the same keys). Absent values are empty cells in CSV and ``null`` in
JSON.

Twitch columns, in order:

=================  ============================================================
``onset_s``        start of the burst, s from the first sample
``offset_s``       end of the burst, s
``channel``        channel of maximum amplitude
``peak_uv``        peak absolute amplitude, µV
``rms_uv``         RMS over the burst, µV
``duration_ms``    offset minus onset, ms (derived; ignored on reading)
``snr_db``         ``20 log10(rms / baseline rms)``
``site``           needle site active at onset
``latency_ms``     onset minus the start of that site, ms
``channels``       every channel the twitch shows on, ``;``-joined, main first
``area_uvs``       integral of the rectified signal, µV·s
``median_freq_hz`` median frequency of the burst, Hz
``confidence``     probability (0-1) that it is a real twitch (the detector's
                   calibrated model; empty when unknown)
=================  ============================================================

Rejected-candidate columns: ``onset_s, offset_s, channel, reason, peak_uv, detail``.

Reading needs ``onset_s``, ``offset_s`` and ``channel`` (and ``reason`` for
rejected candidates); other columns may be missing or empty. A fused table
(:mod:`twitchscope.signal.video.tables`: the twitches of a recording with a video,
with the movement each caused) reads as events too: its JSON object's ``events``
array is read, and its rows of movements without a twitch (``motion`` =
``movement only``) are skipped.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import RejectedCandidate, RejectReason, Twitch
from twitchscope.signal.core.units import ms_cell, ms_to_s, number_cell, uv_cell, uv_to_volts

__all__ = [
    "EVENT_COLUMNS",
    "REJECTED_COLUMNS",
    "MOVEMENT_ONLY",
    "twitch_row",
    "rejected_row",
    "write_events",
    "read_events",
    "write_rejected",
    "read_rejected",
]

#: Columns of an events file, in order.
EVENT_COLUMNS: tuple[str, ...] = (
    "onset_s",
    "offset_s",
    "channel",
    "peak_uv",
    "rms_uv",
    "duration_ms",
    "snr_db",
    "site",
    "latency_ms",
    "channels",
    "area_uvs",
    "median_freq_hz",
    "confidence",
)
#: Columns of a rejected-candidates file, in order.
REJECTED_COLUMNS: tuple[str, ...] = (
    "onset_s",
    "offset_s",
    "channel",
    "reason",
    "peak_uv",
    "detail",
)

#: ``motion`` of a fused table's row that is a movement, not a twitch (skipped on reading).
MOVEMENT_ONLY = "movement only"

Row = dict[str, Any]
_REASONS = frozenset(r.value for r in RejectReason)


def write_events(path: str | Path, twitches: Iterable[Twitch]) -> Path:
    """Write twitches to ``path`` (``.csv`` or ``.json``); returns the path.

    Parameters
    ----------
    path : str or Path
        Output file; replaced if it exists.
    twitches : iterable of Twitch
        Amplitudes in volts, times in seconds.
    """
    return _write(Path(path), [twitch_row(t) for t in twitches], EVENT_COLUMNS)


def read_events(path: str | Path) -> list[Twitch]:
    """Read twitches written by :func:`write_events` (or any file with the same columns).

    Raises
    ------
    FileFormatError
        Missing file, unsupported extension, missing required column, or a cell that
        is not what its column expects (the message names the row and column).
    """
    path = Path(path)
    rows = _read(path, ("onset_s", "offset_s", "channel"))
    return [
        _parse_row(path, where, row, _row_twitch)
        for where, row in rows
        if row.get("motion") != MOVEMENT_ONLY
    ]


def write_rejected(path: str | Path, rejected: Iterable[RejectedCandidate]) -> Path:
    """Write rejected candidates to ``path`` (``.csv`` or ``.json``); returns the path."""
    return _write(Path(path), [rejected_row(r) for r in rejected], REJECTED_COLUMNS)


def read_rejected(path: str | Path) -> list[RejectedCandidate]:
    """Read rejected candidates written by :func:`write_rejected`."""
    path = Path(path)
    rows = _read(path, ("onset_s", "offset_s", "channel", "reason"))
    return [_parse_row(path, where, row, _row_rejected) for where, row in rows]


# --------------------------------------------------------------------------------------
# rows <-> objects


def twitch_row(t: Twitch) -> Row:
    """One twitch as its row: the :data:`EVENT_COLUMNS` in order, in export units.

    Amplitudes in µV and times in ms (12 significant digits, see
    :func:`~twitchscope.signal.core.units.uv_cell`); a missing or non-finite value is
    None. This is the row the CSV/JSON exports write and the dashboard's event table
    shows (a subset of its columns).
    """
    return {
        "onset_s": float(t.onset_s),
        "offset_s": float(t.offset_s),
        "channel": t.channel,
        "peak_uv": uv_cell(t.peak_v),
        "rms_uv": uv_cell(t.rms_v),
        "duration_ms": ms_cell(t.duration_s),
        "snr_db": number_cell(t.snr_db),
        "site": t.site,
        "latency_ms": ms_cell(t.latency_s),
        "channels": ";".join(t.channels),
        "area_uvs": uv_cell(t.area_vs),
        "median_freq_hz": number_cell(t.median_freq_hz),
        "confidence": number_cell(t.confidence),
    }


def rejected_row(r: RejectedCandidate) -> Row:
    """One rejected candidate as its row: the :data:`REJECTED_COLUMNS` in order."""
    return {
        "onset_s": r.onset_s,
        "offset_s": r.offset_s,
        "channel": r.channel,
        "reason": r.reason.value,
        "peak_uv": uv_cell(r.peak_v),
        "detail": r.detail,
    }


class _CellError(Exception):
    def __init__(self, column: str, value: Any, expected: str) -> None:
        super().__init__(column)
        self.column, self.value, self.expected = column, value, expected


def _num(row: Row, column: str, *, required: bool = False) -> float | None:
    value = row.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _CellError(column, value, "a number")
        return None
    if isinstance(value, bool):
        raise _CellError(column, value, "a number")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise _CellError(column, value, "a number") from None
    if math.isnan(out) and not required:
        return None
    if not math.isfinite(out):
        raise _CellError(column, value, "a finite number")
    return out


def _text(row: Row, column: str, *, required: bool = False) -> str | None:
    value = row.get(column)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _CellError(column, value, "a non-empty text")
        return None
    if not isinstance(value, str):
        raise _CellError(column, value, "a text")
    return value.strip()


def _volts(row: Row, column: str) -> float:
    value = _num(row, column)
    return math.nan if value is None else uv_to_volts(value)


def _row_twitch(row: Row) -> Twitch:
    channel = _text(row, "channel", required=True) or ""
    channels = tuple(c.strip() for c in (_text(row, "channels") or "").split(";") if c.strip())
    latency_ms = _num(row, "latency_ms")
    snr_db = _num(row, "snr_db")
    return Twitch(
        onset_s=_num(row, "onset_s", required=True) or 0.0,
        offset_s=_num(row, "offset_s", required=True) or 0.0,
        channel=channel,
        channels=channels,
        peak_v=_volts(row, "peak_uv"),
        rms_v=_volts(row, "rms_uv"),
        snr_db=math.nan if snr_db is None else snr_db,
        area_vs=_volts(row, "area_uvs"),
        site=_text(row, "site"),
        latency_s=None if latency_ms is None else ms_to_s(latency_ms),
        median_freq_hz=_num(row, "median_freq_hz"),
        confidence=_confidence(row),
    )


def _confidence(row: Row) -> float:
    value = _num(row, "confidence")
    if value is None:
        return math.nan
    if not 0.0 <= value <= 1.0:
        raise _CellError("confidence", row.get("confidence"), "a probability within 0-1")
    return value


def _row_rejected(row: Row) -> RejectedCandidate:
    channel = _text(row, "channel", required=True) or ""
    reason = _text(row, "reason", required=True) or ""
    return RejectedCandidate(
        onset_s=_num(row, "onset_s", required=True) or 0.0,
        offset_s=_num(row, "offset_s", required=True) or 0.0,
        channel=channel,
        reason=RejectReason(reason) if reason in _REASONS else reason,  # type: ignore[arg-type]
        peak_v=_volts(row, "peak_uv"),
        detail=_text(row, "detail") or "",
    )


def _parse_row(path: Path, where: str, row: Row, make: Callable[[Row], Any]) -> Any:
    try:
        return make(row)
    except _CellError as exc:
        shown = "an empty cell" if exc.value in (None, "") else repr(exc.value)
        raise FileFormatError(
            f"{path.name}: {where}, column {exc.column!r} holds {shown}; expected {exc.expected}."
        ) from None
    except ConfigError as exc:
        raise FileFormatError(f"{path.name}: {where}: {exc}") from None


# --------------------------------------------------------------------------------------
# files


def _kind(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in (".csv", ".json"):
        raise FileFormatError(
            f"unsupported events file extension {ext or '(none)'!r} for {path.name}; expected "
            ".csv or .json."
        )
    return ext[1:]


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _write(path: Path, rows: Sequence[Row], columns: Sequence[str]) -> Path:
    kind = _kind(path)
    if not path.parent.is_dir():
        raise FileFormatError(
            f"cannot write {path.name}: directory {path.parent} does not exist; expected an "
            "existing directory."
        )
    try:
        if kind == "csv":
            with path.open("w", newline="", encoding="utf-8") as f:
                writer = csv.writer(f, lineterminator="\n")
                writer.writerow(columns)
                for row in rows:
                    writer.writerow([_csv_cell(row[c]) for c in columns])
        else:
            records = [{c: row[c] for c in columns} for row in rows]
            path.write_text(json.dumps(records, indent=1, allow_nan=False) + "\n", "utf-8")
    except OSError as exc:
        raise FileFormatError(f"cannot write {path}: {exc.strerror or exc}.") from None
    return path


def _read(path: Path, required: Sequence[str]) -> list[tuple[str, Row]]:
    kind = _kind(path)
    if not path.is_file():
        raise FileFormatError(f"events file not found: {path}; expected an existing file.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read {path.name}: {exc}.") from None
    out: list[tuple[str, Row]] = []
    if kind == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FileFormatError(
                f"{path.name} is not valid JSON (line {exc.lineno}: {exc.msg}); expected an "
                "array of objects."
            ) from None
        if isinstance(data, dict) and "events" in data:  # a fused table
            data = data["events"]
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise FileFormatError(
                f"{path.name} is not a JSON array of objects (or an object with an "
                '"events" array); expected one.'
            )
        columns = set().union(*(r.keys() for r in data)) if data else set(required)
        out = [(f"item {i}", r) for i, r in enumerate(data)]
    else:
        reader = csv.DictReader(text.splitlines(), skipinitialspace=True)
        if reader.fieldnames is None:
            raise FileFormatError(
                f"{path.name} is empty; expected a header row with {', '.join(required)}."
            )
        reader.fieldnames = [c.strip() for c in reader.fieldnames]
        columns = set(reader.fieldnames)
        try:
            for row in reader:
                if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    continue
                out.append((f"line {reader.line_num}", row))
        except csv.Error as exc:
            raise FileFormatError(f"cannot parse {path.name}: {exc}.") from None
    missing = [c for c in required if c not in columns]
    if missing:
        raise FileFormatError(
            f"{path.name} lacks columns {missing!r}; expected at least {', '.join(required)}."
        )
    return out
