"""Read EMG recordings from files into MNE Raw objects, whole or block by block.

Every reader returns an :class:`mne.io.BaseRaw` with EMG channels typed ``emg``,
data in volts, and the needle sites as ``needle:<label>`` annotations whose onsets
are seconds from the first sample (see :mod:`twitchscope.signal.core.model`).

Supported files (chosen by extension, then by content for text files):

``.edf``, ``.bdf``
    EDF/EDF+ and BDF/BDF+ through :func:`mne.io.read_raw_edf` /
    :func:`mne.io.read_raw_bdf` with ``infer_types=True``: a label ``EMG R-UpTrap``
    gives channel ``R-UpTrap`` of type ``emg``; a label without a type prefix
    (which MNE types ``eeg``) is EMG for us; ``EEG``, ``MISC``, ``STIM`` ...
    prefixes keep their type. The header is checked first, so a truncated file is
    an error rather than silently shorter.
``.fif``, ``.fif.gz``
    MNE's FIF through :func:`mne.io.read_raw_fif`.
``.csv`` (twitchscope/corpus layout)
    A header row, a ``time_s`` column (the rate is derived from it and the rows
    are checked for regular spacing) or ``sfreq=``, and one column per channel in
    µV. A header ``<TYPE> <name>`` (e.g. ``MISC accel``) gives a channel of that
    type; volt-typed channels are in µV, others as they are.
``.txt`` (OpenBCI GUI, ``OpenBCI-RAW-*.txt``)
    ``%`` header lines with ``%Sample Rate = 250 Hz``, then (GUI v5) a column-name
    row ``Sample Index, EXG Channel 0, ..., Timestamp (Formatted)`` and
    comma-separated rows with EXG values in µV. GUI v3/v4 files without the
    column-name row are read from ``%Number of channels``.
``.xdf``, ``.xdfz`` (LabRecorder, Lab Streaming Layer)
    The stream of type ``EMG`` (or one named with ``stream=``) and the string
    markers of the file, through :func:`twitchscope.signal.io.xdf.read_xdf`
    (needs pyxdf; see that module for the marker convention).
``.csv``, ``.tsv``, ``.txt`` (BrainFlow)
    ``DataFilter.write_file`` output: tab separated, no header, one row per sample
    and one column per board row (see :data:`BRAINFLOW_BOARDS`); EXG rows in µV.

OpenBCI and BrainFlow EXG channels are named ``EXG0``, ``EXG1``, ... as in the
OpenBCI GUI's ``EXG Channel 0``; only the EXG channels are read.

Text recordings can come with sibling files next to them, named after the
recording without its extension: ``<name>.sites.csv`` (columns
``onset_s,duration_s,label``; the label with or without the ``needle:`` prefix;
onsets on the ``time_s`` axis) and ``<name>.annotations.csv`` (columns
``onset_s,duration_s,description,channels`` with ``channels`` joined by ``;``)
for every other annotation (``LTR``, ``BAD_ACQ_SKIP``, ...). Both are what
:func:`twitchscope.signal.io.writers.write_recording` writes.

EDF/BDF files written by MNE are padded to whole data records and the padding is
marked ``BAD_ACQ_SKIP``; such a padding annotation (the last one, ending exactly at
the end of the file and shorter than one data record) is removed and the padding
cropped, so a round trip gives back the original number of samples. (A genuine
acquisition gap with exactly that shape would be cropped the same way; it holds no
samples worth keeping.)

Bad input raises :class:`~twitchscope.signal.core.errors.FileFormatError` (or
:class:`~twitchscope.signal.core.errors.ConfigError` for a bad parameter) with a
one-line message; exceptions of MNE and pandas never leak out of this module.
"""

from __future__ import annotations

import csv
import logging
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import mne
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from twitchscope.signal.core.annotations import make_raw, relative_onsets
from twitchscope.signal.core.checks import check_sfreq
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import GAP_DESCRIPTION, NeedleSite, SampleBlock
from twitchscope.signal.io.xdf import read_xdf

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "BRAINFLOW_BOARDS",
    "BrainFlowBoard",
    "FileKind",
    "detect_format",
    "read_recording",
    "iter_blocks",
    "sibling_path",
    "type_prefix",
    "VOLT_TYPES",
]

log = logging.getLogger(__name__)

#: File extensions :func:`read_recording` accepts.
SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    ".edf",
    ".bdf",
    ".fif",
    ".fif.gz",
    ".csv",
    ".tsv",
    ".txt",
    ".xdf",
    ".xdfz",
)

