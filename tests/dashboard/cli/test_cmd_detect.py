"""``twitchscope detect`` end to end on recordings written in real formats (EDF, FIF, CSV)."""

from __future__ import annotations

import csv
import json

import mne
import pytest

from tests.signal import ltr_synth as syn
from twitchscope.dashboard.cli.main import main
from twitchscope.signal.core.annotations import make_raw, recording_events
from twitchscope.signal.core.model import NeedleSite, RecordingEvents
from twitchscope.signal.io.writers import write_recording

SFREQ = 1000.0
ONSETS = (4.0, 6.0, 8.5)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    data = syn.background(sfreq=SFREQ, duration_s=12, n_channels=2, mains_hz=60.0, seed=4)
    for i, t in enumerate(ONSETS):
        burst = syn.emg_burst(sfreq=SFREQ, duration_s=0.1, peak_v=50e-6, seed=i, rise_s=0.003)
        data = syn.add(data, burst, sfreq=SFREQ, onset_s=t, channel=1)
    data = syn.add(data, syn.pop(sfreq=SFREQ), sfreq=SFREQ, onset_s=10.5, channel=0)
    events = RecordingEvents(
        sites=(NeedleSite(label="R trapezius TrP1", onset_s=3.0, duration_s=7.0),)
    )
    raw = make_raw(data, sfreq=SFREQ, ch_names=["R-UpTrap", "R-LevScap"], events=events)
    folder = tmp_path_factory.mktemp("rec")
    return {ext: write_recording(raw, folder / f"rec.{ext}") for ext in ("edf", "fif", "csv")}


@pytest.mark.parametrize("ext", ["edf", "fif", "csv"])
def test_detect_writes_events_with_sites(recording, tmp_path, ext, capsys):
    out = tmp_path / "events.csv"
    rej = tmp_path / "rejected.csv"
    assert main(["detect", str(recording[ext]), "--out", str(out), "--rejected", str(rej)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [round(float(r["onset_s"]), 1) for r in rows] == list(ONSETS)
    for r in rows:
        assert r["channel"] == "R-LevScap"
        assert r["site"] == "R trapezius TrP1"
        assert float(r["latency_ms"]) == pytest.approx((float(r["onset_s"]) - 3.0) * 1000, abs=1)
        assert 20 < float(r["peak_uv"]) < 70
        assert {"rms_uv", "duration_ms", "snr_db"} <= set(r)
    rejected = list(csv.DictReader(rej.open()))
    assert [r["reason"] for r in rejected] == ["pop"]
    summary = capsys.readouterr().out
    assert "3 twitches" in summary and "mains 60 Hz" in summary


def test_detect_json_and_annotate(recording, tmp_path):
    out = tmp_path / "events.json"
    ann = tmp_path / "annotated.fif"
    assert (
        main(
            [
                "detect",
                str(recording["edf"]),
                "--out",
                str(out),
                "--annotate",
                str(ann),
                "--mains",
                "60",
                "--preset",
                "trunk",
            ]
        )
        == 0
    )
    events = json.loads(out.read_text())
    assert len(events) == 3
    raw = mne.io.read_raw_fif(ann, verbose="error")
    rec = recording_events(raw)
    assert [round(t.onset_s, 1) for t in rec.twitches] == list(ONSETS)
    assert [s.label for s in rec.sites] == ["R trapezius TrP1"]


def test_detect_bad_input_is_one_line_error(tmp_path, capsys):
    missing = tmp_path / "nope.edf"
    assert main(["detect", str(missing)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("twitchscope: error:")
    assert main(["detect", str(missing), "--out", str(tmp_path / "x.txt")]) == 2
    assert "csv or .json" in capsys.readouterr().err


def test_detector_parameters_from_the_command_line(recording, tmp_path, capsys):
    out = tmp_path / "events.csv"
    edf = str(recording["edf"])
    # the TKEO envelope finds the same three twitches
    assert main(["detect", edf, "--out", str(out), "--envelope", "tkeo"]) == 0
    rows = list(csv.DictReader(out.open()))
    assert [round(float(r["onset_s"]), 1) for r in rows] == list(ONSETS)
    # an on-threshold nothing reaches finds none; a longest twitch shorter than these
    # 100 ms bursts turns them into `sustained` rejections
    assert main(["detect", edf, "--out", str(out), "--set", "k_on=1000"]) == 0
    assert list(csv.DictReader(out.open())) == []
    rej = tmp_path / "rejected.csv"
    args = ["--set", "min_duration_s=0.01", "--set", "max_duration_s=0.03"]
    assert main(["detect", edf, "--out", str(out), "--rejected", str(rej), *args]) == 0
    assert list(csv.DictReader(out.open())) == []
    assert {r["reason"] for r in csv.DictReader(rej.open())} >= {"sustained"}
    capsys.readouterr()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("k_on", "expected NAME=VALUE"),
        ("nonsense=1", "unknown detector parameter; see DetectorConfig"),
        ("k_onn=3", "did you mean k_on"),
        ("glr_min=abc", "glr_min=abc: expected a number"),
        ("baseline_n_segments=2.5", "expected an integer"),
        ("k_off=9", "k_off (9) must not exceed k_on"),
        ("envelope_method=fft", "envelope_method"),
        ("mains_track=maybe", "mains_track=maybe: expected true or false"),
    ],
)
def test_bad_detector_parameter_is_one_line_error(recording, tmp_path, capsys, setting, message):
    out = tmp_path / "events.csv"
    assert main(["detect", str(recording["edf"]), "--out", str(out), "--set", setting]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("twitchscope: error:") and message in err[0]
    assert not out.exists()


def test_a_switch_is_set_with_true_or_false() -> None:
    from twitchscope.dashboard.cli.options import parse_settings

    assert parse_settings(["mains_track=true"]) == {"mains_track": True}
    assert parse_settings(["mains_track=Off"]) == {"mains_track": False}


def test_false_alarms_per_min_option_sets_the_detector(recording, tmp_path, capsys):
    from twitchscope.dashboard.cli.main import build_parser
    from twitchscope.dashboard.cli.options import detector_config

    args = build_parser().parse_args(
        ["detect", str(recording["edf"]), "--false-alarms-per-min", "0.1"]
    )
    assert detector_config(args).false_alarms_per_min == 0.1
    out = tmp_path / "events.csv"
    bad = ["detect", str(recording["edf"]), "--out", str(out), "--false-alarms-per-min", "0"]
    assert main(bad) == 2
    err = capsys.readouterr().err
    assert "false_alarms_per_min" in err and not out.exists()
