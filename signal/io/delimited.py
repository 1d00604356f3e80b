"""Delimited-text recordings: one layout description, one streaming parser, the sidecar files.

The twitchscope CSV, OpenBCI GUI and BrainFlow readers
(:mod:`~twitchscope.signal.io.csv_format`, :mod:`~twitchscope.signal.io.openbci_txt`,
:mod:`~twitchscope.signal.io.brainflow`) each read a file's header into a
:class:`TextLayout` (separator, rows to skip, which columns are channels, their
scale to volts, the rate); this module parses the sample rows of any layout in
chunks with pandas (:func:`iter_text_chunks`), so a long file streams in bounded
memory, and names the line and column of a bad cell.

A text recording can come with sibling files next to it, named after the
recording without its extension: ``<name>.sites.csv`` (columns
``onset_s,duration_s,label``; the label with or without the ``needle:`` prefix;
onsets on the ``time_s`` axis) and ``<name>.annotations.csv`` (columns
``onset_s,duration_s,description,channels`` with ``channels`` joined by ``;``)
for every other annotation (``LTR``, ``BAD_ACQ_SKIP``, ...). Both are what
:func:`twitchscope.signal.io.writers.write_recording` writes;
:func:`read_text` attaches them (:func:`sidecar_annotations`).
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import mne
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twitchscope.signal.core.annotations import make_raw, relative_onsets
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import SITE_PREFIX, NeedleSite, SampleBlock
from twitchscope.signal.io.formats import TIME_COLUMN, error_summary, sibling_path

__all__ = [
    "PROBE_ROWS",
    "TextLayout",
    "numeric_column",
    "split_fields",
    "incomplete_last_line",
    "check_last_line",
    "text_annotations",
    "iter_text_chunks",
    "iter_text_blocks",
    "read_text",
    "sidecar_annotations",
    "read_sites_csv",
    "leading_blank_lines",
    "attach_sidecar_channels",
]

log = logging.getLogger(__name__)

#: Rows read up front to derive a rate from ``time_s`` or timestamps.
PROBE_ROWS = 5000


@dataclass(frozen=True, slots=True)
class TextLayout:
    """Where the samples of one text recording are and how to read them (from its header)."""

    path: Path
    kind: str
    sep: str
    skip_lines: int  # lines before the first sample row
    columns: tuple[int, ...]  # file column of each channel
    col_labels: tuple[str, ...]  # how the columns are called in messages
    ch_names: tuple[str, ...]
    ch_types: tuple[str, ...]
    scales: tuple[float, ...]  # file value * scale = MNE value
    sfreq: float
    time_column: int | None  # CSV time_s column
    t0: float  # time_s of the first sample
    skipinitialspace: bool
    drop_last_row: bool = False  # the last line was cut while being written
    text_columns: tuple[int, ...] = ()  # file columns of text, read as annotations
    text_labels: tuple[str, ...] = ()  # their names (annotation ``<name>=<value>``)
    n_fields: int = 0  # fields of a complete row (0: not checked)


def numeric_column(
    col: pd.Series, path: Path, *, first_line: int, label: str, unit: str
) -> NDArray[np.float64]:
    """The column as finite floats, else an error naming the line and column."""
    if pd.api.types.is_numeric_dtype(col.dtype):
        values = col.to_numpy(dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            k = int(bad[0])
            raise FileFormatError(
                f"{path.name}: line {first_line + k}, column {label!r} is empty or not finite; "
                f"expected a number ({unit})."
            )
        return values
    converted = pd.to_numeric(col, errors="coerce")
    values = converted.to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    k = int(bad[0]) if bad.size else 0
    raw_text = col.iloc[k]
    shown = "an empty cell" if raw_text is None or pd.isna(raw_text) else repr(str(raw_text))
    raise FileFormatError(
        f"{path.name}: line {first_line + k}, column {label!r} holds {shown}; expected a "
        f"number ({unit})."
    )


def iter_text_chunks(
    layout: TextLayout, chunk_rows: int
) -> Iterator[tuple[int, NDArray[np.float64]]]:
    """Yield ``(first_sample, data)`` with data (n_channels, n) in volts, streaming."""
    path = layout.path
    usecols = list(layout.columns)
    if layout.time_column is not None:
        usecols.append(layout.time_column)
    scales = np.asarray(layout.scales, dtype=np.float64)[:, None]
    period = 1.0 / layout.sfreq
    tol = 0.25 * period + 1e-6
    prev_t: float | None = None
    start = 0
    first_line = layout.skip_lines + 1
    try:
        reader = pd.read_csv(
            path,
            sep=layout.sep,
            header=None,
            skiprows=layout.skip_lines,
            usecols=usecols,
            chunksize=chunk_rows,
            skipinitialspace=layout.skipinitialspace,
            keep_default_na=False,
            na_values=[""],
            engine="c",
        )
        with reader:
            for df, is_last in _with_last_flag(reader):
                if is_last and layout.drop_last_row and len(df):
                    df = df.iloc[:-1]
                    log.warning(
                        "%s: the last line is incomplete (the file was cut while being "
                        "written); dropped it and kept the %d complete rows",
                        path.name,
                        start + len(df),
                    )
                n = len(df)
                if n == 0:
                    continue
                line0 = first_line + start
                data = np.empty((len(layout.columns), n), dtype=np.float64)
                for k, (col, label) in enumerate(
                    zip(layout.columns, layout.col_labels, strict=True)
                ):
                    data[k] = numeric_column(
                        df[col], path, first_line=line0, label=label, unit="µV"
                    )
                if layout.time_column is not None:
                    t = numeric_column(
                        df[layout.time_column], path, first_line=line0, label=TIME_COLUMN, unit="s"
                    )
                    _check_spacing(t, prev_t, period, tol, path, line0)
                    prev_t = float(t[-1])
                yield start, data * scales
                start += n
    except pd.errors.EmptyDataError:
        pass
    except pd.errors.ParserError as exc:
        raise FileFormatError(
            f"{path.name}: {error_summary(exc)}; expected the same number of fields on every row."
        ) from None
    except ValueError as exc:
        if isinstance(exc, FileFormatError | ConfigError):
            raise
        raise FileFormatError(
            f"{path.name}: {error_summary(exc)}; expected {len(layout.columns)} channel "
            "columns on every row."
        ) from None
    if start == 0:
        raise FileFormatError(
            f"{path.name} has a header but no samples; expected one row per sample."
        )


def _with_last_flag(chunks: Iterator[pd.DataFrame]) -> Iterator[tuple[pd.DataFrame, bool]]:
    """Each chunk with whether it is the last one (one chunk of lookahead)."""
    prev: pd.DataFrame | None = None
    for chunk in chunks:
        if prev is not None:
            yield prev, False
        prev = chunk
    if prev is not None:
        yield prev, True


def split_fields(line: str, sep: str) -> list[str]:
    """The fields of one text line for the separator ``sep`` (``r"\\s+"``: whitespace)."""
    line = line.rstrip("\r\n")
    if sep == r"\s+":
        return line.split()
    return line.split(sep)


def incomplete_last_line(path: Path, sep: str, n_fields: int) -> int | None:
    """Fields of the last line when it has fewer than ``n_fields`` (it was cut), else None.

    Only the end of the file is read. A recorder that was closed or crashed mid-write
    leaves a last line with fewer fields than the others (possibly ending inside a
    number, which would otherwise read as a wrong sample).
    """
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 65536))
            tail = f.read().decode("utf-8", errors="replace")
    except OSError as exc:
        raise FileFormatError(f"cannot read {path}: {exc.strerror or exc}.") from None
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    if len(lines) < 2:  # a single line: nothing to compare it with
        return None
    got = len(split_fields(lines[-1], sep))
    return got if got < n_fields else None


def check_last_line(layout: TextLayout) -> TextLayout:
    """``layout`` with ``drop_last_row`` set when its file's last line was cut short."""
    if layout.n_fields < 2:
        return layout
    got = incomplete_last_line(layout.path, layout.sep, layout.n_fields)
    if got is None:
        return layout
    log.debug("%s: last line has %d of %d fields", layout.path.name, got, layout.n_fields)
    return replace(layout, drop_last_row=True)


