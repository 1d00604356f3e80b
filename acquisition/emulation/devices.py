"""How each board behaves on the wire, for :class:`~twitchscope.acquisition.emulation.pty_board.Emulator`.

One class per protocol answers the host's commands as the firmware does and
encodes samples with the protocol module's own encoder, one packet per sample.
:func:`make_personality` builds one by protocol name.

Each personality also says how its samples are quantised (``volts_per_count`` and
``zero_count``: ``volts = (count - zero_count) * volts_per_count``), so tests and
the ``simulate`` command can state what "bit-exact within quantisation" means.

The Chords, Spiker and ASCII boards put a 5 V (3.3 V) ADC behind an amplifier
whose gain the reference code does not give; the emulator assumes
:data:`DEFAULT_GAIN` so that microvolt EMG spans many counts. A reader must be
told the same calibration: :func:`driver_for` returns the driver that reads an
emulated board as configured, :func:`reader_options` the options to pass to
``make_driver`` (what ``twitchscope simulate`` prints).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from numpy.typing import NDArray

from twitchscope.acquisition.boards import ascii as ascii_lines
from twitchscope.acquisition.boards import chords, cyton, openeeg, spiker
from twitchscope.acquisition.boards.base import DeviceSpec
from twitchscope.acquisition.boards.handshake import (
    ChordsDriver,
    CytonDriver,
    Driver,
    PassiveDriver,
    SpikerDriver,
)
from twitchscope.signal.core.checks import check_option
from twitchscope.signal.core.errors import ConfigError

__all__ = [
    "DEFAULT_GAIN",
    "CytonBoard",
    "OpenEEGBoard",
    "ChordsBoardEmulation",
    "EmulatedBoard",
    "SpikerBoard",
    "AsciiSketch",
    "make_personality",
    "driver_for",
    "reader_options",
    "EMULATED_PROTOCOLS",
]

log = logging.getLogger(__name__)

#: amplifier gain assumed in front of the Chords, Spiker and ASCII boards' ADCs
DEFAULT_GAIN = 1000.0


def _split(data: bytes, n: int) -> list[bytes]:
    """Cut the encoding of ``n`` samples into one packet per sample (fixed length)."""
    if n == 0:
        return []
    size, rest = divmod(len(data), n)
    if rest:
        raise ConfigError(f"cannot split {len(data)} bytes into {n} equal packets.")
    return [data[i * size : (i + 1) * size] for i in range(n)]


class CytonBoard:
    """A Cyton behind its dongle.

    Parameters
    ----------
    daisy : bool
        16 channels at 125 Hz instead of 8 at 250 Hz.
    board_off : bool
        The dongle is plugged in but the board is off: every command gets
        ``Failure: Communications timeout - Device failed to poll Host$$$``.
    """

    protocol = "cyton"
    FAILURE = b"Failure: Communications timeout - Device failed to poll Host$$$"

    def __init__(self, *, daisy: bool = False, board_off: bool = False) -> None:
        self.parser = cyton.CytonParser(daisy=daisy)
        self.spec: DeviceSpec = self.parser.spec
        self.sfreq = self.spec.sfreq
        self.n_channels = self.spec.n_channels
        self.daisy = daisy
        self.board_off = board_off
        self.streaming = False
        self.volts_per_count = float(cyton.volts_per_count(24))
        self.zero_count = 0
        self._setting: bytearray | None = None

    def power_up(self) -> bytes:
        """The dongle says nothing at boot; the board does not stream until ``b``."""
        self.streaming = False
        self._setting = None
        return b""

    def banner(self) -> bytes:
        """The reply to ``v``."""
        lines = [b"OpenBCI V3 8-16 channel", b"On Board ADS1299 Device ID: 0x3E"]
        if self.daisy:
            lines.append(b"On Daisy ADS1299 Device ID: 0x3E")
        lines += [b"LIS3DH Device ID: 0x33", b"Firmware: v3.1.2", b"$$$"]
        return b"\n".join(lines)

    def on_bytes(self, data: bytes) -> bytes:
        """Single-byte commands; ``x…X`` channel settings are collected whole."""
        out = bytearray()
        for value in data:
            byte = bytes([value])
            if self._setting is not None:
                self._setting += byte
                if byte == b"X":
                    cmd, self._setting = bytes(self._setting), None
                    out += (
                        self.FAILURE
                        if self.board_off
                        else b"Success: Channel set for %s$$$" % cmd[1:2]
                    )
                continue
            if self.board_off:
                if byte in (cyton.CYTON_RESET, cyton.CYTON_DEFAULTS, cyton.CYTON_START):
                    out += self.FAILURE
                continue
            if byte == cyton.CYTON_STOP:
                self.streaming = False
            elif byte == cyton.CYTON_START:
                self.streaming = True
            elif byte == cyton.CYTON_RESET:
                self.streaming = False
                out += self.banner()
            elif byte == cyton.CYTON_DEFAULTS:
                out += b"updating channel settings to default$$$"
            elif byte == b"x":
                self._setting = bytearray(byte)
        return bytes(out)

    def encode(self, block: NDArray[np.float64], first_index: int) -> list[bytes]:
        """One 33-byte packet per sample (a pair with Daisy); counter from the sample index."""
        step = 2 if self.daisy else 1
        data = cyton.encode(self.spec, block, first_counter=(step * first_index) % 256)
        return _split(data, block.shape[1])

    def corrupt(self, packet: bytes) -> bytes:
        """Break the ``0xA0`` header (of both packets with Daisy)."""
        out = bytearray(packet)
        for i in range(0, len(out), cyton.CYTON_PACKET_LEN):
            out[i] = 0x00
        return bytes(out)


class OpenEEGBoard:
    """An Olimex SHIELD-EKG-EMG running the OpenEEG P2 demo sketch: streams from power-up.

    Parameters
    ----------
    sfreq : float
        Packet rate (the Olimex demo really sends 250 Hz although it says 256).
    n_channels : int
        Channels in use (1-6).
    crlf : bool
        Append ``\\r\\n`` to each packet, as some forks do.
    """

    protocol = "openeeg"

    def __init__(self, *, sfreq: float = 250.0, n_channels: int = 6, crlf: bool = False) -> None:
        self.parser = openeeg.OpenEEGParser(sfreq=sfreq, n_channels=n_channels)
        self.spec: DeviceSpec = self.parser.spec
        self.sfreq = self.spec.sfreq
        self.n_channels = self.spec.n_channels
        self.crlf = crlf
        self.streaming = True
        self.volts_per_count = float(self.parser.volts_per_count)
        self.zero_count = int(self.parser.offset_counts)

    def power_up(self) -> bytes:
        """It streams from power-up and prints nothing else."""
        self.streaming = True
        return b""

    def on_bytes(self, data: bytes) -> bytes:
        """The sketch ignores its input."""
        return b""

    def encode(self, block: NDArray[np.float64], first_index: int) -> list[bytes]:
        """One 17-byte packet (19 with CRLF) per sample; counter from the sample index."""
        data = openeeg.encode(
            self.spec,
            block,
            first_counter=first_index % 256,
            volts_per_count=self.volts_per_count,
            offset_counts=self.zero_count,
            crlf=self.crlf,
        )
        return _split(data, block.shape[1])

    def corrupt(self, packet: bytes) -> bytes:
        """Break the ``A5`` sync byte."""
        return b"\x00" + packet[1:]


class ChordsBoardEmulation:
    """A board running the Chords firmware: silent until ``START``, stops on any byte.

    Parameters
    ----------
    board : str
        Its ``WHORU`` name (:data:`twitchscope.acquisition.boards.chords.CHORDS_BOARDS`).
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
        self, *, board: str = "UNO-R4", gain: float = DEFAULT_GAIN, sfreq: float | None = None
    ) -> None:
        self.gain = float(gain)
        self.parser = chords.ChordsParser(board, gain=self.gain, sfreq=sfreq)
        self.board = chords.CHORDS_BOARDS[board]
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
            if cmd.endswith(chords.CHORDS_WHORU.strip()):
                out += self.board.name.encode("ascii") + b"\r\n"
            elif cmd.endswith(chords.CHORDS_START.strip()):
                self.streaming = True
            elif cmd.endswith(chords.CHORDS_STATUS.strip()):
                out += b"START\r\n" if self.streaming else b"STOP\r\n"
        return bytes(out)

    def encode(self, block: NDArray[np.float64], first_index: int) -> list[bytes]:
        """One ``2N + 4``-byte packet per sample; counter from the sample index."""
        data = chords.encode(
            self.spec,
            block,
            first_counter=first_index % 256,
            adc_bits=self.board.adc_bits,
            vref=self.board.vref,
            gain=self.gain,
        )
        return _split(data, block.shape[1])

    def corrupt(self, packet: bytes) -> bytes:
        """Break the ``C7`` sync byte."""
        return b"\x00" + packet[1:]


