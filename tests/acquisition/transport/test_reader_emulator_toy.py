"""Reader and emulator end to end over a real pty, with a tiny test-only protocol.

The toy protocol keeps these tests independent of the real parsers: a frame is
``AA 55 counter int16BE*n``. Everything else (pty, pyserial, ReaderThread, ring
buffer, faults, reconnect) is the real code.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import numpy as np
import pytest
import serial

from twitchscope.acquisition.boards.base import DeviceSpec, ParsedChunk, ParserState
from twitchscope.acquisition.boards.handshake import PassiveDriver
from twitchscope.acquisition.emulation.pty_board import Emulator
from twitchscope.acquisition.transport.reader import Reader, ReaderState
from twitchscope.signal.core.errors import ConfigError, DeviceError

LSB = 1e-6
N_CH = 2
SFREQ = 500.0
HEADER = b"\xaa\x55"
FRAME = 3 + 2 * N_CH
TIMEOUT = 20.0  # generous: a busy 2-core machine


class ToyParser:
    spec = DeviceSpec(protocol="toy", sfreq=SFREQ, ch_names=("t1", "t2"), baudrate=115200)

    def init_state(self) -> ParserState:
        return ParserState()

    def parse(self, data: bytes, state: ParserState) -> tuple[ParsedChunk, ParserState]:
        buf = state.pending + data
        i, dropped, last = 0, state.n_bytes_dropped, state.last_counter
        rows, gaps = [], []
        while len(buf) - i >= FRAME:
            if buf[i : i + 2] != HEADER:
                i += 1
                dropped += 1
                continue
            counter = buf[i + 2]
            if last is not None and (counter - last - 1) % 256:
                gaps.append((len(rows), (counter - last - 1) % 256))
            last = counter
            rows.append(np.frombuffer(buf[i + 3 : i + FRAME], dtype=">i2").astype(float) * LSB)
            i += FRAME
        samples = np.array(rows).T if rows else np.zeros((N_CH, 0))
        chunk = ParsedChunk(samples=samples, aux=np.zeros((0, len(rows))), gaps=tuple(gaps))
        new = ParserState(
            pending=buf[i:],
            n_bytes_dropped=dropped,
            n_frames=state.n_frames + len(rows),
            last_counter=last,
        )
        return chunk, new


class ToyBoard:
    protocol = "toy"
    sfreq = SFREQ
    n_channels = N_CH

    def __init__(self) -> None:
        self.streaming = True

    def power_up(self) -> bytes:
        self.streaming = True
        return b""

    def on_bytes(self, data: bytes) -> bytes:
        return b""

    def encode(self, block: np.ndarray, first_index: int) -> list[bytes]:
        counts = np.round(block / LSB).astype(">i2")
        return [
            HEADER + bytes([(first_index + k) & 0xFF]) + counts[:, k].tobytes()
            for k in range(block.shape[1])
        ]

    def corrupt(self, packet: bytes) -> bytes:
        return b"\x00" + packet[1:]


class Ramp:
    """Source: channel 0 counts the source index (mod 30000), channel 1 is its negative."""

    def __init__(self) -> None:
        self.index = 0
        self.lock = threading.Lock()

    def __call__(self, n: int) -> np.ndarray:
        with self.lock:
            idx = np.arange(self.index, self.index + n)
            self.index += n
        v = (idx % 30000).astype(float) * LSB
        return np.vstack([v, -v])


def truth(index: np.ndarray) -> np.ndarray:
    return (index % 30000).astype(float) * LSB


def collect(reader: Reader, n: int) -> tuple[list, np.ndarray]:
    assert reader.buffer.wait_for(n, timeout=TIMEOUT), f"only {reader.buffer.end_sample} samples"
    blocks, _ = reader.buffer.read_since(0)
    return blocks, np.concatenate([b.data for b in blocks], axis=1)


def wait_past(reader: Reader, index: int) -> None:
    """Wait until the reader holds the ramp's sample ``index`` or a later one."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        blocks, _ = reader.buffer.read_since(max(0, reader.buffer.end_sample - 1))
        if blocks and int(round(blocks[-1].data[0, -1] / LSB)) >= index % 30000:
            return
        reader.buffer.wait_for(reader.buffer.end_sample + 1, timeout=1.0)
    raise AssertionError(f"the reader never got past sample {index}")


def source_index_of(values: np.ndarray, near: int) -> int:
    """The ramp is unique within 30000 samples: recover the source index from a value."""
    k = int(round(values / LSB))
    return near - ((near - k) % 30000)


def test_stream_is_bit_exact_and_indices_are_absolute() -> None:
    with Emulator(ToyBoard(), Ramp()) as emu:
        with Reader(emu.path, PassiveDriver(ToyParser()), rate_check_s=60) as reader:
            assert reader.state == ReaderState.STREAMING
            blocks, data = collect(reader, 300)
    # sample 0 of the reader is some source index s0; everything after it is consecutive
    s0 = int(round(data[0, 0] / LSB))
    np.testing.assert_array_equal(data[0], truth(s0 + np.arange(data.shape[1])))
    np.testing.assert_array_equal(data[1], -data[0])
    assert [b.first_sample for b in blocks] == list(
        np.cumsum([0] + [b.n_samples for b in blocks[:-1]])
    )
    assert reader.gaps == []
    assert reader.state == ReaderState.STOPPED


