"""Profiles and reviews where results are made: ``detect``, ``report``, ``batch``, ``calibrate``."""

from __future__ import annotations

import csv
import tomllib
from pathlib import Path

import pytest

from tests.signal import ltr_synth as syn
from twitchscope.dashboard.cli.main import main
from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.model import NeedleSite, RecordingEvents
from twitchscope.signal.io.events import read_events
from twitchscope.signal.io.writers import write_recording
from twitchscope.signal.review.sidecar import Verdict, review_path, write_review

SFREQ = 1000.0
ONSETS = (4.0, 6.0, 8.5)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = syn.background(sfreq=SFREQ, duration_s=12, n_channels=2, mains_hz=60.0, seed=4)
    for i, t in enumerate(ONSETS):
        burst = syn.emg_burst(sfreq=SFREQ, duration_s=0.1, peak_v=50e-6, seed=i, rise_s=0.003)
        data = syn.add(data, burst, sfreq=SFREQ, onset_s=t, channel=1)
    events = RecordingEvents(sites=(NeedleSite(label="TrP1", onset_s=3.0, duration_s=7.0),))
    raw = make_raw(data, sfreq=SFREQ, ch_names=["R-UpTrap", "R-LevScap"], events=events)
    out = tmp_path_factory.mktemp("recs")
    write_recording(raw, out / "rec.fif")
    return out


@pytest.fixture(scope="module")
def reviewed(folder: Path) -> Path:
    """The recording with a review: 4.0 confirmed, 6.0 rejected, 8.5 confirmed, 9.5 added."""
    rec = folder / "rec.fif"
    rows = [
        Verdict(4.0, 4.1, "R-LevScap", "confirmed", "AL"),
        Verdict(6.0, 6.1, "R-LevScap", "rejected", "AL"),
        Verdict(8.5, 8.6, "R-LevScap", "confirmed", "AL"),
        Verdict(9.5, 9.58, "R-UpTrap", "added", "AL", note="small one"),
    ]
    write_review(review_path(rec), rows)
    return rec


def _profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lab.toml"
    path.write_text(text)
    return path


