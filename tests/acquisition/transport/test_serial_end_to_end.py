"""Emulator -> pty -> pyserial -> parser -> ring buffer, for every real protocol.

The source encodes each sample's index in its values (channel 0: index mod 512,
channel 1: index // 512 mod 512, in ADC counts), so the test can tell which
board sample every received sample is, and check that

* every value is exactly the count the board sent (bit-exact within quantisation),
* the reader's absolute sample index is the board's (gaps included),
* the samples missing are exactly those of the injected faults, each reported
  as a gap of the right size.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from twitchscope.acquisition.boards.chords import ChordsDriver
from twitchscope.acquisition.boards.cyton import CytonDriver
from twitchscope.acquisition.boards.registry import driver_for, make_personality
from twitchscope.acquisition.emulation.pty_board import Emulator
from twitchscope.acquisition.transport.reader import Reader, ReaderState
from twitchscope.signal.core.errors import DeviceError

TIMEOUT = 30.0  # generous: a busy 2-core machine; tests wait on events, not sleeps
M = 512


class IndexSource:
    """Samples that carry their own index, on the board's quantisation grid.

    With ``avoid_header=True`` (Cyton) every count is ``4 k + 1``, so no data byte
    is ever ``0xA0``. A precaution: the Cyton packet has no checksum, so a
    corrupted packet whose data held ``0xA0`` 32 bytes before a ``0xC0``-``0xC6``
    byte would look valid to any parser (none of this test's data did, checked
    offline, but the test should not depend on it).
    """

    def __init__(
        self,
        n_channels: int,
        volts_per_count: float,
        zero_count: int,
        *,
        avoid_header: bool = False,
    ) -> None:
        self.n_channels = n_channels
        self.vpc = volts_per_count
        self.zero = zero_count
        self.step, self.base = (4, 1) if avoid_header else (1, 0)
        self.index = 0
        self.lock = threading.Lock()

    def counts(self, idx: np.ndarray) -> np.ndarray:
        amp = 100 // self.step
        rows = [idx % M - M // 2, (idx // M) % M - M // 2]
        for ch in range(2, self.n_channels):
            rows.append(np.round(amp * np.sin(2 * np.pi * idx / 37 + ch)).astype(np.int64))
        return np.vstack(rows[: self.n_channels]) * self.step + self.base

    def __call__(self, n: int) -> np.ndarray:
        with self.lock:
            idx = np.arange(self.index, self.index + n)
            self.index += n
        return self.counts(idx) * self.vpc

    def index_of(self, data: np.ndarray) -> np.ndarray:
        """Source index (mod M*M) of each received sample."""
        wire = np.rint(data[:2] / self.vpc).astype(np.int64)
        c = (wire - self.base) // self.step + M // 2
        return c[0] + M * c[1]


@dataclass
class Case:
    protocol: str
    options: dict[str, Any]
    make_driver: Any


CASES = {
    # the Cyton drivers find out about the Daisy from the reply to "v"
    "cyton": Case("cyton", {}, lambda board: CytonDriver()),
    "cyton-daisy": Case("cyton", {"daisy": True}, lambda board: CytonDriver()),
    "openeeg": Case("openeeg", {"crlf": True}, driver_for),
    "chords": Case("chords", {"board": "UNO-R3"}, driver_for),
    "ascii": Case("ascii", {"sfreq": 400.0}, driver_for),
}


def _driver(case: Case, board: Any) -> Any:
    return case.make_driver(board)


def _setup(case: Case, **emu_kw: Any) -> tuple[Any, IndexSource, Emulator]:
    board = make_personality(case.protocol, **case.options)
    source = IndexSource(
        board.n_channels,
        board.volts_per_count,
        board.zero_count,
        avoid_header=case.protocol == "cyton",
    )
    return board, source, Emulator(board, source, **emu_kw)


def _received(reader: Reader) -> tuple[np.ndarray, np.ndarray, list]:
    blocks, _ = reader.buffer.read_since(0)
    data = np.concatenate([b.data for b in blocks], axis=1)
    index = np.concatenate([b.first_sample + np.arange(b.n_samples) for b in blocks])
    return data, index, blocks


def _inject(emu: Emulator, *, drop: int = 0, corrupt: int = 0, junk: bytes = b"") -> None:
    """Ask for faults and wait until the board has applied them to its stream."""
    emu.drop_packets(drop)
    emu.corrupt_packets(corrupt)
    if junk:
        emu.inject_junk(junk)
    assert emu.wait_faults(timeout=TIMEOUT)


def _wait_past(reader: Reader, source: IndexSource, n_ch: int, src_index: int) -> None:
    """Wait until the reader has a sample at or after board index ``src_index``."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        blocks, _ = reader.buffer.read_since(max(0, reader.buffer.end_sample - 1))
        if blocks and source.index_of(blocks[-1].data[:n_ch, -1:])[0] >= src_index:
            return
        reader.buffer.wait_for(reader.buffer.end_sample + 1, timeout=1.0)
    raise AssertionError(f"the reader never got past board sample {src_index}")


