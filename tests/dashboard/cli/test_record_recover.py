"""Finalize, ``twitchscope recover`` and ``twitchscope record``, end to end on real files.

The kill -9 tests start real subprocesses, wait until their partial file holds
data, SIGKILL them and recover what was flushed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from twitchscope.acquisition.boards.registry import make_personality
from twitchscope.acquisition.emulation.pty_board import Emulator
from twitchscope.acquisition.recording.partial import load_partial
from twitchscope.acquisition.recording.partial_format import DATA_FILE, META_FILE
from twitchscope.acquisition.recording.recorder import Recorder
from twitchscope.dashboard.cli.main import main
from twitchscope.dashboard.services.session_files import finalize
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.model import NeedleSite, SampleBlock, Twitch
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.simulate import preset as sim_preset
from twitchscope.signal.simulate import simulate

HERE = Path(__file__).resolve().parent
FEEDER = HERE / "record_feeder.py"
SFREQ = 487.0
CH_NAMES = ("EMG1", "EMG2", "EMG3", "accX")
CH_TYPES = ("emg", "emg", "emg", "misc")


def _load_feeder():
    spec = importlib.util.spec_from_file_location("record_feeder", FEEDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _partial(path: Path, x: np.ndarray, *, lost_at: int, n_lost: int) -> None:
    """A closed partial recording of ``x`` with ``n_lost`` samples lost before ``lost_at``."""
    with Recorder(path, sfreq=SFREQ, ch_names=CH_NAMES, ch_types=CH_TYPES, target="x.fif") as rec:
        rec.write(SampleBlock(x[:, :lost_at], sfreq=SFREQ, first_sample=0, ch_names=CH_NAMES))
        rec.write(
            SampleBlock(
                x[:, lost_at:],
                sfreq=SFREQ,
                first_sample=lost_at + n_lost,
                ch_names=CH_NAMES,
                n_lost_before=n_lost,
            )
        )
        rec.add_site(NeedleSite("R trapezius", onset_s=0.5, duration_s=1.0, muscle="trapezius"))


@pytest.mark.parametrize("ext", ["fif", "edf"])
def test_finalize_writes_a_readable_annotated_recording(tmp_path: Path, ext: str) -> None:
    x = np.random.default_rng(0).standard_normal((4, 1500)) * 1e-4
    partial = tmp_path / "s.partial"
    _partial(partial, x, lost_at=600, n_lost=25)
    twitch = Twitch(onset_s=0.8, offset_s=0.85, channel="EMG2", peak_v=2e-4)
    summary = finalize(partial, tmp_path / f"s.{ext}", twitches=[twitch])
    assert (summary.n_samples, summary.n_gaps, summary.n_lost, summary.n_sites) == (1525, 1, 25, 1)

    raw = read_recording(tmp_path / f"s.{ext}", preload=True)
    assert raw.ch_names == list(CH_NAMES)
    assert raw.get_channel_types() == list(CH_TYPES)
    assert raw.info["sfreq"] == SFREQ
    data = raw.get_data()
    expected = np.concatenate([x[:, :600], np.zeros((4, 25)), x[:, 600:]], axis=1)
    # FIF holds float32; EDF 16 bits over the channel's range
    atol = 1e-10 if ext == "fif" else np.ptp(x) / 2**15
    np.testing.assert_allclose(data, expected, rtol=0, atol=atol)
    events = recording_events(raw)
    (gap,) = events.gaps
    assert gap.n_samples == 25 and gap.onset_s == pytest.approx(600 / SFREQ, abs=1e-4)
    assert [s.label for s in events.sites] == ["R trapezius"]
    assert [t.channel for t in events.twitches] == ["EMG2"]
    assert events.twitches[0].onset_s == pytest.approx(0.8, abs=1e-4)
    assert partial.is_dir()  # kept unless asked otherwise


def test_finalize_runs_the_detector_over_the_recording(tmp_path: Path) -> None:
    """With a detector config, finalize annotates the twitches it finds as LTR."""
    cfg = sim_preset("limb", sfreq=2000.0)
    sim = simulate(cfg, duration_s=80.0, seed=3)
    names = tuple(sim.ch_names)
    partial = tmp_path / "limb.partial"
    with Recorder(partial, sfreq=sim.sfreq, ch_names=names, ch_types=("emg",) * len(names)) as rec:
        for a in range(0, sim.data.shape[1], 4000):
            block = sim.data[:, a : a + 4000]
            rec.write(SampleBlock(block, sfreq=sim.sfreq, first_sample=a, ch_names=names))
        for site in sim.events.sites:
            rec.add_site(site)
    summary = finalize(partial, tmp_path / "limb.fif", detector=DetectorConfig())
    found = recording_events(read_recording(tmp_path / "limb.fif", preload=False)).twitches
    truth = [t.onset_s for t in sim.events.twitches]
    assert summary.n_twitches == len(found) > 0
    matched = [t for t in found if min(abs(t.onset_s - o) for o in truth) < 0.04]
    assert len(matched) >= 0.8 * len(truth)
    assert all(t.site is not None for t in matched)


def test_finalize_can_remove_the_partial_once_written(tmp_path: Path) -> None:
    x = np.random.default_rng(1).standard_normal((4, 300)) * 1e-4
    partial = tmp_path / "r.partial"
    _partial(partial, x, lost_at=100, n_lost=3)
    finalize(partial, tmp_path / "r.fif", remove_partial=True)
    assert not partial.exists()
    assert read_recording(tmp_path / "r.fif").n_times == 303


def test_recover_cli_writes_the_intended_file_and_reports(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    x = np.random.default_rng(2).standard_normal((4, 400)) * 1e-4
    _partial(tmp_path / "x.partial", x, lost_at=200, n_lost=10)
    assert main(["recover", "x.partial"]) == 0  # the sidecar names x.fif as the target
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "410 samples" in out and "1 gaps" in out and "10 samples lost" in out
    raw = read_recording(tmp_path / "x.fif")
    assert raw.n_times == 410
    (site,) = recording_events(raw).sites  # 0.5 s to 1.5 s, cut at the end of the data
    assert site.onset_s == pytest.approx(0.5, abs=1e-4)
    assert site.offset_s == pytest.approx(410 / SFREQ, abs=1e-4)

    # never overwrites silently; --out chooses another file and format
    assert main(["recover", "x.partial"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["recover", str(tmp_path / "x.partial"), "--out", "y.edf"]) == 0
    assert read_recording(tmp_path / "y.edf").n_times == 410


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("missing", "not found"),
        ("corrupt_sidecar", "not valid JSON"),
        ("empty", "holds no samples"),
        ("bad_out", "must end in .fif or .edf"),
    ],
)
def test_recover_cli_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], setup: str, message: str
) -> None:
    partial = tmp_path / "b.partial"
    argv = ["recover", str(partial)]
    if setup != "missing":
        Recorder(partial, sfreq=SFREQ, ch_names=CH_NAMES, ch_types=CH_TYPES).close()
    if setup == "corrupt_sidecar":
        (partial / META_FILE).write_text('{"format": "twitchscope-partial", "sfr')
    if setup == "bad_out":
        argv += ["--out", str(tmp_path / "b.txt")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("twitchscope: error: ") and message in err
    assert err.count("\n") == 1


def _wait_for_data(path: Path, min_bytes: int, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (path / DATA_FILE).exists() and (path / DATA_FILE).stat().st_size >= min_bytes:
            return
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the subprocess ended early ({proc.returncode}):\n{err[-3000:]}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"no {min_bytes} bytes of data in {path} within {timeout} s")


def test_kill_9_of_a_recorder_process_loses_nothing_flushed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A process feeding the recorder is SIGKILLed; recovery returns every flushed sample."""
    feeder = _load_feeder()
    partial = tmp_path / "k.partial"
    proc = subprocess.Popen(
        [sys.executable, str(FEEDER), str(partial)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # 600 samples x 3 channels x 4 bytes is past the feeder's gap at sample 400
        _wait_for_data(partial, 600 * 3 * 4, proc, timeout=30)
        flushed_before = json.loads((partial / META_FILE).read_text())["n_samples_flushed"]
        size_before = (partial / DATA_FILE).stat().st_size
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    assert main(["recover", str(partial), "--out", str(tmp_path / "k.fif")]) == 0
    assert "recovered" in capsys.readouterr().out
    raw = read_recording(tmp_path / "k.fif", preload=True)
    n = raw.n_times
    assert n >= flushed_before and n >= 600
    assert os.path.getsize(partial / DATA_FILE) >= size_before
    expected = np.zeros((3, n))
    kept = np.r_[0 : feeder.GAP_AT, feeder.GAP_AT + feeder.GAP_LEN : n]
    expected[:, kept] = feeder.expected_samples(0, n)[:, kept]
    np.testing.assert_allclose(raw.get_data(), expected, rtol=0, atol=1e-10)
    events = recording_events(raw)
    assert [(round(g.onset_s * feeder.SFREQ), g.n_samples) for g in events.gaps] == [
        (feeder.GAP_AT, feeder.GAP_LEN)
    ]
    assert [s.label for s in events.sites] == ["TrP1"]
    assert raw.get_channel_types() == list(feeder.CH_TYPES)
    # what a second look at the partial says agrees with the file
    assert load_partial(partial).data.shape[1] == n


# -- twitchscope record on an emulated board over a real pty ----------------------------------


class _Source:
    """The emulated board's signal: seeded noise, every sample kept to compare against."""

    def __init__(self, n_channels: int) -> None:
        self._rng = np.random.default_rng(7)
        self._parts: list[np.ndarray] = []
        self._lock = threading.Lock()
        self.n_channels = n_channels

    def __call__(self, n: int) -> np.ndarray:
        x = self._rng.standard_normal((self.n_channels, n)) * 50e-6
        with self._lock:
            self._parts.append(x)
        return x

    def samples(self) -> np.ndarray:
        with self._lock:
            return np.concatenate(self._parts, axis=1)


def _expected_emg(emu: Emulator, src: _Source, n: int) -> np.ndarray:
    """What a recording of ``n`` samples should hold: the sent samples quantised as the board
    does (nearest count), zeros where samples were lost; recording sample 0 is the first sent."""
    pers = emu.personality
    first = emu.sent()[0].first_index
    expected = np.zeros((src.n_channels, n))
    for span in emu.sent():
        a, b = span.first_index - first, min(span.end_index - first, n)
        if b > a:
            x = src.samples()[:, span.first_index : span.first_index + b - a]
            expected[:, a:b] = np.rint(x / pers.volts_per_count) * pers.volts_per_count
    return expected


def _after_sent(emu: Emulator, n: int, action: Callable[[], None]) -> threading.Thread:
    """Run ``action`` once the board has sent ``n`` samples (a fault mid-recording)."""

    def run() -> None:
        if emu.wait_sent(n, timeout=30):
            action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _record_argv(port: Path, out: Path, *extra: str) -> list[str]:
    return ["record", "--port", str(port), "--protocol", "cyton", "--out", str(out), *extra]


def test_record_over_a_pty_equals_what_the_board_sent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """emulator -> pty -> pyserial -> parser -> ring buffer -> recorder -> FIF, with a fault."""
    pers = make_personality("cyton")
    src = _Source(pers.n_channels)
    out = tmp_path / "s.fif"
    with Emulator(pers, src, link=tmp_path / "tty") as emu:
        fault = _after_sent(emu, 100, lambda: emu.drop_packets(7))
        assert main(_record_argv(tmp_path / "tty", out, "--duration", "2.5")) == 0
        fault.join(timeout=30)
    summary = capsys.readouterr().out
    assert summary.startswith("recorded 625 samples (2.50 s at 250 Hz, 11 channels), 1 gaps")
    assert "7 samples lost" in summary and summary.count("\n") == 1
    assert not (tmp_path / "s.partial").exists()

    raw = read_recording(out, preload=True)
    assert raw.n_times == 625
    assert raw.get_channel_types() == ["emg"] * 8 + ["misc"] * 3
    first = emu.sent()[0].first_index
    (gap,) = recording_events(raw).gaps
    assert gap.n_samples == 7 and len(emu.dropped) == 7
    assert round(gap.onset_s * 250) == emu.dropped[0] - first
    np.testing.assert_allclose(
        raw.get_data()[:8], _expected_emg(emu, src, 625), rtol=1e-6, atol=1e-12
    )


def test_record_ends_on_time_when_the_board_vanishes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pers = make_personality("cyton")
    src = _Source(pers.n_channels)
    out = tmp_path / "v.fif"
    with Emulator(pers, src, link=tmp_path / "tty") as emu:
        pull = _after_sent(emu, 200, emu.disconnect)
        t0 = time.monotonic()
        assert main(_record_argv(tmp_path / "tty", out, "--duration", "2.5")) == 0
        elapsed = time.monotonic() - t0
        pull.join(timeout=30)
    assert elapsed < 2.5 + 20  # generous: only "it ends", not how fast
    raw = read_recording(out, preload=True)
    # what came before the cable was pulled, and the missing tail marked lost to the end
    assert raw.n_times == 625
    [gap] = [
        (o - raw.first_time, d)
        for o, d, desc in zip(
            raw.annotations.onset,
            raw.annotations.duration,
            raw.annotations.description,
            strict=True,
        )
        if desc == "BAD_ACQ_SKIP"
    ]
    n_real = round(gap[0] * 250.0)
    assert 0 < n_real <= emu.n_sent and n_real < 625
    assert gap[0] + gap[1] == pytest.approx(2.5)
    np.testing.assert_allclose(
        raw.get_data()[:8, :n_real], _expected_emg(emu, src, n_real), rtol=1e-6, atol=1e-12
    )
    assert not raw.get_data()[:8, n_real:].any()  # nothing invented: zeros under the gap
    assert "recorded 625 samples" in capsys.readouterr().out


def _start_record_process(port: Path, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "twitchscope.dashboard", *_record_argv(port, out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_of_twitchscope_record_then_recover(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A real ``twitchscope record`` on the emulator is SIGKILLed; ``recover`` gets it back."""
    pers = make_personality("cyton")
    src = _Source(pers.n_channels)
    out, partial = tmp_path / "k.fif", tmp_path / "k.partial"
    with Emulator(pers, src, link=tmp_path / "tty") as emu:
        proc = _start_record_process(tmp_path / "tty", out)
        try:
            _wait_for_data(partial, 250 * 11 * 4, proc, timeout=60)  # a second of samples
            flushed = json.loads((partial / META_FILE).read_text())["n_samples_flushed"]
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
        finally:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    assert json.loads((partial / META_FILE).read_text())["status"] == "recording"

    assert main(["recover", str(partial)]) == 0  # to the file the recording was meant for
    assert "recovered" in capsys.readouterr().out
    raw = read_recording(out, preload=True)
    assert raw.n_times >= max(flushed, 250)
    assert raw.get_channel_types() == ["emg"] * 8 + ["misc"] * 3
    np.testing.assert_allclose(
        raw.get_data()[:8], _expected_emg(emu, src, raw.n_times), rtol=1e-6, atol=1e-12
    )


def _check_recording_matches(out: Path, emu: Emulator, src: _Source, stdout: str) -> None:
    raw = read_recording(out, preload=True)
    assert raw.n_times > 0
    assert f"recorded {raw.n_times} samples" in stdout and stdout.count("\n") == 1
    assert raw.get_channel_types() == ["emg"] * 8 + ["misc"] * 3
    expected = _expected_emg(emu, src, raw.n_times)
    # EDF: 16 bits over each channel's physical range
    atol = 2 * np.ptp(expected, axis=1, keepdims=True) / 2**16
    assert np.all(np.abs(raw.get_data()[:8] - expected) <= atol)


def test_record_process_finalizes_on_sigterm(tmp_path: Path) -> None:
    pers = make_personality("cyton")
    src = _Source(pers.n_channels)
    out, partial = tmp_path / "t.edf", tmp_path / "t.partial"
    with Emulator(pers, src, link=tmp_path / "tty") as emu:
        proc = _start_record_process(tmp_path / "tty", out)
        try:
            _wait_for_data(partial, 125 * 11 * 4, proc, timeout=60)
            os.kill(proc.pid, signal.SIGTERM)
            stdout, stderr = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == 0, stderr[-3000:]
    assert stdout.startswith("recorded ")
    assert not partial.exists()
    _check_recording_matches(out, emu, src, stdout)


def test_record_finalizes_on_ctrl_c(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SIGINT (Ctrl-C) to this process while ``main`` records: it stops and finalizes."""
    pers = make_personality("cyton")
    src = _Source(pers.n_channels)
    out, partial = tmp_path / "c.edf", tmp_path / "c.partial"

    def interrupt_when_recording() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            data = partial / DATA_FILE
            if data.exists() and data.stat().st_size >= 125 * 11 * 4:
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    with Emulator(pers, src, link=tmp_path / "tty") as emu:
        ctrl_c = threading.Thread(target=interrupt_when_recording, daemon=True)
        ctrl_c.start()
        rc = main(_record_argv(tmp_path / "tty", out))  # no --duration: until Ctrl-C
        ctrl_c.join(timeout=60)
    assert rc == 0  # (130 if the interrupt had not been turned into a stop)
    assert not partial.exists()
    _check_recording_matches(out, emu, src, capsys.readouterr().out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--protocol", "nope"], "Allowed values are"),
        (["--protocol", "ascii"], "--sfreq is required"),
        (["--protocol", "cyton", "--baud", "1200"], "1200 is refused"),
        (["--protocol", "cyton", "--duration", "-1"], "--duration must be"),
        (["--protocol", "cyton", "--out", "x.txt"], "--out must end in"),
        (["--protocol", "cyton"], "cannot open serial port"),
    ],
)
def test_record_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    out = (
        str(tmp_path / argv[argv.index("--out") + 1])
        if "--out" in argv
        else str(tmp_path / "o.fif")
    )
    argv = [a for i, a in enumerate(argv) if a != "--out" and (i == 0 or argv[i - 1] != "--out")]
    assert main(["record", "--port", str(tmp_path / "no-such-tty"), "--out", out, *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("twitchscope: error: ") and message in err, err
    assert err.count("\n") == 1
    assert not (tmp_path / "o.partial").exists()


def test_record_refuses_to_clobber_a_partial_or_an_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "p.partial").mkdir()
    argv = _record_argv(tmp_path / "no-such-tty", tmp_path / "p.fif")
    assert main(argv) == 2
    assert "recover it with 'twitchscope recover" in capsys.readouterr().err
    (tmp_path / "q.edf").write_bytes(b"")
    assert main(_record_argv(tmp_path / "no-such-tty", tmp_path / "q.edf")) == 2
    assert "already exists; pass --overwrite" in capsys.readouterr().err
