"""Read EMG recordings from files into MNE Raw objects, whole or block by block.

This module is the entry point: it tells the format of a file (by extension, then
by content for text files), hands it to that format's reader and streams any
recording as :class:`~twitchscope.signal.core.model.SampleBlock` s. Every reader
returns an :class:`mne.io.BaseRaw` with EMG channels typed ``emg``, data in volts,
and the needle sites as ``needle:<label>`` annotations whose onsets are seconds
from the first sample (see :mod:`twitchscope.signal.core.model`).

Supported files, and the module that reads each:

``.edf``, ``.bdf``
    EDF/EDF+ and BDF/BDF+ through MNE, header checked first
    (:mod:`~twitchscope.signal.io.edf`).
``.fif``, ``.fif.gz``
    MNE's FIF (:mod:`~twitchscope.signal.io.fif`).
``.csv`` (twitchscope/corpus layout)
    A header row, ``time_s`` or ``sfreq=``, one column per channel in µV
    (:mod:`~twitchscope.signal.io.csv_format`).
``.txt`` (OpenBCI GUI, ``OpenBCI-RAW-*.txt``)
    ``%`` header lines, then comma-separated rows with EXG values in µV
    (:mod:`~twitchscope.signal.io.openbci_txt`).
``.xdf``, ``.xdfz`` (LabRecorder, Lab Streaming Layer)
    The stream of type ``EMG`` (or one named with ``stream=``) and the string
    markers of the file (:mod:`~twitchscope.signal.io.xdf`; needs pyxdf).
``.csv``, ``.tsv``, ``.txt`` (BrainFlow)
    ``DataFilter.write_file`` output: tab separated, no header, one column per
    board row (:mod:`~twitchscope.signal.io.brainflow`).
``.csv``, ``.tsv``, ``.txt`` (headerless numeric log)
    Lines of numbers only, e.g. an Arduino sketch's serial output; needs ``sfreq``
    (:mod:`~twitchscope.signal.io.headerless`).
``.wav`` (Backyard Brains Spike Recorder)
    16-bit counts and ``<name>-events.txt`` markers; ``site_markers`` maps marker
    texts to needle sites (:mod:`~twitchscope.signal.io.spike_recorder_wav`).

The three text formats share one streaming parser and the ``<name>.sites.csv`` /
``<name>.annotations.csv`` sibling files (:mod:`~twitchscope.signal.io.delimited`).

Bad input raises :class:`~twitchscope.signal.core.errors.FileFormatError` (or
:class:`~twitchscope.signal.core.errors.ConfigError` for a bad parameter) with a
one-line message; exceptions of MNE and pandas never leak out of these modules.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import mne
import numpy as np

from twitchscope.signal.core.bad_values import mask_bad_values
from twitchscope.signal.core.checks import check_sfreq
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.io.brainflow import BRAINFLOW_BOARDS, brainflow_layout
from twitchscope.signal.io.csv_format import csv_layout
from twitchscope.signal.io.delimited import (
    TextLayout,
    attach_sidecar_channels,
    iter_text_blocks,
    read_text,
)
from twitchscope.signal.io.edf import read_edf_bdf
from twitchscope.signal.io.fif import read_fif
from twitchscope.signal.io.formats import (
    SUPPORTED_EXTENSIONS,
    error_summary,
    first_content_line,
    is_number,
    recording_extension,
)
from twitchscope.signal.io.headerless import headerless_layout, log_separator
from twitchscope.signal.io.openbci_txt import openbci_layout
from twitchscope.signal.io.spike_recorder_wav import check_site_markers, read_spike_recorder_wav
from twitchscope.signal.io.xdf import read_xdf

__all__ = [
    "FileKind",
    "ReadOptions",
    "NO_READ_OPTIONS",
    "detect_format",
    "read_recording",
    "iter_blocks",
]

FileKind = Literal["edf", "bdf", "fif", "csv", "openbci", "brainflow", "headerless", "xdf", "wav"]


# --------------------------------------------------------------------------------------
# format detection


def detect_format(path: str | Path) -> FileKind:
    """Tell which reader a file needs, from its extension and, for text, its first line.

    Parameters
    ----------
    path : str or Path
        The recording.

    Returns
    -------
    kind : {"edf", "bdf", "fif", "csv", "openbci", "brainflow", "headerless", "xdf", "wav"}

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
    check_readable(path)
    ext = recording_extension(path)
    if ext == ".edf":
        return "edf"
    if ext == ".bdf":
        return "bdf"
    if ext in (".fif", ".fif.gz"):
        return "fif"
    if ext in (".xdf", ".xdfz"):
        return "xdf"
    if ext == ".wav":
        return "wav"
    if ext in (".csv", ".tsv", ".txt"):
        first = first_content_line(path)
        if first is None:
            raise FileFormatError(f"{path.name} is empty; expected a header row and samples.")
        if first.startswith("%"):
            return "openbci"
        if "\t" in first and all(is_number(f) for f in first.strip().split("\t")):
            n_cols = len(first.strip().split("\t"))
            if any(b.n_rows == n_cols for b in BRAINFLOW_BOARDS.values()):
                return "brainflow"
        if log_separator(first) is not None:
            return "headerless"
        if ext == ".csv":
            return "csv"
        raise FileFormatError(
            f"{path.name} is neither an OpenBCI GUI file (first line starting with '%') nor "
            "BrainFlow output (tab-separated numbers) nor a log of numbers; expected one of "
            f"those for {ext} files."
        )
    supported = ", ".join(SUPPORTED_EXTENSIONS)
    raise FileFormatError(
        f"unsupported file extension {ext or '(none)'!r} for {path.name}; expected one of "
        f"{supported}."
    )


