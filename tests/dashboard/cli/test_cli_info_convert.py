"""``twitchscope info`` and ``twitchscope convert`` through the real command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from twitchscope.dashboard.cli.main import main
from twitchscope.signal.core.annotations import make_raw, recording_events
from twitchscope.signal.core.model import Gap, NeedleSite, RecordingEvents, Twitch
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.io.writers import write_recording

SFREQ = 250.0
EVENTS = RecordingEvents(
    sites=(NeedleSite("R upper trapezius TrP1", 1.0, 2.0), NeedleSite("R infraspinatus", 4.0, 1.5)),
    twitches=(Twitch(1.5, 1.56, "APB", channels=("APB", "FDI")), Twitch(4.2, 4.3, "FDI")),
    gaps=(Gap(3.2, 25, SFREQ), Gap(5.8, 5, SFREQ)),
)


@pytest.fixture
def recording(tmp_path: Path, rng: np.random.Generator) -> Path:
    data = rng.uniform(-100e-6, 100e-6, (2, int(SFREQ * 7)))
    raw = make_raw(data, sfreq=SFREQ, ch_names=["APB", "FDI"], events=EVENTS)
    return write_recording(raw, tmp_path / "rec.edf")


def test_info_prints_everything(recording: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(recording)]) == 0
    out = capsys.readouterr().out
    assert "(EDF/EDF+)" in out
    assert "start:     1985-01-01T00:00:00+00:00" in out  # EDF+ "unknown" date
    assert "sfreq:     250 Hz" in out
    assert "duration:  7.000 s" in out and "samples:   1750" in out
    assert "  APB  emg" in out and "  FDI  emg" in out
    assert "needle sites: 2" in out
    assert "R upper trapezius TrP1  onset 1.000 s  duration 2.000 s" in out
    assert "  LTR: 2" in out and "  BAD_ACQ_SKIP: 2" in out
    assert "gaps (BAD_ACQ_SKIP): 2, 0.120 s lost" in out


def test_info_csv_needs_sfreq_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "nt.csv"
    path.write_text("APB\n1.0\n2.0\n3.0\n")
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("twitchscope: error: nt.csv has no 'time_s' column")
    assert len(err.strip().splitlines()) == 1
    assert main(["info", str(path), "--sfreq", "100"]) == 0
    assert "sfreq:     100 Hz" in capsys.readouterr().out


@pytest.mark.parametrize("ext", ["fif", "edf", "bdf", "csv"])
def test_convert_keeps_sites_twitches_and_gaps(
    recording: Path, tmp_path: Path, ext: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"converted.{ext}"
    assert main(["convert", str(recording), str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    src, dst = read_recording(recording), read_recording(out)
    assert dst.ch_names == src.ch_names and dst.get_channel_types() == ["emg", "emg"]
    assert dst.n_times == src.n_times and dst.info["sfreq"] == SFREQ
    np.testing.assert_allclose(dst.get_data(), src.get_data(), atol=1e-9)
    a, b = recording_events(src), recording_events(dst)
    assert [s.label for s in b.sites] == [s.label for s in a.sites]
    assert [(t.onset_s, set(t.channels)) for t in b.twitches] == [
        (t.onset_s, set(t.channels)) for t in a.twitches
    ]
    assert [(g.onset_s, g.n_samples) for g in b.gaps] == [(3.2, 25), (5.8, 5)]


def test_convert_refuses_to_overwrite(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out.csv"
    assert main(["convert", str(recording), str(out)]) == 0
    capsys.readouterr()
    assert main(["convert", str(recording), str(out)]) == 2
    err = capsys.readouterr().err
    assert "out.csv already exists; pass overwrite=True (--overwrite" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert main(["convert", str(recording), str(out), "--overwrite"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["info", "{tmp}/missing.edf"], "recording file not found"),
        (["info", "{tmp}/rec.xyz"], "unsupported file extension '.xyz'"),
        (["info", "{tmp}/rec.edf", "--sfreq", "-5"], "sfreq must be a finite number > 0"),
        (["convert", "{tmp}/rec.edf", "{tmp}/out.mat"], "unsupported extension '.mat'"),
    ],
)
def test_bad_input_gives_one_line(
    recording: Path, tmp_path: Path, args: list[str], message: str, capsys
) -> None:
    (tmp_path / "rec.xyz").write_text("x")
    assert main([a.format(tmp=tmp_path) for a in args]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def _console() -> list[str]:
    script = Path(sys.executable).parent / "twitchscope"
    return [str(script)] if script.exists() else [sys.executable, "-m", "twitchscope.dashboard"]


def test_console_entry_in_a_subprocess(tmp_path: Path) -> None:
    """The installed ``twitchscope`` script: exit status 2, one line on stderr, no traceback."""
    bad = tmp_path / "bad.csv"
    bad.write_text("time_s,APB\n0.0,1.0\n0.004,one\n")
    run = subprocess.run(
        [*_console(), "convert", str(bad), str(tmp_path / "o.fif")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert run.stderr.strip() == (
        "twitchscope: error: bad.csv: line 3, column 'APB' holds 'one'; expected a number (µV)."
    )
    assert "Traceback" not in run.stderr and not (tmp_path / "o.fif").exists()


def test_convert_keeps_the_video_link(tmp_path, capsys):
    import shutil

    from twitchscope.signal.video.link import link_path, read_link

    samples = Path(__file__).resolve().parents[3] / "sample_recordings"
    src = tmp_path / "in"
    src.mkdir()
    for suffix in (".edf", ".mp4", ".video.json"):
        shutil.copy(samples / f"gastrocnemius_limb_2khz{suffix}", src)
    out = tmp_path / "out" / "converted.fif"
    out.parent.mkdir()
    assert main(["convert", str(src / "gastrocnemius_limb_2khz.edf"), str(out)]) == 0
    assert "its video stays linked (converted.video.json)" in capsys.readouterr().out
    old, new = read_link(src / "gastrocnemius_limb_2khz.edf"), read_link(out)
    assert new.video == old.video and new.video.is_file()  # the same video, from the new place
    assert (new.offset_s, new.roi, new.scale_mm_per_px) == (
        old.offset_s,
        old.roi,
        old.scale_mm_per_px,
    )
    plain = tmp_path / "plain.fif"
    assert main(["convert", str(out), str(plain)]) == 0
    assert link_path(plain).is_file()  # converted.fif is linked, so its conversion is too
    # a file without a link gets none
    bare = tmp_path / "bare.edf"
    shutil.copy(samples / "not_a_twitch_1khz.edf", bare)
    assert main(["convert", str(bare), str(tmp_path / "bare.fif")]) == 0
    assert not link_path(tmp_path / "bare.fif").exists()