class SpikerBoard:
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
        gain: float = DEFAULT_GAIN,
    ) -> None:
        if not 1 <= power_up_channels <= max_channels <= spiker.SPIKER_MAX_CHANNELS:
            raise ConfigError(
                "need 1 <= power_up_channels <= max_channels <= 6, got "
                f"{power_up_channels} and {max_channels}."
            )
        self.n_channels = max_channels
        self.power_up_channels = power_up_channels
        self.banner = banner
        self.streaming = True
        self.volts_per_count = spiker.SPIKER_VOLTS_PER_COUNT / float(gain)
        self._set_channels(power_up_channels)
        self.zero_count = int(self.parser.offset_counts)
        self._line = bytearray()

    def _set_channels(self, n: int) -> None:
        self.active_channels = n
        self.parser = spiker.SpikerParser(n_channels=n, volts_per_count=self.volts_per_count)
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
                    out += spiker.encode_message("HWT:MUSCLESS;")
        return bytes(out)

    def encode(self, block: NDArray[np.float64], first_index: int) -> list[bytes]:
        """One ``2N``-byte frame per sample, the first N source rows."""
        data = spiker.encode(
            self.spec, block[: self.active_channels], volts_per_count=self.volts_per_count
        )
        return _split(data, block.shape[1])

    def corrupt(self, packet: bytes) -> bytes:
        """Set bit 7 of the frame's last byte: only the first byte of a frame may have it."""
        return packet[:-1] + bytes([packet[-1] | 0x80])


