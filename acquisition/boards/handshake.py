"""Host-side handshakes: the driver contract and the helpers every board's driver uses.

A :class:`Driver` runs on a freshly opened port before the read thread starts:
``start(port)`` brings the board to streaming and returns the pure parser for
what answered (a Chords board's ``WHORU`` reply decides its rate and channels);
``stop(port)`` sends the stop command, if the protocol has one. Each board's
driver lives in its board module (``CytonDriver`` in ``cyton``, ``ChordsDriver``
in ``chords``, ``SpikerDriver`` in ``spiker``); a board that takes no commands
(OpenEEG, ASCII) is read through :class:`PassiveDriver`.

The helpers read with a deadline (:func:`read_until`, :func:`drain`,
:func:`listen`), write a command (:func:`write`) and check that bytes frame as a
protocol (:func:`frames_check`, for probes of boards that stream unasked). A port
error during a handshake becomes one :class:`DeviceError` line.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

import serial

from twitchscope.acquisition.boards.base import Parser
from twitchscope.signal.core.errors import DeviceError

__all__ = [
    "Driver",
    "PassiveDriver",
    "read_until",
    "drain",
    "listen",
    "write",
    "frames_check",
    "one_line",
]


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
            f"{port.port}: the port failed during the handshake: {one_line(exc)}"
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


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (its type name if it has none)."""
    return " ".join(str(exc).split()) or type(exc).__name__


def write(port: serial.Serial, data: bytes) -> None:
    """Write ``data`` and flush; a port error becomes one DeviceError line."""
    try:
        port.write(data)
        port.flush()
    except (serial.SerialException, OSError) as exc:
        raise DeviceError(f"{port.port}: writing {data!r} failed: {one_line(exc)}") from None


def listen(port: serial.Serial, listen_s: float, *, flush: bool = True) -> bytes:
    """What the port sends in ``listen_s`` seconds (at most 64 KiB), after dropping
    what was buffered before if ``flush``."""
    if flush:
        port.reset_input_buffer()
    deadline = time.monotonic() + listen_s
    buf = bytearray()
    while time.monotonic() < deadline and len(buf) < 65536:
        buf += port.read(max(1, port.in_waiting))
    return bytes(buf)


def frames_check(parser: Parser, data: bytes) -> tuple[bool, str]:
    """Whether ``data`` frames as ``parser``'s protocol: at least 10 frames and 80 %
    of the bytes framed; returns ``(ok, "N frames, P % of M bytes framed")``."""
    _, state = parser.parse(data, parser.init_state())
    n = len(data)
    framed = state.n_bytes_framed
    share = framed / n if n else 0.0
    ok = state.n_frames >= 10 and share >= 0.8
    return ok, f"{state.n_frames} frames, {100 * share:.0f} % of {n} bytes framed"