@pytest.mark.parametrize("name", sorted(CASES))
def test_stream_with_faults_is_exact(name: str) -> None:
    case = CASES[name]
    board, source, emu = _setup(case)
    with emu, Reader(emu.path, _driver(case, board), rate_check_s=60) as reader:
        assert reader.buffer.wait_for(40, timeout=TIMEOUT)
        _inject(emu, drop=5)
        assert emu.wait_sent(emu.n_sent + 50, timeout=TIMEOUT)  # keep the faults apart
        # junk between packets; a text protocol sees a junk line (a frame of its own)
        junk = b"junk line\r\n" if name == "ascii" else b"\x00\x13junk bytes\x00"
        _inject(emu, corrupt=3, junk=junk)
        _wait_past(reader, source, board.n_channels, max(emu.corrupted) + 30)
        data, index, blocks = _received(reader)
        gaps = reader.gaps
    n_ch = board.n_channels
    assert data.shape[0] == n_ch + len(board.spec.aux_names)
    emg = data[:n_ch]
    src = source.index_of(emg)
    offset = src[0] - index[0]
    # the reader's absolute index is the board's index (all gaps counted exactly)
    np.testing.assert_array_equal(src, index + offset)
    # every value is exactly the count sent
    np.testing.assert_array_equal(np.rint(emg / board.volts_per_count), source.counts(src))
    # the missing samples are exactly the dropped and corrupted ones
    missing = sorted(set(range(src[0], src[-1] + 1)) - set(src.tolist()))
    assert missing == sorted(emu.dropped + emu.corrupted)
    assert len(emu.dropped) == 5 and len(emu.corrupted) == 3
    assert [g.n_samples for g in gaps] == [5, 3]
    assert [b.n_lost_before for b in blocks if b.n_lost_before] == [5, 3]
    assert reader.state == ReaderState.STOPPED


def test_chords_host_never_writes_while_streaming() -> None:
    case = CASES["chords"]
    board, _, emu = _setup(case)
    with emu:
        with Reader(emu.path, _driver(case, board), rate_check_s=60) as reader:
            assert reader.buffer.wait_for(100, timeout=TIMEOUT)
            during = emu.received
        assert emu.wait_received(b"STOP\n", timeout=TIMEOUT)
        after = emu.received
    assert during == b"WHORU\nSTART\n"
    assert after == b"WHORU\nSTART\nSTOP\n"


def test_cyton_handshake_and_stop_commands() -> None:
    case = CASES["cyton"]
    board, _, emu = _setup(case)
    with emu:
        driver = CytonDriver()
        with Reader(emu.path, driver, rate_check_s=60) as reader:
            assert reader.buffer.wait_for(10, timeout=TIMEOUT)
        assert "OpenBCI" in driver.version_reply and driver.version_reply.endswith("$$$")
        assert emu.wait_received(b"s", timeout=TIMEOUT)  # the stop command, read by the board
        assert emu.received == b"svdbs"
        assert reader.ch_types == ("emg",) * 8 + ("misc",) * 3


def test_cyton_board_off_is_one_line_device_error() -> None:
    board = make_personality("cyton", board_off=True)
    source = IndexSource(8, board.volts_per_count, 0)
    with Emulator(board, source) as emu:
        with pytest.raises(DeviceError) as info:
            Reader(emu.path, CytonDriver(reply_timeout_s=2.0)).start()
    msg = str(info.value)
    assert "\n" not in msg
    assert "Failure: Communications timeout - Device failed to poll Host" in msg
    assert emu.path in msg


def test_wrong_protocol_is_one_line_device_error() -> None:
    board, source, emu = _setup(CASES["cyton"])
    with emu:
        with pytest.raises(DeviceError, match="no reply to the Chords 'WHORU'") as info:
            Reader(emu.path, ChordsDriver(reply_timeout_s=0.3, tries=1)).start()
    assert "\n" not in str(info.value)


def test_chords_board_mismatch_is_one_line_device_error() -> None:
    board, _, emu = _setup(CASES["chords"])  # an UNO-R3
    with emu:
        with pytest.raises(DeviceError) as info:
            Reader(emu.path, ChordsDriver(board="UNO-R4", reply_timeout_s=1.0)).start()
    msg = str(info.value)
    assert msg == f"{emu.path}: the Chords board answered 'UNO-R3', expected 'UNO-R4'."