class AsciiSketch:
    """An Arduino sketch printing ``counter v1 v2 ...`` lines of raw ADC codes.

    The defaults describe a BioAmp-style sketch: 500 lines a second, 10-bit codes
    around 512, a counter first so lost lines can be counted, and a banner line at
    power-up. :attr:`parser_options` are what a reader needs to be told, since
    nothing in the text says rate or units.

    Parameters
    ----------
    sfreq : float
        Lines per second.
    n_channels : int
        Values per line (counter not included).
    gain : float
        Amplifier gain in front of the 5 V 10-bit ADC.
    counter : bool
        Print a counter column.
    """

    protocol = "ascii"

    def __init__(
        self,
        *,
        sfreq: float = 500.0,
        n_channels: int = 2,
        gain: float = DEFAULT_GAIN,
        counter: bool = True,
    ) -> None:
        self.parser_options: dict[str, Any] = {
            "sfreq": float(sfreq),
            "n_channels": int(n_channels),
            "scale": 5.0 / 1024 / float(gain),
            "offset": 512.0,
            "index_column": "counter" if counter else "none",
        }
        self.parser = ascii_lines.AsciiLinesParser(**self.parser_options)
        self.spec: DeviceSpec = self.parser.spec
        self.sfreq = self.spec.sfreq
        self.n_channels = self.spec.n_channels
        self.streaming = True
        self.volts_per_count = float(self.parser.scale)
        self.zero_count = 512

    def power_up(self) -> bytes:
        """A banner line, as most sketches print in ``setup()``."""
        self.streaming = True
        return b"twitchscope emulated EMG sketch\r\n"

    def on_bytes(self, data: bytes) -> bytes:
        """The sketch ignores its input."""
        return b""

    def encode(self, block: NDArray[np.float64], first_index: int) -> list[bytes]:
        """One ``Serial.println`` line per sample, codes clipped to 0..1023 as an ADC does."""
        counts = np.clip(np.rint(block / self.volts_per_count), -512, 511) * self.volts_per_count
        data = ascii_lines.encode(
            self.spec,
            counts,
            first_counter=first_index,
            scale=self.volts_per_count,
            offset=512.0,
            index_column=self.parser_options["index_column"],
        )
        return data.splitlines(keepends=True)

    def corrupt(self, packet: bytes) -> bytes:
        """Garble the line so it is not a line of numbers."""
        return b"#" + packet[1:]


EMULATED_PROTOCOLS: tuple[str, ...] = ("cyton", "openeeg", "chords", "spiker", "ascii")


#: any of the emulated boards (each satisfies :class:`~twitchscope.acquisition.emulation.pty_board.Personality`)
EmulatedBoard = CytonBoard | OpenEEGBoard | ChordsBoardEmulation | SpikerBoard | AsciiSketch


_OPTIONS: dict[str, tuple[str, ...]] = {
    "cyton": ("daisy", "board_off"),
    "openeeg": ("sfreq", "crlf"),
    "chords": ("board", "gain", "sfreq"),
    "spiker": ("power_up_channels", "banner", "gain"),
    "ascii": ("sfreq", "gain", "counter"),
}


