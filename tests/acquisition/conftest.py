"""Shared fixtures for the acquisition tests."""

from __future__ import annotations

import os
import threading
import tty
from collections.abc import Callable

import pytest
import serial


def through_pty(data: bytes, *, baudrate: int = 115200) -> bytes:
    """Write ``data`` on a pty master and read it back with pyserial on the slave.

    The baud rate is accepted and ignored by a pty; it is passed so each protocol's
    port is opened as it would be on hardware.
    """
    master, slave = os.openpty()
    tty.setraw(slave)
    port = serial.Serial(os.ttyname(slave), baudrate=baudrate, timeout=2)
    try:
        writer = threading.Thread(
            target=lambda: [os.write(master, data[i : i + 1000]) for i in range(0, len(data), 1000)]
        )
        writer.start()
        got = bytearray()
        while len(got) < len(data):
            piece = port.read(len(data) - len(got))
            if not piece:
                break
            got += piece
        writer.join(5)
        return bytes(got)
    finally:
        port.close()
        os.close(slave)
        os.close(master)


@pytest.fixture(scope="session")
def pty_roundtrip() -> Callable[..., bytes]:
    """:func:`through_pty`: bytes through a real pty and pyserial."""
    return through_pty
