"""Writing recordings and reading them back, in every format."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import mne
import numpy as np
import pytest

from twitchscope.signal.core.annotations import make_raw, recording_events
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import Gap, NeedleSite, RecordingEvents, Twitch
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.io.writers import (
    EDF_UNKNOWN_DATE,
    WRITABLE_EXTENSIONS,
    write_recording,
)

SFREQ = 487.0  # odd, and the recording is not a whole number of seconds long
N = int(SFREQ * 6.3)
NAMES = ["R-UpTrap", "R-LevScap", "R-MidTrap"]

EVENTS = RecordingEvents(
    sites=(
        NeedleSite("R upper trapezius TrP1", 0.5, 2.0, muscle="upper trapezius", side="R"),
        NeedleSite("R levator scapulae TrP1", 3.0, 2.5),
    ),
    twitches=(
        Twitch(
            1.25,
            1.31,
            "R-LevScap",
            channels=("R-LevScap", "R-UpTrap"),
            peak_v=1.2e-4,
            snr_db=14.0,
            site="R upper trapezius TrP1",
            latency_s=0.75,
        ),
        Twitch(3.5, 3.58, "R-MidTrap", peak_v=8e-5),
    ),  # fmt: skip
    gaps=(Gap(onset_s=2.6, n_samples=24, sfreq=SFREQ),),
    other=((5.0, 0.0, "note: patient moved"),),
)

#: the largest error each format may add: half a quantisation step (EDF 16 bit, BDF
#: 24 bit over the data range; CSV 9 significant digits of µV; FIF float32)
RANGE_V = 2 * 250e-6


def _tolerance(ext: str, data: np.ndarray) -> float:
    span = float(data.max() - data.min())
    return {
        "edf": span / 65534,
        "bdf": span / 16777214,
        "csv": float(np.abs(data).max()) * 1e-8,
        "fif": float(np.abs(data).max()) * 1e-7,
        "fif.gz": float(np.abs(data).max()) * 1e-7,
    }[ext]


@pytest.fixture
def raw(rng: np.random.Generator) -> mne.io.RawArray:
    data = rng.uniform(-250e-6, 250e-6, (3, N))
    return make_raw(data, sfreq=SFREQ, ch_names=NAMES, events=EVENTS)


@pytest.mark.parametrize("ext", ["fif", "fif.gz", "edf", "bdf", "csv"])
def test_round_trip(tmp_path: Path, raw: mne.io.RawArray, ext: str) -> None:
    path = write_recording(raw, tmp_path / f"rec.{ext}")
    assert path == tmp_path / f"rec.{ext}" and path.exists()
    back = read_recording(path, preload=True)
    assert back.ch_names == NAMES
    assert back.get_channel_types() == ["emg"] * 3
    assert back.info["sfreq"] == SFREQ
    assert back.n_times == N  # EDF/BDF record padding removed again
    np.testing.assert_allclose(
        back.get_data(), raw.get_data(), rtol=0, atol=_tolerance(ext, raw.get_data())
    )
    ev = recording_events(back)
    assert [s.label for s in ev.sites] == [s.label for s in EVENTS.sites]
    np.testing.assert_allclose(
        [(s.onset_s, s.duration_s) for s in ev.sites],
        [(s.onset_s, s.duration_s) for s in EVENTS.sites],
        atol=1e-6,
    )
    assert [set(t.channels) for t in ev.twitches] == [set(t.channels) for t in EVENTS.twitches]
    np.testing.assert_allclose(
        [(t.onset_s, t.offset_s) for t in ev.twitches],
        [(t.onset_s, t.offset_s) for t in EVENTS.twitches],
        atol=1e-6,
    )
    assert [(g.onset_s, g.n_samples) for g in ev.gaps] == [(2.6, 24)]
    assert [d for _, _, d in ev.other] == ["note: patient moved"]


@pytest.mark.parametrize("ext", ["fif", "csv", "edf", "bdf"])
def test_twitch_channel_order_kept(tmp_path: Path, raw: mne.io.RawArray, ext: str) -> None:
    back = read_recording(write_recording(raw, tmp_path / f"rec.{ext}"))
    assert recording_events(back).twitches[0].channels == ("R-LevScap", "R-UpTrap")


def test_fif_keeps_extras(tmp_path: Path, raw: mne.io.RawArray) -> None:
    back = read_recording(write_recording(raw, tmp_path / "rec_raw.fif"))
    ev = recording_events(back)
    assert ev.sites[0].muscle == "upper trapezius" and ev.sites[0].side == "R"
    tw = ev.twitches[0]
    assert tw.channel == "R-LevScap"
    assert tw.peak_v == pytest.approx(1.2e-4) and tw.snr_db == pytest.approx(14.0)
    assert tw.site == "R upper trapezius TrP1" and tw.latency_s == pytest.approx(0.75)


def test_edf_gets_a_start_date_and_keeps_a_real_one(tmp_path: Path, raw: mne.io.RawArray) -> None:
    assert raw.info["meas_date"] is None
    back = read_recording(write_recording(raw, tmp_path / "nodate.edf"))
    assert back.info["meas_date"] == EDF_UNKNOWN_DATE
    assert raw.info["meas_date"] is None  # the input is not changed
    when = dt.datetime(2024, 5, 1, 10, 30, 15, tzinfo=dt.UTC)
    raw.set_meas_date(when)
    back = read_recording(write_recording(raw, tmp_path / "dated.edf"))
    assert back.info["meas_date"] == when
    assert recording_events(back).sites[0].onset_s == pytest.approx(0.5)


def test_edf_labels_carry_the_type(tmp_path: Path, rng: np.random.Generator) -> None:
    raw = make_raw(rng.uniform(-1e-4, 1e-4, (2, 500)), sfreq=250.0, ch_names=["APB", "acc"],
                   ch_types=["emg", "misc"])  # fmt: skip
    path = write_recording(raw, tmp_path / "typed.edf")
    header = path.read_bytes()[256 : 256 + 3 * 16].decode("latin-1")
    assert header[:16].strip() == "EMG APB" and header[16:32].strip() == "MISC acc"
    assert read_recording(path).get_channel_types() == ["emg", "misc"]


def test_edf_label_too_long_names_the_channel(tmp_path: Path, rng: np.random.Generator) -> None:
    raw = make_raw(rng.uniform(-1e-4, 1e-4, (2, 500)), sfreq=250.0,
                   ch_names=["APB", "R-UpperTrapez1"])  # fmt: skip
    for ext in ("edf", "bdf"):
        with pytest.raises(
            FileFormatError,
            match=r"channel 'R-UpperTrapez1' is too long for .*'EMG R-UpperTrapez1' has 18 "
            r"characters, .* allows 16 .* at most 12 characters",
        ):
            write_recording(raw, tmp_path / f"long.{ext}")
        assert not (tmp_path / f"long.{ext}").exists()
    write_recording(raw, tmp_path / "long.fif")  # FIF has no such limit


def test_refuses_to_overwrite(tmp_path: Path, raw: mne.io.RawArray) -> None:
    for ext in ("fif", "edf", "bdf", "csv"):
        # one stem per format: EDF/BDF/CSV of one stem share <stem>.annotations.csv
        path = write_recording(raw, tmp_path / f"rec_{ext}.{ext}")
        before = path.read_bytes()
        with pytest.raises(FileFormatError, match=r"already exists; pass overwrite=True"):
            write_recording(raw, path)
        assert path.read_bytes() == before
        write_recording(raw.copy().crop(tmax=2.0), path, overwrite=True)
        assert read_recording(path).n_times == int(2.0 * SFREQ) + 1


def test_csv_sibling_files_also_protected(tmp_path: Path, raw: mne.io.RawArray) -> None:
    (tmp_path / "rec.sites.csv").write_text("onset_s,duration_s,label\n")
    with pytest.raises(FileFormatError, match=r"rec.sites.csv already exists"):
        write_recording(raw, tmp_path / "rec.csv")
    assert not (tmp_path / "rec.csv").exists()


def test_csv_layout(tmp_path: Path, rng: np.random.Generator) -> None:
    data = np.array([[1e-6, -2.5e-6, 3.25e-6], [0.5, 0.25, 0.125]])
    ev = RecordingEvents(sites=(NeedleSite("L soleus TrP1", 0.01, 0.02),),
                         twitches=(Twitch(0.0, 0.01, "APB"),))  # fmt: skip
    raw = make_raw(data, sfreq=100.0, ch_names=["APB", "acc"], ch_types=["emg", "misc"], events=ev)
    path = write_recording(raw, tmp_path / "rec.csv")
    lines = path.read_text().splitlines()
    assert lines[0] == "time_s,APB,MISC acc"
    assert [float(x) for x in lines[2].split(",")] == [0.01, -2.5, 0.25]
    assert (tmp_path / "rec.sites.csv").read_text().splitlines() == [
        "onset_s,duration_s,label",
        "0.010000,0.020000,needle:L soleus TrP1",
    ]
    assert (tmp_path / "rec.annotations.csv").read_text().splitlines()[1] == (
        "0.000000,0.010000,LTR,APB"
    )


def test_unsupported_extension_and_missing_directory(tmp_path: Path, raw) -> None:
    with pytest.raises(FileFormatError, match="unsupported extension '.mat'") as err:
        write_recording(raw, tmp_path / "rec.mat")
    assert all(ext in str(err.value) for ext in WRITABLE_EXTENSIONS)
    with pytest.raises(FileFormatError, match="directory .*nowhere does not exist"):
        write_recording(raw, tmp_path / "nowhere" / "rec.fif")


def test_will_not_write_over_its_own_source(tmp_path: Path, raw: mne.io.RawArray) -> None:
    path = write_recording(raw, tmp_path / "rec_raw.fif")
    lazy = read_recording(path, preload=False)
    with pytest.raises(FileFormatError, match="over the file the recording is read from"):
        write_recording(lazy, path, overwrite=True)
    assert read_recording(path).n_times == N


def test_cropped_fif_onsets_stay_relative(tmp_path: Path, raw: mne.io.RawArray) -> None:
    cropped = raw.copy().crop(tmin=1.0)
    assert cropped.first_time == pytest.approx(1.0, abs=1 / SFREQ)
    back = read_recording(write_recording(cropped, tmp_path / "cropped.csv"))
    ann = back.annotations
    ltr = [o for o, d in zip(ann.onset, ann.description, strict=True) if d == "LTR"]
    assert math.isclose(ltr[0], 1.25 - cropped.first_time, abs_tol=1e-5)  # the first twitch


def test_edf_refuses_fractional_rate(tmp_path: Path, rng: np.random.Generator) -> None:
    raw = make_raw(rng.uniform(-1e-4, 1e-4, (1, 3000)), sfreq=487.5, ch_names=["APB"])
    for ext in ("edf", "bdf"):
        with pytest.raises(FileFormatError, match="keeps whole-number sampling rates .* 487.5 Hz"):
            write_recording(raw, tmp_path / f"frac.{ext}")
    back = read_recording(write_recording(raw, tmp_path / "frac.csv"))
    assert back.info["sfreq"] == 487.5 and back.n_times == 3000


def test_edf_keeps_microvolt_resolution_next_to_a_railed_channel(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    # a lead-off electrode rails at hundreds of mV: with one physical range for all EMG
    # channels, 16-bit EDF would leave the others a resolution of several microvolts
    quiet = 5e-6 * rng.standard_normal(2000)
    railed = np.where(np.arange(2000) < 1000, 0.187, -0.187)
    raw = make_raw(np.vstack([quiet, railed]), sfreq=1000.0, ch_names=["R-MG", "R-LG"])
    back = read_recording(write_recording(raw, tmp_path / "rail.edf"), preload=True)
    got = back.get_data()[:, :2000]
    assert np.max(np.abs(got[0] - quiet)) < 0.01e-6  # range 2 x 20 uV / 65535 steps
    assert np.max(np.abs(got[1] - railed)) < 1e-5


@pytest.mark.parametrize("ext", ["edf", "bdf"])
def test_edf_shows_one_annotation_per_twitch_in_plain_mne(
    tmp_path: Path, raw: mne.io.RawArray, ext: str
) -> None:
    path = write_recording(raw, tmp_path / f"rec.{ext}")
    reader = mne.io.read_raw_edf if ext == "edf" else mne.io.read_raw_bdf
    plain = reader(path, verbose="error")  # what MNE users (and EDFbrowser) see
    descriptions = [d for d in plain.annotations.description if d != "BAD_ACQ_SKIP"]
    assert sorted(descriptions) == sorted(
        ["needle:R upper trapezius TrP1", "needle:R levator scapulae TrP1", "LTR", "LTR",
         "note: patient moved"]
    )  # fmt: skip
    assert not any("@@" in d for d in plain.annotations.description)
    assert all(len(c) == 0 for c in plain.annotations.ch_names)
    # the channels are beside the file, and twitchscope reads them back
    table = (tmp_path / "rec.annotations.csv").read_text().splitlines()
    assert table == ["onset_s,duration_s,description,channels",
                     "1.250000,0.060000,LTR,R-LevScap;R-UpTrap",
                     "3.500000,0.080000,LTR,R-MidTrap"]  # fmt: skip
    twitches = recording_events(read_recording(path)).twitches
    assert [t.channels for t in twitches] == [("R-LevScap", "R-UpTrap"), ("R-MidTrap",)]


def test_edf_without_its_channel_table_still_reads(tmp_path: Path, raw: mne.io.RawArray) -> None:
    path = write_recording(raw, tmp_path / "rec.edf")
    (tmp_path / "rec.annotations.csv").unlink()
    twitches = recording_events(read_recording(path)).twitches
    assert len(twitches) == 2 and all(t.channel == "" for t in twitches)