@pytest.mark.parametrize("name", ["cyton", "chords"])
def test_reconnect_redoes_the_start_handshake(name: str, tmp_path) -> None:
    case = CASES[name]
    link = tmp_path / "ttyEMU"
    board, source, emu = _setup(case, link=link)
    with emu:
        reader = Reader(
            str(link),
            _driver(case, board),
            reconnect_interval_s=0.05,
            silence_timeout_s=5.0,
            rate_check_s=60,
        )
        with reader:
            sfreq = reader.spec.sfreq
            assert reader.buffer.wait_for(50, timeout=TIMEOUT)
            emu.disconnect()
            assert reader.wait_for_state(ReaderState.RECONNECTING, timeout=TIMEOUT)
            emu.reconnect()
            assert reader.wait_for_connections(2, timeout=TIMEOUT)
            end = reader.buffer.end_sample
            assert reader.buffer.wait_for(end + 60, timeout=TIMEOUT)
            data, index, blocks = _received(reader)
            gaps = reader.gaps
    assert len(gaps) == 1
    n_ch = board.n_channels
    src = source.index_of(data[:n_ch])
    cut = int(np.flatnonzero(np.diff(index) > 1)[0]) + 1
    # before and after the reconnect the samples are the board's, consecutive and exact
    for part in (slice(0, cut), slice(cut, None)):
        assert np.all(np.diff(src[part]) == 1)
        np.testing.assert_array_equal(
            np.rint(data[:n_ch, part] / board.volts_per_count), source.counts(src[part])
        )
    # the gap is estimated from the host clock: near the truth (generous on a busy machine)
    true_lost = int(src[cut] - src[cut - 1] - 1)
    assert true_lost > 0
    assert abs(gaps[0].n_samples - true_lost) <= max(5, int(0.5 * sfreq))
    assert gaps[0].n_samples == int(index[cut] - index[cut - 1] - 1)


def test_spiker_has_no_counter_so_losses_are_exact_but_uncounted() -> None:
    """SpikerShield frames carry no counter: lost frames are gone without a gap (a documented limit).

    The host switches the board from 1 to 2 channels (``c:2;``), so the stream
    also changes format under the parser's feet; nothing is misread.
    """
    board = make_personality("spiker", n_channels=2)
    source = IndexSource(2, board.volts_per_count, board.zero_count)
    with Emulator(board, source) as emu:
        with Reader(emu.path, driver_for(board), rate_check_s=60) as reader:
            assert reader.spec.sfreq == 5000.0
            assert reader.buffer.wait_for(500, timeout=TIMEOUT)
            _inject(emu, drop=5)
            assert emu.wait_sent(emu.n_sent + 50, timeout=TIMEOUT)
            _inject(emu, corrupt=3)
            _wait_past(reader, source, 2, max(emu.corrupted) + 500)
            data, index, _ = _received(reader)
            gaps = reader.gaps
    assert emu.received == b"c:2;\n"
    src = source.index_of(data)
    np.testing.assert_array_equal(np.rint(data / board.volts_per_count), source.counts(src))
    assert np.all(np.diff(src) >= 1)
    missing = sorted(set(range(src[0], src[-1] + 1)) - set(src.tolist()))
    assert missing == sorted(emu.dropped + emu.corrupted)
    assert gaps == []
    np.testing.assert_array_equal(index, np.arange(index.size))


def test_unread_board_never_blocks_and_frames_stay_whole() -> None:
    """Nobody reads: the pty fills, the emulator drops whole packets (never half a frame)."""
    board = make_personality("openeeg", sfreq=4000.0)  # streams from power-up, fast
    source = IndexSource(board.n_channels, board.volts_per_count, board.zero_count)
    with Emulator(board, source, max_backlog_s=0.05) as emu:
        deadline = time.monotonic() + TIMEOUT
        while emu.n_overflow == 0 and time.monotonic() < deadline:
            time.sleep(0.01)  # the pty is filling up: nobody reads it yet
        assert emu.n_overflow > 0
        emu.max_backlog_s = 2.0  # from now on only a 2 s stall of the reader would overflow
        with Reader(emu.path, driver_for(board), rate_check_s=60) as reader:
            assert reader.buffer.wait_for(2000, timeout=TIMEOUT)
            data, index, _ = _received(reader)
            dropped = reader.n_bytes_dropped
            gaps = reader.gaps
        n_overflow = emu.n_overflow
    src = source.index_of(data[: board.n_channels])
    np.testing.assert_array_equal(src - src[0], index - index[0])
    np.testing.assert_array_equal(np.rint(data / board.volts_per_count), source.counts(src))
    # at most the frame cut when the reader flushed the port at open; if the reader
    # stalls later (a busy machine), the board overflows again, whole packets only,
    # and the counter turns that into exact gaps (checked by the indices above)
    assert dropped < 17
    assert sum(g.n_samples for g in gaps) <= n_overflow


def test_dongle_text_mid_stream_is_reported_verbatim() -> None:
    board, _, emu = _setup(CASES["cyton"])
    text = b"Failure: Communications timeout - Device failed to poll Host$$$"
    with emu, Reader(emu.path, CytonDriver(), rate_check_s=60) as reader:
        assert reader.buffer.wait_for(20, timeout=TIMEOUT)
        emu.inject_junk(text)
        end = reader.buffer.end_sample
        assert reader.buffer.wait_for(end + 50, timeout=TIMEOUT)
        messages = reader.messages
        gaps = reader.gaps
    assert messages == ["Failure: Communications timeout - Device failed to poll Host"]
    assert gaps == []  # the text sat between packets: no sample lost
