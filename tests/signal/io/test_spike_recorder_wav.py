"""Backyard Brains Spike Recorder ``.wav`` with its ``-events.txt`` markers."""

from __future__ import annotations

import csv
import pickle
import wave
from pathlib import Path

import numpy as np
import pytest

from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.io.readers import ReadOptions, detect_format, iter_blocks, read_recording
from twitchscope.signal.io.spike_recorder_wav import (
    SPIKE_RECORDER_VOLTS_PER_COUNT,
    is_events_file,
    parse_site_marker,
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


# markers the user maps to needle sites (Spike Recorder's number keys)

KEYS = """# Marker IDs can be arbitrary strings.
# Marker ID,\tTime (in s)
1,\t0.2000
start,\t0.3000
2,\t0.8000
0,\t1.1000
needle:R LevScap 1,\t1.4000
1,\t1.6000
"""

MAPPING = {"1": "R upper trapezius TrP1", "2": "R upper trapezius TrP2", "0": "needle-out"}


def _keys_recording(tmp_path: Path) -> Path:
    path = tmp_path / "keys.wav"
    write_spike_recorder(path, np.zeros((1, 20000), dtype=int))  # 2 s at 10 kHz
    (tmp_path / "keys-events.txt").write_text(KEYS)
    return path


def test_mapped_markers_start_needle_sites(tmp_path: Path) -> None:
    path = _keys_recording(tmp_path)
    events = recording_events(read_recording(path, site_markers=MAPPING))
    # a site ends at the next site (mapped or needle:), at needle-out, or at the end
    assert [(s.label, s.onset_s, s.duration_s) for s in events.sites] == [
        ("R upper trapezius TrP1", 0.2, pytest.approx(0.6)),
        ("R upper trapezius TrP2", 0.8, pytest.approx(0.3)),
        ("R LevScap 1", 1.4, pytest.approx(0.2)),
        ("R upper trapezius TrP1", 1.6, pytest.approx(0.4)),
    ]
    # neither mapped nor needle: a plain annotation; mapped markers are the sites now
    assert [(t, d) for t, _, d in events.other] == [(pytest.approx(0.3), "start")]
    # without a mapping, number keys stay plain annotations
    plain = recording_events(read_recording(path))
    assert [s.label for s in plain.sites] == ["R LevScap 1"]
    assert sorted(d for _, _, d in plain.other) == ["0", "1", "1", "2", "start"]
    # the same through the read options batch carries (hashable, picklable)
    options = ReadOptions(site_markers=tuple(MAPPING.items()))
    assert hash(options) == hash(ReadOptions(site_markers=MAPPING))  # type: ignore[arg-type]
    assert pickle.loads(pickle.dumps(options)) == options
    again = recording_events(read_recording(path, **options.kwargs()))
    assert again.sites == events.sites
    assert sum(b.n_samples for b in iter_blocks(path, block_samples=4096, **options.kwargs())) == (
        20000
    )


def test_needle_out_ends_a_needle_site_and_unused_keys_are_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "out.wav"
    write_spike_recorder(path, np.zeros((1, 10000), dtype=int))  # 1 s
    (tmp_path / "out-events.txt").write_text(
        "needle-out,0.1\nneedle:A,0.2\nneedle-out,0.5\n9,0.7\n"
    )
    events = recording_events(read_recording(path, site_markers={"7": "B"}))
    assert [(s.label, s.onset_s, s.duration_s) for s in events.sites] == [
        ("A", 0.2, pytest.approx(0.3))
    ]
    assert [d for _, _, d in events.other] == ["9"]  # a needle-out with no site is dropped
    assert "holds no marker 7 of those mapped to sites" in caplog.text


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"1": " "}, "expected a marker text and a site label"),
        ({" ": "A"}, "expected a marker text and a site label"),
        ({"needle:A": "B"}, "needs no mapping"),
        ({"needle-out": "B"}, "needs no mapping"),
        ({"1": "A", " 1 ": "B"}, "is mapped twice"),
    ],
)
def test_bad_site_markers(tmp_path: Path, mapping: dict[str, str], message: str) -> None:
    path = _keys_recording(tmp_path)
    with pytest.raises(ConfigError, match=message):
        read_recording(path, site_markers=mapping)
    with pytest.raises(ConfigError, match=message):
        ReadOptions(site_markers=mapping)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["1", "=A", "1=", " = "])
def test_parse_site_marker_rejects_what_is_not_marker_equals_label(text: str) -> None:
    with pytest.raises(ConfigError, match=r"is not MARKER=LABEL; expected e\.g\. --site-marker 1="):
        parse_site_marker(text)
    assert parse_site_marker(" 1 = R UpTrap = 1 ") == ("1", "R UpTrap = 1")


def test_mapped_sites_through_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.signal import ltr_synth as syn
    from twitchscope.dashboard.cli.main import main

    sfreq, scale = 10000.0, 1e-7  # counts of 0.1 µV
    data = syn.background(sfreq=sfreq, duration_s=12, seed=3)
    for i, t in enumerate((4.0, 8.0)):
        burst = syn.emg_burst(sfreq=sfreq, duration_s=0.1, peak_v=50e-6, seed=i, rise_s=0.003)
        data = syn.add(data, burst, sfreq=sfreq, onset_s=t, channel=0)
    path = tmp_path / "twitch.wav"
    write_spike_recorder(path, np.round(data / scale).astype(int), rate=int(sfreq))
    (tmp_path / "twitch-events.txt").write_text("1,\t3.0\n0,\t6.0\n2,\t7.0\n")
    keys = ["--site-marker", "1=R upper trapezius TrP1", "--site-marker", "2=R LevScap TrP1"]
    keys += ["--site-marker", "0=needle-out", "--scale", f"{scale:g}"]

    assert main(["info", str(path), *keys]) == 0
    out = capsys.readouterr().out
    assert "needle sites: 2" in out
    assert "  R upper trapezius TrP1  onset 3.000 s  duration 3.000 s" in out
    assert "  R LevScap TrP1  onset 7.000 s  duration 5.000 s" in out

    events_csv = tmp_path / "events.csv"
    assert main(["detect", str(path), *keys, "--out", str(events_csv)]) == 0
    with events_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(round(float(r["onset_s"])), r["site"]) for r in rows] == [
        (4, "R upper trapezius TrP1"),
        (8, "R LevScap TrP1"),
    ]
    # batch carries the mapping to its workers (ReadOptions)
    results = tmp_path / "batch"
    assert main(["batch", str(path), *keys, "--out", str(results), "--workers", "1"]) == 0
    with (results / "sites.csv").open(newline="") as f:
        sites = list(csv.DictReader(f))
    assert sorted(r["site"] for r in sites) == ["R LevScap TrP1", "R upper trapezius TrP1"]
    capsys.readouterr()

    for bad, why in [
        ("1", "--site-marker '1' is not MARKER=LABEL"),
        ("needle:X=Y", "needs no mapping"),
    ]:
        assert main(["info", str(path), "--site-marker", bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and why in err[0]
    assert main(["info", str(path), "--site-marker", "1=A", "--site-marker", "1=B"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--site-marker '1' is given twice" in err[0]
