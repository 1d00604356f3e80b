"""The on-disk format of a partial recording: records, sidecar, folder name."""

from __future__ import annotations

import datetime as dt
import json
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

from twitchscope.acquisition.recording.partial_format import (
    DATA_FILE,
    META_FILE,
    RECORD_HEADER,
    append_records,
    coalesce,
    create_partial,
    encode_record,
    partial_path_for,
    read_meta,
    scan_records,
    site_from_json,
    write_meta,
)
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import Gap, NeedleSite


def test_partial_path_for() -> None:
    assert partial_path_for("a/session.fif") == Path("a/session.partial")
    assert partial_path_for("a/session.edf") == Path("a/session.partial")
    assert partial_path_for("a/session") == Path("a/session.partial")


def test_a_record_is_laid_out_byte_for_byte_as_documented() -> None:
    data = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.25]], dtype=np.float32)
    got = encode_record(7, 2, data)
    payload = struct.pack("<6f", 1.0, 2.0, 3.0, -1.0, 0.5, 0.25)  # channel-major, LE float32
    tail = struct.pack("<qq", 7, 2)
    crc = zlib.crc32(tail + payload)
    assert got == b"TSR1" + struct.pack("<III", 2, 3, crc) + tail + payload
    assert RECORD_HEADER.size == 32 and len(got) == 32 + 4 * 6


def test_scan_reads_complete_records_and_stops_at_a_bad_one() -> None:
    a = encode_record(0, 0, np.ones((2, 4), dtype=np.float32))
    b = encode_record(9, 5, np.zeros((2, 1), dtype=np.float32))
    records, end = scan_records(a + b, n_rows=2)
    assert records == [(0, 0, 4, 32), (9, 5, 1, len(a) + 32)]
    assert end == len(a) + len(b)
    assert scan_records(a + b[:-1], n_rows=2) == ([(0, 0, 4, 32)], len(a))  # torn
    assert scan_records(a, n_rows=3) == ([], 0)  # another channel count: not this recording
    bad = bytearray(a)
    bad[20] ^= 1  # first_sample changed: the checksum covers the header from byte 16
    assert scan_records(bytes(bad), n_rows=2) == ([], 0)


def test_coalesce_merges_contiguous_runs_only() -> None:
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    pending = [(0, 0, x[:, :2]), (2, 0, x[:, 2:3]), (8, 5, x[:, 3:5]), (10, 0, x[:, 5:])]
    got = coalesce(pending)
    assert [(first, lost, d.shape[1]) for first, lost, d in got] == [(0, 0, 3), (8, 5, 3)]
    np.testing.assert_array_equal(np.concatenate([d for *_, d in got], axis=1), x)


def test_sidecar_round_trip(tmp_path: Path) -> None:
    open_ = NeedleSite("R trapezius TrP1", onset_s=2.0, duration_s=0.0, muscle="trapezius")
    write_meta(
        tmp_path,
        sfreq=250.0,
        ch_names=("a", "b"),
        ch_types=("emg", "misc"),
        device="/dev/pts/3",
        protocol="cyton",
        target="s.fif",
        start_time=dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
        stream_first_sample=12,
        sites=(NeedleSite("L", onset_s=0.5, duration_s=1.0, point_id="C4"),),
        open_site=open_,
        gaps=(Gap(onset_s=1.0, n_samples=3, sfreq=250.0),),
        n_samples_flushed=500,
        closed=False,
    )
    text = (tmp_path / META_FILE).read_text()
    assert list(json.loads(text))[:4] == ["format", "version", "data_file", "record_header"]
    meta = read_meta(tmp_path / META_FILE)
    assert meta["sfreq"] == 250.0 and meta["ch_types"] == ["emg", "misc"]
    assert meta["start_time_utc"] == "2024-05-06T07:08:09+00:00"
    assert meta["gaps"] == [{"onset_s": 1.0, "n_samples": 3}] and meta["status"] == "recording"
    assert site_from_json(meta["sites"][0]).point_id == "C4"
    assert site_from_json(meta["open_site"]) == open_
    assert not (tmp_path / (META_FILE + ".tmp")).exists()


def test_read_meta_refuses_another_version(tmp_path: Path) -> None:
    (tmp_path / META_FILE).write_text(json.dumps({"format": "twitchscope-partial", "version": 2}))
    with pytest.raises(FileFormatError, match="has version 2; this twitchscope reads version 1"):
        read_meta(tmp_path / META_FILE)


def test_create_partial_then_append_records(tmp_path: Path) -> None:
    folder = tmp_path / "p.partial"
    fd = create_partial(folder)
    try:
        assert not append_records(fd, [])  # nothing pending: nothing written
        x = np.arange(6, dtype=np.float32).reshape(2, 3)
        assert append_records(fd, [(0, 0, x[:, :1]), (1, 0, x[:, 1:])])
    finally:
        os.close(fd)
    assert (folder / DATA_FILE).read_bytes() == encode_record(0, 0, x)  # merged: one record
    with pytest.raises(FileFormatError, match="already exists; recover it"):
        create_partial(folder)
