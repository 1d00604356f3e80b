"""A crash-safe recorder of sample blocks: an append-only data file plus a JSON sidecar.

A recording in progress is a folder ``<name>.partial/`` holding two files:

``data.f32``
    Append-only records, one per contiguous run of samples written between two
    flushes. Each record is a 32-byte little-endian header followed by its samples::

        offset  size  field
        0       4     magic          b"TSR1"
        4       4     n_rows         uint32, channels in the record (EMG then aux)
        8       4     n_samples      uint32, samples in the record (may be 0)
        12      4     crc32          uint32, zlib.crc32 of bytes 16..32 + the payload
        16      8     first_sample   int64, index of the record's first sample,
                                     counted from the first sample of the recording
        24      8     n_lost_before  int64, samples lost just before this record
        32      ...   payload        float32 little-endian volts, channel-major:
                                     n_rows x n_samples values, row after row

    ``first_sample`` counts the lost samples, so the time of a record is always
    ``first_sample / sfreq``. Lost samples are **left out** of this file: nothing
    is written for them. :func:`load_partial` turns them into a **zero-filled
    stretch** so the time axis stays true, and every such stretch is covered by a
    :class:`~twitchscope.signal.core.model.Gap` (``BAD_ACQ_SKIP``) with its exact
    number of samples. Lost samples are never invented.

``meta.json``
    The sidecar: format version, sampling rate, channel names and types (``emg``
    for the board's EMG channels in board order, ``misc`` for auxiliary channels
    after them), device, protocol, start time (UTC), needle sites (closed, plus
    the one still open), gaps so far and how many samples are flushed. It is
    rewritten atomically (temporary file, ``fsync``, :func:`os.replace`) so a
    reader sees either the old or the new version, never a mix.

The data file is flushed and ``fsync``'d whenever :meth:`Recorder.maybe_flush` (or
:meth:`Recorder.write`) finds ``flush_interval_s`` elapsed since the last flush,
at least once a second by default. After ``kill -9`` or a power cut the file may
end inside a record; :func:`load_partial` reads every complete record with a
valid checksum and ignores the torn tail, so everything up to the last flush is
recovered.

This module is pure acquisition code: it returns numpy arrays and data-model
objects; building an MNE Raw from them is the dashboard's job.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import mmap
import os
import struct
import threading
import time
import zlib
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.checks import check_ch_names, check_option, check_positive, check_sfreq
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import Gap, NeedleSite, RecordingEvents, SampleBlock

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "DATA_FILE",
    "META_FILE",
    "RECORD_HEADER",
    "Recorder",
    "PartialRecording",
    "load_partial",
    "partial_path_for",
]

log = logging.getLogger(__name__)

FORMAT_NAME = "twitchscope-partial"
FORMAT_VERSION = 1
DATA_FILE = "data.f32"
META_FILE = "meta.json"
MAGIC = b"TSR1"
#: magic, n_rows, n_samples, crc32, first_sample, n_lost_before
RECORD_HEADER = struct.Struct("<4sIIIqq")
_CRC_FROM = 16  # the checksum covers the header from first_sample on, then the payload
_MAX_RECORD_SAMPLES = 2**32 - 1
_CH_TYPES = ("emg", "misc")


def partial_path_for(out_path: str | os.PathLike[str]) -> Path:
    """Return the partial folder used while recording to ``out_path``.

    ``session.fif`` and ``session.edf`` both record into ``session.partial``.

    Examples
    --------
    >>> partial_path_for("data/session.fif").as_posix()
    'data/session.partial'
    """
    out = Path(out_path)
    return (
        out.with_name(out.stem + ".partial") if out.suffix else out.with_name(out.name + ".partial")
    )


class Recorder:
    """Record sample blocks to an append-only partial folder, safe against crashes.

    Parameters
    ----------
    path : path-like
        The partial folder to create (conventionally ``<name>.partial``). It must not
        exist: an earlier partial may hold a recording that still needs recovering.
    sfreq : float
        Sampling rate of the blocks, Hz.
    ch_names : sequence of str
        Row names of every block: the EMG channels in board order, then aux channels.
    ch_types : str or sequence of str
        ``"emg"`` or ``"misc"`` per channel (a single string applies to all).
    device, protocol : str
        Free text saved in the sidecar (e.g. the port and the protocol name).
    target : str
        The file the recording is meant to end up in (saved in the sidecar, so a
        recovery knows where to write).
    flush_interval_s : float
        Longest time between two flushes while blocks keep arriving, s (<= 1).
    start_time : datetime or None
        UTC time of the first sample; ``None`` takes the time of the first block.

    Notes
    -----
    Drive it from one thread: :meth:`write` each block, and call
    :meth:`maybe_flush` regularly (every 0.1-0.5 s) so data is flushed even when
    no block arrives. :meth:`add_site`, :meth:`needle_in` and :meth:`needle_out`
    may be called from another thread. Call :meth:`close` (or use ``with``) at
    the end.

    A block's ``first_sample`` is its index in the source stream; the recording
    starts at the first block written (sample 0 of the recording). A jump in
    ``first_sample`` (which counts ``n_lost_before``) becomes a gap.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sfreq: float,
        ch_names: Sequence[str],
        ch_types: str | Sequence[str] = "emg",
        device: str = "",
        protocol: str = "",
        target: str = "",
        flush_interval_s: float = 0.5,
        start_time: dt.datetime | None = None,
    ) -> None:
        self.sfreq = check_sfreq(sfreq)
        self.ch_names = check_ch_names(ch_names)
        types = (ch_types,) * len(self.ch_names) if isinstance(ch_types, str) else tuple(ch_types)
        if len(types) != len(self.ch_names):
            raise ConfigError(
                f"got {len(types)} channel types for {len(self.ch_names)} channels; "
                "expected one type per channel."
            )
        for t in types:
            check_option("ch_types", t, _CH_TYPES)
        self.ch_types: tuple[str, ...] = types
        self.flush_interval_s = check_positive("flush_interval_s", flush_interval_s)
        if self.flush_interval_s > 1.0:
            raise ConfigError(
                f"flush_interval_s must be <= 1 s (data is flushed at least once a second), "
                f"got {flush_interval_s!r}."
            )
        self.device = str(device)
        self.protocol = str(protocol)
        self.target = str(target)
        self.path = Path(path)
        self._start_time = _utc(start_time) if start_time is not None else None

        self._lock = threading.RLock()
        self._stream_offset: int | None = None  # stream index of recording sample 0
        self._n_written = 0  # samples accounted for (recorded + lost), recording-relative
        self._n_flushed = 0
        self._pending: list[tuple[int, int, NDArray[np.float32]]] = []  # (first, lost, data)
        self._gaps: list[Gap] = []
        self._sites: list[NeedleSite] = []
        self._open_site: NeedleSite | None = None
        self._last_flush = time.monotonic()
        self._closed = False

        try:
            self.path.mkdir(parents=True, exist_ok=False)
        except FileExistsError:
            raise FileFormatError(
                f"partial recording {str(self.path)!r} already exists; recover it with "
                "'twitchscope recover' or move it away before recording again."
            ) from None
        except OSError as exc:
            raise FileFormatError(
                f"cannot create partial recording {str(self.path)!r}: {exc.strerror or exc}."
            ) from None
        self._fd = os.open(self.path / DATA_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._write_meta()
        _fsync_dir(self.path)

    # -- properties ---------------------------------------------------------------------

    @property
    def n_samples(self) -> int:
        """Samples of the recording so far, lost ones included (its length), flushed or not."""
        return self._n_written

    @property
    def n_samples_flushed(self) -> int:
        """Samples (lost ones included) safely on disk."""
        return self._n_flushed

    @property
    def duration_s(self) -> float:
        """Length of the recording so far, s."""
        return self._n_written / self.sfreq

    @property
    def gaps(self) -> tuple[Gap, ...]:
        """Gaps found so far."""
        with self._lock:
            return tuple(self._gaps)

    @property
    def n_lost(self) -> int:
        """Total number of samples lost so far."""
        with self._lock:
            return sum(g.n_samples for g in self._gaps)

    @property
    def sites(self) -> tuple[NeedleSite, ...]:
        """Closed needle sites so far (an open one is not included)."""
        with self._lock:
            return tuple(self._sites)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    # -- writing ------------------------------------------------------------------------

    def write(self, block: SampleBlock) -> None:
        """Append one block (flushing if ``flush_interval_s`` has elapsed).

        Raises
        ------
        ConfigError
            If the block's channels or rate differ from the recording's.
        """
        with self._lock:
            self._check_open()
            if block.ch_names != self.ch_names:
                raise ConfigError(
                    f"block channels {list(block.ch_names)!r} differ from the recording's "
                    f"{list(self.ch_names)!r}."
                )
            if not math.isclose(block.sfreq, self.sfreq, rel_tol=1e-9):
                raise ConfigError(
                    f"block sfreq {block.sfreq:g} Hz differs from the recording's {self.sfreq:g} Hz."
                )
            if self._stream_offset is None:
                if block.n_samples == 0:
                    return  # nothing to anchor the recording on yet
                # the recording starts here: losses before its first sample are not its gaps
                self._stream_offset = block.first_sample
                if self._start_time is None:
                    self._start_time = dt.datetime.now(dt.UTC)
                    self._write_meta()
                lost = 0
            else:
                lost = self._place(block)
            if block.n_samples == 0 and lost == 0:
                self._flush_if_due()
                return
            start = self._n_written + lost
            if lost:
                self._gaps.append(
                    Gap(onset_s=self._n_written / self.sfreq, n_samples=lost, sfreq=self.sfreq)
                )
                log.info("recorder: %d samples lost at %.3f s", lost, self._n_written / self.sfreq)
            self._pending.append((start, lost, block.data.astype("<f4")))
            self._n_written = start + block.n_samples
            self._flush_if_due()

    def _place(self, block: SampleBlock) -> int:
        """Return the samples lost before ``block``; re-anchor if the stream index misbehaves."""
        assert self._stream_offset is not None
        rel = block.first_sample - self._stream_offset
        jump = rel - self._n_written
        if jump == block.n_lost_before and jump >= 0:
            return jump
        if jump < 0:
            lost = block.n_lost_before
            log.warning(
                "recorder: block first_sample %d goes back %d samples; placing it after the "
                "last one%s.",
                block.first_sample,
                -jump,
                f" with {lost} lost samples" if lost else "",
            )
        else:
            lost = max(jump, block.n_lost_before)
            log.warning(
                "recorder: block first_sample jumps %d samples but n_lost_before is %d; "
                "recording a gap of %d samples.",
                jump,
                block.n_lost_before,
                lost,
            )
        # from now on, stream indices are read against the new anchor
        self._stream_offset = block.first_sample - (self._n_written + lost)
        return lost

    def maybe_flush(self) -> bool:
        """Flush if ``flush_interval_s`` has elapsed since the last flush; return whether it did."""
        with self._lock:
            if self._closed:
                return False
            return self._flush_if_due()

    def _flush_if_due(self) -> bool:
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Write the pending samples as records, ``fsync`` them, and update the sidecar."""
        with self._lock:
            self._check_open()
            self._last_flush = time.monotonic()
            records = _coalesce(self._pending)
            self._pending = []
            if records:
                payload = b"".join(
                    _encode_record(first, lost, data) for first, lost, data in records
                )
                _write_all(self._fd, payload)
                os.fsync(self._fd)
                self._n_flushed = self._n_written
                self._write_meta()

    # -- needle sites -------------------------------------------------------------------

    def add_site(self, site: NeedleSite) -> None:
        """Record a needle site (a closed span); the sidecar is updated at once."""
        if not isinstance(site, NeedleSite):
            raise ConfigError(f"add_site expects a NeedleSite, got {type(site).__name__}.")
        with self._lock:
            self._check_open()
            self._sites.append(site)
            self._sites.sort(key=lambda s: s.onset_s)
            self._write_meta()

    def needle_in(
        self,
        label: str,
        *,
        onset_s: float | None = None,
        muscle: str = "",
        side: str = "",
        point_id: str | None = None,
        note: str = "",
    ) -> NeedleSite:
        """Mark the needle going in at ``onset_s`` (default: the end of the data so far).

        An open site is closed first at the new onset. Returns the open site (its
        duration is 0 until :meth:`needle_out`).
        """
        with self._lock:
            self._check_open()
            t = self.duration_s if onset_s is None else float(onset_s)
            if self._open_site is not None:
                self._close_site(t)
            self._open_site = NeedleSite(
                label=label,
                onset_s=t,
                duration_s=0.0,
                muscle=muscle,
                side=side,
                point_id=point_id,
                note=note,
            )
            self._write_meta()
            return self._open_site

    def needle_out(self, *, offset_s: float | None = None) -> NeedleSite:
        """Mark the needle coming out at ``offset_s`` (default: now); returns the closed site.

        Raises
        ------
        ConfigError
            If no needle is in.
        """
        with self._lock:
            self._check_open()
            if self._open_site is None:
                raise ConfigError("needle_out called with no needle in; call needle_in first.")
            site = self._close_site(self.duration_s if offset_s is None else float(offset_s))
            self._write_meta()
            return site

    def _close_site(self, offset_s: float) -> NeedleSite:
        assert self._open_site is not None
        open_site = self._open_site
        if offset_s < open_site.onset_s:
            raise ConfigError(
                f"needle out at {offset_s:.3f} s is before needle in at {open_site.onset_s:.3f} s."
            )
        site = NeedleSite(**{**asdict(open_site), "duration_s": offset_s - open_site.onset_s})
        self._open_site = None
        self._sites.append(site)
        self._sites.sort(key=lambda s: s.onset_s)
        return site

    # -- closing ------------------------------------------------------------------------

    def close(self) -> None:
        """Close an open needle site at the end, flush everything and mark the sidecar closed."""
        with self._lock:
            if self._closed:
                return
            if self._open_site is not None:
                self._close_site(max(self.duration_s, self._open_site.onset_s))
            self.flush()
            self._closed = True
            self._write_meta()
            os.close(self._fd)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<Recorder | {str(self.path)!r}, {len(self.ch_names)} ch at {self.sfreq:g} Hz, "
            f"{self._n_written} samples, {len(self._gaps)} gaps>"
        )

    # -- helpers ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigError(f"recorder for {str(self.path)!r} is closed.")

    def _write_meta(self) -> None:
        meta: dict[str, Any] = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "data_file": DATA_FILE,
            "record_header": "<4sIIIqq: magic b'TSR1', n_rows, n_samples, crc32, "
            "first_sample, n_lost_before; then float32 LE volts, channel-major",
            "sfreq": self.sfreq,
            "ch_names": list(self.ch_names),
            "ch_types": list(self.ch_types),
            "device": self.device,
            "protocol": self.protocol,
            "target": self.target,
            "start_time_utc": None if self._start_time is None else self._start_time.isoformat(),
            "stream_first_sample": self._stream_offset,
            "sites": [_site_to_json(s) for s in self._sites],
            "open_site": None if self._open_site is None else _site_to_json(self._open_site),
            "gaps": [{"onset_s": g.onset_s, "n_samples": g.n_samples} for g in self._gaps],
            "n_samples_flushed": self._n_flushed,
            "status": "closed" if self._closed else "recording",
            "updated_utc": dt.datetime.now(dt.UTC).isoformat(),
        }
        _atomic_write_json(self.path / META_FILE, meta)


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
    meta = _read_meta(folder / META_FILE)
    sfreq = meta["sfreq"]
    ch_names = meta["ch_names"]
    n_rows = len(ch_names)
    data_path = folder / meta.get("data_file", DATA_FILE)
    data, gaps, n_records, n_ignored = _read_data(data_path, n_rows, sfreq)
    n_total = data.shape[1]

    duration_s = n_total / sfreq
    sites = [_site_from_json(s) for s in meta["sites"]]
    if meta.get("open_site"):
        op = _site_from_json({**meta["open_site"], "duration_s": 0.0})
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
        "start_time": _parse_time(start, folder) if start else None,
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
        records, end = _scan_records(buf, n_rows)
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


# -- file helpers -----------------------------------------------------------------------


def _coalesce(
    pending: list[tuple[int, int, NDArray[np.float32]]],
) -> list[tuple[int, int, NDArray[np.float32]]]:
    """Merge pending runs that follow each other without loss into single records."""
    out: list[tuple[int, int, list[NDArray[np.float32]], int]] = []
    for first, lost, data in pending:
        if out and lost == 0 and out[-1][3] == first:
            f, lo, parts, _ = out[-1]
            parts.append(data)
            out[-1] = (f, lo, parts, first + data.shape[1])
        else:
            out.append((first, lost, [data], first + data.shape[1]))
    records = []
    for first, lost, parts, _ in out:
        data = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        # a run longer than a uint32 can count is split (only at absurd flush sizes)
        for i in range(0, max(data.shape[1], 1), _MAX_RECORD_SAMPLES):
            records.append((first + i, lost if i == 0 else 0, data[:, i : i + _MAX_RECORD_SAMPLES]))
    return records


def _encode_record(first: int, lost: int, data: NDArray[np.float32]) -> bytes:
    payload = np.ascontiguousarray(data, dtype="<f4").tobytes()
    tail = struct.pack("<qq", first, lost)
    crc = zlib.crc32(payload, zlib.crc32(tail))
    return RECORD_HEADER.pack(MAGIC, data.shape[0], data.shape[1], crc, first, lost) + payload


def _scan_records(raw: Any, n_rows: int) -> tuple[list[tuple[int, int, int, int]], int]:
    """Return ``[(first_sample, n_lost_before, n_samples, payload_offset)]`` and the end offset."""
    records: list[tuple[int, int, int, int]] = []
    pos = 0
    size = RECORD_HEADER.size
    with memoryview(raw) as view:  # released before the caller closes a memory map
        while pos + size <= len(raw):
            magic, rows, n, crc, first, lost = RECORD_HEADER.unpack_from(raw, pos)
            if magic != MAGIC or rows != n_rows or first < 0 or lost < 0:
                break
            end = pos + size + 4 * rows * n
            if end > len(raw):
                break
            head_crc = zlib.crc32(view[pos + _CRC_FROM : pos + size])
            if zlib.crc32(view[pos + size : end], head_crc) != crc:
                break
            records.append((first, lost, n, pos + size))
            pos = end
    return records, pos


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _atomic_write_json(path: Path, obj: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on a directory
        pass
    finally:
        os.close(fd)


def _read_meta(meta_path: Path) -> dict[str, Any]:
    try:
        text = meta_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FileFormatError(
            f"cannot read sidecar {str(meta_path)!r}: {exc.strerror or exc}; expected the "
            "meta.json of a partial recording."
        ) from None
    try:
        meta = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"sidecar {str(meta_path)!r} is not valid JSON ({exc}).") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise FileFormatError(
            f"sidecar {str(meta_path)!r} is not a twitchscope partial recording "
            f"(expected format {FORMAT_NAME!r})."
        )
    if meta.get("version") != FORMAT_VERSION:
        raise FileFormatError(
            f"sidecar {str(meta_path)!r} has version {meta.get('version')!r}; this twitchscope "
            f"reads version {FORMAT_VERSION}."
        )
    try:
        meta["sfreq"] = check_sfreq(meta.get("sfreq"))
        names = check_ch_names(meta.get("ch_names") or ())
        meta["ch_names"] = list(names)
        types = [str(t) for t in meta.get("ch_types") or ()]
        if len(types) != len(names) or any(t not in _CH_TYPES for t in types):
            raise ConfigError(f"ch_types {types!r} must give 'emg' or 'misc' for each channel")
        meta["ch_types"] = types
        meta["sites"] = list(meta.get("sites") or [])
        for s in [*meta["sites"], *([meta["open_site"]] if meta.get("open_site") else [])]:
            _site_from_json({**s, "duration_s": s.get("duration_s", 0.0)})
    except (ConfigError, TypeError, KeyError, ValueError, AttributeError) as exc:
        raise FileFormatError(f"sidecar {str(meta_path)!r} is corrupt: {exc}") from None
    return meta


def _site_to_json(site: NeedleSite) -> dict[str, Any]:
    return asdict(site)


def _site_from_json(obj: dict[str, Any]) -> NeedleSite:
    return NeedleSite(
        label=str(obj["label"]),
        onset_s=float(obj["onset_s"]),
        duration_s=float(obj["duration_s"]),
        muscle=str(obj.get("muscle") or ""),
        side=str(obj.get("side") or ""),
        point_id=None if obj.get("point_id") is None else str(obj["point_id"]),
        note=str(obj.get("note") or ""),
    )


def _utc(t: dt.datetime) -> dt.datetime:
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def _parse_time(text: str, folder: Path) -> dt.datetime:
    try:
        return _utc(dt.datetime.fromisoformat(str(text)))
    except ValueError:
        raise FileFormatError(
            f"sidecar in {str(folder)!r} has start_time_utc {text!r}; expected an ISO 8601 time."
        ) from None