def text_annotations(layout: TextLayout, n_samples: int) -> mne.Annotations | None:
    """Annotations from the text columns of ``layout``: one per run of the same value.

    A run of value ``v`` in column ``c`` becomes ``c=v`` (``needle:<label>`` values
    are kept as they are: a needle site) lasting until the value changes; empty
    cells make no annotation. Only the first ``n_samples`` rows are read.
    """
    if not layout.text_columns:
        return None
    onset: list[float] = []
    duration: list[float] = []
    description: list[str] = []
    try:
        table = pd.read_csv(
            layout.path,
            sep=layout.sep,
            header=None,
            skiprows=layout.skip_lines,
            usecols=list(layout.text_columns),
            nrows=n_samples,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=layout.skipinitialspace,
            engine="c",
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise FileFormatError(f"cannot parse {layout.path.name}: {error_summary(exc)}.") from None
    for col, label in zip(layout.text_columns, layout.text_labels, strict=True):
        values = table[col].fillna("").astype(str).str.strip().to_numpy()
        if values.size == 0:
            continue
        change = np.flatnonzero(values[1:] != values[:-1]) + 1
        starts = np.concatenate([[0], change])
        stops = np.concatenate([change, [values.size]])
        for a, b in zip(starts, stops, strict=True):
            value = str(values[a])
            if not value:
                continue
            onset.append(a / layout.sfreq)
            duration.append((b - a) / layout.sfreq)
            description.append(
                value if value.lower().startswith(SITE_PREFIX) else f"{label}={value}"
            )
    if not onset:
        return None
    return mne.Annotations(onset, duration, description)


def _check_spacing(
    t: NDArray[np.float64],
    prev_t: float | None,
    period: float,
    tol: float,
    path: Path,
    line0: int,
) -> None:
    if prev_t is not None:
        steps = np.diff(np.concatenate([[prev_t], t]))
        offset = 0
    else:
        steps = np.diff(t)
        offset = 1
    bad = np.flatnonzero(np.abs(steps - period) > tol)
    if bad.size:
        k = int(bad[0])
        raise FileFormatError(
            f"{path.name}: {TIME_COLUMN} is irregular at line {line0 + k + offset} (step "
            f"{steps[k]:.6g} s, expected {period:.6g} s at {1 / period:g} Hz); expected one "
            "row per sample without gaps or repeats."
        )


def read_text(layout: TextLayout) -> mne.io.BaseRaw:
    """The whole recording as a Raw (volts), with its sibling sites and annotations."""
    blocks = [data for _, data in iter_text_chunks(layout, 65536)]
    data = np.concatenate(blocks, axis=1)
    raw = make_raw(
        data, sfreq=layout.sfreq, ch_names=layout.ch_names, ch_types=list(layout.ch_types)
    )
    ann = sidecar_annotations(layout.path, t0=layout.t0)
    texts = text_annotations(layout, data.shape[1])
    if texts is not None:
        ann = texts if ann is None else ann + texts
    if ann is not None and len(ann):
        raw.set_annotations(ann, verbose="error")
        n_lost = len(ann) - len(raw.annotations)
        if n_lost:
            log.warning(
                "%s: %d annotation(s) outside the data were dropped", layout.path.name, n_lost
            )
    return raw


def iter_text_blocks(
    layout: TextLayout, block_samples: int, idx: list[int]
) -> Iterator[SampleBlock]:
    """The rows as :class:`SampleBlock` s of the channels ``idx``, streaming."""
    names = tuple(layout.ch_names[i] for i in idx)
    for start, data in iter_text_chunks(layout, block_samples):
        yield SampleBlock(data=data[idx], sfreq=layout.sfreq, first_sample=start, ch_names=names)


# --------------------------------------------------------------------------------------
# sibling sites / annotations files


def sidecar_annotations(path: Path, *, t0: float) -> mne.Annotations | None:
    """The annotations in the sibling files of ``path`` (None when there are none).

    Onsets are shifted by ``-t0`` (the ``time_s`` of the first sample). Raises
    :class:`FileFormatError` naming the file, line and column of a bad cell.
    """
    onset: list[float] = []
    duration: list[float] = []
    description: list[str] = []
    ch_names: list[tuple[str, ...]] = []
    sites = sibling_path(path, "sites")
    if sites.exists():
        for site in read_sites_csv(sites, t0=t0):
            onset.append(site.onset_s)
            duration.append(site.duration_s)
            description.append(site.description)
            ch_names.append(())
    other = sibling_path(path, "annotations")
    if other.exists():
        for line, row in _read_table(other, ("onset_s", "duration_s", "description")):
            o = _cell_float(row, "onset_s", other, line) - t0
            d = _cell_float(row, "duration_s", other, line)
            desc = row["description"].strip()
            if not desc or d < 0 or o < 0:
                raise FileFormatError(
                    f"{other.name}: line {line}: expected a description, onset_s >= 0 and "
                    f"duration_s >= 0, got {desc!r}, {o:g}, {d:g}."
                )
            chs = tuple(c for c in (row.get("channels") or "").split(";") if c)
            onset.append(o)
            duration.append(d)
            description.append(desc)
            ch_names.append(chs)
    if not onset:
        return None
    return mne.Annotations(onset, duration, description, ch_names=ch_names)


def read_sites_csv(path: Path, *, t0: float = 0.0) -> list[NeedleSite]:
    """The needle sites of a sites table (``onset_s,duration_s,label``), in file order.

    The ``.sites.csv`` layout :func:`~twitchscope.signal.io.writers.write_recording`
    writes (the label with or without the ``needle:`` prefix). Onsets are shifted by
    ``-t0``. Raises :class:`FileFormatError` naming the file, line and column of a bad
    cell, or a site that cannot be (a blank label, a negative onset or duration).
    """
    out: list[NeedleSite] = []
    for line, row in _read_table(path, ("onset_s", "duration_s", "label")):
        o = _cell_float(row, "onset_s", path, line) - t0
        d = _cell_float(row, "duration_s", path, line)
        try:
            out.append(NeedleSite(label=row["label"], onset_s=o, duration_s=d))
        except ConfigError as exc:
            raise FileFormatError(f"{path.name}: line {line}: {exc}") from None
    return out


def attach_sidecar_channels(raw: mne.io.BaseRaw, path: Path) -> mne.io.BaseRaw:
    """Give the annotations of ``raw`` the channels listed in ``<name>.annotations.csv``.

    For EDF+/BDF+ files written by
    :func:`~twitchscope.signal.io.writers.write_recording`, which hold one annotation
    per event and list the channels next to the file. A row applies to the annotation
    with the same description whose onset is within half a sample; rows without a
    match (the annotation was deleted in another program) are ignored, and so are
    channels the recording does not have. Returns ``raw`` (changed in place).
    """
    table = sibling_path(path, "annotations")
    ann = raw.annotations
    if not table.exists() or len(ann) == 0:
        return raw
    sfreq = float(raw.info["sfreq"])
    onsets = relative_onsets(ann, float(raw.first_time))
    ch_names = [tuple(c) for c in ann.ch_names]
    known = set(raw.ch_names)
    n_set = 0
    for line, row in _read_table(table, ("onset_s", "duration_s", "description", "channels")):
        onset = _cell_float(row, "onset_s", table, line)
        desc = row["description"].strip()
        chs = tuple(c for c in row["channels"].split(";") if c in known)
        if not chs:
            continue
        close = np.flatnonzero(
            (np.abs(onsets - onset) <= 0.5 / sfreq + 1e-6) & (ann.description == desc)
        )
        for i in close:
            if not ch_names[i]:
                ch_names[i] = chs
                n_set += 1
                break
    if n_set:
        raw.set_annotations(
            mne.Annotations(
                ann.onset,
                ann.duration,
                ann.description,
                orig_time=ann.orig_time,
                ch_names=ch_names,
                extras=getattr(ann, "extras", None),
            ),
            verbose="error",
        )
        log.debug("%s: channels of %d annotation(s) from %s", path.name, n_set, table.name)
    return raw


def _read_table(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f, skipinitialspace=True)
            fields = [c.strip() for c in (reader.fieldnames or [])]
            missing = [c for c in required if c not in fields]
            if missing:
                raise FileFormatError(
                    f"{path.name} lacks columns {missing!r}; expected {', '.join(required)}."
                )
            reader.fieldnames = fields
            for row in reader:
                if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    continue
                yield reader.line_num, {k: (v or "") for k, v in row.items() if k is not None}
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read {path.name}: {error_summary(exc)}.") from None


def _cell_float(row: dict[str, Any], column: str, path: Path, line: int) -> float:
    text = str(row.get(column, "")).strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise FileFormatError(
            f"{path.name}: line {line}, column {column!r} holds {text!r}; expected a number."
        )
    return value


def leading_blank_lines(path: Path) -> int:
    """How many blank lines a text file starts with (skipped before its first row)."""
    n = 0
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                break
            n += 1
    return n
