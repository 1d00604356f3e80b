"""The crash-safe recorder: round trips, gaps, sites, torn tails, atomic sidecar, flush cadence."""

from __future__ import annotations

import json
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twitchscope.acquisition.recording.recorder import (
    DATA_FILE,
    META_FILE,
    RECORD_HEADER,
    Recorder,
    load_partial,
    partial_path_for,
)
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import Gap, NeedleSite, SampleBlock

SFREQ = 487.0  # deliberately awkward
CH_NAMES = ("EMG1", "EMG2", "EMG3", "accX")
CH_TYPES = ("emg", "emg", "emg", "misc")


def _signal(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((len(CH_NAMES), n)) * 1e-4


def _f32(x: np.ndarray) -> np.ndarray:
    """What the partial file can hold: float32."""
    return x.astype(np.float32).astype(np.float64)


def _block(x: np.ndarray, first: int, lost: int = 0) -> SampleBlock:
    return SampleBlock(x, sfreq=SFREQ, first_sample=first, ch_names=CH_NAMES, n_lost_before=lost)


def _recorder(path: Path, **kw) -> Recorder:
    return Recorder(path, sfreq=SFREQ, ch_names=CH_NAMES, ch_types=CH_TYPES, **kw)


def test_round_trip_with_gaps_and_sites(tmp_path: Path) -> None:
    x = _signal(1000)
    path = tmp_path / "s.partial"
    with _recorder(path, device="/dev/pts/9", protocol="cyton") as rec:
        rec.write(_block(x[:, :100], first=5000))  # recording starts at stream sample 5000
        rec.write(_block(x[:, 100:250], first=5100))
        rec.needle_in("R trapezius TrP1", muscle="trapezius", side="R", point_id="TrP1")
        rec.write(_block(x[:, 250:400], first=5250 + 7, lost=7))  # 7 samples lost
        rec.flush()
        rec.write(_block(x[:, 400:600], first=5407))
        rec.needle_out()
        rec.add_site(NeedleSite("L infraspinatus", onset_s=0.1, duration_s=0.2))
        rec.write(_block(x[:, 600:1000], first=5607 + 30, lost=30))
        assert rec.n_lost == 37
        assert rec.n_samples == 1037
    data, sfreq, ch_names, ch_types, events, meta = load_partial(path)

    assert sfreq == SFREQ and ch_names == CH_NAMES and ch_types == CH_TYPES
    assert data.shape == (4, 1037)
    expected = np.concatenate(
        [
            _f32(x[:, :250]),
            np.zeros((4, 7)),
            _f32(x[:, 250:600]),
            np.zeros((4, 30)),
            _f32(x[:, 600:]),
        ],
        axis=1,
    )
    np.testing.assert_array_equal(data, expected)
    # every zero-filled stretch is covered by exactly one gap
    assert events.gaps == (
        Gap(onset_s=250 / SFREQ, n_samples=7, sfreq=SFREQ),
        Gap(onset_s=607 / SFREQ, n_samples=30, sfreq=SFREQ),
    )
    assert [s.label for s in events.sites] == ["L infraspinatus", "R trapezius TrP1"]
    trap = events.sites[1]
    assert trap.onset_s == pytest.approx(250 / SFREQ)
    assert trap.duration_s == pytest.approx(357 / SFREQ)  # 150 + 7 lost + 200
    assert (trap.muscle, trap.side, trap.point_id) == ("trapezius", "R", "TrP1")
    assert meta["device"] == "/dev/pts/9" and meta["protocol"] == "cyton"
    assert meta["status"] == "closed" and meta["n_bytes_ignored"] == 0
    assert meta["start_time"] is not None and meta["start_time"].utcoffset().total_seconds() == 0
    assert meta["stream_first_sample"] == 5000
    assert not (path / (META_FILE + ".tmp")).exists()


def test_lost_samples_are_never_written(tmp_path: Path) -> None:
    """The data file holds recorded samples only: a gap costs no payload bytes."""
    x = _signal(300)
    path = tmp_path / "g.partial"
    with _recorder(path) as rec:
        rec.write(_block(x[:, :100], first=0))
        rec.flush()
        rec.write(_block(x[:, 100:], first=100 + 10_000, lost=10_000))
    size = (path / DATA_FILE).stat().st_size
    assert size == 2 * RECORD_HEADER.size + 4 * len(CH_NAMES) * 300
    rec_ = load_partial(path)
    assert rec_.data.shape[1] == 10_300
    assert rec_.events.gaps == (Gap(onset_s=100 / SFREQ, n_samples=10_000, sfreq=SFREQ),)
    assert not rec_.data[:, 100:10_100].any()


def test_open_site_after_crash_ends_at_data_end(tmp_path: Path) -> None:
    x = _signal(400)
    path = tmp_path / "c.partial"
    rec = _recorder(path)
    rec.write(_block(x[:, :100], first=0))
    rec.needle_in("TrP2", onset_s=0.1)
    rec.write(_block(x[:, 100:], first=100))
    rec.flush()  # then the process dies: no close()
    got = load_partial(path)
    assert got.meta["status"] == "recording"
    (site,) = got.events.sites
    assert site.label == "TrP2" and site.onset_s == pytest.approx(0.1)
    assert site.offset_s == pytest.approx(400 / SFREQ)
    np.testing.assert_array_equal(got.data, _f32(x))
    rec.close()


def test_truncated_tail_keeps_every_complete_record(tmp_path: Path) -> None:
    x = _signal(600)
    path = tmp_path / "t.partial"
    with _recorder(path) as rec:
        for i in range(3):
            rec.write(_block(x[:, 200 * i : 200 * (i + 1)], first=200 * i))
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
        np.testing.assert_array_equal(got.data, _f32(x[:, :400]))
        assert got.meta["n_records"] == 2 and got.meta["n_bytes_ignored"] == cut


def test_zero_filled_or_corrupt_tail_is_ignored(tmp_path: Path) -> None:
    """Power loss can leave a tail of zeros or a half-written payload with a valid length."""
    x = _signal(400)
    path = tmp_path / "z.partial"
    with _recorder(path) as rec:
        rec.write(_block(x[:, :200], first=0))
        rec.flush()
        rec.write(_block(x[:, 200:], first=200))
    whole = bytearray((path / DATA_FILE).read_bytes())
    record_size = RECORD_HEADER.size + 4 * len(CH_NAMES) * 200

    (path / DATA_FILE).write_bytes(bytes(whole[:record_size]) + bytes(4096))
    got = load_partial(path)
    np.testing.assert_array_equal(got.data, _f32(x[:, :200]))
    assert got.meta["n_bytes_ignored"] == 4096

    whole[-3] ^= 0xFF  # a flipped byte in the last payload: its checksum fails
    (path / DATA_FILE).write_bytes(bytes(whole))
    got = load_partial(path)
    np.testing.assert_array_equal(got.data, _f32(x[:, :200]))
    assert got.meta["n_bytes_ignored"] == record_size


def test_sidecar_is_replaced_atomically(tmp_path: Path) -> None:
    """A reader polling the sidecar while sites are added sees whole JSON documents only."""
    path = tmp_path / "a.partial"
    rec = _recorder(path)
    rec.write(_block(_signal(50), first=0))
    n_sites = 150
    seen: list[int] = []
    errors: list[str] = []
    done = threading.Event()

    def poll() -> None:
        while not done.is_set():
            try:
                meta = json.loads((path / META_FILE).read_text())
            except (json.JSONDecodeError, FileNotFoundError) as exc:
                errors.append(repr(exc))
            else:
                seen.append(len(meta["sites"]))

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for i in range(n_sites):
            rec.add_site(NeedleSite(f"site {i}", onset_s=i * 0.01, duration_s=0.005))
    finally:
        done.set()
        reader.join(timeout=30)
    rec.close()
    assert errors == []
    assert len(seen) > 0
    assert seen == sorted(seen)  # never goes back to an older version
    assert json.loads((path / META_FILE).read_text())["sites"][-1]["label"] == f"site {n_sites - 1}"
    assert sorted(p.name for p in path.iterdir()) == [DATA_FILE, META_FILE]


def test_stale_temporary_sidecar_is_ignored(tmp_path: Path) -> None:
    """A crash during a sidecar update leaves a half-written temp file; the old sidecar stands."""
    path = tmp_path / "s.partial"
    with _recorder(path) as rec:
        rec.write(_block(_signal(100), first=0))
    (path / (META_FILE + ".tmp")).write_text('{"format": "twitchscope-part')
    assert load_partial(path).data.shape == (4, 100)


def test_flush_cadence_grows_the_file_while_recording(tmp_path: Path) -> None:
    """Blocks arriving in real time for ~3 s reach the disk in several steps, as whole records."""
    path = tmp_path / "f.partial"
    x = _signal(int(3 * SFREQ))
    step = int(SFREQ * 0.05)  # 50 ms blocks
    sizes: list[int] = []
    prefixes_ok = True
    with _recorder(path, flush_interval_s=0.5) as rec:
        for first in range(0, x.shape[1], step):
            rec.write(_block(x[:, first : first + step], first=first))
            size = (path / DATA_FILE).stat().st_size
            if not sizes or size != sizes[-1]:
                sizes.append(size)
                on_disk = load_partial(path)
                n = on_disk.data.shape[1]
                prefixes_ok &= on_disk.meta["n_bytes_ignored"] == 0
                prefixes_ok &= bool(np.array_equal(on_disk.data, _f32(x[:, :n])))
                prefixes_ok &= on_disk.meta["n_samples_flushed"] == n
            time.sleep(0.05)
    # about 6 flushes are expected in 3 s; 3 or more means at least one per second
    assert len([s for s in sizes if s > 0]) >= 3
    assert prefixes_ok
    np.testing.assert_array_equal(load_partial(path).data, _f32(x))


def test_maybe_flush_writes_without_new_blocks(tmp_path: Path) -> None:
    path = tmp_path / "m.partial"
    with _recorder(path, flush_interval_s=0.05) as rec:
        rec.write(_block(_signal(10), first=0))
        deadline = time.monotonic() + 10
        while not rec.maybe_flush() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rec.n_samples_flushed == 10
        assert load_partial(path).data.shape == (4, 10)


def test_stream_index_quirks(tmp_path: Path) -> None:
    """Losses before the first block are not gaps; a jump without n_lost_before still is one;
    a block that goes back in the stream is placed after the last one, nothing overwritten."""
    x = _signal(400)
    path = tmp_path / "q.partial"
    with _recorder(path) as rec:
        rec.write(_block(x[:, :100], first=50, lost=50))
        rec.write(_block(x[:, 100:200], first=150 + 5))  # jump of 5, lost not reported
        rec.write(_block(x[:, 200:300], first=100))  # goes back (stream restarted)
        rec.write(_block(x[:, 300:400], first=200 + 3, lost=3))  # after the new anchor
    got = load_partial(path)
    assert [(round(g.onset_s * SFREQ), g.n_samples) for g in got.events.gaps] == [
        (100, 5),
        (305, 3),
    ]
    expected = np.concatenate(
        [
            _f32(x[:, :100]),
            np.zeros((4, 5)),
            _f32(x[:, 100:300]),
            np.zeros((4, 3)),
            _f32(x[:, 300:]),
        ],
        axis=1,
    )
    np.testing.assert_array_equal(got.data, expected)


@given(
    cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=8),
    flush_after=st.lists(st.integers(min_value=0, max_value=9), max_size=4),
    losses=st.lists(st.integers(min_value=0, max_value=20), min_size=9, max_size=9),
)
@settings(max_examples=30, deadline=None)
def test_any_split_and_flush_points_give_the_same_recording(
    cuts: list[int], flush_after: list[int], losses: list[int]
) -> None:
    x = np.random.default_rng(1).standard_normal((len(CH_NAMES), 300)) * 1e-4
    edges = [0, *sorted(cuts), 300]  # duplicates give empty blocks
    expected_parts, expected_gaps, pos, stream = [], [], 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "h.partial"
        with _recorder(path) as rec:
            for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
                lost = losses[i] if i > 0 and b > a else 0
                stream += lost
                rec.write(_block(x[:, a:b], first=stream, lost=lost))
                if lost and pos > 0:
                    expected_gaps.append((pos, lost))
                    expected_parts.append(np.zeros((4, lost)))
                    pos += lost
                expected_parts.append(_f32(x[:, a:b]))
                pos += b - a
                stream += b - a
                if i in flush_after:
                    rec.flush()
        got = load_partial(path)
    np.testing.assert_array_equal(got.data, np.concatenate(expected_parts, axis=1))
    assert [(round(g.onset_s * SFREQ), g.n_samples) for g in got.events.gaps] == expected_gaps