def _blocks_over(read_interval_s: float, seconds: float) -> tuple[list, np.ndarray, float]:
    """Blocks the reader made from a frame every 2 ms, with reads at most every
    ``read_interval_s``; the seconds they span."""
    with Emulator(ToyBoard(), Ramp(), tick_s=0.002) as emu:
        with Reader(
            emu.path, PassiveDriver(ToyParser()), rate_check_s=60, read_interval_s=read_interval_s
        ) as reader:
            start = reader.buffer.end_sample
            t0 = time.monotonic()
            time.sleep(seconds)
            blocks, _ = reader.buffer.read_since(start)
            elapsed = time.monotonic() - t0
    return blocks, np.concatenate([b.data for b in blocks], axis=1), elapsed


def test_the_port_is_read_at_most_every_read_interval_and_nothing_is_lost() -> None:
    """A board that sends a frame every 2 ms: with reads at most every 50 ms, each read
    takes what came meanwhile (one block per read, never more blocks than intervals),
    bit-exact and contiguous; reading at once makes many more, smaller blocks."""
    blocks, data, elapsed = _blocks_over(0.05, 1.5)
    assert len(blocks) <= elapsed / 0.05 + 2
    assert np.mean([b.n_samples for b in blocks]) >= 5
    s0 = int(round(data[0, 0] / LSB))
    np.testing.assert_array_equal(data[0], truth(s0 + np.arange(data.shape[1])))
    assert data.shape[1] >= 0.5 * elapsed * SFREQ
    eager, _, eager_elapsed = _blocks_over(0.0, 1.5)
    assert len(eager) / eager_elapsed > 2 * len(blocks) / elapsed
    with pytest.raises(ConfigError, match="read_interval_s"):
        Reader("loop://", PassiveDriver(ToyParser()), read_interval_s=-1)


def test_dropped_packets_become_exact_gaps() -> None:
    with Emulator(ToyBoard(), Ramp()) as emu:
        with Reader(emu.path, PassiveDriver(ToyParser()), rate_check_s=60) as reader:
            assert reader.buffer.wait_for(50, timeout=TIMEOUT)
            emu.drop_packets(7)
            assert emu.wait_faults(timeout=TIMEOUT)
            assert emu.wait_sent(emu.n_sent + 50, timeout=TIMEOUT)  # keep the faults apart
            emu.drop_packets(3)
            assert emu.wait_faults(timeout=TIMEOUT)
            wait_past(reader, max(emu.dropped) + 20)
            blocks, _ = reader.buffer.read_since(0)
            gaps = reader.gaps
    assert [g.n_samples for g in gaps] == [7, 3]
    dropped = emu.dropped
    data = np.concatenate([b.data for b in blocks], axis=1)
    index = np.concatenate([b.first_sample + np.arange(b.n_samples) for b in blocks])
    s0 = int(round(data[0, 0] / LSB))
    # every sample sits at its true index, and the missing indices are exactly the dropped ones
    np.testing.assert_array_equal(data[0], truth(s0 + index))
    missing = sorted(set(range(index[0], index[-1] + 1)) - set(index.tolist()))
    assert [s0 + m for m in missing] == dropped
    assert [b.n_lost_before for b in blocks if b.n_lost_before] == [7, 3]


def test_corrupt_packets_lose_only_their_samples() -> None:
    with Emulator(ToyBoard(), Ramp()) as emu:
        with Reader(emu.path, PassiveDriver(ToyParser()), rate_check_s=60) as reader:
            assert reader.buffer.wait_for(50, timeout=TIMEOUT)
            emu.corrupt_packets(2)
            emu.inject_junk(b"\x01\x02\x03garbage")
            assert emu.wait_faults(timeout=TIMEOUT)
            wait_past(reader, max(emu.corrupted) + 20)
            blocks, _ = reader.buffer.read_since(0)
    data = np.concatenate([b.data for b in blocks], axis=1)
    index = np.concatenate([b.first_sample + np.arange(b.n_samples) for b in blocks])
    s0 = int(round(data[0, 0] / LSB))
    np.testing.assert_array_equal(data[0], truth(s0 + index))
    missing = sorted(set(range(index[0], index[-1] + 1)) - set(index.tolist()))
    assert [s0 + m for m in missing] == emu.corrupted
    assert len(emu.corrupted) == 2
    assert reader.n_bytes_dropped >= 2 * FRAME


