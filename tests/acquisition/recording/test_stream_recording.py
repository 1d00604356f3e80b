"""Recording a running stream from the moment Record is pressed, its sites in recording time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from tests.acquisition.recording.partial_helpers import (
    CH_NAMES,
    CH_TYPES,
    SFREQ,
    block,
    f32,
    signal_,
)
from twitchscope.acquisition.recording.partial import load_partial
from twitchscope.acquisition.recording.stream_recording import StreamRecording
from twitchscope.acquisition.transport.ring_buffer import RingBuffer
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.sites import SiteLog

N = 50  # samples per block


def _recording(buffer: RingBuffer, tmp_path: Path, sites: SiteLog | None = None) -> StreamRecording:
    return StreamRecording(
        buffer,
        tmp_path / "live.partial",
        target=tmp_path / "live.fif",
        sfreq=SFREQ,
        ch_names=CH_NAMES,
        ch_types=CH_TYPES,
        device="simulated",
        protocol="cyton",
        sites=sites,
    )


def _wait_until(cond, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_records_what_arrives_after_start_and_nothing_before(tmp_path: Path) -> None:
    x = signal_(20 * N)
    buffer = RingBuffer(capacity=100 * N)
    for i in range(5):  # streamed before Record was pressed
        buffer.write(block(x[:, i * N : (i + 1) * N], first=i * N))
    rec = _recording(buffer, tmp_path).start()
    assert rec.first_sample is None and rec.start_s is None
    for i in range(5, 12):
        buffer.write(block(x[:, i * N : (i + 1) * N], first=i * N))
        time.sleep(0.005)
    _wait_until(lambda: rec.duration_s >= 7 * N / SFREQ)
    recorder = rec.stop()
    assert recorder.closed and not rec.running
    assert rec.first_sample == 5 * N
    assert rec.start_s == pytest.approx(5 * N / SFREQ)
    data, sfreq, ch_names, ch_types, events, meta = load_partial(tmp_path / "live.partial")
    assert sfreq == SFREQ and ch_names == CH_NAMES and ch_types == CH_TYPES
    np.testing.assert_array_equal(data, f32(x[:, 5 * N : 12 * N]))
    assert events.gaps == ()
    assert meta["target"] == str(tmp_path / "live.fif")


def test_lost_samples_of_the_stream_are_a_gap_of_the_recording(tmp_path: Path) -> None:
    x = signal_(10 * N)
    buffer = RingBuffer(capacity=100 * N)
    rec = _recording(buffer, tmp_path).start()
    buffer.write(block(x[:, :N], first=0))
    buffer.write(block(x[:, N : 2 * N], first=N + 13, lost=13))
    _wait_until(lambda: rec.duration_s >= (2 * N + 13) / SFREQ)
    rec.stop()
    data, *_, events, _meta = load_partial(tmp_path / "live.partial")
    assert data.shape[1] == 2 * N + 13
    assert len(events.gaps) == 1 and events.gaps[0].n_samples == 13


def test_needle_sites_are_mirrored_in_recording_time(tmp_path: Path) -> None:
    x = signal_(40 * N)
    buffer = RingBuffer(capacity=100 * N)
    sites = SiteLog()
    t = lambda i: i * N / SFREQ  # noqa: E731  stream time of block i
    for i in range(4):
        buffer.write(block(x[:, i * N : (i + 1) * N], first=i * N))
    sites.needle_in("before the recording", t(1))
    sites.needle_out(t(2))
    sites.needle_in("open when Record is pressed", t(3))
    rec = _recording(buffer, tmp_path, sites).start()
    for i in range(4, 30):
        buffer.write(block(x[:, i * N : (i + 1) * N], first=i * N))
        if i == 8:
            sites.needle_out(t(8))
        if i == 12:
            sites.needle_in("R trapezius TrP1", t(12))
        if i == 20:
            sites.needle_out(t(20))
        if i == 24:
            sites.needle_in("still in at Stop", t(24))
        time.sleep(0.01)
    _wait_until(lambda: rec.duration_s >= 26 * N / SFREQ)
    rec.stop()
    *_, events, _meta = load_partial(tmp_path / "live.partial")
    got = [(s.label, round(s.onset_s, 4), round(s.duration_s, 4)) for s in events.sites]
    start = t(4)
    assert got == [
        ("open when Record is pressed", 0.0, round(t(8) - start, 4)),
        ("R trapezius TrP1", round(t(12) - start, 4), round(t(20) - t(12), 4)),
        ("still in at Stop", round(t(24) - start, 4), round(t(30) - t(24), 4)),
    ]


def test_the_partial_keeps_what_was_recorded_when_the_process_dies(tmp_path: Path) -> None:
    x = signal_(10 * N)
    buffer = RingBuffer(capacity=100 * N)
    rec = _recording(buffer, tmp_path).start()
    for i in range(6):
        buffer.write(block(x[:, i * N : (i + 1) * N], first=i * N))
    _wait_until(lambda: rec.recorder.n_samples_flushed >= 6 * N, timeout=5.0)
    # read while the recording still runs, as `twitchscope recover` would after a crash
    data, *_ = load_partial(tmp_path / "live.partial")
    np.testing.assert_array_equal(data, f32(x[:, : 6 * N]))
    rec.stop()


def test_start_twice_and_an_existing_partial_are_clear_errors(tmp_path: Path) -> None:
    buffer = RingBuffer(capacity=10 * N)
    rec = _recording(buffer, tmp_path).start()
    with pytest.raises(ConfigError, match="started already"):
        rec.start()
    rec.stop()
    with pytest.raises(FileFormatError):
        _recording(buffer, tmp_path)


def test_stop_while_the_stream_is_silent_returns_promptly(tmp_path: Path) -> None:
    buffer = RingBuffer(capacity=10 * N)
    rec = _recording(buffer, tmp_path).start()
    done = threading.Event()

    def stop() -> None:
        rec.stop()
        done.set()

    threading.Thread(target=stop).start()
    assert done.wait(5.0)
    assert rec.first_sample is None and rec.recorder.n_samples == 0