def test_detect_applies_a_profile_and_explicit_options_win(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = folder / "rec.fif"
    out = tmp_path / "ev.csv"
    assert main(["detect", str(rec), "--out", str(out)]) == 0
    assert len(read_events(out)) == 3
    deaf = _profile(tmp_path, "[detector]\npreset = 'limb'\nk_on = 400.0\nk_on_low_rate = 400.0\n")
    assert main(["detect", str(rec), "--out", str(out), "--profile", str(deaf)]) == 0
    assert read_events(out) == []
    last = capsys.readouterr().out.splitlines()[-1]
    assert "0 twitches" in last and "profile lab.toml (preset limb, k_on=400" in last
    # --set on top of the profile wins
    argv = ["detect", str(rec), "--out", str(out), "--profile", str(deaf), "--set", "k_on=4.5"]
    assert main(argv) == 0
    assert len(read_events(out)) == 3


def test_a_bad_profile_is_one_line(
    folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _profile(tmp_path, "[detector]\nk_onn = 4\n")
    assert main(["detect", str(folder / "rec.fif"), "--profile", str(bad)]) == 2
    assert "unknown detector parameter 'k_onn'" in capsys.readouterr().err


def test_report_counts_the_reviewed_twitches_and_says_so(
    reviewed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prof = _profile(tmp_path, "[detector]\npreset = 'limb'\nk_on = 4.5\n")
    out = tmp_path / "r.html"
    assert main(["report", str(reviewed), "--out", str(out), "--profile", str(prof)]) == 0
    text = out.read_text()
    assert "3 twitches" in text
    assert "reviewed twitches of AL (2 confirmed + 1 added; 1 rejected) from rec.review.csv" in text
    assert "Detector profile: lab.toml (preset limb, k_on=4.5)" in text
    assert "reviewed twitches of AL" in capsys.readouterr().out
    plain = tmp_path / "plain.html"
    assert main(["report", str(reviewed), "--out", str(plain), "--no-review"]) == 0
    text = plain.read_text()
    assert (
        "the detector&#x27;s twitches (not reviewed)" in text and "Detector profile: none" in text
    )


def test_batch_writes_reviewed_events_and_names_review_and_profile(
    reviewed: Path, tmp_path: Path
) -> None:
    prof = _profile(tmp_path, "[detector]\npreset = 'limb'\n")
    out = tmp_path / "res"
    argv = ["batch", str(reviewed.parent), "--out", str(out), "--workers", "1"]
    assert main([*argv, "--profile", str(prof)]) == 0
    with (out / "recordings.csv").open() as f:
        (row,) = list(csv.DictReader(f))  # the review sidecar is not taken as a recording
    assert row["recording"] == "rec" and row["twitches"] == "3"
    assert row["twitches_from"].startswith("reviewed twitches of AL (2 confirmed + 1 added")
    assert row["profile"].startswith("lab.toml")
    got = read_events(out / "rec.events.csv")
    assert [round(t.onset_s, 2) for t in got] == [4.0, 8.5, 9.5]
    added = got[2]
    assert added.channel == "R-UpTrap" and added.peak_v > 0 and added.site == "TrP1"


def test_calibrate_refuses_too_few_labels(
    reviewed: Path, folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = folder / "rec2.fif"
    other.write_bytes(reviewed.read_bytes())
    write_review(review_path(other), [Verdict(4.0, 4.1, "R-LevScap", "confirmed", "AL")])
    out = tmp_path / "p.toml"
    assert main(["calibrate", str(reviewed), str(other), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "only 4 reviewed twitches" in err and "at least 20" in err
    assert not out.exists()
    other.unlink()
    review_path(other).unlink()


def test_dashboard_refuses_a_bad_profile_before_starting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _profile(tmp_path, "[detector]\npreset = 'arm'\n")
    assert main(["dashboard", "--profile", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "preset 'arm'; expected one of limb, trunk" in err


@pytest.mark.slow
def test_calibrate_writes_a_profile_that_detect_applies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from twitchscope.signal import simulate
    from twitchscope.signal.review.twitches import verdicts_from_twitches

    recs = []
    for seed in (1, 2, 3):
        sim = simulate.simulate(simulate.preset("limb", sfreq=500.0), duration_s=80.0, seed=seed)
        path = write_recording(sim.to_raw(annotate_twitches=False), tmp_path / f"s{seed}_raw.fif")
        write_review(review_path(path), verdicts_from_twitches(sim.events.twitches, reviewer="AL"))
        recs.append(str(path))
    out = tmp_path / "fitted.toml"
    assert main(["calibrate", *recs, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert f"profile written to {out}" in said and "leave-one-recording-out F1" in said
    meta = tomllib.loads(out.read_text())
    assert [r["path"] for r in meta["recordings"]] == recs
    assert meta["validation"]["n_reviewed_twitches"] >= 20
    assert main(["calibrate", *recs, "--out", str(out)]) == 2  # no silent overwrite
    assert "pass --overwrite" in capsys.readouterr().err
    assert main(["detect", recs[0], "--profile", str(out)]) == 0
    assert "profile fitted.toml (preset " in capsys.readouterr().out


@pytest.mark.parametrize(
    ("command", "extra"),
    [
        ("detect", ["rec.fif"]),
        ("report", ["rec.fif"]),
        ("batch", ["dir", "--out", "res"]),
        ("record", ["--port", "/dev/null", "--protocol", "cyton", "--out", "x.fif"]),
    ],
)
def test_every_detecting_command_takes_a_profile(
    tmp_path: Path, command: str, extra: list[str]
) -> None:
    from twitchscope.dashboard.cli.main import build_parser
    from twitchscope.dashboard.cli.options import detector_config

    prof = _profile(tmp_path, "[detector]\npreset = 'trunk'\nk_on = 6.0\nglr_min = 40.0\n")
    args = build_parser().parse_args([command, *extra, "--profile", str(prof)])
    cfg = detector_config(args)
    assert cfg is not None and (cfg.hp_hz, cfg.k_on, cfg.glr_min) == (30.0, 6.0, 40.0)
    args = build_parser().parse_args([command, *extra, "--profile", str(prof), "--preset", "limb"])
    cfg = detector_config(args)
    assert cfg is not None and (cfg.hp_hz, cfg.k_on) == (20.0, 6.0)  # --preset wins


def test_a_fif_carrying_its_review_as_annotations_is_counted_with_it(
    folder: Path, tmp_path: Path
) -> None:
    from twitchscope.signal.io.readers import read_recording
    from twitchscope.signal.review.sidecar import annotate_review

    raw = read_recording(folder / "rec.fif", preload=True)
    annotate_review(
        raw,
        [
            Verdict(4.0, 4.1, "R-LevScap", "confirmed", "AL"),
            Verdict(6.0, 6.1, "R-LevScap", "rejected", "AL"),
        ],
    )
    rec = write_recording(raw, tmp_path / "annotated.fif")
    assert not review_path(rec).exists()
    out = tmp_path / "r.html"
    assert main(["report", str(rec), "--out", str(out)]) == 0
    text = out.read_text()
    assert "1 twitches" in text
    assert "(1 confirmed + 0 added; 1 rejected) from annotated.fif (REVIEW annotations)" in text