FileKind = Literal["edf", "bdf", "fif", "csv", "openbci", "brainflow", "xdf"]

#: The column of a twitchscope CSV that holds the sample times.
TIME_COLUMN = "time_s"

#: Channel types whose MNE unit is the volt: CSV files hold them in µV.
VOLT_TYPES = frozenset({"emg", "eeg", "eog", "ecg", "bio", "seeg", "ecog", "dbs"})

#: Label prefixes that give a channel type (as MNE's EDF reader knows them).
_PREFIX_TO_TYPE = {
    "EEG": "eeg",
    "SEEG": "seeg",
    "ECOG": "ecog",
    "DBS": "dbs",
    "EOG": "eog",
    "ECG": "ecg",
    "EMG": "emg",
    "BIO": "bio",
    "RESP": "resp",
    "TEMP": "temperature",
    "MISC": "misc",
    "SAO2": "bio",
    "STIM": "stim",
}
_TYPE_TO_PREFIX = {
    "eeg": "EEG",
    "seeg": "SEEG",
    "ecog": "ECOG",
    "dbs": "DBS",
    "eog": "EOG",
    "ecg": "ECG",
    "emg": "EMG",
    "bio": "BIO",
    "resp": "RESP",
    "temperature": "TEMP",
    "misc": "MISC",
    "stim": "STIM",
}

_UV = 1e-6
_PROBE_ROWS = 5000  # rows read up front to derive a rate from time_s or timestamps


@dataclass(frozen=True, slots=True)
class BrainFlowBoard:
    """The row layout of one BrainFlow board (as in BrainFlow's board descriptions).

    Parameters
    ----------
    name : str
        Our name for the board (the ``board=`` value).
    board_id : int
        BrainFlow's board id (also accepted as ``board=``).
    sfreq : float
        The board's default sampling rate, Hz.
    n_rows : int
        Number of rows BrainFlow returns, i.e. columns in ``write_file`` output.
    exg_rows : tuple of int
        The rows that hold EXG data in µV.
    timestamp_row : int
        The row with the UNIX timestamp in seconds.
    """

    name: str
    board_id: int
    sfreq: float
    n_rows: int
    exg_rows: tuple[int, ...]
    timestamp_row: int


#: Supported BrainFlow layouts, by our name. Cyton and Cyton+Daisy from
#: brainflow_boards.cpp (boards 0 and 2); the Synthetic board (-1) has the same
#: column count as Cyton+Daisy but runs at 250 Hz.
BRAINFLOW_BOARDS: dict[str, BrainFlowBoard] = {
    "cyton": BrainFlowBoard("cyton", 0, 250.0, 24, tuple(range(1, 9)), 22),
    "cyton_daisy": BrainFlowBoard("cyton_daisy", 2, 125.0, 32, tuple(range(1, 17)), 30),
    "synthetic": BrainFlowBoard("synthetic", -1, 250.0, 32, tuple(range(1, 17)), 30),
}


def type_prefix(ch_type: str) -> str:
    """The label prefix for a channel type, e.g. ``"MISC"`` for ``"misc"`` (EDF, CSV)."""
    return _TYPE_TO_PREFIX.get(ch_type, "MISC")


def sibling_path(path: str | Path, kind: str) -> Path:
    """``<name>.<kind>.csv`` next to ``path``, ``<name>`` being its name without extension."""
    path = Path(path)
    name = path.name
    for ext in sorted(SUPPORTED_EXTENSIONS, key=len, reverse=True):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    return path.with_name(f"{name}.{kind}.csv")


# --------------------------------------------------------------------------------------
# format detection


def _extension(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".fif.gz"):
        return ".fif.gz"
    return path.suffix.lower()


