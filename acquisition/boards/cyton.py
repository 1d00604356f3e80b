"""OpenBCI Cyton (+Daisy) through its USB dongle: commands, handshake, probe and emulation.

The 33-byte packet format (parser and encoder) is in
:mod:`twitchscope.acquisition.boards.cyton_packets`. The host talks to the board
through the dongle with single-byte commands: ``s`` stops streaming, ``v`` soft
resets and answers ``OpenBCI …`` ending in ``$$$`` (with a ``Daisy`` line when 16
channels), ``d`` loads the channel defaults (gain 24), ``x…X`` sets one channel,
``b`` starts streaming. A dongle whose board is off or on another radio channel
answers every command with ``Failure: …$$$``, reported verbatim.

:class:`CytonDriver` is the host-side handshake, :func:`probe` identifies a board
on a port, :class:`CytonEmulation` is the board the pty emulator plays, and
:data:`BOARD` describes it for the registry.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import numpy as np
import serial
from numpy.typing import NDArray

from twitchscope.acquisition.boards.base import Board, DeviceSpec, KnownAdapter, Parser
from twitchscope.acquisition.boards.cyton_packets import (
    CYTON_BAUDRATE,
    CYTON_GAINS,
    CYTON_PACKET_LEN,
    CYTON_REPLY_END,
    CytonParser,
    encode,
    volts_per_count,
)
from twitchscope.acquisition.boards.fixed_frames import split_packets
from twitchscope.acquisition.boards.handshake import drain, read_until, write
from twitchscope.signal.core.checks import check_option, check_positive
from twitchscope.signal.core.errors import ConfigError, DeviceError

__all__ = [
    "CYTON_PROBE_BAUDRATES",
    "CYTON_STOP",
    "CYTON_START",
    "CYTON_RESET",
    "CYTON_DEFAULTS",
    "CYTON_DAISY_ON",
    "CYTON_DAISY_OFF",
    "CYTON_DONGLE_STATUS",
    "CYTON_VERSION_REPLY_END",
    "dongle_failure",
    "check_version_reply",
    "check_defaults_reply",
    "version_reply_has_daisy",
    "channel_settings_command",
    "CytonDriver",
    "probe",
    "CytonEmulation",
    "emulate",
    "BOARD",
]

CYTON_PROBE_BAUDRATES: Final = (115200,)

#: host -> board commands (single ASCII bytes unless noted)
CYTON_STOP: Final = b"s"
CYTON_START: Final = b"b"
CYTON_RESET: Final = b"v"
CYTON_DEFAULTS: Final = b"d"
CYTON_DAISY_ON: Final = b"C"
CYTON_DAISY_OFF: Final = b"c"
#: dongle-only system status query; replies ``Success: System is Up$$$`` or a Failure
CYTON_DONGLE_STATUS: Final = b"\xf0\x07"
CYTON_VERSION_REPLY_END: Final = CYTON_REPLY_END
_CHANNEL_KEYS: Final = "12345678QWERTYUI"


def dongle_failure(reply: bytes) -> str | None:
    """The dongle's ``Failure: ...`` message in ``reply``, verbatim (without ``$$$``), or None.

    Examples
    --------
    >>> dongle_failure(b"Failure: Communications timeout - Device failed to poll Host$$$")
    'Failure: Communications timeout - Device failed to poll Host'
    """
    i = reply.find(b"Failure")
    if i < 0:
        return None
    j = reply.find(CYTON_REPLY_END, i)
    text = reply[i:] if j < 0 else reply[i:j]
    return text.decode("ascii", errors="replace").strip()


def check_version_reply(reply: bytes) -> str:
    """Validate the reply to ``v`` (soft reset) and return it as text.

    Raises
    ------
    DeviceError
        If the dongle reports a failure (message quoted verbatim), if the reply
        does not end with ``$$$``, or if it does not come from an OpenBCI board.
    """
    failure = dongle_failure(reply)
    if failure is not None:
        raise DeviceError(f"the Cyton dongle answered {failure!r}; is the board on and paired?")
    if not reply.rstrip().endswith(CYTON_REPLY_END):
        raise DeviceError(
            f"incomplete reply to 'v': expected text ending in '$$$', got {reply[-80:]!r}."
        )
    if b"OpenBCI" not in reply:
        raise DeviceError(
            f"reply to 'v' is not from an OpenBCI board: expected 'OpenBCI', got {reply[:80]!r}."
        )
    return reply.decode("ascii", errors="replace")


def check_defaults_reply(reply: bytes) -> str:
    """Validate the reply to ``d`` (channel defaults); raise DeviceError on a failure."""
    failure = dongle_failure(reply)
    if failure is not None:
        raise DeviceError(f"the Cyton dongle answered {failure!r} to 'd'; is the board on?")
    if not reply.rstrip().endswith(CYTON_REPLY_END):
        raise DeviceError(
            f"incomplete reply to 'd': expected text ending in '$$$', got {reply[-80:]!r}."
        )
    return reply.decode("ascii", errors="replace")


def version_reply_has_daisy(reply: bytes) -> bool:
    """True if the ``v`` reply lists a Daisy ADS1299 (16 channels)."""
    return b"Daisy" in reply


def channel_settings_command(
    channel: int,
    *,
    gain: int = 24,
    power_on: bool = True,
    input_type: int = 0,
    bias: bool = True,
    srb2: bool = True,
    srb1: bool = False,
) -> bytes:
    """The ``x C P G I B S2 S1 X`` command for one channel (1-16).

    Examples
    --------
    >>> channel_settings_command(1, gain=24, srb2=False)
    b'x1060100X'
    """
    if not 1 <= channel <= 16:
        raise ConfigError(f"channel must be in 1..16, got {channel!r}.")
    check_option("gain", gain, tuple(CYTON_GAINS))
    if not 0 <= input_type <= 7:
        raise ConfigError(f"input_type must be in 0..7, got {input_type!r}.")
    fields = (
        _CHANNEL_KEYS[channel - 1],
        "0" if power_on else "1",
        CYTON_GAINS[gain],
        str(input_type),
        str(int(bias)),
        str(int(srb2)),
        str(int(srb1)),
    )
    return ("x" + "".join(fields) + "X").encode("ascii")


def _with_port(name: str, check: Callable[[bytes], str], reply: bytes) -> str:
    try:
        return check(reply)
    except DeviceError as exc:
        raise DeviceError(f"{name}: {exc}") from None


class CytonDriver:
    """OpenBCI Cyton through its dongle: ``s`` + flush, ``v``, ``d``, then ``b``; stop ``s``.

    Parameters
    ----------
    daisy : bool or None
        16 channels (Daisy); None decides from the ``v`` reply.
    gains : int or sequence of int
        Gain per channel. Anything but 24 everywhere is programmed with one
        ``x…X`` command per channel after ``d``.
    reply_timeout_s : float
        How long to wait for each text reply.
    """

    protocol = "cyton"

    def __init__(
        self,
        *,
        daisy: bool | None = None,
        gains: int | Sequence[int] = 24,
        reply_timeout_s: float = 3.0,
        baudrate: int | None = None,
    ) -> None:
        self.daisy = daisy
        self.gains = gains
        self.reply_timeout_s = check_positive("reply_timeout_s", reply_timeout_s)
        self.baudrate = int(baudrate if baudrate is not None else CYTON_BAUDRATE)
        self.version_reply = ""

    def start(self, port: serial.Serial) -> Parser:
        """Stop, reset, check the reply, load defaults and start streaming."""
        name = str(port.port)
        write(port, CYTON_STOP)
        drain(port)
        write(port, CYTON_RESET)
        reply = read_until(port, CYTON_REPLY_END, timeout_s=self.reply_timeout_s)
        if not reply:
            raise DeviceError(
                f"{name}: no reply to the Cyton reset command 'v' within "
                f"{self.reply_timeout_s:g} s; expected 'OpenBCI ... $$$' (is this the dongle?)."
            )
        self.version_reply = _with_port(name, check_version_reply, reply)
        daisy = version_reply_has_daisy(reply) if self.daisy is None else self.daisy
        write(port, CYTON_DEFAULTS)
        _with_port(
            name,
            check_defaults_reply,
            read_until(port, CYTON_REPLY_END, timeout_s=self.reply_timeout_s),
        )
        parser = CytonParser(daisy=daisy, gains=self.gains)
        if any(g != 24 for g in parser.gains):
            for ch, gain in enumerate(parser.gains, start=1):
                write(port, channel_settings_command(ch, gain=gain))
                reply = read_until(port, CYTON_REPLY_END, timeout_s=self.reply_timeout_s)
                failure = dongle_failure(reply)
                if failure is not None:
                    raise DeviceError(
                        f"{name}: setting channel {ch} failed: the dongle answered {failure!r}."
                    )
        port.reset_input_buffer()
        write(port, CYTON_START)
        return parser

    def stop(self, port: serial.Serial) -> None:
        """Send ``s`` so the board does not keep streaming into a closed port."""
        write(port, CYTON_STOP)


def probe(ser: serial.Serial, _: float, reply_timeout_s: float) -> tuple[bool, str]:
    """``s``, flush, ``v`` must answer ``OpenBCI … $$$`` (the board is left stopped).

    Raises
    ------
    DeviceError
        If the reply is not an OpenBCI one (the dongle's failure quoted).
    """
    ser.write(CYTON_STOP)
    drain(ser)
    ser.write(CYTON_RESET)
    reply = read_until(ser, CYTON_REPLY_END, timeout_s=reply_timeout_s)
    text = check_version_reply(reply)
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    daisy = " with Daisy" if version_reply_has_daisy(reply) else ""
    return True, f"{first}{daisy}"


class CytonEmulation:
    """A Cyton behind its dongle, as the pty emulator plays it.

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
        self.parser = CytonParser(daisy=daisy)
        self.spec: DeviceSpec = self.parser.spec
        self.sfreq = self.spec.sfreq
        self.n_channels = self.spec.n_channels
        self.daisy = daisy
        self.board_off = board_off
        self.streaming = False
        self.volts_per_count = float(volts_per_count(24))
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
                if byte in (CYTON_RESET, CYTON_DEFAULTS, CYTON_START):
                    out += self.FAILURE
                continue
            if byte == CYTON_STOP:
                self.streaming = False
            elif byte == CYTON_START:
                self.streaming = True
            elif byte == CYTON_RESET:
                self.streaming = False
                out += self.banner()
            elif byte == CYTON_DEFAULTS:
                out += b"updating channel settings to default$$$"
            elif byte == b"x":
                self._setting = bytearray(byte)
        return bytes(out)

    def encode(self, block: NDArray[np.float64], first_index: int) -> list[bytes]:
        """One 33-byte packet per sample (a pair with Daisy); counter from the sample index."""
        step = 2 if self.daisy else 1
        data = encode(self.spec, block, first_counter=(step * first_index) % 256)
        return split_packets(data, block.shape[1])

    def corrupt(self, packet: bytes) -> bytes:
        """Break the ``0xA0`` header (of both packets with Daisy)."""
        out = bytearray(packet)
        for i in range(0, len(out), CYTON_PACKET_LEN):
            out[i] = 0x00
        return bytes(out)

    def reader_options(self) -> dict[str, Any]:
        """The reader must know whether to expect the Daisy (it could also ask ``v``)."""
        return {"daisy": self.daisy}


def emulate(
    *, n_channels: int | None = None, daisy: bool | None = None, board_off: bool = False
) -> CytonEmulation:
    """A Cyton in its power-up state: 8 channels, or 16 (Daisy) for ``n_channels=16``.

    Raises
    ------
    ConfigError
        If ``n_channels`` is not 8 or 16.
    """
    if n_channels not in (None, 8, 16):
        raise ConfigError(f"a Cyton has 8 or 16 (Daisy) channels, got n_channels={n_channels}.")
    daisy = bool(n_channels == 16 if daisy is None else daisy)
    return CytonEmulation(daisy=daisy, board_off=bool(board_off))


BOARD: Final = Board(
    name="cyton",
    description="OpenBCI Cyton (+Daisy) via USB dongle, 250 Hz (125 Hz with Daisy)",
    parser=CytonParser,
    encode=encode,
    baudrate=CYTON_BAUDRATE,
    probe_baudrates=CYTON_PROBE_BAUDRATES,
    probe=probe,
    probe_rank=3,
    emulate=emulate,
    driver=CytonDriver,
    usb_adapters=(
        KnownAdapter(
            0x0403, 0x6015, "FTDI FT231X: OpenBCI Cyton dongle (or another FT231X)", ("cyton",)
        ),
    ),
)
