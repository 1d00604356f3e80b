"""``twitchscope simulate`` and ``twitchscope ports`` through the real command line."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from twitchscope.acquisition.boards.chords import ChordsDriver
from twitchscope.acquisition.boards.registry import make_personality
from twitchscope.acquisition.emulation.pty_board import Emulator
from twitchscope.acquisition.transport.reader import Reader, ReaderState
from twitchscope.dashboard.cli.main import main

TIMEOUT = 60.0


class _Lines:
    """Lines of a subprocess's stdout, read by a thread (no blocking readline in the test)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        self.rest: list[str] = []
        self.thread = threading.Thread(target=self._pump, args=(proc,), daemon=True)
        self.thread.start()

    def _pump(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.queue.put(line.rstrip("\n"))

    def next(self, timeout: float) -> str:
        return self.queue.get(timeout=timeout)


def test_simulate_streams_emg_a_reader_can_follow_across_unplugs(tmp_path: Path) -> None:
    """The real command in a subprocess; a reader opens its link; Ctrl-C ends it cleanly."""
    link = tmp_path / "ttySIM"
    cmd = [
        sys.executable,
        "-m",
        "twitchscope.dashboard",
        "simulate",
        "--protocol",
        "chords",
        "--link",
        str(link),
        "--seed",
        "3",
        "--duration",
        "120",
        "--unplug-every",
        "2.5",  # time enough for the reader's first handshake, even on a busy machine
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = _Lines(proc)
    try:
        assert lines.next(TIMEOUT) == str(link)
        info = lines.next(TIMEOUT)
        assert "chords board (6 ch at 500 Hz" in info
        assert "reader options: board='UNO-R4', gain=1000.0" in info
        driver = ChordsDriver(board="UNO-R4", gain=1000.0)  # what the command printed
        reader = Reader(str(link), driver, reconnect_interval_s=0.05, rate_check_s=60)
        with reader:
            assert reader.buffer.wait_for(300, timeout=TIMEOUT)
            # the board is unplugged every 2.5 s: the reader comes back each time
            assert reader.wait_for_connections(2, timeout=TIMEOUT)
            end = reader.buffer.end_sample
            assert reader.buffer.wait_for(end + 100, timeout=TIMEOUT)
            blocks, _ = reader.buffer.read_since(0)
            gaps = reader.gaps
        assert reader.state == ReaderState.STOPPED
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=TIMEOUT)
        lines.thread.join(timeout=TIMEOUT)
        assert proc.stderr is not None
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert lines.next(1.0).startswith("twitchscope simulate: sent")
    assert not link.exists()  # the link is removed on exit
    data = np.concatenate([b.data for b in blocks], axis=1)
    assert data.shape[0] == 6
    # surface EMG in volts: small, not constant
    assert np.all(np.abs(data) < 5e-3)
    assert np.all(data.std(axis=1) > 0)
    assert len(gaps) >= 1 and all(g.n_samples >= 1 for g in gaps)


@pytest.mark.parametrize("protocol", ["cyton", "openeeg", "spiker", "ascii"])
def test_simulate_runs_for_its_duration(protocol: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["simulate", "--protocol", protocol, "--duration", "0.3", "--drop-every", "0.1"]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("/dev/")
    assert f"{protocol} board" in out[1]
    assert out[-1].startswith("twitchscope simulate: sent")


def test_simulate_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--protocol", "cyton", "--unplug-every", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "twitchscope: error: --unplug-every needs --link PATH, where the board reappears."
    taken = tmp_path / "file"
    taken.write_text("not a link")
    assert main(["simulate", "--protocol", "cyton", "--link", str(taken)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("twitchscope: error: link") and "\n" not in err
    assert taken.read_text() == "not a link"
    assert main(["simulate", "--protocol", "cyton", "--board", "UNO-R3"]) == 2
    assert "--board is for the chords protocol" in capsys.readouterr().err


def _source(n_channels: int):
    def source(n: int) -> np.ndarray:
        return np.zeros((n_channels, n))

    return source


def test_ports_lists_and_probes_a_given_port(capsys: pytest.CaptureFixture[str]) -> None:
    board = make_personality("cyton")
    with Emulator(board, _source(8)) as emu:
        assert main(["ports", "--port", emu.path, "--protocol", "cyton", "--listen", "0.2"]) == 0
    out = capsys.readouterr().out
    assert f"{emu.path}: cyton at 115200 baud: OpenBCI V3 8-16 channel" in out


def test_ports_says_when_nothing_answers(capsys: pytest.CaptureFixture[str]) -> None:
    master, slave = os.openpty()
    try:
        path = os.ttyname(slave)
        args = ["ports", "--port", path, "--protocol", "openeeg", "--listen", "0.2"]
        assert main(args) == 0
    finally:
        os.close(master)
        os.close(slave)
    out = capsys.readouterr().out
    assert f"{path}: no known protocol answered (tried openeeg)" in out


def test_port_line_names_the_adapter_and_the_stable_path() -> None:
    from twitchscope.acquisition.transport.ports import PortInfo, identify_adapter
    from twitchscope.dashboard.cli.devices import _describe

    known = identify_adapter(0x0403, 0x6015)
    port = PortInfo(
        device="/dev/ttyUSB0",
        by_id="/dev/serial/by-id/usb-FTDI_FT231X_USB_UART_DM00ABCD-if00-port0",
        description="FT231X USB UART",
        vid=0x0403,
        pid=0x6015,
        serial_number="DM00ABCD",
        manufacturer="FTDI",
        product="FT231X USB UART",
        guess=known.label,
        protocols=known.protocols,
    )
    line = _describe(port)
    assert line.startswith("/dev/ttyUSB0")
    assert "0403:6015" in line and "OpenBCI Cyton dongle" in line
    assert "serial DM00ABCD" in line and port.by_id in line
    assert port.stable_path == port.by_id


def test_protocol_choices_of_the_command_line_are_the_registry_names(capsys) -> None:
    """``simulate``, ``ports`` and ``record`` offer exactly the boards of the registry."""
    import argparse

    from twitchscope.acquisition.boards.registry import BOARDS
    from twitchscope.dashboard.cli.main import build_parser
    from twitchscope.dashboard.cli.record import driver_from_options
    from twitchscope.signal.core.errors import ConfigError

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    choices = {}
    for command in ("simulate", "ports", "record"):
        action = next(a for a in sub.choices[command]._actions if a.dest == "protocol")
        choices[command] = action.choices
    assert tuple(choices["simulate"]) == tuple(BOARDS)
    assert sorted(choices["ports"]) == sorted(BOARDS)
    assert choices["record"] is None  # checked on use, against the same names
    assert f"one of {', '.join(BOARDS)}" in sub.choices["record"].format_help()
    for name in BOARDS:
        opts = {"sfreq": 500.0} if name == "ascii" else {}
        assert driver_from_options(name, **opts).protocol == name
    with pytest.raises(ConfigError, match="'protocol' parameter"):
        driver_from_options("bluetooth")