def detect_format(path: str | Path) -> FileKind:
    """Tell which reader a file needs, from its extension and, for text, its first line.

    Parameters
    ----------
    path : str or Path
        The recording.

    Returns
    -------
    kind : {"edf", "bdf", "fif", "csv", "openbci", "brainflow", "xdf"}

    Raises
    ------
    FileFormatError
        When the file does not exist or its extension/content is not supported.
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(f"recording file not found: {path}; expected an existing file.")
    if path.is_dir():
        raise FileFormatError(f"{path} is a directory; expected a recording file.")
    ext = _extension(path)
    if ext == ".edf":
        return "edf"
    if ext == ".bdf":
        return "bdf"
    if ext in (".fif", ".fif.gz"):
        return "fif"
    if ext in (".xdf", ".xdfz"):
        return "xdf"
    if ext in (".csv", ".tsv", ".txt"):
        first = _first_content_line(path)
        if first is None:
            raise FileFormatError(f"{path.name} is empty; expected a header row and samples.")
        if first.startswith("%"):
            return "openbci"
        if "\t" in first and all(_is_number(f) for f in first.strip().split("\t")):
            return "brainflow"
        if ext == ".csv":
            return "csv"
        raise FileFormatError(
            f"{path.name} is neither an OpenBCI GUI file (first line starting with '%') nor "
            "BrainFlow output (tab-separated numbers); expected one of those for "
            f"{ext} files."
        )
    supported = ", ".join(SUPPORTED_EXTENSIONS)
    raise FileFormatError(
        f"unsupported file extension {ext or '(none)'!r} for {path.name}; expected one of "
        f"{supported}."
    )


def _first_content_line(path: Path) -> str | None:
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as f:
            for line in f:
                if line.strip():
                    return line
    except OSError as exc:
        raise FileFormatError(f"cannot read {path}: {exc.strerror or exc}.") from None
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------------------
# public entry points


def read_recording(
    path: str | Path,
    *,
    sfreq: float | None = None,
    preload: bool = False,
    board: str | int | None = None,
) -> mne.io.BaseRaw:
    """Read a recording into an MNE Raw (EMG channels typed ``emg``, volts, sites annotated).

    Parameters
    ----------
    path : str or Path
        The file; see the module docstring for the formats.
    sfreq : float or None
        Sampling rate in Hz. Required for a CSV without ``time_s``; overrides the
        header of OpenBCI files and the board's default rate of BrainFlow files;
        must match the file for EDF/BDF/FIF/CSV-with-``time_s`` if given.
    preload : bool
        Load EDF/BDF/FIF data into memory now. Text formats are always loaded
        (use :func:`iter_blocks` to stream them).
    board : str, int or None
        BrainFlow layout: ``"cyton"`` (0), ``"cyton_daisy"`` (2) or ``"synthetic"``
        (-1). The default ``None`` detects it from the number of columns and, where
        two boards share a count (32: Cyton+Daisy at 125 Hz or Synthetic at 250 Hz),
        from the rate of the timestamp column. Ignored for other formats.

    Returns
    -------
    raw : mne.io.BaseRaw

    Raises
    ------
    FileFormatError
        Missing, unsupported, truncated or malformed file.
    ConfigError
        Bad ``sfreq`` or ``board``, or ``sfreq`` needed but not given.
    """
    path = Path(path)
    if sfreq is not None:
        sfreq = check_sfreq(sfreq)
    kind = detect_format(path)
    if kind in ("edf", "bdf"):
        raw = _read_edf_bdf(path, kind, preload=preload)
    elif kind == "fif":
        raw = _read_fif(path, preload=preload)
    elif kind == "xdf":
        raw = read_xdf(path)
    else:
        layout = _text_layout(path, kind, sfreq=sfreq, board=board)
        return _read_text(layout)
    if sfreq is not None and not math.isclose(sfreq, raw.info["sfreq"], rel_tol=1e-6):
        raise ConfigError(
            f"sfreq={sfreq:g} Hz was given but {path.name} is sampled at "
            f"{raw.info['sfreq']:g} Hz; leave sfreq out for {kind.upper()} files."
        )
    return raw


def iter_blocks(
    raw_or_path: mne.io.BaseRaw | str | Path,
    *,
    block_samples: int,
    picks: str | Sequence[str] | None = "emg",
    sfreq: float | None = None,
    board: str | int | None = None,
) -> Iterator[SampleBlock]:
    """Read a recording as consecutive :class:`SampleBlock` s, without loading it whole.

    EDF/BDF/FIF files are opened with ``preload=False`` and read with
    ``get_data(start=, stop=)``; CSV, OpenBCI and BrainFlow text is parsed
    ``block_samples`` rows at a time. Parameters, the file's header and the channel
    picks are checked when this is called; a bad sample row raises when its block
    is reached.

    Parameters
    ----------
    raw_or_path : mne.io.BaseRaw, str or Path
        An open Raw or a recording file.
    block_samples : int
        Samples per block (the last block may be shorter).
    picks : "emg", None or sequence of str
        ``"emg"`` (default) yields the EMG channels only, ``None`` every channel,
        a sequence of names those channels in that order.
    sfreq, board
        As in :func:`read_recording` (only used when a path is given).

    Returns
    -------
    blocks : iterator of SampleBlock
        Volts; ``first_sample`` counts from the first sample of the recording (0).

    Raises
    ------
    ConfigError
        ``block_samples`` not a positive integer, unknown channel names.
    FileFormatError
        As in :func:`read_recording`, or when no channel is picked.
    """
    if isinstance(block_samples, bool) or not isinstance(block_samples, int | np.integer):
        raise ConfigError(f"block_samples must be a positive integer, got {block_samples!r}.")
    if block_samples < 1:
        raise ConfigError(f"block_samples must be a positive integer, got {block_samples!r}.")
    block_samples = int(block_samples)
    # everything is checked here, at the call; the generators below only read
    if isinstance(raw_or_path, mne.io.BaseRaw):
        return _iter_raw_blocks(raw_or_path, block_samples, picks)
    path = Path(raw_or_path)
    if sfreq is not None:
        sfreq = check_sfreq(sfreq)
    kind = detect_format(path)
    if kind in ("edf", "bdf", "fif", "xdf"):
        raw = read_recording(path, sfreq=sfreq, preload=False)
        return _iter_raw_blocks(raw, block_samples, picks)
    layout = _text_layout(path, kind, sfreq=sfreq, board=board)
    idx = _pick_indices(layout.ch_names, layout.ch_types, picks, path.name)
    return _iter_text_blocks(layout, block_samples, idx)


def _iter_text_blocks(
    layout: _TextLayout, block_samples: int, idx: list[int]
) -> Iterator[SampleBlock]:
    names = tuple(layout.ch_names[i] for i in idx)
    for start, data in _iter_text_chunks(layout, block_samples):
        yield SampleBlock(data=data[idx], sfreq=layout.sfreq, first_sample=start, ch_names=names)


def _iter_raw_blocks(
    raw: mne.io.BaseRaw, block_samples: int, picks: str | Sequence[str] | None
) -> Iterator[SampleBlock]:
    idx = _pick_indices(tuple(raw.ch_names), tuple(raw.get_channel_types()), picks, _raw_name(raw))
    return _raw_block_gen(raw, block_samples, idx)


def _raw_block_gen(
    raw: mne.io.BaseRaw, block_samples: int, idx: list[int]
) -> Iterator[SampleBlock]:
    names = tuple(raw.ch_names[i] for i in idx)
    sfreq = float(raw.info["sfreq"])
    for start in range(0, raw.n_times, block_samples):
        stop = min(raw.n_times, start + block_samples)
        try:
            data = raw.get_data(picks=idx, start=start, stop=stop)
        except (ValueError, OSError, RuntimeError) as exc:
            raise FileFormatError(
                f"cannot read samples {start}-{stop} of {_raw_name(raw)}: {_first_line(exc)}."
            ) from None
        yield SampleBlock(data=data, sfreq=sfreq, first_sample=start, ch_names=names)


def _raw_name(raw: mne.io.BaseRaw) -> str:
    fnames = getattr(raw, "filenames", ()) or ()
    first = next((f for f in fnames if f), None)
    return Path(first).name if first else "the recording"


def _pick_indices(
    ch_names: Sequence[str],
    ch_types: Sequence[str],
    picks: str | Sequence[str] | None,
    where: str,
) -> list[int]:
    if picks is None:
        idx = list(range(len(ch_names)))
    elif isinstance(picks, str):
        if picks != "emg":
            raise ConfigError(
                f"picks must be 'emg', None or a list of channel names, got {picks!r}."
            )
        idx = [i for i, t in enumerate(ch_types) if t == "emg"]
        if not idx:
            raise FileFormatError(
                f"{where} has no EMG channels (types: {sorted(set(ch_types))}); expected at "
                "least one channel of type emg, or pass picks=None."
            )
    else:
        names = list(picks)
        missing = [n for n in names if n not in ch_names]
        if missing:
            raise ConfigError(
                f"channels {missing!r} are not in {where}; expected some of {list(ch_names)!r}."
            )
        idx = [list(ch_names).index(n) for n in names]
    if not idx:
        raise ConfigError(f"picks selects no channel of {where}; expected at least one.")
    return idx


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


# --------------------------------------------------------------------------------------
# EDF / BDF / FIF


@dataclass(frozen=True, slots=True)
class _EdfHeader:
    labels: tuple[str, ...]
    record_duration: float


def _read_edf_header(path: Path, kind: str) -> _EdfHeader:
    """Parse the fixed EDF/BDF header and check the file holds what it promises."""
    what = kind.upper()
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(256)
        if len(head) < 256:
            raise FileFormatError(
                f"{path.name} is not a valid {what} file: {size} bytes, shorter than the "
                f"256-byte {what} header."
            )
        try:
            header_bytes = int(head[184:192].decode("ascii"))
            n_records = int(head[236:244].decode("ascii"))
            record_duration = float(head[244:252].decode("ascii"))
            n_signals = int(head[252:256].decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise FileFormatError(
                f"{path.name} is not a valid {what} file: the header's size fields are not "
                f"numbers; expected an {what} header."
            ) from None
        if n_signals < 1 or header_bytes != 256 * (n_signals + 1):
            raise FileFormatError(
                f"{path.name} is a corrupt {what} file: header says {n_signals} signals and "
                f"{header_bytes} header bytes; expected 256 * (signals + 1) bytes."
            )
        rest = f.read(header_bytes - 256)
    if len(rest) < header_bytes - 256:
        raise FileFormatError(
            f"{path.name} is a truncated {what} file: {size} bytes, shorter than its "
            f"{header_bytes}-byte header."
        )
    ns = n_signals
    labels = tuple(rest[16 * i : 16 * (i + 1)].decode("latin-1").strip() for i in range(ns))
    spr_at = ns * (16 + 80 + 8 + 8 + 8 + 8 + 8 + 80)
    try:
        samples_per_record = [
            int(rest[spr_at + 8 * i : spr_at + 8 * (i + 1)].decode("ascii")) for i in range(ns)
        ]
    except (ValueError, UnicodeDecodeError):
        raise FileFormatError(
            f"{path.name} is a corrupt {what} file: its samples-per-record fields are not numbers."
        ) from None
    bytes_per_sample = 3 if kind == "bdf" else 2
    record_bytes = sum(samples_per_record) * bytes_per_sample
    if n_records > 0:
        expected = header_bytes + n_records * record_bytes
        if size < expected:
            raise FileFormatError(
                f"{path.name} is a truncated {what} file: the header promises {n_records} "
                f"data records ({expected} bytes) but the file has {size} bytes."
            )
        if size > expected:
            log.warning("%s has %d bytes after its last data record", path.name, size - expected)
    elif size == header_bytes:
        raise FileFormatError(f"{path.name} has an {what} header but no data records.")
    return _EdfHeader(labels=labels, record_duration=record_duration)


def _read_edf_bdf(path: Path, kind: str, *, preload: bool) -> mne.io.BaseRaw:
    header = _read_edf_header(path, kind)
    annot_label = "EDF Annotations" if kind == "edf" else "BDF Annotations"
    labels = [lab for lab in header.labels if lab not in (annot_label, "EDF Annotations")]
    if not labels:
        raise FileFormatError(
            f"{path.name} has no signal channels (only annotations); expected at least one."
        )
    names = [_split_type_prefix(lab)[1] for lab in labels]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FileFormatError(
            f"{path.name} has duplicated channel names {dupes!r}; expected unique labels."
        )
    reader = mne.io.read_raw_edf if kind == "edf" else mne.io.read_raw_bdf
    try:
        raw = reader(path, preload=preload, infer_types=True, verbose="error")
    except Exception as exc:  # MNE's many parse errors become one of ours
        raise FileFormatError(
            f"cannot read {path.name} as {kind.upper()}: {_first_line(exc)}; expected a valid "
            f"{kind.upper()}/{kind.upper()}+ file."
        ) from None
    if len(raw.ch_names) != len(labels):
        raise FileFormatError(
            f"{path.name}: MNE read {len(raw.ch_names)} channels but the header lists "
            f"{len(labels)}; expected one channel per signal label."
        )
    new_types = {}
    for label, name, ch_type in zip(labels, raw.ch_names, raw.get_channel_types(), strict=True):
        prefix = _split_type_prefix(label)[0]
        if prefix is None and ch_type == "eeg":
            new_types[name] = "emg"
    if new_types:
        raw.set_channel_types(new_types, verbose="error")
    _crop_export_padding(raw, header.record_duration)
    return raw


def _split_type_prefix(label: str) -> tuple[str | None, str]:
    """``"EMG R-UpTrap"`` -> ``("emg", "R-UpTrap")``; ``"R-UpTrap"`` -> ``(None, ...)``."""
    parts = label.split(" ")
    if len(parts) > 1 and parts[0].upper() in _PREFIX_TO_TYPE:
        return _PREFIX_TO_TYPE[parts[0].upper()], " ".join(parts[1:])
    return None, label


def _crop_export_padding(raw: mne.io.BaseRaw, record_duration: float) -> None:
    """Drop the ``BAD_ACQ_SKIP`` padding MNE's EDF/BDF export adds, and crop it off."""
    ann = raw.annotations
    if len(ann) == 0 or raw.n_times < 2:
        return
    sfreq = float(raw.info["sfreq"])
    onsets = relative_onsets(ann, float(raw.first_time))
    ends = onsets + np.asarray(ann.duration, dtype=float)
    cand = [
        i
        for i, desc in enumerate(ann.description)
        if desc == GAP_DESCRIPTION
        and abs(ends[i] * sfreq - raw.n_times) < 0.5
        and 0 < ann.duration[i] < record_duration
        and onsets[i] > 0
    ]
    if not cand:
        return
    i = cand[-1]
    n_keep = int(round(onsets[i] * sfreq))
    if not 0 < n_keep < raw.n_times:
        return
    raw.annotations.delete(i)
    raw.crop(tmin=0.0, tmax=(n_keep - 1) / sfreq, include_tmax=True, verbose="error")
    log.debug("cropped %d samples of EDF/BDF record padding", raw.n_times - n_keep)