def check_readable(path: Path) -> None:
    """Open ``path`` and read its first byte; an OS error becomes one line.

    Raises
    ------
    FileFormatError
        No read permission, an I/O error, or any other reason the file cannot be read.
    """
    try:
        with path.open("rb") as f:
            f.read(1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise FileFormatError(
            f"cannot read {path.name}: {reason}; expected a file you can read."
        ) from None


def _text_layout(
    path: Path,
    kind: str,
    *,
    sfreq: float | None,
    board: str | int | None,
    scale: float | None = None,
) -> TextLayout:
    if kind == "csv":
        return csv_layout(path, sfreq)
    if kind == "openbci":
        return openbci_layout(path, sfreq)
    if kind == "headerless" and board is None:  # board= says: BrainFlow output
        return headerless_layout(path, sfreq, scale)
    return brainflow_layout(path, sfreq, board)


# --------------------------------------------------------------------------------------
# public entry points


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """What the user tells about a file that the file does not say (``--sfreq``, ``--board``,
    ``--scale``, ``--site-marker``): passed on to :func:`read_recording` as keywords,
    hashable and picklable for workers.

    ``site_markers`` holds ``(marker, label)`` pairs (a mapping is not hashable; one
    given is turned into pairs).
    """

    sfreq: float | None = None
    board: str | int | None = None
    scale: float | None = None
    site_markers: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        # checked (ConfigError) and kept as sorted pairs, also when given a mapping
        pairs = check_site_markers(dict(self.site_markers))
        object.__setattr__(self, "site_markers", tuple(sorted(pairs.items())))

    def kwargs(self) -> dict[str, Any]:
        """The keywords of :func:`read_recording`."""
        return {
            "sfreq": self.sfreq,
            "board": self.board,
            "scale": self.scale,
            "site_markers": dict(self.site_markers),
        }


#: nothing told: every file says its own rate and units
NO_READ_OPTIONS: Final = ReadOptions()


def read_recording(
    path: str | Path,
    *,
    sfreq: float | None = None,
    preload: bool = False,
    board: str | int | None = None,
    scale: float | None = None,
    site_markers: Mapping[str, str] | None = None,
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
    scale : float or None
        Volts per unit of the file, for formats that hold counts or unknown units:
        Spike Recorder ``.wav`` (default: its documented default) and headerless
        numeric logs (default: µV). Ignored for other formats.
    site_markers : mapping of str to str, or None
        Marker text -> needle-site label, for the markers of a Spike Recorder ``.wav``
        (e.g. ``{"1": "R upper trapezius TrP1"}``; a label ``needle-out`` ends the open
        site). Checked for every format, ignored by the others.

    Returns
    -------
    raw : mne.io.BaseRaw

    Raises
    ------
    FileFormatError
        Missing, unsupported, truncated or malformed file.
    ConfigError
        Bad ``sfreq``, ``board`` or ``site_markers``, or ``sfreq`` needed but not given.
    """
    path = Path(path)
    if sfreq is not None:
        sfreq = check_sfreq(sfreq)
    site_markers = check_site_markers(site_markers)
    kind = detect_format(path)
    if kind in ("edf", "bdf"):
        raw = attach_sidecar_channels(read_edf_bdf(path, kind, preload=preload), path)
    elif kind == "fif":
        raw = read_fif(path, preload=preload)
    elif kind == "xdf":
        raw = read_xdf(path)
    elif kind == "wav":
        raw = read_spike_recorder_wav(path, scale=scale, site_markers=site_markers)
    else:
        layout = _text_layout(path, kind, sfreq=sfreq, board=board, scale=scale)
        return mask_bad_values(read_text(layout), path.name)
    if sfreq is not None and not math.isclose(sfreq, raw.info["sfreq"], rel_tol=1e-6):
        raise ConfigError(
            f"sfreq={sfreq:g} Hz was given but {path.name} is sampled at "
            f"{raw.info['sfreq']:g} Hz; leave sfreq out for {kind.upper()} files."
        )
    return mask_bad_values(raw, path.name)


def iter_blocks(
    raw_or_path: mne.io.BaseRaw | str | Path,
    *,
    block_samples: int,
    picks: str | Sequence[str] | None = "emg",
    sfreq: float | None = None,
    board: str | int | None = None,
    scale: float | None = None,
    site_markers: Mapping[str, str] | None = None,
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
    sfreq, board, scale, site_markers
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
    if kind in ("edf", "bdf", "fif", "xdf", "wav"):
        raw = read_recording(
            path, sfreq=sfreq, preload=False, scale=scale, site_markers=site_markers
        )
        return _iter_raw_blocks(raw, block_samples, picks)
    layout = _text_layout(path, kind, sfreq=sfreq, board=board, scale=scale)
    idx = _pick_indices(layout.ch_names, layout.ch_types, picks, path.name)
    return iter_text_blocks(layout, block_samples, idx)


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
                f"cannot read samples {start}-{stop} of {_raw_name(raw)}: {error_summary(exc)}."
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
