"""Opening ports by path and URL, the VID:PID table, and probing emulated boards."""

from __future__ import annotations

import os
import socket
import threading
import tty

import numpy as np
import pytest

from twitchscope.acquisition.boards.registry import BOARDS, make_personality
from twitchscope.acquisition.emulation.pty_board import Emulator
from twitchscope.acquisition.transport.ports import (
    KNOWN_ADAPTERS,
    PortInfo,
    find_port,
    identify_adapter,
    list_ports,
    open_port,
    probe,
    stable_path,
    usb_identity,
)
from twitchscope.signal.core.errors import ConfigError, DeviceError


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(master)
    yield master, os.ttyname(slave)
    for fd in (master, slave):
        os.close(fd)


def test_vid_pid_table_names_the_boards_of_the_spec() -> None:
    assert "Cyton" in identify_adapter(0x0403, 0x6015).label
    assert identify_adapter(0x0403, 0x6015).protocols == ("cyton",)
    assert "CH340" in identify_adapter(0x1A86, 0x7523).label
    assert "CP210x" in identify_adapter(0x10C4, 0xEA60).label
    assert "RP2040" in identify_adapter(0x2E8A, 0x00C0).label
    assert "Backyard Brains" in identify_adapter(0x2E73, 0x0001).label
    assert "Uno R3" in identify_adapter(0x2341, 0x0043).label
    assert identify_adapter(0x2341, 0x7777).label == "Arduino (other board)"
    assert identify_adapter(0x1234, 0x5678) is None and identify_adapter(None, None) is None
    # every protocol named in the table exists
    assert {p for a in KNOWN_ADAPTERS for p in a.protocols} <= set(BOARDS)


def test_list_ports_returns_port_infos() -> None:
    ports = list_ports()  # whatever this machine has (ptys are never listed)
    assert all(isinstance(p, PortInfo) for p in ports)
    for p in ports:
        assert p.stable_path in (p.device, p.by_id)
        assert (p.usb_id == "") == (p.vid is None)


def test_open_pty_by_path_reads_and_writes(pty_pair) -> None:
    master, path = pty_pair
    ser = open_port(path, baudrate=115200, timeout=2.0)
    try:
        os.write(master, b"hello")
        assert ser.read(5) == b"hello"
        ser.write(b"v")
        assert os.read(master, 1) == b"v"
    finally:
        ser.close()


def test_open_is_exclusive(pty_pair) -> None:
    _, path = pty_pair
    ser = open_port(path, baudrate=115200)
    try:
        with pytest.raises(DeviceError, match="cannot open serial port") as info:
            open_port(path, baudrate=115200)
        assert "\n" not in str(info.value)
        assert "busy: another program" in str(info.value)
    finally:
        ser.close()


def test_open_by_url_loop_and_spy(pty_pair, tmp_path) -> None:
    loop = open_port("loop://", baudrate=115200, timeout=1.0)
    try:
        loop.write(b"abc")
        assert loop.read(3) == b"abc"
    finally:
        loop.close()
    master, path = pty_pair
    dump = tmp_path / "capture.txt"
    spy = open_port(f"spy://{path}?file={dump}", baudrate=115200, timeout=2.0)
    try:
        os.write(master, b"\xa0\x01")
        assert spy.read(2) == b"\xa0\x01"
    finally:
        spy.close()
    assert "A0 01" in dump.read_text()


def test_open_refuses_1200_baud_and_missing_ports(tmp_path) -> None:
    with pytest.raises(ConfigError, match="1200"):
        open_port("loop://", baudrate=1200)
    with pytest.raises(DeviceError, match="cannot open serial port") as info:
        open_port(str(tmp_path / "ttyNONE"), baudrate=115200)
    assert "\n" not in str(info.value)
    # said once, with what to do (pyserial's own message names the port twice)
    assert str(info.value).count("ttyNONE") == 1
    assert "no such port: is the board plugged in?" in str(info.value)
    assert all(1200 not in b.probe_baudrates for b in BOARDS.values())


def test_stable_path_keeps_links_and_urls(tmp_path) -> None:
    link = tmp_path / "ttyLINK"
    link.symlink_to("/dev/null")
    assert stable_path(str(link)) == str(link)
    assert stable_path("loop://") == "loop://"
    assert stable_path("/dev/pts/999") == "/dev/pts/999"


def _source(n_channels: int):
    state = {"i": 0}

    def source(n: int) -> np.ndarray:
        t = np.arange(state["i"], state["i"] + n)
        state["i"] += n
        return np.tile(20e-6 * np.sin(2 * np.pi * t / 50.0), (n_channels, 1))

    return source


EXPECTED = {
    "cyton": "OpenBCI V3 8-16 channel",
    "openeeg": "frames",
    "chords": "UNO-R4",
    "spiker": "HWT:MUSCLESS",
    "ascii": "3 numbers per line",  # counter + 2 channels
}


@pytest.mark.parametrize("protocol", tuple(BOARDS))
def test_probe_finds_each_emulated_board(protocol: str) -> None:
    board = make_personality(protocol)
    with Emulator(board, _source(board.n_channels)) as emu:
        results = probe(emu.path, listen_s=0.3, reply_timeout_s=0.5)
    hits = [r for r in results if r.ok]
    assert len(hits) == 1, results
    assert hits[0].protocol == protocol
    assert EXPECTED[protocol] in hits[0].detail
    assert all(r.baudrate != 1200 for r in results)


def test_probe_of_a_silent_port_finds_nothing(pty_pair) -> None:
    _, path = pty_pair
    results = probe(path, protocols=["openeeg", "cyton"], listen_s=0.2, reply_timeout_s=0.2)
    assert results and not any(r.ok for r in results)
    assert {r.protocol for r in results} == {"openeeg", "cyton"}
    assert len(results) == 2  # a pty ignores the baud rate: one try per protocol


def test_probe_rejects_unknown_protocols() -> None:
    with pytest.raises(ConfigError, match="unknown protocol"):
        probe("loop://", protocols=["nope"])


def test_usb_identity_of_non_usb_ports_is_none(pty_pair) -> None:
    _, path = pty_pair
    assert usb_identity(path) is None
    assert usb_identity("loop://") is None
    assert find_port("no-such-serial", 0x0403, 0x6015) is None


def test_open_by_socket_url() -> None:
    """``socket://`` (e.g. ser2net or a TCP emulator) opens like a port."""
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    got: list[bytes] = []

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            got.append(conn.recv(1))  # pyserial flushes input on open: answer, do not lead
            conn.sendall(b"\xa5\x5a\x02")
            conn.recv(1)

    t = threading.Thread(target=serve)
    t.start()
    ser = open_port(f"socket://127.0.0.1:{port}", baudrate=115200, timeout=5.0)
    try:
        ser.write(b"v")
        assert ser.read(3) == b"\xa5\x5a\x02"
    finally:
        ser.close()
        t.join(timeout=10)
        server.close()
    assert got == [b"v"]
