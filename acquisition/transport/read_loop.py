"""The read loop of one serial connection: pyserial's reader thread and the protocol that
feeds a board's pure parser.

:class:`PortReadThread` is pyserial's :class:`serial.threaded.ReaderThread` with two
changes (below); :class:`ParserProtocol` is the one ``serial.threaded.Protocol``: bytes
in, :class:`~twitchscope.acquisition.boards.base.ParsedChunk` out, to a callback of the
:class:`~twitchscope.acquisition.transport.reader.Reader`, which owns both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import serial
import serial.threaded

from twitchscope.acquisition.boards.base import ParsedChunk, Parser, ParserState

__all__ = ["PortReadThread", "ParserProtocol"]


class PortReadThread(serial.threaded.ReaderThread):
    """pyserial's ReaderThread, also treating a raw ``OSError`` (EIO) as a lost connection,
    and reading at most every ``read_interval_s``.

    pyserial's loop catches only ``SerialException``; ``in_waiting`` on an
    unplugged USB adapter raises a plain ``OSError`` instead, which would kill the
    thread without calling ``connection_lost``. pyserial's loop also wakes at the first
    byte of each packet and hands that byte to the parser alone; here a read takes what
    has arrived with it, and the next read waits until ``read_interval_s`` has passed
    since this one, so the parser's fixed cost per call is paid for several packets (a
    250 Hz Cyton sends one every 4 ms).
    """

    def __init__(
        self,
        serial_instance: serial.Serial,
        protocol_factory: Callable[[], serial.threaded.Protocol],
        *,
        read_interval_s: float,
    ) -> None:
        super().__init__(serial_instance, protocol_factory)
        self.read_interval_s = read_interval_s

    def run(self) -> None:
        this: Any = self  # pyserial's private attributes are not in its type stubs
        if not hasattr(self.serial, "cancel_read"):
            self.serial.timeout = 1
        protocol = self.protocol_factory()
        self.protocol = protocol
        try:
            protocol.connection_made(self)
        except Exception as exc:
            self.alive = False
            protocol.connection_lost(exc)
            this._connection_made.set()
            return
        error: BaseException | None = None
        this._connection_made.set()
        last = 0.0
        while self.alive and self.serial.is_open:
            wait = last + self.read_interval_s - time.monotonic()
            if wait > 0:
                time.sleep(wait)  # what comes meanwhile waits in the port's buffer
            try:
                data = self.serial.read(self.serial.in_waiting or 1)
                if data:  # woken by a first byte: the rest that came with it too
                    last = time.monotonic()
                    more = self.serial.in_waiting
                    if more:
                        data += self.serial.read(more)
            except (serial.SerialException, OSError, TypeError) as exc:
                # TypeError: pyserial reading a port closed under it (fd is None)
                error = exc
                break
            if data:
                try:
                    protocol.data_received(data)
                except Exception as exc:  # our own code: report it, do not swallow it
                    error = exc
                    break
        self.alive = False
        protocol.connection_lost(error)


class ParserProtocol(serial.threaded.Protocol):
    """The one pyserial Protocol: feed bytes to a pure parser, hand chunks to the reader."""

    def __init__(self, parser: Parser, on_chunk: Callable[[ParsedChunk, float], None]) -> None:
        self.parser = parser
        self.state: ParserState = parser.init_state()
        self._on_chunk = on_chunk
        self.lost = threading.Event()
        self.error: BaseException | None = None

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        chunk, self.state = self.parser.parse(bytes(data), self.state)
        self._on_chunk(chunk, now)

    def connection_lost(self, exc: BaseException | None) -> None:
        self.error = exc
        self.lost.set()