def test_bad_input_raises_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "e.partial"
    rec = _recorder(path)
    with pytest.raises(ConfigError, match="block channels"):
        rec.write(SampleBlock(np.zeros((2, 3)), sfreq=SFREQ, first_sample=0, ch_names=("a", "b")))
    with pytest.raises(ConfigError, match="sfreq 250 Hz differs"):
        rec.write(SampleBlock(np.zeros((4, 3)), sfreq=250.0, first_sample=0, ch_names=CH_NAMES))
    with pytest.raises(ConfigError, match="no needle in"):
        rec.needle_out()
    rec.close()
    with pytest.raises(ConfigError, match="is closed"):
        rec.write(_block(np.zeros((4, 3)), first=0))
    with pytest.raises(FileFormatError, match="already exists; recover it"):
        _recorder(path)
    with pytest.raises(ConfigError, match="one type per channel"):
        Recorder(tmp_path / "x.partial", sfreq=SFREQ, ch_names=CH_NAMES, ch_types=("emg",))
    with pytest.raises(ConfigError, match="'ch_types'"):
        Recorder(tmp_path / "y.partial", sfreq=SFREQ, ch_names=("a",), ch_types="eeg")
    with pytest.raises(ConfigError, match="flush_interval_s must be <= 1 s"):
        _recorder(tmp_path / "z.partial", flush_interval_s=5)

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


def test_partial_path_for() -> None:
    assert partial_path_for("a/session.fif") == Path("a/session.partial")
    assert partial_path_for("a/session.edf") == Path("a/session.partial")
    assert partial_path_for("a/session") == Path("a/session.partial")


def test_data_file_is_append_only(tmp_path: Path) -> None:
    """Earlier bytes are never rewritten: each flush only appends."""
    path = tmp_path / "o.partial"
    x = _signal(300)
    snapshots = []
    with _recorder(path) as rec:
        for i in range(3):
            rec.write(_block(x[:, 100 * i : 100 * (i + 1)], first=100 * i))
            rec.flush()
            snapshots.append((path / DATA_FILE).read_bytes())
    for a, b in zip(snapshots[:-1], snapshots[1:], strict=True):
        assert len(b) > len(a) and b[: len(a)] == a
    assert os.stat(path / DATA_FILE).st_size == len(snapshots[-1])
