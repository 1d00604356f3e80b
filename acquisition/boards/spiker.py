"""Backyard Brains SpikerShield (Spike Recorder protocol): 10-bit samples, 2 bytes each.

A frame is one sample of each of N channels (1-6). Sample ``s`` (0-1023) is sent as
``(s >> 7) & 0x7F`` then ``s & 0x7F``; the first byte of a frame has bit 7 set, so a
frame starts at a byte in ``0x80``-``0x87`` and every other byte is below ``0x80``.
There is no counter, so lost frames cannot be counted: a frame is accepted only
when all its bytes have the expected form *and* the next byte starts a frame
(this catches inserted bytes), so the last frame of a buffer waits for one more
byte, and a lost frame-start byte costs the frame before it too. Limits of a
format without counter or checksum: a frame missing its tail followed by one
missing its head can splice into a well-formed frame, an inserted byte in
``0x80``-``0x87`` can start one, and lost frames cannot be counted (no gaps).

Device messages are spliced into the stream between ``FF FF 01 01 80 FF`` and
``FF FF 01 01 81 FF`` (``0xFF`` never occurs in sample data); they are removed
before framing, wherever they fall, and reported verbatim.

Rate: 10 kHz shared by the channels (Spike Recorder's value; the Uno's timer
really gives about 10 050 Hz), at 222 222 baud ("230400" on an ATmega at 16 MHz).
``c:N;\\n`` sets N channels. Volts per count is a calibration parameter (the
shield's gain is not published in the reference code).

:class:`SpikerDriver` is the host-side handshake (``c:N;``; no stop command),
:func:`probe` asks ``b:;`` or recognises the frames, :class:`SpikerEmulation`
is the board the pty emulator plays, and :data:`BOARD` describes it for the registry.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import serial
from numpy.typing import NDArray

from twitchscope.acquisition.boards.base import (
    EMULATOR_GAIN,
    Board,
    DeviceSpec,
    KnownAdapter,
    ParsedChunk,
    Parser,
    ParserState,
    empty_chunk,
)
from twitchscope.acquisition.boards.fixed_frames import split_packets
from twitchscope.acquisition.boards.handshake import listen, write
from twitchscope.signal.core.checks import check_ch_names, check_positive, check_sfreq
from twitchscope.signal.core.errors import ConfigError

__all__ = [
    "SPIKER_BAUDRATE",
    "SPIKER_PROBE_BAUDRATES",
    "SPIKER_TOTAL_RATE",
    "SPIKER_MAX_CHANNELS",
    "SPIKER_MESSAGE_START",
    "SPIKER_MESSAGE_END",
    "SPIKER_BOARD_QUERY",
    "SPIKER_BOARD_REPLY_PREFIX",
    "SPIKER_VOLTS_PER_COUNT",
    "channels_command",
    "board_type",
    "encode_message",
    "SpikerParser",
    "encode",
    "SpikerDriver",
    "probe",
    "SpikerEmulation",
    "emulate",
    "BOARD",
]

log = logging.getLogger(__name__)

SPIKER_BAUDRATE: Final = 222222
SPIKER_PROBE_BAUDRATES: Final = (222222, 500000)
SPIKER_TOTAL_RATE: Final = 10000.0
SPIKER_MAX_CHANNELS: Final = 6
SPIKER_MESSAGE_START: Final = b"\xff\xff\x01\x01\x80\xff"
SPIKER_MESSAGE_END: Final = b"\xff\xff\x01\x01\x81\xff"
#: ask the board type; answered by an escaped ``HWT:...;`` message (not by the V1.1 sketch)
SPIKER_BOARD_QUERY: Final = b"b:;\n"
#: the escaped reply to SPIKER_BOARD_QUERY starts with this (``HWT:MUSCLESS;``)
SPIKER_BOARD_REPLY_PREFIX: Final = "HWT:"
#: 5 V over 1024 counts: volts at the ADC input
SPIKER_VOLTS_PER_COUNT: Final = 5.0 / 1024
_MAX_MESSAGE: Final = 128
_ESC: Final = len(SPIKER_MESSAGE_START)


def channels_command(n_channels: int) -> bytes:
    """The command that sets the channel count (``c:N;\\n``)."""
    if not 1 <= n_channels <= SPIKER_MAX_CHANNELS:
        raise ConfigError(f"n_channels must be in 1..6 for a SpikerShield, got {n_channels!r}.")
    return f"c:{n_channels};\n".encode("ascii")


def board_type(message: str) -> str | None:
    """The board type of a ``HWT:...;`` message (e.g. ``MUSCLESS``), or None.

    Examples
    --------
    >>> board_type("HWT:MUSCLESS;")
    'MUSCLESS'
    """
    for token in message.split(";"):
        if token.startswith(SPIKER_BOARD_REPLY_PREFIX):
            return token[len(SPIKER_BOARD_REPLY_PREFIX) :]
    return None


def encode_message(text: str) -> bytes:
    """A device message as the board splices it into the stream."""
    return SPIKER_MESSAGE_START + text.encode("ascii") + SPIKER_MESSAGE_END


def _remove_messages(buf: bytes) -> tuple[bytes, bytes, tuple[str, ...], int]:
    """Split off escaped messages; returns (clean bytes, raw tail to keep, messages, bytes used)."""
    parts: list[bytes] = []
    messages: list[str] = []
    used = 0
    i = 0
    n = len(buf)
    search = 0
    while True:
        s = buf.find(SPIKER_MESSAGE_START, search)
        if s < 0:
            break
        e = buf.find(SPIKER_MESSAGE_END, s + _ESC, s + 2 * _ESC + _MAX_MESSAGE)
        if e < 0:
            if n < s + 2 * _ESC + _MAX_MESSAGE:
                parts.append(buf[i:s])
                return b"".join(parts), buf[s:], tuple(messages), used
            search = s + 1  # no end in reach: not a message, its bytes are junk
            continue
        parts.append(buf[i:s])
        messages.append(buf[s + _ESC : e].decode("ascii", errors="replace"))
        used += e + _ESC - s
        i = search = e + _ESC
    # keep a possible partial escape sequence at the end
    for k in range(min(_ESC - 1, n - i), 0, -1):
        if SPIKER_MESSAGE_START.startswith(buf[n - k :]):
            parts.append(buf[i : n - k])
            return b"".join(parts), buf[n - k :], tuple(messages), used
    parts.append(buf[i:])
    return b"".join(parts), b"", tuple(messages), used


class SpikerParser:
    """Parse a SpikerShield byte stream into volts.

    Parameters
    ----------
    n_channels : int
        Channels the board sends (1-6, set with :func:`channels_command`).
    sfreq : float or None
        Rate per channel, Hz; None means 10 000 / ``n_channels``.
    volts_per_count : float
        Calibration: volts per ADC count (default: volts at the ADC input).
    offset_counts : float
        ADC count of 0 V (512).
    baudrate : int
        Serial baud rate (222222; 500000 on newer boards).
    ch_names : sequence of str or None
        Channel names; ``ch1``... by default.
    """

    def __init__(
        self,
        *,
        n_channels: int = 1,
        sfreq: float | None = None,
        volts_per_count: float = SPIKER_VOLTS_PER_COUNT,
        offset_counts: float = 512.0,
        baudrate: int = SPIKER_BAUDRATE,
        ch_names: Sequence[str] | None = None,
    ) -> None:
        if not 1 <= n_channels <= SPIKER_MAX_CHANNELS:
            raise ConfigError(f"n_channels must be in 1..6 for a SpikerShield, got {n_channels!r}.")
        if sfreq is None:
            sfreq = SPIKER_TOTAL_RATE / n_channels
        names = tuple(f"ch{i + 1}" for i in range(n_channels)) if ch_names is None else ch_names
        self.volts_per_count = check_positive("volts_per_count", volts_per_count)
        self.offset_counts = float(offset_counts)
        self.spec = DeviceSpec(
            protocol="spiker",
            sfreq=check_sfreq(sfreq),
            ch_names=check_ch_names(names, n_channels),
            baudrate=int(check_positive("baudrate", baudrate)),
        )

    def init_state(self) -> ParserState:
        """The state before any byte."""
        return ParserState()

    def parse(self, data: bytes, state: ParserState) -> tuple[ParsedChunk, ParserState]:
        """Decode ``data`` after ``state`` (never mutates ``state``)."""
        n_ch = self.spec.n_channels
        if not data:
            return empty_chunk(n_ch), state
        clean, raw_tail, messages, n_msg = _remove_messages(state.pending + bytes(data))
        c = np.frombuffer(clean, dtype=np.uint8)
        m = c.size
        flen = 2 * n_ch
        is_start = (c & 0xF8) == 0x80
        n_cand = m - flen
        if n_cand > 0:
            ok = is_start[:n_cand] & is_start[flen : flen + n_cand]
            for k in range(1, flen):
                limit = 0x08 if k % 2 == 0 else 0x80  # high 3 bits, then low 7 bits
                ok &= c[k : k + n_cand] < limit
            starts = np.flatnonzero(ok)
        else:
            starts = np.zeros(0, dtype=np.intp)
        last_end = int(starts[-1]) + flen if starts.size else 0
        rest = m
        tail = np.flatnonzero(is_start[max(last_end, m - flen) :])
        if tail.size:
            rest = max(last_end, m - flen) + int(tail[0])
        frames = c[starts[:, None] + np.arange(flen)].astype(np.int64)
        hi, lo = frames[:, 0::2] & 0x7F, frames[:, 1::2]
        samples = (((hi << 7) | lo).T - self.offset_counts) * self.volts_per_count
        n_framed = starts.size * flen
        chunk = ParsedChunk(samples=samples, aux=np.zeros((0, starts.size)), messages=messages)
        new_state = ParserState(
            pending=clean[rest:] + raw_tail,
            n_bytes_dropped=state.n_bytes_dropped + rest - n_framed,
            n_frames=state.n_frames + starts.size,
            n_bytes_framed=state.n_bytes_framed + n_framed + n_msg,
        )
        return chunk, new_state


def encode(
    spec: DeviceSpec,
    samples_volts: NDArray[np.float64],
    *,
    first_counter: int = 0,
    volts_per_count: float = SPIKER_VOLTS_PER_COUNT,
    offset_counts: float = 512.0,
) -> bytes:
    """Bytes a SpikerShield sends for these samples.

    Parameters
    ----------
    spec : DeviceSpec
        The board (1-6 channels).
    samples_volts : array, shape (n_channels, n_samples)
        Samples in volts; rounded to the nearest count and clipped to 0..1023.
    first_counter : int
        Ignored: the format has no counter (kept for a uniform signature).
    volts_per_count, offset_counts : float
        Calibration, as the parser's.

    Returns
    -------
    bytes
        ``2 * n_channels`` bytes per sample.
    """
    del first_counter
    x = np.asarray(samples_volts, dtype=float)
    n_ch = spec.n_channels
    if x.ndim != 2 or x.shape[0] != n_ch:
        raise ConfigError(f"samples_volts must have shape ({n_ch}, n_samples), got {x.shape}.")
    s = np.clip(np.rint(x / volts_per_count + offset_counts), 0, 1023).astype(np.int64).T
    n = s.shape[0]
    out = np.empty((n, n_ch, 2), dtype=np.uint8)
    out[..., 0] = (s >> 7) & 0x7F
    out[..., 1] = s & 0x7F
    out[:, 0, 0] |= 0x80
    return out.tobytes()


class SpikerDriver:
    """Backyard Brains SpikerShield: ``c:N;`` sets the channel count; it streams from power-up.

    The frame format checks itself (only a frame's first byte has bit 7 set), so
    frames still in flight with the old channel count are dropped by the parser,
    never misread.

    Parameters
    ----------
    n_channels : int
        Channels to stream (1-6); the rate is 10 kHz / N.
    volts_per_count : float
        Calibration (default: volts at the ADC input, 5 V / 1024).
    baudrate : int or None
        222222 by default (what an ATmega at 16 MHz makes of "230400"); 500000 on
        newer boards.
    """

    protocol = "spiker"

    def __init__(
        self,
        *,
        n_channels: int = 1,
        volts_per_count: float = SPIKER_VOLTS_PER_COUNT,
        baudrate: int | None = None,
    ) -> None:
        self.command = channels_command(n_channels)
        self.n_channels = int(n_channels)
        self.volts_per_count = check_positive("volts_per_count", volts_per_count)
        self.baudrate = int(baudrate if baudrate is not None else SPIKER_BAUDRATE)

    def start(self, port: serial.Serial) -> Parser:
        """Send ``c:N;`` and drop what was buffered before it."""
        port.reset_input_buffer()
        write(port, self.command)
        return SpikerParser(
            n_channels=self.n_channels, volts_per_count=self.volts_per_count, baudrate=self.baudrate
        )

    def stop(self, port: serial.Serial) -> None:
        """The board has no stop command."""


def probe(ser: serial.Serial, listen_s: float, reply_timeout_s: float) -> tuple[bool, str]:
    """``b:;`` answered by an ``HWT:`` message, or a stream that frames as SpikerShield frames."""
    ser.reset_input_buffer()
    ser.write(SPIKER_BOARD_QUERY)
    data = listen(ser, max(listen_s, reply_timeout_s), flush=False)
    for n in range(1, SPIKER_MAX_CHANNELS + 1):
        parser = SpikerParser(n_channels=n)
        chunk, state = parser.parse(data, parser.init_state())
        for message in chunk.messages:
            kind = board_type(message)
            if kind is not None:
                return True, f"HWT:{kind}"
        if state.n_frames >= 10 and state.n_bytes_framed >= 0.8 * len(data):
            return True, f"SpikerShield frames, {n} channel(s)"
    return False, f"no HWT: reply and no SpikerShield frames in {len(data)} bytes"


class SpikerEmulation:
    """A Muscle SpikerShield: streams from power-up, ``c:N;`` sets N channels at 10 kHz / N.

    Parameters
    ----------
    max_channels : int
        Rows the source provides (1-6); the board sends the first N of them.
    power_up_channels : int
        Channels streamed before the host sends ``c:N;``.
    banner : bool
        Print ``StartUp!\\r\\n`` at power-up, as the V1.1 sketch does (text in the binary stream).
    gain : float
        Gain of the shield in front of the 5 V 10-bit ADC (unpublished; 1000 is our
        assumption). A reader must be told ``volts_per_count`` accordingly.
    """

    protocol = "spiker"

    def __init__(
        self,
        *,
        max_channels: int = 2,
        power_up_channels: int = 1,
        banner: bool = True,
        gain: float = EMULATOR_GAIN,
    ) -> None:
        if not 1 <= power_up_channels <= max_channels <= SPIKER_MAX_CHANNELS:
            raise ConfigError(
                "need 1 <= power_up_channels <= max_channels <= 6, got "
                f"{power_up_channels} and {max_channels}."
            )
        self.n_channels = max_channels
        self.power_up_channels = power_up_channels
        self.banner = banner
        self.streaming = True
        self.volts_per_count = SPIKER_VOLTS_PER_COUNT / float(gain)
        self._set_channels(power_up_channels)
        self.zero_count = int(self.parser.offset_counts)
        self._line = bytearray()

    def _set_channels(self, n: int) -> None:
        self.active_channels = n
        self.parser = SpikerParser(n_channels=n, volts_per_count=self.volts_per_count)
        self.spec: DeviceSpec = self.parser.spec
        self.sfreq = self.spec.sfreq

    def power_up(self) -> bytes:
        """Back to the power-up channel count; print the banner."""
        self.streaming = True
        self._line.clear()
        self._set_channels(self.power_up_channels)
        return b"StartUp!\r\n" if self.banner else b""

    def on_bytes(self, data: bytes) -> bytes:
        """``c:N;`` changes the channel count; ``b:;`` answers an escaped ``HWT:`` message."""
        out = bytearray()
        self._line += data
        while b"\n" in self._line:
            line, _, rest = bytes(self._line).partition(b"\n")
            self._line = bytearray(rest)
            for token in line.decode("ascii", errors="replace").split(";"):
                key, _, value = token.strip().partition(":")
                if key == "c" and value.strip().isdigit():
                    n = int(value)
                    if 1 <= n <= self.n_channels:
                        self._set_channels(n)
                    else:
                        log.warning(
                            "spiker emulator: c:%d; ignored (source has %d rows)",
                            n,
                            self.n_channels,
                        )
                elif key == "b":
                    out += encode_message("HWT:MUSCLESS;")
        return bytes(out)

    def encode(self, block: NDArray[np.float64], first_index: int) -> list[bytes]:
        """One ``2N``-byte frame per sample, the first N source rows."""
        data = encode(
            self.spec, block[: self.active_channels], volts_per_count=self.volts_per_count
        )
        return split_packets(data, block.shape[1])

    def corrupt(self, packet: bytes) -> bytes:
        """Set bit 7 of the frame's last byte: only the first byte of a frame may have it."""
        return packet[:-1] + bytes([packet[-1] | 0x80])

    def reader_options(self) -> dict[str, Any]:
        """The channel count to ask for (``c:N;``) and the calibration of the assumed gain."""
        return {"n_channels": self.n_channels, "volts_per_count": self.volts_per_count}


def emulate(
    *,
    n_channels: int | None = None,
    power_up_channels: int = 1,
    banner: bool = True,
    gain: float = EMULATOR_GAIN,
) -> SpikerEmulation:
    """A SpikerShield in its power-up state, with ``n_channels`` source rows (2 by default)."""
    return SpikerEmulation(
        max_channels=2 if n_channels is None else n_channels,
        power_up_channels=int(power_up_channels),
        banner=bool(banner),
        gain=float(gain),
    )


BOARD: Final = Board(
    name="spiker",
    description="Backyard Brains SpikerShield, 10 kHz shared by 1-6 channels",
    parser=SpikerParser,
    encode=encode,
    baudrate=SPIKER_BAUDRATE,
    probe_baudrates=SPIKER_PROBE_BAUDRATES,
    probe=probe,
    probe_rank=2,
    emulate=emulate,
    driver=SpikerDriver,
    usb_adapters=(KnownAdapter(0x2E73, None, "Backyard Brains device", ("spiker",)),),
    takes_channels=True,
    # the host's c:N changes no rate, so a simulated board powers up with --channels
    emulator_flags=(("channels", "power_up_channels"),),
)