def make_personality(
    protocol: str, *, n_channels: int | None = None, **options: Any
) -> EmulatedBoard:
    """A board of the given protocol in its power-up state.

    Parameters
    ----------
    protocol : str
        One of :data:`EMULATED_PROTOCOLS`.
    n_channels : int or None
        Channels to emulate (Cyton 8 or 16; OpenEEG 1-6; Spiker 1-6; ASCII any;
        a Chords board has its own count, chosen by ``board``).
    **options
        Cyton ``daisy``, ``board_off``; OpenEEG ``sfreq``, ``crlf``; Chords
        ``board``, ``gain``, ``sfreq``; Spiker ``power_up_channels``, ``banner``, ``gain``; ASCII ``sfreq``,
        ``gain``, ``counter``.

    Raises
    ------
    ConfigError
        On an unknown protocol or option, or an impossible channel count.
    """
    check_option("protocol", protocol, EMULATED_PROTOCOLS)
    unknown = sorted(set(options) - set(_OPTIONS[protocol]))
    if unknown:
        allowed = ", ".join(_OPTIONS[protocol])
        raise ConfigError(
            f"unknown emulator option(s) {unknown} for {protocol!r}; expected some of: {allowed}."
        )
    if protocol == "cyton":
        if n_channels not in (None, 8, 16):
            raise ConfigError(f"a Cyton has 8 or 16 (Daisy) channels, got n_channels={n_channels}.")
        daisy = bool(options.get("daisy", n_channels == 16))
        return CytonBoard(daisy=daisy, board_off=bool(options.get("board_off", False)))
    if protocol == "openeeg":
        return OpenEEGBoard(
            sfreq=float(options.get("sfreq", 250.0)),
            n_channels=6 if n_channels is None else n_channels,
            crlf=bool(options.get("crlf", False)),
        )
    if protocol == "chords":
        board = str(options.get("board", "UNO-R4"))
        check_option("board", board, tuple(chords.CHORDS_BOARDS))
        sfreq = options.get("sfreq")
        emu = ChordsBoardEmulation(
            board=board,
            gain=float(options.get("gain", DEFAULT_GAIN)),
            sfreq=None if sfreq is None else float(sfreq),
        )
        if n_channels not in (None, emu.n_channels):
            raise ConfigError(
                f"a Chords {board} has {emu.n_channels} channels, got n_channels={n_channels}; "
                "pick another board for another count."
            )
        return emu
    if protocol == "spiker":
        n = 2 if n_channels is None else n_channels
        return SpikerBoard(
            max_channels=n,
            power_up_channels=int(options.get("power_up_channels", 1)),
            banner=bool(options.get("banner", True)),
            gain=float(options.get("gain", DEFAULT_GAIN)),
        )
    return AsciiSketch(
        sfreq=float(options.get("sfreq", 500.0)),
        n_channels=2 if n_channels is None else n_channels,
        gain=float(options.get("gain", DEFAULT_GAIN)),
        counter=bool(options.get("counter", True)),
    )


def driver_for(board: EmulatedBoard) -> Driver:
    """The host-side driver that reads this emulated board as configured.

    OpenEEG and ASCII streams do not describe themselves, so their parser must be
    told the emulator's rate, channels and scale; the other protocols find out by
    handshake.
    """
    if isinstance(board, CytonBoard):
        return CytonDriver(daisy=board.daisy)
    if isinstance(board, ChordsBoardEmulation):
        return ChordsDriver(board=board.board.name, gain=board.gain, sfreq=board.sfreq)
    if isinstance(board, SpikerBoard):
        return SpikerDriver(n_channels=board.n_channels, volts_per_count=board.volts_per_count)
    return PassiveDriver(board.parser)


def reader_options(board: EmulatedBoard) -> dict[str, Any]:
    """Protocol options a reader of this emulated board needs (for the command line)."""
    if isinstance(board, CytonBoard):
        return {"daisy": board.daisy}
    if isinstance(board, ChordsBoardEmulation):
        out: dict[str, Any] = {"board": board.board.name, "gain": board.gain}
        if board.sfreq != board.board.sfreq:
            out["sfreq"] = board.sfreq
        return out
    if isinstance(board, SpikerBoard):
        return {"n_channels": board.n_channels, "volts_per_count": board.volts_per_count}
    if isinstance(board, OpenEEGBoard):
        return {"sfreq": board.sfreq, "n_channels": board.n_channels}
    return dict(board.parser_options)
