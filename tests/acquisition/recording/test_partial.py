"""Reading a partial recording back: after a crash, a torn tail, a half-written sidecar."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.acquisition.recording.partial_helpers import (
    CH_NAMES,
    SFREQ,
    block,
    f32,
    recorder,
    signal_,
)
from twitchscope.acquisition.recording.partial import load_partial
from twitchscope.acquisition.recording.partial_format import DATA_FILE, META_FILE, RECORD_HEADER
from twitchscope.signal.core.errors import FileFormatError


def test_open_site_after_crash_ends_at_data_end(tmp_path: Path) -> None:
    x = signal_(400)
    path = tmp_path / "c.partial"
    rec = recorder(path)
    rec.write(block(x[:, :100], first=0))
    rec.needle_in("TrP2", onset_s=0.1)
    rec.write(block(x[:, 100:], first=100))
    rec.flush()  # then the process dies: no close()
    got = load_partial(path)
    assert got.meta["status"] == "recording"
    (site,) = got.events.sites
    assert site.label == "TrP2" and site.onset_s == pytest.approx(0.1)
    assert site.offset_s == pytest.approx(400 / SFREQ)
    np.testing.assert_array_equal(got.data, f32(x))
    rec.close()


def test_truncated_tail_keeps_every_complete_record(tmp_path: Path) -> None:
    x = signal_(600)
    path = tmp_path / "t.partial"
    with recorder(path) as rec:
        for i in range(3):
            rec.write(block(x[:, 200 * i : 200 * (i + 1)], first=200 * i))
            rec.flush()
    whole = (path / DATA_FILE).read_bytes()
    record_size = RECORD_HEADER.size + 4 * len(CH_NAMES) * 200
    assert len(whole) == 3 * record_size
    # cut anywhere inside the last record, header included
    for cut in (
        1,
        RECORD_HEADER.size - 1,
        RECORD_HEADER.size,
        RECORD_HEADER.size + 5,
        record_size - 1,
    ):
        (path / DATA_FILE).write_bytes(whole[: 2 * record_size + cut])
        got = load_partial(path)
        np.testing.assert_array_equal(got.data, f32(x[:, :400]))
        assert got.meta["n_records"] == 2 and got.meta["n_bytes_ignored"] == cut


def test_zero_filled_or_corrupt_tail_is_ignored(tmp_path: Path) -> None:
    """Power loss can leave a tail of zeros or a half-written payload with a valid length."""
    x = signal_(400)
    path = tmp_path / "z.partial"
    with recorder(path) as rec:
        rec.write(block(x[:, :200], first=0))
        rec.flush()
        rec.write(block(x[:, 200:], first=200))
    whole = bytearray((path / DATA_FILE).read_bytes())
    record_size = RECORD_HEADER.size + 4 * len(CH_NAMES) * 200

    (path / DATA_FILE).write_bytes(bytes(whole[:record_size]) + bytes(4096))
    got = load_partial(path)
    np.testing.assert_array_equal(got.data, f32(x[:, :200]))
    assert got.meta["n_bytes_ignored"] == 4096

    whole[-3] ^= 0xFF  # a flipped byte in the last payload: its checksum fails
    (path / DATA_FILE).write_bytes(bytes(whole))
    got = load_partial(path)
    np.testing.assert_array_equal(got.data, f32(x[:, :200]))
    assert got.meta["n_bytes_ignored"] == record_size


def test_stale_temporary_sidecar_is_ignored(tmp_path: Path) -> None:
    """A crash during a sidecar update leaves a half-written temp file; the old sidecar stands."""
    path = tmp_path / "s.partial"
    with recorder(path) as rec:
        rec.write(block(signal_(100), first=0))
    (path / (META_FILE + ".tmp")).write_text('{"format": "twitchscope-part')
    assert load_partial(path).data.shape == (4, 100)


def test_unreadable_partials_raise_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "e.partial"
    recorder(path).close()
    with pytest.raises(FileFormatError, match="not found"):
        load_partial(tmp_path / "missing.partial")
    (path / META_FILE).write_text("{not json")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        load_partial(path)
    (path / META_FILE).write_text(json.dumps({"format": "something else"}))
    with pytest.raises(FileFormatError, match="not a twitchscope partial"):
        load_partial(path)
    meta = {"format": "twitchscope-partial", "version": 1, "sfreq": -3, "ch_names": ["a"]}
    (path / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(FileFormatError, match="corrupt: sfreq"):
        load_partial(path)
    (path / META_FILE).unlink()
    with pytest.raises(FileFormatError, match="cannot read sidecar") as err:
        load_partial(path)
    assert "\n" not in str(err.value)
