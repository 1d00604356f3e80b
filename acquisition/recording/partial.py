"""Read a recording in progress back: everything up to its last complete record.

:func:`load_partial` reads a ``.partial`` folder (the format is described in
:mod:`twitchscope.acquisition.recording.partial_format`) after a clean stop, while it
is still being written, or after a crash: every complete record with a valid checksum
is read and a torn tail is ignored, lost samples become zero-filled stretches covered
by gaps, and a needle site still open ends at the end of the data.

This module is pure acquisition code: it returns numpy arrays and data-model
objects; building an MNE Raw from them is the dashboard's job.
"""

from __future__ import annotations

import logging
import mmap
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from twitchscope.acquisition.recording.partial_format import (
    DATA_FILE,
    META_FILE,
    parse_time,
    read_meta,
    scan_records,
    site_from_json,
)
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import Gap, NeedleSite, RecordingEvents

__all__ = ["PartialRecording", "load_partial"]

log = logging.getLogger(__name__)


class PartialRecording(NamedTuple):
    """What :func:`load_partial` returns (unpacks as a 6-tuple).

    Attributes
    ----------
    data : array, shape (n_channels, n_samples)
        Volts (float64); lost samples are zeros, each stretch covered by a gap.
    sfreq : float
        Sampling rate, Hz.
    ch_names : tuple of str
        EMG channels in board order, then aux channels.
    ch_types : tuple of str
        ``"emg"`` or ``"misc"`` per channel.
    events : RecordingEvents
        Needle sites (an open one closed at the end of the data) and gaps.
    meta : dict
        The sidecar, plus ``n_records``, ``n_bytes_ignored`` (a torn tail) and
        ``start_time`` (a UTC datetime or None).
    """

    data: NDArray[np.float64]
    sfreq: float
    ch_names: tuple[str, ...]
    ch_types: tuple[str, ...]
    events: RecordingEvents
    meta: dict[str, Any]


def load_partial(path: str | os.PathLike[str]) -> PartialRecording:
    """Read a partial recording up to its last complete record.

    Parameters
    ----------
    path : path-like
        The ``<name>.partial`` folder (or its ``meta.json``).

    Returns
    -------
    recording : PartialRecording
        ``(data, sfreq, ch_names, ch_types, events, meta)``.

    Raises
    ------
    FileFormatError
        If the folder, the sidecar or the data file is missing or not a partial
        recording. A data file that ends inside a record (killed while writing)
        is not an error: the torn tail is ignored and counted in
        ``meta["n_bytes_ignored"]``.
    """
    folder = Path(path)
    if folder.name == META_FILE:
        folder = folder.parent
    if not folder.is_dir():
        raise FileFormatError(f"partial recording {str(folder)!r} not found; expected a folder.")
    meta = read_meta(folder / META_FILE)
    sfreq = meta["sfreq"]
    ch_names = meta["ch_names"]
    n_rows = len(ch_names)
    data_path = folder / meta.get("data_file", DATA_FILE)
    data, gaps, n_records, n_ignored = _read_data(data_path, n_rows, sfreq)
    n_total = data.shape[1]

    duration_s = n_total / sfreq
    sites = [site_from_json(s) for s in meta["sites"]]
    if meta.get("open_site"):
        op = site_from_json({**meta["open_site"], "duration_s": 0.0})
        sites.append(
            NeedleSite(
                **{**asdict(op), "duration_s": max(0.0, duration_s - op.onset_s)},
            )
        )
    events = RecordingEvents(
        sites=tuple(sorted(sites, key=lambda s: s.onset_s)),
        gaps=tuple(gaps),
    )
    start = meta.get("start_time_utc")
    meta = {
        **meta,
        "n_records": n_records,
        "n_bytes_ignored": n_ignored,
        "start_time": parse_time(start, folder) if start else None,
    }
    return PartialRecording(
        data=data,
        sfreq=sfreq,
        ch_names=tuple(ch_names),
        ch_types=tuple(meta["ch_types"]),
        events=events,
        meta=meta,
    )


def _read_data(
    data_path: Path, n_rows: int, sfreq: float
) -> tuple[NDArray[np.float64], list[Gap], int, int]:
    """Read the records of ``data_path`` (memory-mapped): data with zero-filled gaps, the gaps,
    the number of records and the number of trailing bytes ignored."""
    try:
        with open(data_path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            buf: Any = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
    except OSError as exc:
        raise FileFormatError(
            f"cannot read data file {str(data_path)!r}: {exc.strerror or exc}."
        ) from None
    try:
        records, end = scan_records(buf, n_rows)
        n_total = records[-1][0] + records[-1][2] if records else 0
        data = np.zeros((n_rows, n_total), dtype=np.float64)
        gaps: list[Gap] = []
        prev_end = 0
        for first, lost, n, offset in records:
            if first < prev_end:
                raise FileFormatError(
                    f"{str(data_path)!r}: record at sample {first} overlaps the previous one "
                    f"(ending at {prev_end}); expected increasing first_sample."
                )
            if first > prev_end:
                gaps.append(Gap(onset_s=prev_end / sfreq, n_samples=first - prev_end, sfreq=sfreq))
            elif lost:
                log.warning(
                    "%s: record at %d claims %d lost samples but none are missing",
                    data_path,
                    first,
                    lost,
                )
            if n:
                block = np.frombuffer(buf, dtype="<f4", count=n_rows * n, offset=offset)
                data[:, first : first + n] = block.reshape(n_rows, n)
                del block  # no view may outlive the map
            prev_end = first + n
    finally:
        if isinstance(buf, mmap.mmap):
            buf.close()
    n_ignored = size - end
    if n_ignored:
        log.warning(
            "%s: ignored %d bytes after the last complete record (torn tail)", data_path, n_ignored
        )
    return data, gaps, len(records), n_ignored