def _read_fif(path: Path, *, preload: bool) -> mne.io.BaseRaw:
    try:
        raw = mne.io.read_raw_fif(path, preload=preload, verbose="error")
    except Exception as exc:  # MNE's many parse errors become one of ours
        raise FileFormatError(
            f"cannot read {path.name} as FIF: {_first_line(exc)}; expected a raw FIF file "
            "written by MNE."
        ) from None
    if len(raw.ch_names) == 0:
        raise FileFormatError(f"{path.name} has no channels; expected at least one.")
    return raw


# --------------------------------------------------------------------------------------
# text formats: one layout description, one streaming parser


@dataclass(frozen=True, slots=True)
class _TextLayout:
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


def _text_layout(
    path: Path, kind: str, *, sfreq: float | None, board: str | int | None
) -> _TextLayout:
    if kind == "csv":
        return _csv_layout(path, sfreq)
    if kind == "openbci":
        return _openbci_layout(path, sfreq)
    return _brainflow_layout(path, sfreq, board)


def _csv_layout(path: Path, sfreq: float | None) -> _TextLayout:
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            header = next(csv.reader(f), None)
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read {path.name}: {_first_line(exc)}.") from None
    if not header or not any(h.strip() for h in header):
        raise FileFormatError(
            f"{path.name} has no header row; expected '{TIME_COLUMN}' and one column per channel."
        )
    header = [h.strip() for h in header]
    if any(_is_number(h) for h in header):
        raise FileFormatError(
            f"{path.name}: the first row {header[:4]!r}... holds numbers; expected a header "
            f"row with '{TIME_COLUMN}' and channel names."
        )
    time_column = header.index(TIME_COLUMN) if TIME_COLUMN in header else None
    columns = [i for i in range(len(header)) if i != time_column]
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
        ch_type, name = _split_type_prefix(header[i])
        ch_types.append(ch_type or "emg")
        ch_names.append(name)
    dupes = sorted({n for n in ch_names if ch_names.count(n) > 1})
    if dupes:
        raise FileFormatError(
            f"{path.name} has duplicated channel names {dupes!r}; expected unique column names."
        )
    scales = tuple(_UV if t in VOLT_TYPES else 1.0 for t in ch_types)
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
    return _TextLayout(
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
    )


