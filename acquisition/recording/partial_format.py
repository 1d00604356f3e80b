"""The on-disk format of a recording in progress (a ``.partial`` folder), and its atomic writes.

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
    is written for them.
    :func:`~twitchscope.acquisition.recording.partial.load_partial` turns them into a **zero-filled
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

Every function here reads or writes that format, and nothing else does: the
:class:`~twitchscope.acquisition.recording.recorder.Recorder` writes it, and
:func:`~twitchscope.acquisition.recording.partial.load_partial` reads it back.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.checks import check_ch_names, check_sfreq
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import Gap, NeedleSite

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "DATA_FILE",
    "META_FILE",
    "MAGIC",
    "RECORD_HEADER",
    "CH_TYPES",
    "partial_path_for",
    "create_partial",
    "append_records",
    "coalesce",
    "encode_record",
    "scan_records",
    "write_all",
    "write_meta",
    "read_meta",
    "atomic_write_json",
    "fsync_dir",
    "site_from_json",
    "utc",
    "parse_time",
]

FORMAT_NAME = "twitchscope-partial"
FORMAT_VERSION = 1
DATA_FILE = "data.f32"
META_FILE = "meta.json"
MAGIC = b"TSR1"
#: magic, n_rows, n_samples, crc32, first_sample, n_lost_before
RECORD_HEADER = struct.Struct("<4sIIIqq")
_CRC_FROM = 16  # the checksum covers the header from first_sample on, then the payload
_MAX_RECORD_SAMPLES = 2**32 - 1
#: The channel types a partial recording holds.
CH_TYPES = ("emg", "misc")


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


def create_partial(folder: Path) -> int:
    """Create the partial folder and its empty data file; return the file's descriptor.

    The descriptor is open for appending only. The caller writes the sidecar next.

    Raises
    ------
    FileFormatError
        If the folder exists (it may hold a recording still to recover) or cannot
        be created.
    """
    try:
        folder.mkdir(parents=True, exist_ok=False)
    except FileExistsError:
        raise FileFormatError(
            f"partial recording {str(folder)!r} already exists; recover it with "
            "'twitchscope recover' or move it away before recording again."
        ) from None
    except OSError as exc:
        raise FileFormatError(
            f"cannot create partial recording {str(folder)!r}: {exc.strerror or exc}."
        ) from None
    fd = os.open(folder / DATA_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    fsync_dir(folder)
    return fd


def append_records(fd: int, pending: list[tuple[int, int, NDArray[np.float32]]]) -> bool:
    """Append ``pending`` runs ``(first_sample, n_lost_before, data)`` as records and
    ``fsync``; return whether anything was written."""
    records = coalesce(pending)
    if not records:
        return False
    write_all(fd, b"".join(encode_record(first, lost, data) for first, lost, data in records))
    os.fsync(fd)
    return True


def write_meta(
    folder: Path,
    *,
    sfreq: float,
    ch_names: Sequence[str],
    ch_types: Sequence[str],
    device: str,
    protocol: str,
    target: str,
    start_time: dt.datetime | None,
    stream_first_sample: int | None,
    sites: Sequence[NeedleSite],
    open_site: NeedleSite | None,
    gaps: Sequence[Gap],
    n_samples_flushed: int,
    closed: bool,
) -> None:
    """Write the sidecar ``meta.json`` of ``folder`` atomically (see the module docstring)."""
    meta: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "data_file": DATA_FILE,
        "record_header": "<4sIIIqq: magic b'TSR1', n_rows, n_samples, crc32, "
        "first_sample, n_lost_before; then float32 LE volts, channel-major",
        "sfreq": sfreq,
        "ch_names": list(ch_names),
        "ch_types": list(ch_types),
        "device": device,
        "protocol": protocol,
        "target": target,
        "start_time_utc": None if start_time is None else start_time.isoformat(),
        "stream_first_sample": stream_first_sample,
        "sites": [_site_to_json(s) for s in sites],
        "open_site": None if open_site is None else _site_to_json(open_site),
        "gaps": [{"onset_s": g.onset_s, "n_samples": g.n_samples} for g in gaps],
        "n_samples_flushed": n_samples_flushed,
        "status": "closed" if closed else "recording",
        "updated_utc": dt.datetime.now(dt.UTC).isoformat(),
    }
    atomic_write_json(folder / META_FILE, meta)


def coalesce(
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


def encode_record(first: int, lost: int, data: NDArray[np.float32]) -> bytes:
    """One record: the header (with its checksum) and the float32 payload of ``data``."""
    payload = np.ascontiguousarray(data, dtype="<f4").tobytes()
    tail = struct.pack("<qq", first, lost)
    crc = zlib.crc32(payload, zlib.crc32(tail))
    return RECORD_HEADER.pack(MAGIC, data.shape[0], data.shape[1], crc, first, lost) + payload


def scan_records(raw: Any, n_rows: int) -> tuple[list[tuple[int, int, int, int]], int]:
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


def write_all(fd: int, payload: bytes) -> None:
    """Write every byte of ``payload`` to ``fd`` (``os.write`` may write fewer)."""
    view = memoryview(payload)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def atomic_write_json(path: Path, obj: dict[str, Any]) -> None:
    """Replace ``path`` by ``obj`` as JSON: temporary file, ``fsync``, :func:`os.replace`."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def fsync_dir(folder: Path) -> None:
    """``fsync`` a folder so a created or replaced file in it survives a power cut."""
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


def read_meta(meta_path: Path) -> dict[str, Any]:
    """Read and check a sidecar; raise :class:`FileFormatError` if it is not a valid one."""
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
        if len(types) != len(names) or any(t not in CH_TYPES for t in types):
            raise ConfigError(f"ch_types {types!r} must give 'emg' or 'misc' for each channel")
        meta["ch_types"] = types
        meta["sites"] = list(meta.get("sites") or [])
        for s in [*meta["sites"], *([meta["open_site"]] if meta.get("open_site") else [])]:
            site_from_json({**s, "duration_s": s.get("duration_s", 0.0)})
    except (ConfigError, TypeError, KeyError, ValueError, AttributeError) as exc:
        raise FileFormatError(f"sidecar {str(meta_path)!r} is corrupt: {exc}") from None
    return meta


def _site_to_json(site: NeedleSite) -> dict[str, Any]:
    return asdict(site)


def site_from_json(obj: dict[str, Any]) -> NeedleSite:
    """A needle site from its sidecar entry."""
    return NeedleSite(
        label=str(obj["label"]),
        onset_s=float(obj["onset_s"]),
        duration_s=float(obj["duration_s"]),
        muscle=str(obj.get("muscle") or ""),
        side=str(obj.get("side") or ""),
        point_id=None if obj.get("point_id") is None else str(obj["point_id"]),
        note=str(obj.get("note") or ""),
    )


def utc(t: dt.datetime) -> dt.datetime:
    """``t`` in UTC (a naive time is taken as UTC)."""
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def parse_time(text: str, folder: Path) -> dt.datetime:
    """A sidecar's ISO 8601 time, in UTC."""
    try:
        return utc(dt.datetime.fromisoformat(str(text)))
    except ValueError:
        raise FileFormatError(
            f"sidecar in {str(folder)!r} has start_time_utc {text!r}; expected an ISO 8601 time."
        ) from None
