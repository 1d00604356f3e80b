"""``twitchscope bids``: an EMG-BIDS dataset written with mne-bids, read back with read_raw_bids."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pytest
from mne_bids import BIDSPath, read_raw_bids

from tests.signal.io.xdf_writer import write_lab_recording
from twitchscope.dashboard.cli.convert import BIDS_MISSING, export_bids
from twitchscope.dashboard.cli.main import main
from twitchscope.signal.core.annotations import make_raw, recording_events
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import Gap, NeedleSite, RecordingEvents, Twitch
from twitchscope.signal.io.writers import write_recording

SFREQ = 487.0
CH = ("APB", "FDI", "ADM")


@pytest.fixture
def recording(tmp_path: Path) -> tuple[Path, np.ndarray]:
    x = np.random.default_rng(0).standard_normal((3, 4870)) * 50e-6
    events = RecordingEvents(
        sites=(NeedleSite("R trapezius TrP1", onset_s=1.0, duration_s=3.0),),
        twitches=(Twitch(onset_s=2.0, offset_s=2.05, channel="FDI", peak_v=1e-4),),
        gaps=(Gap(onset_s=6.0, n_samples=20, sfreq=SFREQ),),
    )
    raw = make_raw(
        x,
        sfreq=SFREQ,
        ch_names=CH,
        events=events,
        meas_date=dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC),
    )
    path = tmp_path / "s.fif"
    write_recording(raw, path)
    return path, x


def test_bids_command_writes_a_dataset_mne_bids_reads_back(
    recording: tuple[Path, np.ndarray], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, x = recording
    root = tmp_path / "bids"
    argv = ["bids", str(path), str(root), "--subject", "01", "--session", "a", "--task", "ims"]
    assert main([*argv, "--line-freq", "50"]) == 0
    edf = root / "sub-01" / "ses-a" / "emg" / "sub-01_ses-a_task-ims_emg.edf"
    assert capsys.readouterr().out == f"wrote {edf}\n"

    raw = read_raw_bids(
        BIDSPath(subject="01", session="a", task="ims", datatype="emg", root=root), verbose=False
    )
    assert raw.ch_names == list(CH) and raw.get_channel_types() == ["emg"] * 3
    assert raw.info["sfreq"] == SFREQ and raw.n_times == x.shape[1]
    atol = np.ptp(x, axis=1, keepdims=True) / 2**15  # EDF: 16 bits over each channel's range
    assert np.all(np.abs(raw.get_data() - x) <= atol)
    ev = recording_events(raw)
    assert [(s.label, s.onset_s, s.duration_s) for s in ev.sites] == [
        ("R trapezius TrP1", 1.0, 3.0)
    ]
    assert [t.onset_s for t in ev.twitches] == [2.0]
    # read_raw_bids 0.20 keeps the EDF's BAD_ACQ_SKIP span and adds the events.tsv one: the
    # same gap, twice
    assert {(g.onset_s, g.n_samples) for g in ev.gaps} == {(6.0, 20)}
    sidecar = json.loads(edf.with_suffix(".json").read_text())
    assert sidecar["EMGPlacementScheme"] == "Other"
    assert sidecar["EMGChannelCount"] == 3 and sidecar["PowerLineFrequency"] == 50

    # never overwrites silently
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already exists" in err and "--overwrite" in err
    assert main([*argv, "--overwrite", "--placement", "Measured"]) == 0
    assert json.loads(edf.with_suffix(".json").read_text())["EMGPlacementScheme"] == "Measured"


def test_bad_labels_and_missing_mne_bids_are_one_line(
    recording: tuple[Path, np.ndarray], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = recording
    with pytest.raises(ConfigError, match="not a valid BIDS label"):
        export_bids(path, tmp_path / "b", subject="01_x", task="ims")
    monkeypatch.setitem(sys.modules, "mne_bids", None)
    with pytest.raises(ConfigError) as exc:
        export_bids(path, tmp_path / "b", subject="01", task="ims")
    assert str(exc.value) == BIDS_MISSING


def test_an_xdf_recording_goes_to_bids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """LabRecorder's XDF -> ``info`` names the format -> ``bids`` writes the EMG stream."""
    x = np.random.default_rng(2).standard_normal((1000, 2)).astype(np.float32) * 50  # µV
    path = write_lab_recording(
        tmp_path / "lab.xdf",
        x,
        sfreq=1000.0,
        start_s=100.0,
        markers=[(100.2, "needle:R MG TrP1"), (100.6, "needle-out")],
    )
    assert main(["info", str(path)]) == 0
    assert "(XDF (Lab Streaming Layer))" in capsys.readouterr().out
    root = tmp_path / "bids"
    assert main(["bids", str(path), str(root), "--subject", "02", "--task", "ims"]) == 0
    raw = read_raw_bids(
        BIDSPath(subject="02", task="ims", datatype="emg", root=root), verbose=False
    )
    assert raw.ch_names == ["R-MG", "R-LG"]
    atol = np.ptp(x, axis=0)[:, None] * 1e-6 / 2**15
    assert np.all(np.abs(raw.get_data() - x.T * 1e-6) <= atol)
    (site,) = recording_events(raw).sites
    assert (site.label, round(site.onset_s, 3), round(site.duration_s, 3)) == (
        "R MG TrP1",
        0.2,
        0.4,
    )
