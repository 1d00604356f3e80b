"""Host-side handshakes: how to start and stop each kind of board on an open port.

A :class:`Driver` runs on a freshly opened port before the read thread starts:
``start(port)`` brings the board to streaming and returns the pure parser for
what answered (a Chords board's ``WHORU`` reply decides its rate and channels);
``stop(port)`` sends the stop command, if the protocol has one. The byte
strings come from the protocol modules.

=========  ================================================================
protocol   start / stop
=========  ================================================================
cyton      ``s`` and flush; ``v`` must answer ``OpenBCI`` … ``$$$``; ``d``;
           ``b`` / ``s``. A dongle's ``Failure: …`` reply is reported
           verbatim (board off, wrong radio channel).
chords     ``WHORU`` names the board; ``START`` / ``STOP``. Nothing is ever
           written while it streams: any byte stops the firmware.
spiker     ``c:N;`` sets the channel count (rate 10 kHz / N); no stop.
openeeg    none: it streams from power-up.
ascii      none.
=========  ================================================================
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Protocol

import serial

from twitchscope.acquisition.boards import chords, cyton, spiker
from twitchscope.acquisition.boards.base import Parser
from twitchscope.acquisition.boards.registry import PROTOCOLS, make_parser
from twitchscope.signal.core.checks import check_option, check_positive
from twitchscope.signal.core.errors import ConfigError, DeviceError

__all__ = [
    "Driver",
    "PassiveDriver",
    "CytonDriver",
    "ChordsDriver",
    "SpikerDriver",
    "make_driver",
    "read_until",
    "drain",
]

log = logging.getLogger(__name__)


class Driver(Protocol):
    """Start and stop one kind of board (structural type).

    Attributes
    ----------
    protocol : str
        Protocol name.
    baudrate : int
        Baud rate to open the port at.
    """

    protocol: str
    baudrate: int

    def start(self, port: serial.Serial) -> Parser:
        """Bring the board to streaming; return the parser for it.

        Raises
        ------
        DeviceError
            With one line saying what answered and what was expected.
        """
        ...

    def stop(self, port: serial.Serial) -> None:
        """Ask the board to stop streaming (best effort)."""
        ...


class PassiveDriver:
    """A board that streams from power-up and takes no commands (OpenEEG, ASCII).

    Parameters
    ----------
    parser : Parser
        The parser for its stream.
    baudrate : int
        Baud rate (defaults to the parser's declared one).
    """

    def __init__(self, parser: Parser, *, baudrate: int | None = None) -> None:
        self.parser = parser
        self.protocol = parser.spec.protocol
        self.baudrate = int(baudrate if baudrate is not None else parser.spec.baudrate)

    def start(self, port: serial.Serial) -> Parser:
        """Drop what was buffered before we came; the parser resynchronises on the rest."""
        port.reset_input_buffer()
        return self.parser

    def stop(self, port: serial.Serial) -> None:
        """Nothing to send."""


@contextmanager
def _handshake_reads(port: serial.Serial, timeout_s: float) -> Iterator[None]:
    """Read with ``timeout_s`` per read; a port error becomes one DeviceError line;
    the port's own timeout is restored."""
    old_timeout = port.timeout
    port.timeout = timeout_s
    try:
        yield
    except (serial.SerialException, OSError) as exc:
        raise DeviceError(
            f"{port.port}: the port failed during the handshake: {_one_line(exc)}"
        ) from None
    finally:
        port.timeout = old_timeout


def read_until(
    port: serial.Serial, terminator: bytes, *, timeout_s: float, max_bytes: int = 4096
) -> bytes:
    """Read until ``terminator`` arrives, ``max_bytes`` were read, or ``timeout_s`` passed.

    Returns everything read (terminator included when found).
    """
    deadline = time.monotonic() + timeout_s
    buf = bytearray()
    with _handshake_reads(port, 0.05):
        while terminator not in buf and len(buf) < max_bytes:
            if time.monotonic() >= deadline:
                break
            buf += port.read(max(1, min(port.in_waiting, max_bytes - len(buf))))
    return bytes(buf)


def drain(port: serial.Serial, *, quiet_s: float = 0.05, max_s: float = 1.0) -> int:
    """Read and discard until the line is quiet for ``quiet_s`` (at most ``max_s``).

    Returns the number of bytes thrown away.
    """
    deadline = time.monotonic() + max_s
    n = 0
    with _handshake_reads(port, quiet_s):
        while time.monotonic() < deadline:
            data = port.read(4096)
            if not data:
                break
            n += len(data)
    port.reset_input_buffer()
    return n


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


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
        self._cyton = cyton
        self.daisy = daisy
        self.gains = gains
        self.reply_timeout_s = check_positive("reply_timeout_s", reply_timeout_s)
        self.baudrate = int(baudrate if baudrate is not None else cyton.CYTON_BAUDRATE)
        self.version_reply = ""

    def start(self, port: serial.Serial) -> Parser:
        """Stop, reset, check the reply, load defaults and start streaming."""
        cy = self._cyton
        name = str(port.port)
        _write(port, cy.CYTON_STOP)
        drain(port)
        _write(port, cy.CYTON_RESET)
        reply = read_until(port, cy.CYTON_REPLY_END, timeout_s=self.reply_timeout_s)
        if not reply:
            raise DeviceError(
                f"{name}: no reply to the Cyton reset command 'v' within "
                f"{self.reply_timeout_s:g} s; expected 'OpenBCI ... $$$' (is this the dongle?)."
            )
        self.version_reply = _with_port(name, cy.check_version_reply, reply)
        daisy = cy.version_reply_has_daisy(reply) if self.daisy is None else self.daisy
        _write(port, cy.CYTON_DEFAULTS)
        _with_port(
            name,
            cy.check_defaults_reply,
            read_until(port, cy.CYTON_REPLY_END, timeout_s=self.reply_timeout_s),
        )
        parser = cy.CytonParser(daisy=daisy, gains=self.gains)
        if any(g != 24 for g in parser.gains):
            for ch, gain in enumerate(parser.gains, start=1):
                _write(port, cy.channel_settings_command(ch, gain=gain))
                reply = read_until(port, cy.CYTON_REPLY_END, timeout_s=self.reply_timeout_s)
                failure = cy.dongle_failure(reply)
                if failure is not None:
                    raise DeviceError(
                        f"{name}: setting channel {ch} failed: the dongle answered {failure!r}."
                    )
        port.reset_input_buffer()
        _write(port, cy.CYTON_START)
        return parser

    def stop(self, port: serial.Serial) -> None:
        """Send ``s`` so the board does not keep streaming into a closed port."""
        _write(port, self._cyton.CYTON_STOP)


def _write(port: serial.Serial, data: bytes) -> None:
    try:
        port.write(data)
        port.flush()
    except (serial.SerialException, OSError) as exc:
        raise DeviceError(f"{port.port}: writing {data!r} failed: {_one_line(exc)}") from None


def _with_port(name: str, check: Callable[[bytes], str], reply: bytes) -> str:
    try:
        return check(reply)
    except DeviceError as exc:
        raise DeviceError(f"{name}: {exc}") from None


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
        self.baudrate = int(baudrate if baudrate is not None else chords.CHORDS_BAUDRATE)
        self.whoru_reply = ""

    def identify(self, port: serial.Serial) -> chords.ChordsBoard:
        """Ask ``WHORU`` (a streaming board stops on it) and return the board that answered."""
        name = port.port
        seen = b""
        for _ in range(self.tries):
            _write(port, chords.CHORDS_WHORU)
            deadline = time.monotonic() + self.reply_timeout_s
            buf = b""
            while time.monotonic() < deadline:
                buf += read_until(port, b"\n", timeout_s=max(0.01, deadline - time.monotonic()))
                try:
                    board = chords.board_from_whoru(buf)
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
            chords.board_from_whoru(seen)
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
        parser = chords.ChordsParser(
            board.name, gain=self.gain, baudrate=self.baudrate, sfreq=self.sfreq
        )
        port.reset_input_buffer()
        _write(port, chords.CHORDS_START)
        return parser

    def stop(self, port: serial.Serial) -> None:
        """Send ``STOP`` (the only write ever made to a streaming board)."""
        _write(port, chords.CHORDS_STOP)


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
        volts_per_count: float = spiker.SPIKER_VOLTS_PER_COUNT,
        baudrate: int | None = None,
    ) -> None:
        self.command = spiker.channels_command(n_channels)
        self.n_channels = int(n_channels)
        self.volts_per_count = check_positive("volts_per_count", volts_per_count)
        self.baudrate = int(baudrate if baudrate is not None else spiker.SPIKER_BAUDRATE)

    def start(self, port: serial.Serial) -> Parser:
        """Send ``c:N;`` and drop what was buffered before it."""
        port.reset_input_buffer()
        _write(port, self.command)
        return spiker.SpikerParser(
            n_channels=self.n_channels, volts_per_count=self.volts_per_count, baudrate=self.baudrate
        )

    def stop(self, port: serial.Serial) -> None:
        """The board has no stop command."""


_DRIVERS: dict[str, Callable[..., Driver]] = {
    "cyton": CytonDriver,
    "chords": ChordsDriver,
    "spiker": SpikerDriver,
}


def make_driver(protocol: str, **options: Any) -> Driver:
    """The driver for a protocol, from keyword options.

    Cyton, Chords and Spiker take the options of :class:`CytonDriver`,
    :class:`ChordsDriver` and :class:`SpikerDriver`; OpenEEG and ASCII, which
    take no commands, take their parser's options (``sfreq``, ``n_channels``,
    ``scale``…) plus ``baudrate``.

    Raises
    ------
    ConfigError
        On an unknown protocol or option.
    """
    check_option("protocol", protocol, tuple(PROTOCOLS))
    factory = _DRIVERS.get(protocol)
    if factory is None:
        return PassiveDriver(make_parser(protocol, **options))
    params = inspect.signature(factory).parameters
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {unknown} for protocol {protocol!r}; expected some of: "
            f"{', '.join(params)}."
        )
    return factory(**options)
