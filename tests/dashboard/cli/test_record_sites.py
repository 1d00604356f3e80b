"""Needle sites in ``twitchscope record`` alone: typed keys, a sites CSV, LSL markers, kill -9.

Every test records an emulated Cyton over a real pty; the keys tests run ``record`` as a
real process whose stdin is a terminal (a pty) or a pipe (``--keys``).
"""

from __future__ import annotations

import json
import os
import pty
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

import tests.dashboard.services.lsl_loopback  # noqa: F401  (keeps LSL on this machine)
from tests.dashboard.cli.test_record_recover import _record_argv, _Source, _wait_for_data
from twitchscope.acquisition.boards.registry import make_personality
from twitchscope.acquisition.emulation.pty_board import Emulator
from twitchscope.acquisition.recording.partial_format import META_FILE
from twitchscope.dashboard.cli.main import main
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.model import NeedleSite
from twitchscope.signal.io.readers import read_recording

SFREQ = 250.0
_CONFIRM = re.compile(r"needle (in |out) '([^']*)' at ([0-9.]+) s")


class _Lines:
    """The stderr lines of a process, read as they come."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.all: list[str] = []
        self._q: queue.Queue[str] = queue.Queue()
        assert proc.stderr is not None
        stream = proc.stderr

        def run() -> None:
            for line in stream:
                self.all.append(line)
                self._q.put(line)

        threading.Thread(target=run, daemon=True).start()

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                break
            if m := re.search(pattern, line):
                return m
        pytest.fail(f"no stderr line matching {pattern!r}; got:\n{''.join(self.all)[-3000:]}")


def _start(port: Path, out: Path, *extra: str, stdin: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "twitchscope.dashboard", *_record_argv(port, out, *extra)],
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _flushed(partial: Path) -> int:
    return int(json.loads((partial / META_FILE).read_text())["n_samples_flushed"])


def _type(fd: int, line: str) -> None:
    os.write(fd, line.encode())


def test_keys_on_a_terminal_mark_sites_at_the_stream_time(tmp_path: Path) -> None:
    """stdin is a terminal: keys are on without --keys; each action is confirmed on stderr."""
    pers = make_personality("cyton")
    out, partial = tmp_path / "k.fif", tmp_path / "k.partial"
    master, slave = pty.openpty()
    with Emulator(pers, _Source(pers.n_channels), link=tmp_path / "tty"):
        proc = _start(tmp_path / "tty", out, stdin=slave)
        os.close(slave)
        lines = _Lines(proc)
        try:
            lines.wait_for(r"type a label and Enter = needle in")
            _wait_for_data(partial, 250 * 11 * 4, proc, timeout=60)
            before = _flushed(partial)
            _type(master, "R trapezius TrP1\n")
            m_in = lines.wait_for(r"needle in  'R trapezius TrP1' at ([0-9.]+) s")
            time.sleep(1.2)  # two flushes later: the partial holds the sample of the keypress
            after = _flushed(partial)
            _type(master, "\n")  # an empty line: needle out
            m_out = lines.wait_for(r"needle out 'R trapezius TrP1' at ([0-9.]+) s")
            _type(master, "\n")  # nothing to take out: said, nothing marked
            lines.wait_for(r"not marked: needle out with no needle in")
            _type(master, "TrP2\n")  # left open: ends with the recording
            lines.wait_for(r"needle in  'TrP2'")
            os.kill(proc.pid, signal.SIGTERM)
            stdout, _ = proc.communicate(timeout=60)
        finally:
            proc.kill()
            os.close(master)
    assert proc.returncode == 0, "".join(lines.all)[-3000:]
    assert stdout.startswith("recorded ")
    onset, offset = float(m_in.group(1)), float(m_out.group(1))
    assert before / SFREQ <= onset <= after / SFREQ
    assert offset > onset
    raw = read_recording(out, preload=True)
    sites = recording_events(raw).sites
    assert [s.label for s in sites] == ["R trapezius TrP1", "TrP2"]
    assert sites[0].onset_s == pytest.approx(onset, abs=1e-3)
    assert sites[0].offset_s == pytest.approx(offset, abs=1e-3)
    assert sites[1].offset_s == pytest.approx(raw.n_times / SFREQ, abs=1e-6)


def _write_sites(path: Path, rows: list[tuple[float, float, str]]) -> Path:
    path.write_text(
        "onset_s,duration_s,label\n" + "".join(f"{o},{d},{lbl}\n" for o, d, lbl in rows)
    )
    return path


def test_sites_typed_through_a_pipe_and_from_a_csv_survive_kill_9(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--keys on piped stdin and --sites FILE; SIGKILL; recover gives every site back."""
    pers = make_personality("cyton")
    out, partial = tmp_path / "p.fif", tmp_path / "p.partial"
    plan = _write_sites(tmp_path / "plan.csv", [(0.2, 0.3, "needle:planned A"), (0.6, 0.2, "B")])
    with Emulator(pers, _Source(pers.n_channels), link=tmp_path / "tty"):
        proc = _start(tmp_path / "tty", out, "--keys", "--sites", str(plan), stdin=subprocess.PIPE)
        lines = _Lines(proc)
        assert proc.stdin is not None
        try:
            lines.wait_for(r"added 2 needle sites from .*plan\.csv")
            _wait_for_data(partial, 250 * 11 * 4, proc, timeout=60)
            proc.stdin.write("typed C\n")
            proc.stdin.flush()
            m = lines.wait_for(r"needle in  'typed C' at ([0-9.]+) s")
            time.sleep(1.2)  # flushed: the data goes past the keypress
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()

    assert main(["recover", str(partial)]) == 0
    assert "recovered" in capsys.readouterr().out
    raw = read_recording(out, preload=True)
    sites = recording_events(raw).sites
    end = raw.n_times / SFREQ
    assert [(s.label, s.onset_s, s.duration_s) for s in sites[:2]] == [
        ("planned A", pytest.approx(0.2), pytest.approx(0.3)),
        ("B", pytest.approx(0.6), pytest.approx(0.2)),
    ]
    assert sites[2].label == "typed C"
    assert sites[2].onset_s == pytest.approx(float(m.group(1)), abs=1e-3)
    assert sites[2].offset_s == pytest.approx(end, abs=1e-6)  # open at the kill: to the end


