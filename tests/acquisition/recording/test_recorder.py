"""The crash-safe recorder: round trips, gaps, sites, atomic sidecar, flush cadence."""

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

from tests.acquisition.recording.partial_helpers import (
    CH_NAMES,
    CH_TYPES,
    SFREQ,
    block,
    f32,
    recorder,
    signal_,
)
from twitchscope.acquisition.recording.partial import load_partial
from twitchscope.acquisition.recording.partial_format import DATA_FILE, META_FILE, RECORD_HEADER
from twitchscope.acquisition.recording.recorder import Recorder
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import Gap, NeedleSite, SampleBlock


def test_round_trip_with_gaps_and_sites(tmp_path: Path) -> None:
    x = signal_(1000)
    path = tmp_path / "s.partial"
    with recorder(path, device="/dev/pts/9", protocol="cyton") as rec:
        rec.write(block(x[:, :100], first=5000))  # recording starts at stream sample 5000
        rec.write(block(x[:, 100:250], first=5100))
        rec.needle_in("R trapezius TrP1", muscle="trapezius", side="R", point_id="TrP1")
        rec.write(block(x[:, 250:400], first=5250 + 7, lost=7))  # 7 samples lost
        rec.flush()
        rec.write(block(x[:, 400:600], first=5407))
        rec.needle_out()
        rec.add_site(NeedleSite("L infraspinatus", onset_s=0.1, duration_s=0.2))
        rec.write(block(x[:, 600:1000], first=5607 + 30, lost=30))
        assert rec.n_lost == 37
        assert rec.n_samples == 1037
    data, sfreq, ch_names, ch_types, events, meta = load_partial(path)

    assert sfreq == SFREQ and ch_names == CH_NAMES and ch_types == CH_TYPES
    assert data.shape == (4, 1037)
    expected = np.concatenate(
        [
            f32(x[:, :250]),
            np.zeros((4, 7)),
            f32(x[:, 250:600]),
            np.zeros((4, 30)),
            f32(x[:, 600:]),
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
    x = signal_(300)
    path = tmp_path / "g.partial"
    with recorder(path) as rec:
        rec.write(block(x[:, :100], first=0))
        rec.flush()
        rec.write(block(x[:, 100:], first=100 + 10_000, lost=10_000))
    size = (path / DATA_FILE).stat().st_size
    assert size == 2 * RECORD_HEADER.size + 4 * len(CH_NAMES) * 300
    rec_ = load_partial(path)
    assert rec_.data.shape[1] == 10_300
    assert rec_.events.gaps == (Gap(onset_s=100 / SFREQ, n_samples=10_000, sfreq=SFREQ),)
    assert not rec_.data[:, 100:10_100].any()


def test_sidecar_is_replaced_atomically(tmp_path: Path) -> None:
    """A reader polling the sidecar while sites are added sees whole JSON documents only."""
    path = tmp_path / "a.partial"
    rec = recorder(path)
    rec.write(block(signal_(50), first=0))
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


def test_flush_cadence_grows_the_file_while_recording(tmp_path: Path) -> None:
    """Blocks arriving in real time for ~3 s reach the disk in several steps, as whole records."""
    path = tmp_path / "f.partial"
    x = signal_(int(3 * SFREQ))
    step = int(SFREQ * 0.05)  # 50 ms blocks
    sizes: list[int] = []
    prefixes_ok = True
    with recorder(path, flush_interval_s=0.5) as rec:
        for first in range(0, x.shape[1], step):
            rec.write(block(x[:, first : first + step], first=first))
            size = (path / DATA_FILE).stat().st_size
            if not sizes or size != sizes[-1]:
                sizes.append(size)
                on_disk = load_partial(path)
                n = on_disk.data.shape[1]
                prefixes_ok &= on_disk.meta["n_bytes_ignored"] == 0
                prefixes_ok &= bool(np.array_equal(on_disk.data, f32(x[:, :n])))
                prefixes_ok &= on_disk.meta["n_samples_flushed"] == n
            time.sleep(0.05)
    # about 6 flushes are expected in 3 s; 3 or more means at least one per second
    assert len([s for s in sizes if s > 0]) >= 3
    assert prefixes_ok
    np.testing.assert_array_equal(load_partial(path).data, f32(x))


def test_maybe_flush_writes_without_new_blocks(tmp_path: Path) -> None:
    path = tmp_path / "m.partial"
    with recorder(path, flush_interval_s=0.05) as rec:
        rec.write(block(signal_(10), first=0))
        deadline = time.monotonic() + 10
        while not rec.maybe_flush() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert rec.n_samples_flushed == 10
        assert load_partial(path).data.shape == (4, 10)


def test_stream_index_quirks(tmp_path: Path) -> None:
    """Losses before the first block are not gaps; a jump without n_lost_before still is one;
    a block that goes back in the stream is placed after the last one, nothing overwritten."""
    x = signal_(400)
    path = tmp_path / "q.partial"
    with recorder(path) as rec:
        rec.write(block(x[:, :100], first=50, lost=50))
        rec.write(block(x[:, 100:200], first=150 + 5))  # jump of 5, lost not reported
        rec.write(block(x[:, 200:300], first=100))  # goes back (stream restarted)
        rec.write(block(x[:, 300:400], first=200 + 3, lost=3))  # after the new anchor
    got = load_partial(path)
    assert [(round(g.onset_s * SFREQ), g.n_samples) for g in got.events.gaps] == [
        (100, 5),
        (305, 3),
    ]
    expected = np.concatenate(
        [
            f32(x[:, :100]),
            np.zeros((4, 5)),
            f32(x[:, 100:300]),
            np.zeros((4, 3)),
            f32(x[:, 300:]),
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
        with recorder(path) as rec:
            for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
                lost = losses[i] if i > 0 and b > a else 0
                stream += lost
                rec.write(block(x[:, a:b], first=stream, lost=lost))
                if lost and pos > 0:
                    expected_gaps.append((pos, lost))
                    expected_parts.append(np.zeros((4, lost)))
                    pos += lost
                expected_parts.append(f32(x[:, a:b]))
                pos += b - a
                stream += b - a
                if i in flush_after:
                    rec.flush()
        got = load_partial(path)
    np.testing.assert_array_equal(got.data, np.concatenate(expected_parts, axis=1))
    assert [(round(g.onset_s * SFREQ), g.n_samples) for g in got.events.gaps] == expected_gaps


def test_data_file_is_append_only(tmp_path: Path) -> None:
    """Earlier bytes are never rewritten: each flush only appends."""
    path = tmp_path / "o.partial"
    x = signal_(300)
    snapshots = []
    with recorder(path) as rec:
        for i in range(3):
            rec.write(block(x[:, 100 * i : 100 * (i + 1)], first=100 * i))
            rec.flush()
            snapshots.append((path / DATA_FILE).read_bytes())
    for a, b in zip(snapshots[:-1], snapshots[1:], strict=True):
        assert len(b) > len(a) and b[: len(a)] == a
    assert os.stat(path / DATA_FILE).st_size == len(snapshots[-1])


def test_bad_input_raises_one_line_errors(tmp_path: Path) -> None:
    path = tmp_path / "e.partial"
    rec = recorder(path)
    with pytest.raises(ConfigError, match="block channels"):
        rec.write(SampleBlock(np.zeros((2, 3)), sfreq=SFREQ, first_sample=0, ch_names=("a", "b")))
    with pytest.raises(ConfigError, match="sfreq 250 Hz differs"):
        rec.write(SampleBlock(np.zeros((4, 3)), sfreq=250.0, first_sample=0, ch_names=CH_NAMES))
    with pytest.raises(ConfigError, match="no needle in"):
        rec.needle_out()
    rec.close()
    with pytest.raises(ConfigError, match="is closed"):
        rec.write(block(np.zeros((4, 3)), first=0))
    with pytest.raises(FileFormatError, match="already exists; recover it"):
        recorder(path)
    with pytest.raises(ConfigError, match="one type per channel"):
        Recorder(tmp_path / "x.partial", sfreq=SFREQ, ch_names=CH_NAMES, ch_types=("emg",))
    with pytest.raises(ConfigError, match="'ch_types'"):
        Recorder(tmp_path / "y.partial", sfreq=SFREQ, ch_names=("a",), ch_types="eeg")
    with pytest.raises(ConfigError, match="flush_interval_s must be <= 1 s"):
        recorder(tmp_path / "z.partial", flush_interval_s=5)


def test_needle_sites_follow_the_site_log_rules(tmp_path: Path) -> None:
    """The recorder's needle in/out are the one site log's: same errors, sidecar kept current."""
    path = tmp_path / "n.partial"
    rec = recorder(path)
    rec.write(block(signal_(487), first=0))  # 1 s
    with pytest.raises(ConfigError, match="no needle in; press Needle in first"):
        rec.needle_out()
    opened = rec.needle_in("R QL TrP2", onset_s=0.2)
    assert opened.duration_s == 0.0
    assert json.loads((path / META_FILE).read_text())["open_site"]["label"] == "R QL TrP2"
    with pytest.raises(ConfigError, match="before needle in at 0.200 s"):
        rec.needle_out(offset_s=0.1)
    with pytest.raises(ConfigError, match="needs a label"):
        rec.needle_in("  ")
    rec.needle_in("L QL TrP1")  # default onset: the end of the data; closes the open one there
    assert [(s.label, s.offset_s) for s in rec.sites] == [("R QL TrP2", pytest.approx(1.0))]
    with pytest.raises(ConfigError, match="takes NeedleSite spans"):
        rec.add_site("L QL")  # type: ignore[arg-type]
    rec.close()  # the open site ends at the end of the data
    meta = json.loads((path / META_FILE).read_text())
    assert meta["open_site"] is None and meta["status"] == "closed"
    assert [(s["label"], s["onset_s"], s["duration_s"]) for s in meta["sites"]] == [
        ("R QL TrP2", 0.2, pytest.approx(0.8)),
        ("L QL TrP1", 1.0, 0.0),
    ]
    with pytest.raises(ConfigError, match="is closed"):
        rec.needle_in("late", onset_s=2.0)
