"""Backyard Brains Spike Recorder ``.wav`` with its ``-events.txt`` markers."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.io.readers import detect_format, iter_blocks, read_recording
from twitchscope.signal.io.spike_recorder_wav import (
    SPIKE_RECORDER_VOLTS_PER_COUNT,
    is_events_file,
)


def write_spike_recorder(
    path: Path, counts: np.ndarray, *, rate: int = 10000, width: int = 2
) -> None:
    """A 16-bit PCM WAV as Spike Recorder saves it (channels interleaved)."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(counts.shape[0])
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(counts.T.astype(f"<i{width}").tobytes())


EVENTS = """# Marker IDs can be arbitrary strings.
# Marker ID,\tTime (in s)
1,\t0.2500
needle:R UpTrap 1,\t0.5000
2,\t0.7000
needle:R UpTrap 2,\t1.2000
"""


@pytest.mark.parametrize("n_ch", [1, 2])
def test_spike_recorder_wav_with_markers(
    tmp_path: Path, rng: np.random.Generator, n_ch: int
) -> None:
    counts = rng.integers(-2000, 2000, (n_ch, 20000))
    path = tmp_path / "BYB_Recording_2024-05-01.wav"
    write_spike_recorder(path, counts)
    (tmp_path / "BYB_Recording_2024-05-01-events.txt").write_text(EVENTS)
    assert detect_format(path) == "wav"
    assert is_events_file(tmp_path / "BYB_Recording_2024-05-01-events.txt")
    raw = read_recording(path)
    assert raw.info["sfreq"] == 10000.0
    assert raw.ch_names == [f"CH{k + 1}" for k in range(n_ch)]
    np.testing.assert_allclose(raw.get_data(), counts * SPIKE_RECORDER_VOLTS_PER_COUNT)
    assert "default" in raw.info["description"] and "--scale" in raw.info["description"]
    events = recording_events(raw)
    assert [(s.label, s.onset_s, s.duration_s) for s in events.sites] == [
        ("R UpTrap 1", 0.5, pytest.approx(0.7)),
        ("R UpTrap 2", 1.2, pytest.approx(0.8)),
    ]
    assert sorted(d for _, _, d in events.other) == ["1", "2"]
    scaled = read_recording(path, scale=2e-6)
    np.testing.assert_allclose(scaled.get_data(), counts * 2e-6)
    assert "given by --scale" in scaled.info["description"]
    assert sum(b.n_samples for b in iter_blocks(path, block_samples=4096)) == 20000


def test_spike_recorder_wav_without_markers(tmp_path: Path) -> None:
    path = tmp_path / "rec.wav"
    write_spike_recorder(path, np.zeros((1, 100), dtype=int))
    assert len(read_recording(path).annotations) == 0


def test_spike_recorder_bad_inputs(tmp_path: Path) -> None:
    not_wav = tmp_path / "notes.wav"
    not_wav.write_text("hello")
    with pytest.raises(FileFormatError, match="cannot read notes.wav: .*expected a Spike Recorder"):
        read_recording(not_wav)
    wide = tmp_path / "wide.wav"
    write_spike_recorder(wide, np.zeros((1, 10), dtype=int), width=4)
    with pytest.raises(FileFormatError, match="32-bit samples; expected 16-bit PCM"):
        read_recording(wide)
    ok = tmp_path / "ok.wav"
    write_spike_recorder(ok, np.zeros((1, 10), dtype=int))
    (tmp_path / "ok-events.txt").write_text("# header\nmarker without time\n")
    with pytest.raises(FileFormatError, match="ok-events.txt: line 2 holds"):
        read_recording(ok)


def test_spike_recorder_through_the_command_line(
    tmp_path: Path, rng: np.random.Generator, capsys: pytest.CaptureFixture[str]
) -> None:
    from twitchscope.dashboard.cli.main import main

    path = tmp_path / "rec.wav"
    write_spike_recorder(path, rng.integers(-500, 500, (1, 30000)))
    (tmp_path / "rec-events.txt").write_text(EVENTS)
    assert main(["info", str(path), "--scale", "2e-6"]) == 0
    out = capsys.readouterr().out
    assert "Spike Recorder WAV" in out and "2e-06 V per count (given by --scale" in out
    assert "needle sites: 2" in out
    assert main(["detect", str(path), "--out", str(tmp_path / "ev.csv")]) == 0
    assert main(["convert", str(path), str(tmp_path / "rec.fif")]) == 0
    capsys.readouterr()
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF0000WAVE")
    assert main(["info", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "expected a Spike Recorder 16-bit PCM WAV" in err[0]
