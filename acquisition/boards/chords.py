"""Upside Down Labs Chords firmware: ``C7 7C counter <N x uint16 BE> 01`` packets.

Packet (``2 N + 4`` bytes): sync ``0xC7 0x7C``, counter (uint8, +1 per packet), N
raw ADC codes as uint16 big-endian, end byte ``0x01``. The board answers
``WHORU\\n`` with its name, which fixes its rate, channel count and ADC resolution
(:data:`CHORDS_BOARDS`). ``START\\n`` / ``STOP\\n`` start and stop streaming; the
firmware stops as soon as any byte arrives while it streams, so never write to a
streaming board.

Volts at the amplifier input: ``(code - 2**(bits-1)) * vref / 2**bits / gain``.
The BioAmp gain is in no reference code, so it is a parameter (1 by default:
volts at the ADC input).

:class:`ChordsDriver` is the host-side handshake (``WHORU``, then ``START`` /
``STOP``; nothing else is ever written while it streams), :func:`probe` asks
``WHORU``, :class:`ChordsEmulation` is the board the pty emulator plays, and
:data:`BOARD` describes it for the registry.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import serial
from numpy.typing import NDArray

from twitchscope.acquisition.boards.base import EMULATOR_GAIN, Board, DeviceSpec, Parser
from twitchscope.acquisition.boards.fixed_frames import (
    Be16FrameParser,
    FrameLayout,
    split_packets,
)
from twitchscope.acquisition.boards.handshake import read_until, write
from twitchscope.signal.core.checks import check_ch_names, check_option, check_positive, check_sfreq
from twitchscope.signal.core.errors import ConfigError, DeviceError

__all__ = [
    "CHORDS_BAUDRATE",
    "CHORDS_PROBE_BAUDRATES",
    "CHORDS_SYNC",
    "CHORDS_END",
    "CHORDS_WHORU",
    "CHORDS_START",
    "CHORDS_STOP",
    "CHORDS_STATUS",
    "CHORDS_REPLY_END",
    "CHORDS_STATUS_REPLIES",
    "ChordsBoard",
    "CHORDS_BOARDS",
    "board_from_whoru",
    "ChordsParser",
    "encode",
    "ChordsDriver",
    "probe",
    "ChordsEmulation",
    "emulate",
    "BOARD",
]

CHORDS_BAUDRATE: Final = 230400
#: ``detect_hardware`` of chordspy tries 230400 then 115200 (UNO-CLONE firmware)
CHORDS_PROBE_BAUDRATES: Final = (230400, 115200)
CHORDS_SYNC: Final = b"\xc7\x7c"
CHORDS_END: Final = 0x01
CHORDS_WHORU: Final = b"WHORU\n"
CHORDS_START: Final = b"START\n"
CHORDS_STOP: Final = b"STOP\n"
CHORDS_STATUS: Final = b"STATUS\n"
#: replies are ``Serial.println`` lines: the board name to WHORU, START or STOP to STATUS
CHORDS_REPLY_END: Final = b"\r\n"
CHORDS_STATUS_REPLIES: Final = ("START", "STOP")


@dataclass(frozen=True, slots=True)
class ChordsBoard:
    """What the ``WHORU`` answer tells about a board.

    Parameters
    ----------
    name : str
        The board's answer to ``WHORU``.
    sfreq : float
        Packet rate, Hz.
    n_channels : int
        Channels per packet.
    adc_bits : int
        ADC resolution.
    vref : float
        ADC reference voltage (our assumption from the MCU's supply; not in the
        reference code).
    """

    name: str
    sfreq: float
    n_channels: int
    adc_bits: int
    vref: float


def _boards(*rows: tuple[str, float, int, int, float]) -> dict[str, ChordsBoard]:
    return {r[0]: ChordsBoard(*r) for r in rows}


#: ``WHORU`` answer -> board (rate, channels and bits from chordspy's supported_boards)
CHORDS_BOARDS: Final = _boards(
    ("UNO-R3", 250.0, 6, 10, 5.0),
    ("UNO-CLONE", 250.0, 6, 10, 5.0),
    ("GENUINO-UNO", 250.0, 6, 10, 5.0),
    ("UNO-R4", 500.0, 6, 14, 5.0),
    ("RPI-PICO-RP2040", 500.0, 3, 12, 3.3),
    ("NANO-CLONE", 250.0, 8, 10, 5.0),
    ("NANO-CLASSIC", 250.0, 8, 10, 5.0),
    ("STM32F4-BLACK-PILL", 500.0, 8, 12, 3.3),
    ("STM32G4-CORE-BOARD", 500.0, 16, 12, 3.3),
    ("MEGA-2560-R3", 250.0, 16, 10, 5.0),
    ("MEGA-2560-CLONE", 250.0, 16, 10, 5.0),
    ("GIGA-R1", 500.0, 6, 16, 3.3),
    ("NPG-LITE", 500.0, 3, 12, 3.3),
    ("NPG-LITE-3CH", 500.0, 3, 12, 3.3),
    ("NPG-LITE-6CH", 500.0, 6, 12, 3.3),
)


def board_from_whoru(reply: bytes) -> ChordsBoard:
    """The board named in a ``WHORU`` reply (e.g. ``b"UNO-R3\\r\\n"``).

    Raises
    ------
    DeviceError
        If no line of the reply names a known board.
    """
    for line in reply.decode("ascii", errors="replace").splitlines():
        name = line.strip()
        if name in CHORDS_BOARDS:
            return CHORDS_BOARDS[name]
    known = ", ".join(CHORDS_BOARDS)
    raise DeviceError(
        f"unknown Chords board in the WHORU reply {reply[:60]!r}; expected one of {known}."
    )


def _layout(n_channels: int, adc_bits: int) -> FrameLayout:
    max_high = (2**adc_bits - 1) >> 8
    stop = 3 + 2 * n_channels

    def check(frames: NDArray[np.uint8]) -> NDArray[np.bool_]:
        return np.all(frames[:, 3:stop:2] <= max_high, axis=1)

    return FrameLayout(
        length=2 * n_channels + 4,
        header=CHORDS_SYNC,
        end_range=(CHORDS_END, CHORDS_END),
        counter_offset=2,
        check=check if adc_bits < 16 else None,
        message_end=b"\n",
    )


class ChordsParser(Be16FrameParser):
    """Parse a Chords byte stream into volts.

    Parameters
    ----------
    board : str or None
        The board's ``WHORU`` name (see :data:`CHORDS_BOARDS`); sets ``sfreq``,
        ``n_channels``, ``adc_bits`` and ``vref``. With None, give all four.
    sfreq, n_channels, adc_bits, vref : float, int, int, float or None
        Override (or, without ``board``, define) the board's values.
    gain : float
        Amplifier gain between electrodes and ADC (1: volts at the ADC input).
    baudrate : int
        Serial baud rate (230400; 115200 for UNO-CLONE firmware).
    ch_names : sequence of str or None
        Channel names; ``ch1``... by default.
    """

    first_sample_byte = 3
    counter_byte = 2

    def __init__(
        self,
        board: str | None = None,
        *,
        sfreq: float | None = None,
        n_channels: int | None = None,
        adc_bits: int | None = None,
        vref: float | None = None,
        gain: float = 1.0,
        baudrate: int = CHORDS_BAUDRATE,
        ch_names: Sequence[str] | None = None,
    ) -> None:
        if board is not None:
            b = CHORDS_BOARDS[check_option("board", board, tuple(CHORDS_BOARDS))]
            sfreq = b.sfreq if sfreq is None else sfreq
            n_channels = b.n_channels if n_channels is None else n_channels
            adc_bits = b.adc_bits if adc_bits is None else adc_bits
            vref = b.vref if vref is None else vref
        if n_channels is None or adc_bits is None or vref is None:
            raise ConfigError(
                "a Chords parser needs board= (a WHORU name) or all of sfreq, n_channels, "
                f"adc_bits and vref; got n_channels={n_channels!r}, adc_bits={adc_bits!r}, vref={vref!r}."
            )
        if not 1 <= n_channels <= 64:
            raise ConfigError(f"n_channels must be in 1..64, got {n_channels!r}.")
        if not 8 <= adc_bits <= 16:
            raise ConfigError(f"adc_bits must be in 8..16, got {adc_bits!r}.")
        names = tuple(f"ch{i + 1}" for i in range(n_channels)) if ch_names is None else ch_names
        self.board = board
        self.adc_bits = int(adc_bits)
        self.volts_per_count = (
            check_positive("vref", vref) / 2**adc_bits / check_positive("gain", gain)
        )
        self.offset_counts = float(2 ** (adc_bits - 1))
        self.layout = _layout(n_channels, self.adc_bits)
        self.spec = DeviceSpec(
            protocol="chords",
            sfreq=check_sfreq(sfreq),
            ch_names=check_ch_names(names, n_channels),
            baudrate=int(check_positive("baudrate", baudrate)),
        )


def encode(
    spec: DeviceSpec,
    samples_volts: NDArray[np.float64],
    *,
    first_counter: int = 0,
    adc_bits: int,
    vref: float,
    gain: float = 1.0,
) -> bytes:
    """Bytes a Chords board sends for these samples.

    Parameters
    ----------
    spec : DeviceSpec
        The board.
    samples_volts : array, shape (n_channels, n_samples)
        Samples in volts; rounded to the nearest code and clipped to the ADC range.
    first_counter : int
        Counter of the first packet.
    adc_bits, vref, gain : int, float, float
        As the parser's (see :data:`CHORDS_BOARDS`).

    Returns
    -------
    bytes
        ``2 * n_channels + 4`` bytes per sample.
    """
    x = np.asarray(samples_volts, dtype=float)
    n_ch = spec.n_channels
    if x.ndim != 2 or x.shape[0] != n_ch:
        raise ConfigError(f"samples_volts must have shape ({n_ch}, n_samples), got {x.shape}.")
    vpc = vref / 2**adc_bits / gain
    raw = np.clip(np.rint(x / vpc + 2 ** (adc_bits - 1)), 0, 2**adc_bits - 1).astype(np.int64).T
    n = raw.shape[0]
    out = np.empty((n, 2 * n_ch + 4), dtype=np.uint8)
    out[:, :2] = np.frombuffer(CHORDS_SYNC, dtype=np.uint8)
    out[:, 2] = (first_counter + np.arange(n)) % 256
    out[:, 3:-1] = np.stack([(raw >> 8) & 0xFF, raw & 0xFF], axis=-1).reshape(n, 2 * n_ch)
    out[:, -1] = CHORDS_END
    return out.tobytes()


class ChordsDriver:
    """Upside Down Labs Chords firmware: ``WHORU`` names the board, then ``START``; stop ``STOP``.

    Nothing is written while the board streams (any byte stops the firmware), so
    the only write after ``START`` is the final ``STOP``.

    Parameters
    ----------
    board : str or None
        Expected ``WHORU`` name; None accepts any known board.
    gain : float
        Amplifier gain between electrodes and ADC (1: volts at the ADC input).
    reply_timeout_s : float
        How long to wait for the ``WHORU`` reply (the firmware reads commands with
        a 1 s timeout, so it answers about a second late).
    tries : int
        How many times to send ``WHORU``.
    baudrate : int or None
        230400 by default; 115200 for UNO-CLONE firmware.
    sfreq : float or None
        Override the board's rate (for modified firmware or the emulator's fast mode).
    """

    protocol = "chords"

    def __init__(
        self,
        *,
        board: str | None = None,
        gain: float = 1.0,
        reply_timeout_s: float = 2.0,
        tries: int = 3,
        baudrate: int | None = None,
        sfreq: float | None = None,
    ) -> None:
        self.board = board
        self.sfreq = None if sfreq is None else check_positive("sfreq", sfreq)
        self.gain = check_positive("gain", gain)
        self.reply_timeout_s = check_positive("reply_timeout_s", reply_timeout_s)
        self.tries = max(1, int(tries))
        self.baudrate = int(baudrate if baudrate is not None else CHORDS_BAUDRATE)
        self.whoru_reply = ""

    def identify(self, port: serial.Serial) -> ChordsBoard:
        """Ask ``WHORU`` (a streaming board stops on it) and return the board that answered."""
        name = port.port
        seen = b""
        for _ in range(self.tries):
            write(port, CHORDS_WHORU)
            deadline = time.monotonic() + self.reply_timeout_s
            buf = b""
            while time.monotonic() < deadline:
                buf += read_until(port, b"\n", timeout_s=max(0.01, deadline - time.monotonic()))
                try:
                    board = board_from_whoru(buf)
                except DeviceError:
                    continue
                self.whoru_reply = board.name
                return board
            seen = (seen + buf)[-200:]
        if not seen:
            raise DeviceError(
                f"{name}: no reply to the Chords 'WHORU' command after {self.tries} tries; "
                "expected a board name such as 'UNO-R3' (is it a Chords board, at this baud rate?)."
            )
        try:
            board_from_whoru(seen)
        except DeviceError as exc:
            raise DeviceError(f"{name}: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def start(self, port: serial.Serial) -> Parser:
        """Identify the board, check it is the expected one, flush and ``START``."""
        board = self.identify(port)
        if self.board is not None and board.name != self.board:
            raise DeviceError(
                f"{port.port}: the Chords board answered {board.name!r}, expected {self.board!r}."
            )
        parser = ChordsParser(board.name, gain=self.gain, baudrate=self.baudrate, sfreq=self.sfreq)
        port.reset_input_buffer()
        write(port, CHORDS_START)
        return parser

    def stop(self, port: serial.Serial) -> None:
        """Send ``STOP`` (the only write ever made to a streaming board)."""
        write(port, CHORDS_STOP)


def probe(ser: serial.Serial, _: float, reply_timeout_s: float) -> tuple[bool, str]:
    """``WHORU`` must name a known board (a streaming Chords board stops).

    Raises
    ------
    DeviceError
        If nothing or no known board name answered.
    """
    board = ChordsDriver(reply_timeout_s=reply_timeout_s, tries=1).identify(ser)
    return True, f"{board.name} ({board.n_channels} ch at {board.sfreq:g} Hz, {board.adc_bits}-bit)"


class ChordsEmulation:
    """A board running the Chords firmware: silent until ``START``, stops on any byte.

    Parameters
    ----------
    board : str
        Its ``WHORU`` name (:data:`CHORDS_BOARDS`).
    gain : float
        Gain of the BioAmp amplifier in front of the ADC. The reference code does
        not state it; 1000 (our assumption) puts microvolt EMG on the ADC's scale.
        A reader must be told the same gain.
    sfreq : float or None
        Stream faster or slower than the board really does (a generous test mode,
        e.g. 16 channels at 4 kHz for a throughput bench); None: the board's rate.
        A reader must be told the same rate.
    """

    protocol = "chords"

    def __init__(
        self, *, board: str = "UNO-R4", gain: float = EMULATOR_GAIN, sfreq: float | None = None
    ) -> None:
        self.gain = float(gain)
        self.parser = ChordsParser(board, gain=self.gain, sfreq=sfreq)
        self.board = CHORDS_BOARDS[board]
        self.spec: DeviceSpec = self.parser.spec
        self.sfreq = self.spec.sfreq
        self.n_channels = self.spec.n_channels
        self.streaming = False
        self.volts_per_count = float(self.parser.volts_per_count)
        self.zero_count = int(self.parser.offset_counts)
        self._line = bytearray()

    def power_up(self) -> bytes:
        """Not streaming, nothing printed."""
        self.streaming = False
        self._line.clear()
        return b""

    def on_bytes(self, data: bytes) -> bytes:
        """Newline-ended commands; any byte at all stops a running stream (firmware quirk)."""
        self.streaming = False
        out = bytearray()
        self._line += data
        while b"\n" in self._line:
            line, _, rest = bytes(self._line).partition(b"\n")
            self._line = bytearray(rest)
            # the firmware reads commands with readString() and a 1 s timeout, so bytes
            # sent earlier (another program's probe) end up as a separate string:
            # match on how the line ends
            cmd = line.strip().upper()
            if cmd.endswith(CHORDS_WHORU.strip()):
                out += self.board.name.encode("ascii") + b"\r\n"
            elif cmd.endswith(CHORDS_START.strip()):
                self.streaming = True
            elif cmd.endswith(CHORDS_STATUS.strip()):
                out += b"START\r\n" if self.streaming else b"STOP\r\n"
        return bytes(out)

    def encode(self, block: NDArray[np.float64], first_index: int) -> list[bytes]:
        """One ``2N + 4``-byte packet per sample; counter from the sample index."""
        data = encode(
            self.spec,
            block,
            first_counter=first_index % 256,
            adc_bits=self.board.adc_bits,
            vref=self.board.vref,
            gain=self.gain,
        )
        return split_packets(data, block.shape[1])

    def corrupt(self, packet: bytes) -> bytes:
        """Break the ``C7`` sync byte."""
        return b"\x00" + packet[1:]

    def reader_options(self) -> dict[str, Any]:
        """The board name and the assumed gain (and the rate, if not the board's own)."""
        out: dict[str, Any] = {"board": self.board.name, "gain": self.gain}
        if self.sfreq != self.board.sfreq:
            out["sfreq"] = self.sfreq
        return out


def emulate(
    *,
    n_channels: int | None = None,
    board: str = "UNO-R4",
    gain: float = EMULATOR_GAIN,
    sfreq: float | None = None,
) -> ChordsEmulation:
    """A Chords board in its power-up state; ``board`` decides its channel count.

    Raises
    ------
    ConfigError
        On an unknown board, or an ``n_channels`` other than the board's.
    """
    board = str(board)
    check_option("board", board, tuple(CHORDS_BOARDS))
    emu = ChordsEmulation(
        board=board, gain=float(gain), sfreq=None if sfreq is None else float(sfreq)
    )
    if n_channels not in (None, emu.n_channels):
        raise ConfigError(
            f"a Chords {board} has {emu.n_channels} channels, got n_channels={n_channels}; "
            "pick another board for another count."
        )
    return emu


BOARD: Final = Board(
    name="chords",
    description="Upside Down Labs Chords firmware (BioAmp), board identified by WHORU",
    parser=ChordsParser,
    encode=encode,
    baudrate=CHORDS_BAUDRATE,
    probe_baudrates=CHORDS_PROBE_BAUDRATES,
    probe=probe,
    probe_rank=4,
    emulate=emulate,
    driver=ChordsDriver,
    emulator_flags=(("board", "board"),),
)
