"""Samples no amplifier can give (NaN, inf, 1e308): one warning, BAD_VALUES spans, detection goes on."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import mne
import numpy as np
import pytest

from tests.signal import ltr_synth as syn
from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.bad_values import (
    ABSURD_V,
    BAD_VALUES_DESCRIPTION,
    bad_samples,
    mask_bad_values,
)
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.run import detect_recording
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.io.writers import write_recording

SFREQ = 1000.0
ONSETS = (2.0, 4.0, 6.5, 8.5)


def _recording(tmp_path: Path) -> Path:
    data = syn.background(sfreq=SFREQ, duration_s=10, n_channels=2, mains_hz=60.0, seed=4)
    for i, t in enumerate(ONSETS):
        burst = syn.emg_burst(sfreq=SFREQ, duration_s=0.1, peak_v=50e-6, seed=i, rise_s=0.003)
        data = syn.add(data, burst, sfreq=SFREQ, onset_s=t, channel=1)
    raw = make_raw(data, sfreq=SFREQ, ch_names=["R-UpTrap", "R-LevScap"])
    return write_recording(raw, tmp_path / "rec.csv")


def _spoil(path: Path, cells: dict[tuple[int, int], str]) -> None:
    """Replace cells (row of samples, column) of a twitchscope CSV."""
    lines = path.read_text().splitlines()
    for (row, col), value in cells.items():
        fields = lines[row + 1].split(",")
        fields[col] = value
        lines[row + 1] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")


def test_bad_samples_finds_non_finite_and_absurd_values_without_warnings() -> None:
    x = np.array([[0.0, np.nan, np.inf, -np.inf, 1e308, -ABSURD_V * 2, 1e-3]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bad_samples(x).tolist() == [[False, True, True, True, True, True, False]]


def test_a_1e308_value_no_longer_wipes_out_detection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _recording(tmp_path)
    clean = detect_recording(read_recording(path), DetectorConfig())
    assert [round(t.onset_s, 1) for t in clean.twitches] == list(ONSETS)
    _spoil(path, {(3000, 2): "1e308", (3001, 2): "1e308", (5000, 1): "-1e300", (5001, 1): "2e7"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy overflow warnings must not leak
        with caplog.at_level(logging.WARNING):
            raw = read_recording(path)
            run = detect_recording(raw, DetectorConfig())
    assert [round(t.onset_s, 1) for t in run.twitches] == list(ONSETS)
    named = [r.getMessage() for r in caplog.records if BAD_VALUES_DESCRIPTION in r.getMessage()]
    assert len(named) == 1
    assert "R-LevScap: 2 (beyond ±10 V) from 3.000 s" in named[0]
    assert "R-UpTrap: 2 (beyond ±10 V) from 5.000 s" in named[0]
    bad = [
        (round(o - raw.first_time, 3), d, tuple(c))
        for o, d, c, desc in zip(
            raw.annotations.onset,
            raw.annotations.duration,
            raw.annotations.ch_names,
            raw.annotations.description,
            strict=True,
        )
        if desc == BAD_VALUES_DESCRIPTION
    ]
    assert sorted(bad) == [(3.0, 0.002, ("R-LevScap",)), (5.0, 0.002, ("R-UpTrap",))]
    data = raw.get_data()
    assert np.isfinite(data).all() and np.abs(data).max() < 1e-3
    assert data[1, 3000] == data[1, 3001] == data[1, 2999]  # held at the last good value


def test_non_finite_samples_of_a_fif_file_are_masked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = np.random.default_rng(0).normal(0, 1e-5, (2, 1000))
    data[0, 100:110] = np.nan
    data[1, 500] = np.inf
    info = mne.create_info(["a", "b"], SFREQ, "emg")
    path = tmp_path / "nan_raw.fif"
    mne.io.RawArray(data, info, verbose="error").save(path, verbose="error")
    with caplog.at_level(logging.WARNING):
        raw = read_recording(path)  # not preloaded: scanned, then loaded and masked
    [message] = [r.getMessage() for r in caplog.records]
    assert "a: 10 (NaN) from 0.100 s" in message and "b: 1 (inf) from 0.500 s" in message
    assert np.isfinite(raw.get_data()).all()
    assert list(raw.annotations.description) == [BAD_VALUES_DESCRIPTION] * 2


def test_a_channel_with_no_good_sample_is_zero_and_one_span() -> None:
    info = mne.create_info(["x"], SFREQ, "emg")
    raw = mne.io.RawArray(np.full((1, 100), np.nan), info, verbose="error")
    mask_bad_values(raw, "x.fif")
    assert (raw.get_data() == 0).all()
    assert list(raw.annotations.description) == [BAD_VALUES_DESCRIPTION]
    assert raw.annotations.duration[0] == pytest.approx(0.1)


def test_a_clean_recording_is_untouched() -> None:
    data = np.random.default_rng(0).normal(0, 1e-5, (2, 500))
    raw = make_raw(data.copy(), sfreq=SFREQ, ch_names=["a", "b"])
    mask_bad_values(raw, "a.csv")
    np.testing.assert_array_equal(raw.get_data(), data)
    assert len(raw.annotations) == 0