def test_reconnect_at_the_same_link_reports_the_gap(tmp_path) -> None:
    link = tmp_path / "ttyTOY"
    with Emulator(ToyBoard(), Ramp(), link=link) as emu:
        reader = Reader(
            str(link),
            PassiveDriver(ToyParser()),
            silence_timeout_s=5.0,
            reconnect_interval_s=0.05,
            rate_check_s=60,
        )
        with reader:
            assert reader.buffer.wait_for(200, timeout=TIMEOUT)
            emu.disconnect()
            assert reader.wait_for_state(ReaderState.RECONNECTING, timeout=TIMEOUT)
            emu.reconnect()
            assert reader.wait_for_connections(2, timeout=TIMEOUT)
            end = reader.buffer.end_sample
            assert reader.buffer.wait_for(end + 300, timeout=TIMEOUT)
            blocks, _ = reader.buffer.read_since(0)
            gaps = reader.gaps
    assert len(gaps) == 1
    after = next(b for b in blocks if b.n_lost_before)
    data = np.concatenate([b.data for b in blocks], axis=1)
    s0 = int(round(data[0, 0] / LSB))
    # the true source index of the first sample after the reconnect, from its value
    true_first = source_index_of(after.data[0, 0], near=emu.source_index) - s0
    # the reader's index comes from the host clock: close, not exact (busy machine: 0.5 s)
    assert abs(after.first_sample - true_first) <= 0.5 * SFREQ
    assert gaps[0].n_samples == after.n_lost_before >= 1
    # and the samples after the gap are exactly the board's samples, in order
    s1 = int(round(after.data[0, 0] / LSB))
    np.testing.assert_array_equal(after.data[0], truth(s1 + np.arange(after.n_samples)))


def test_a_stale_descriptor_number_after_a_reconnect_is_never_read(tmp_path) -> None:
    """The emulator's thread takes the master's number before its select and reads it after.

    Pulled and plugged back in between, that number can name the new pty's slave: a
    blocking descriptor holding the board's own output. Read, it would take the samples
    meant for the host as if the host had sent them, and block the thread for good once
    empty (the board silent from then on: seen once in CI, no sample for 20 s after a
    reconnect). Here the numbers are arranged so that the new slave takes the old master's.
    """
    placeholder = os.open(os.devnull, os.O_RDONLY)  # a low number, freed before the reconnect
    link = tmp_path / "ttyTOY"
    with Emulator(ToyBoard(), Ramp(), link=link) as emu:
        stale_master, stale_generation = emu._master, emu._pty_generation
        emu.disconnect()
        os.close(placeholder)
        emu.reconnect()
        assert emu._slave == stale_master  # lowest free numbers: master = placeholder's
        assert emu.wait_sent(50, timeout=TIMEOUT)  # the board's samples wait in the new slave
        late = threading.Thread(target=emu._read_host, args=(stale_master, stale_generation))
        late.start()
        late.join(timeout=5.0)
        assert not late.is_alive()
        assert emu.received == b""
        # and the board still streams to whoever opens the link
        with serial.Serial(str(link), timeout=TIMEOUT) as port:
            port.reset_input_buffer()
            data = port.read(100 * FRAME)
    chunk, _ = ToyParser().parse(data, ToyParser().init_state())
    assert chunk.samples.shape[1] >= 99


def test_missing_port_raises_one_line_device_error(tmp_path) -> None:
    with pytest.raises(DeviceError, match="cannot open serial port") as info:
        Reader(str(tmp_path / "nothing"), PassiveDriver(ToyParser()), connect_timeout_s=5).start()
    assert "\n" not in str(info.value)


def test_rate_check_warns_when_board_is_slow(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="twitchscope.acquisition.transport.reader"):
        with Emulator(ToyBoard(), Ramp(), rate_factor=0.5) as emu:
            with Reader(
                emu.path, PassiveDriver(ToyParser()), rate_check_s=0.6, rate_tolerance=0.2
            ) as reader:
                assert reader.buffer.wait_for(int(1.5 * SFREQ * 0.5), timeout=TIMEOUT)
                deadline_ok = reader.buffer.wait_for(int(2.0 * SFREQ * 0.5), timeout=TIMEOUT)
    assert deadline_ok
    assert "declares 500 Hz" in caplog.text
    assert reader.measured_sfreq is not None and reader.measured_sfreq < 0.8 * SFREQ


def test_silence_counts_as_disconnect() -> None:
    class Mute(ToyBoard):
        def on_bytes(self, data: bytes) -> bytes:
            self.streaming = False
            return b""

    with Emulator(Mute(), Ramp()) as emu:
        driver = PassiveDriver(ToyParser())
        reader = Reader(emu.path, driver, silence_timeout_s=0.5, reconnect=False, rate_check_s=60)
        with reader:
            assert reader.buffer.wait_for(20, timeout=TIMEOUT)
            fd = os.open(emu.slave_name, os.O_WRONLY | os.O_NOCTTY)
            os.write(fd, b"x")  # any byte from the host mutes this board
            os.close(fd)
            assert reader.wait_for_state(ReaderState.STOPPED, timeout=TIMEOUT)
    assert "no data for" in str(reader.error)