def _rate_from_time_column(path: Path, column: int, label: str) -> tuple[float, float]:
    """Sampling rate and first time from the first rows of the time column."""
    try:
        df = pd.read_csv(
            path,
            header=None,
            skiprows=1,
            usecols=[column],
            nrows=_PROBE_ROWS,
            skipinitialspace=True,
            keep_default_na=False,
            na_values=[""],
        )
    except pd.errors.EmptyDataError:
        raise FileFormatError(
            f"{path.name} has a header but no samples; expected one row per sample."
        ) from None
    except (ValueError, pd.errors.ParserError) as exc:
        raise FileFormatError(f"cannot parse {path.name}: {_first_line(exc)}.") from None
    if len(df) == 0:
        raise FileFormatError(
            f"{path.name} has a header but no samples; expected one row per sample."
        )
    t = _numeric_column(df[column], path, first_line=2, label=label, unit="s")
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


def _numeric_column(
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


_RATE_RE = re.compile(r"^%\s*sample\s*rate\s*=\s*([0-9.eE+-]+)", re.IGNORECASE)
_NCH_RE = re.compile(r"^%\s*number\s*of\s*channels\s*=\s*(\d+)", re.IGNORECASE)
_EXG_RE = re.compile(r"^(?:EXG|EEG)\s*Channel\s*(\d+)$", re.IGNORECASE)


def _openbci_layout(path: Path, sfreq: float | None) -> _TextLayout:
    header_rate: float | None = None
    n_channels: int | None = None
    skip = 0
    first: str | None = None
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("%"):
                if m := _RATE_RE.match(line):
                    try:
                        header_rate = float(m.group(1))
                    except ValueError:
                        header_rate = None
                elif m := _NCH_RE.match(line):
                    n_channels = int(m.group(1))
                skip += 1
                continue
            if not line.strip():
                skip += 1
                continue
            first = line
            break
    if first is None:
        raise FileFormatError(
            f"{path.name} has an OpenBCI header but no samples; expected comma-separated rows."
        )
    fields = [x.strip() for x in first.split(",")]
    if not _is_number(fields[0]):  # GUI v5: a column-name row
        skip += 1
        exg = [(i, m.group(1)) for i, name in enumerate(fields) if (m := _EXG_RE.match(name))]
        columns = [i for i, _ in exg]
        ch_names = [f"EXG{k}" for _, k in exg]
        col_labels = [fields[i] for i in columns]
    else:  # GUI v3/v4: index, n channels, accel/aux ...
        if n_channels is None:
            raise FileFormatError(
                f"{path.name} has neither a column-name row nor a '%Number of channels' line; "
                "expected an OpenBCI GUI header."
            )
        if len(fields) < 1 + n_channels:
            raise FileFormatError(
                f"{path.name}: rows have {len(fields)} fields for {n_channels} channels; "
                "expected the sample index followed by one column per channel."
            )
        columns = list(range(1, 1 + n_channels))
        ch_names = [f"EXG{k}" for k in range(n_channels)]
        col_labels = [f"EXG Channel {k}" for k in range(n_channels)]
    if not columns:
        raise FileFormatError(
            f"{path.name} has no 'EXG Channel <n>' columns; expected an OpenBCI GUI file "
            "with EXG channels."
        )
    dupes = sorted({n for n in ch_names if ch_names.count(n) > 1})
    if dupes:
        raise FileFormatError(
            f"{path.name} has duplicated channel names {dupes!r}; expected unique columns."
        )
    if sfreq is None:
        if header_rate is None:
            raise ConfigError(
                f"{path.name} has no '%Sample Rate = <n> Hz' header line, so sfreq is "
                "required; pass sfreq (--sfreq on the command line)."
            )
        sfreq = check_sfreq(header_rate)
    elif header_rate is not None and not math.isclose(sfreq, header_rate, rel_tol=1e-6):
        log.warning(
            "%s: using sfreq=%g Hz instead of the header's %g Hz", path.name, sfreq, header_rate
        )
    return _TextLayout(
        path=path,
        kind="openbci",
        sep=",",
        skip_lines=skip,
        columns=tuple(columns),
        col_labels=tuple(col_labels),
        ch_names=tuple(ch_names),
        ch_types=("emg",) * len(columns),
        scales=(_UV,) * len(columns),
        sfreq=sfreq,
        time_column=None,
        t0=0.0,
        skipinitialspace=True,
    )


def _resolve_board(board: str | int) -> BrainFlowBoard:
    for b in BRAINFLOW_BOARDS.values():
        if board == b.name or (
            isinstance(board, int) and not isinstance(board, bool) and board == b.board_id
        ):
            return b
    allowed = ", ".join(f"{b.name!r} ({b.board_id})" for b in BRAINFLOW_BOARDS.values())
    raise ConfigError(f"unknown BrainFlow board {board!r}; expected one of {allowed} or None.")


def _brainflow_layout(path: Path, sfreq: float | None, board: str | int | None) -> _TextLayout:
    first = _first_content_line(path)
    assert first is not None  # detect_format checked
    n_cols = len(first.rstrip("\r\n").split("\t"))
    counts = ", ".join(f"{b.name}: {b.n_rows}" for b in BRAINFLOW_BOARDS.values())
    if board is not None:
        chosen = _resolve_board(board)
        if chosen.n_rows != n_cols:
            raise FileFormatError(
                f"{path.name} has {n_cols} tab-separated columns but BrainFlow board "
                f"{chosen.name!r} writes {chosen.n_rows}; expected a file of that board "
                f"({counts})."
            )
    else:
        candidates = [b for b in BRAINFLOW_BOARDS.values() if b.n_rows == n_cols]
        if not candidates:
            raise FileFormatError(
                f"{path.name} has {n_cols} tab-separated columns, which matches no supported "
                f"BrainFlow board ({counts}); expected one of those layouts."
            )
        ts_rate = _timestamp_rate(path, candidates[0].timestamp_row)
        if ts_rate is not None:
            fitting = [b for b in candidates if abs(ts_rate - b.sfreq) <= 0.2 * b.sfreq]
        else:
            fitting = candidates if len(candidates) == 1 else []
        if len(fitting) != 1:
            names = " or ".join(repr(b.name) for b in candidates)
            seen = f"timestamps suggest {ts_rate:.4g} Hz" if ts_rate else "no usable timestamps"
            raise ConfigError(
                f"cannot tell which BrainFlow board wrote {path.name} ({n_cols} columns, "
                f"{seen}); pass board= ({names}) and, if needed, sfreq."
            )
        chosen = fitting[0]
    rate = sfreq if sfreq is not None else chosen.sfreq
    n = len(chosen.exg_rows)
    return _TextLayout(
        path=path,
        kind="brainflow",
        sep="\t",
        skip_lines=_leading_blank_lines(path),
        columns=chosen.exg_rows,
        col_labels=tuple(f"EXG row {r}" for r in chosen.exg_rows),
        ch_names=tuple(f"EXG{k}" for k in range(n)),
        ch_types=("emg",) * n,
        scales=(_UV,) * n,
        sfreq=rate,
        time_column=None,
        t0=0.0,
        skipinitialspace=False,
    )


def _leading_blank_lines(path: Path) -> int:
    n = 0
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                break
            n += 1
    return n


def _timestamp_rate(path: Path, row: int) -> float | None:
    """Samples per second of the BrainFlow timestamp column over the first rows, if usable."""
    try:
        df = pd.read_csv(path, sep="\t", header=None, usecols=[row], nrows=_PROBE_ROWS)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    t = pd.to_numeric(df[row], errors="coerce").to_numpy(dtype=np.float64)
    t = t[np.isfinite(t)]
    if t.size < 3 or not t[-1] > t[0]:
        return None
    return float((t.size - 1) / (t[-1] - t[0]))


def _iter_text_chunks(
    layout: _TextLayout, chunk_rows: int
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
            for df in reader:
                n = len(df)
                line0 = first_line + start
                data = np.empty((len(layout.columns), n), dtype=np.float64)
                for k, (col, label) in enumerate(
                    zip(layout.columns, layout.col_labels, strict=True)
                ):
                    data[k] = _numeric_column(
                        df[col], path, first_line=line0, label=label, unit="µV"
                    )
                if layout.time_column is not None:
                    t = _numeric_column(
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
            f"{path.name}: {_first_line(exc)}; expected the same number of fields on every row."
        ) from None
    except ValueError as exc:
        if isinstance(exc, FileFormatError | ConfigError):
            raise
        raise FileFormatError(
            f"{path.name}: {_first_line(exc)}; expected {len(layout.columns)} channel "
            "columns on every row."
        ) from None
    if start == 0:
        raise FileFormatError(
            f"{path.name} has a header but no samples; expected one row per sample."
        )


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


def _read_text(layout: _TextLayout) -> mne.io.BaseRaw:
    blocks = [data for _, data in _iter_text_chunks(layout, 65536)]
    data = np.concatenate(blocks, axis=1)
    raw = make_raw(
        data, sfreq=layout.sfreq, ch_names=layout.ch_names, ch_types=list(layout.ch_types)
    )
    ann = _sibling_annotations(layout.path, t0=layout.t0)
    if ann is not None and len(ann):
        raw.set_annotations(ann, verbose="error")
        n_lost = len(ann) - len(raw.annotations)
        if n_lost:
            log.warning(
                "%s: %d annotation(s) outside the data were dropped", layout.path.name, n_lost
            )
    return raw


# --------------------------------------------------------------------------------------
# sibling sites / annotations files


def _sibling_annotations(path: Path, *, t0: float) -> mne.Annotations | None:
    onset: list[float] = []
    duration: list[float] = []
    description: list[str] = []
    ch_names: list[tuple[str, ...]] = []
    sites = sibling_path(path, "sites")
    if sites.exists():
        for line, row in _read_table(sites, ("onset_s", "duration_s", "label")):
            o = _cell_float(row, "onset_s", sites, line) - t0
            d = _cell_float(row, "duration_s", sites, line)
            try:
                site = NeedleSite(label=row["label"], onset_s=o, duration_s=d)
            except ConfigError as exc:
                raise FileFormatError(f"{sites.name}: line {line}: {exc}") from None
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
        raise FileFormatError(f"cannot read {path.name}: {_first_line(exc)}.") from None


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
