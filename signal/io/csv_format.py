"""Twitchscope CSV recordings: a header row, ``time_s`` (or ``sfreq=``), one column per channel.

A header row, a ``time_s`` column (the rate is derived from it and the rows are
checked for regular spacing) or ``sfreq=``, and one column per channel in µV. A
header ``<TYPE> <name>`` (e.g. ``MISC accel``) gives a channel of that type;
volt-typed channels are in µV, others as they are. This is what
:func:`twitchscope.signal.io.writers.write_recording` writes (with its
``<name>.sites.csv`` and ``<name>.annotations.csv`` siblings, read by
:mod:`~twitchscope.signal.io.delimited`).

A column of text (no number in its first rows, e.g. the ``WORD`` cue column a
BrainFlow-based app writes before ``Channel_1..8``) is not a channel: it becomes
annotations ``<column>=<value>``, one per run of the same value (a value
``needle:<label>`` starts a needle site). A last line cut short is dropped with one
warning.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.units import V_PER_UV
from twitchscope.signal.io.delimited import (
    PROBE_ROWS,
    TextLayout,
    check_last_line,
    numeric_column,
)
from twitchscope.signal.io.formats import (
    TIME_COLUMN,
    VOLT_TYPES,
    error_summary,
    is_number,
    split_type_prefix,
)

__all__ = ["csv_layout"]


def csv_layout(path: Path, sfreq: float | None) -> TextLayout:
    """Read the header (and the rate from the first ``time_s`` values) of a twitchscope CSV.

    Raises
    ------
    FileFormatError
        No header, a header of numbers, no or unnamed or duplicated channel columns,
        no samples, a bad ``time_s``.
    ConfigError
        ``sfreq`` missing without ``time_s``, or disagreeing with it.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), None)
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read {path.name}: {error_summary(exc)}.") from None
    if not header or not any(h.strip() for h in header):
        raise FileFormatError(
            f"{path.name} has no header row; expected '{TIME_COLUMN}' and one column per channel."
        )
    header = [h.strip() for h in header]
    if any(is_number(h) for h in header):
        raise FileFormatError(
            f"{path.name}: the first row {header[:4]!r}... holds numbers; expected a header "
            f"row with '{TIME_COLUMN}' and channel names."
        )
    time_column = header.index(TIME_COLUMN) if TIME_COLUMN in header else None
    text_columns = [i for i in _text_columns(path, len(header)) if i != time_column]
    columns = [i for i in range(len(header)) if i != time_column and i not in text_columns]
    if not columns:
        raise FileFormatError(
            f"{path.name} has no channel columns; expected one column per channel besides "
            f"'{TIME_COLUMN}'."
        )
    if any(not header[i] for i in columns):
        raise FileFormatError(
            f"{path.name} has a column without a name; expected a name for every column."
        )
    ch_names, ch_types = [], []
    for i in columns:
        ch_type, name = split_type_prefix(header[i])
        ch_types.append(ch_type or "emg")
        ch_names.append(name)
    dupes = sorted({n for n in ch_names if ch_names.count(n) > 1})
    if dupes:
        raise FileFormatError(
            f"{path.name} has duplicated channel names {dupes!r}; expected unique column names."
        )
    scales = tuple(V_PER_UV if t in VOLT_TYPES else 1.0 for t in ch_types)
    t0 = 0.0
    if time_column is not None:
        rate, t0 = _rate_from_time_column(path, time_column, header[time_column])
        if sfreq is not None and not math.isclose(sfreq, rate, rel_tol=1e-3):
            raise ConfigError(
                f"sfreq={sfreq:g} Hz was given but the {TIME_COLUMN} column of {path.name} "
                f"says {rate:g} Hz; leave sfreq out or fix the file."
            )
        sfreq = sfreq if sfreq is not None else rate
    elif sfreq is None:
        raise ConfigError(
            f"{path.name} has no '{TIME_COLUMN}' column, so sfreq (the sampling rate in Hz) "
            "is required; pass sfreq (--sfreq on the command line)."
        )
    layout = TextLayout(
        path=path,
        kind="csv",
        sep=",",
        skip_lines=1,
        columns=tuple(columns),
        col_labels=tuple(header[i] for i in columns),
        ch_names=tuple(ch_names),
        ch_types=tuple(ch_types),
        scales=scales,
        sfreq=sfreq,
        time_column=time_column,
        t0=t0,
        skipinitialspace=True,
        text_columns=tuple(text_columns),
        text_labels=tuple(header[i] for i in text_columns),
        n_fields=len(header),
    )
    return check_last_line(layout)


def _text_columns(path: Path, n_columns: int) -> list[int]:
    """The columns with no number among their first rows' non-empty cells (text columns)."""
    try:
        df = pd.read_csv(
            path,
            header=None,
            skiprows=1,
            nrows=PROBE_ROWS,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            usecols=range(n_columns),
        )
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return []  # the sample reader names what is wrong, with its line
    out = []
    for i in range(n_columns):
        cells = [c.strip() for c in df[i].tolist() if c.strip()]
        if cells and not any(is_number(c) for c in cells):
            out.append(i)
    return out


def _rate_from_time_column(path: Path, column: int, label: str) -> tuple[float, float]:
    """Sampling rate and first time from the first rows of the time column."""
    try:
        df = pd.read_csv(
            path,
            header=None,
            skiprows=1,
            usecols=[column],
            nrows=PROBE_ROWS,
            skipinitialspace=True,
            keep_default_na=False,
            na_values=[""],
        )
    except pd.errors.EmptyDataError:
        raise FileFormatError(
            f"{path.name} has a header but no samples; expected one row per sample."
        ) from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise FileFormatError(f"cannot parse {path.name}: {error_summary(exc)}.") from None
    if len(df) == 0:
        raise FileFormatError(
            f"{path.name} has a header but no samples; expected one row per sample."
        )
    t = numeric_column(df[column], path, first_line=2, label=label, unit="s")
    if t.size < 2:
        raise ConfigError(
            f"{path.name} has a single sample, so {TIME_COLUMN} gives no rate; pass sfreq."
        )
    step = float(np.median(np.diff(t)))
    if not step > 0:
        raise FileFormatError(
            f"{path.name}: {TIME_COLUMN} does not increase (from {t[0]:g} s); expected "
            "regularly spaced, increasing sample times."
        )
    # the rate over the longest regular stretch from the start (a gap there is
    # reported later, by the spacing check, with its line number)
    drift = np.abs(t - t[0] - np.arange(t.size) * step)
    off = np.flatnonzero(drift > 0.5 * step)
    k = (int(off[0]) if off.size else t.size) - 1
    rate = k / (t[k] - t[0]) if k >= 1 else 1.0 / step
    # the simplest rate (fewest decimals) that puts every probed sample within 1% of a
    # period of its time: 487.5, not 487.49999 from times printed to the microsecond
    idx = np.arange(k + 1)
    for decimals in range(7):
        candidate = round(rate, decimals)
        if candidate > 0 and np.all(np.abs(t[: k + 1] - t[0] - idx / candidate) <= 0.01 * step):
            return float(candidate), float(t[0])
    return float(rate), float(t[0])