def test_sites_csv_past_the_end_is_cut_or_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    pers = make_personality("cyton")
    out = tmp_path / "c.edf"
    plan = _write_sites(
        tmp_path / "plan.csv",
        [(0.5, 0.5, "inside"), (1.5, 2.0, "runs past the end"), (2.5, 1.0, "after the end")],
    )
    with Emulator(pers, _Source(pers.n_channels), link=tmp_path / "tty"):
        argv = _record_argv(tmp_path / "tty", out, "--duration", "2", "--sites", str(plan))
        assert main(argv) == 0
    assert "added 3 needle sites" in capsys.readouterr().err
    assert "'after the end' starts at 2.500 s, after the data ends (2.000 s); left out" in (
        caplog.text
    )
    sites = recording_events(read_recording(out, preload=True)).sites
    assert [(s.label, round(s.onset_s, 3), round(s.duration_s, 3)) for s in sites] == [
        ("inside", 0.5, 0.5),
        ("runs past the end", 1.5, 0.5),
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("onset_s,duration_s,label\nsoon,1,A\n", "line 2, column 'onset_s' holds 'soon'"),
        ("onset,duration,label\n1,1,A\n", "lacks columns ['onset_s', 'duration_s']"),
        ("onset_s,duration_s,label\n1,1,\n", "line 2: a needle site needs a non-empty label"),
    ],
)
def test_a_bad_sites_csv_is_one_line_before_recording(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: str, message: str
) -> None:
    plan = tmp_path / "plan.csv"
    plan.write_text(rows)
    argv = _record_argv(tmp_path / "no-such-port", tmp_path / "x.fif", "--sites", str(plan))
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "x.partial").exists()
    assert main([*argv[:-1], str(tmp_path / "missing.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_lsl_markers_start_and_end_sites_at_their_time_stamps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Markers stamped half a second in the past are placed half a second back."""
    import pylsl

    pers = make_personality("cyton")
    out = tmp_path / "m.fif"
    name = f"ts-needles-{uuid.uuid4().hex[:10]}"
    info = pylsl.StreamInfo(name, "Markers", 1, pylsl.IRREGULAR_RATE, pylsl.cf_string, name)
    outlet = pylsl.StreamOutlet(info)
    status: dict[str, int] = {}
    argv = _record_argv(tmp_path / "tty", out, "--duration", "4", "--lsl-markers", name)
    pushed: list[tuple[str, float]] = []
    with Emulator(pers, _Source(pers.n_channels), link=tmp_path / "tty") as emu:
        rec = threading.Thread(target=lambda: status.update(rc=main(argv)), daemon=True)
        rec.start()
        assert outlet.wait_for_consumers(timeout=30)

        def push_at(n_sent: int, marker: str) -> None:
            assert emu.wait_sent(n_sent, timeout=30)
            pushed.append((marker, emu.n_sent / SFREQ - 0.5))
            outlet.push_sample([marker], pylsl.local_clock() - 0.5)

        push_at(500, "needle:R trapezius TrP1")
        push_at(600, "LTR channel=EMG1 peak_uv=80")  # not a needle marker
        push_at(750, "needle-out")
        push_at(800, "needle:TrP2")
        rec.join(timeout=60)
    assert status == {"rc": 0}
    err = capsys.readouterr().err
    assert f"LSL: reading needle markers from {name!r}" in err
    assert err.count("needle in  ") == 2 and err.count("needle out ") == 1
    sites: list[NeedleSite] = list(recording_events(read_recording(out, preload=True)).sites)
    assert [s.label for s in sites] == ["R trapezius TrP1", "TrP2"]
    # the board's send time of the marker, less the half second of its stamp; the samples
    # reach the recorder a little after they are sent, so the site is placed a little early
    assert sites[0].onset_s == pytest.approx(pushed[0][1], abs=0.15)
    assert sites[0].offset_s == pytest.approx(pushed[2][1], abs=0.15)
    assert sites[1].onset_s == pytest.approx(pushed[3][1], abs=0.15)
    assert sites[1].offset_s == pytest.approx(4.0)
