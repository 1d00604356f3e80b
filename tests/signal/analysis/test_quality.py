"""Signal-quality figures against synthetic signals with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from twitchscope.signal.analysis.quality import (
    assess_quality,
    clipped_fraction,
    detect_ecg,
    detection_band,
    effective_bandwidth,
    estimate_mains,
    lost_samples,
    mains_harmonics,
    mains_levels,
    noise_rms,
)
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import Gap

SIGMA = 10e-6  # V


def _white(rng: np.random.Generator, sfreq: float, seconds: float, n_ch: int = 3) -> np.ndarray:
    return SIGMA * rng.standard_normal((n_ch, int(seconds * sfreq)))


def _expected_noise(sfreq: float) -> float:
    low, high = detection_band(sfreq)
    return SIGMA * np.sqrt(2 * (high - low) / sfreq)


def _ecg(sfreq: float, seconds: float, bpm: float, amp: float, rng: np.random.Generator):
    t = np.arange(int(seconds * sfreq)) / sfreq
    beats = np.arange(0.4, seconds - 0.2, 60.0 / bpm)
    beats = beats + rng.normal(0, 0.01, beats.size)  # a little heart-rate variability
    out = np.zeros_like(t)
    for b in beats:  # QRS-like: a 12 ms Gaussian R wave with a small S wave after it
        out += amp * np.exp(-0.5 * ((t - b) / 0.012) ** 2)
        out -= 0.3 * amp * np.exp(-0.5 * ((t - b - 0.03) / 0.01) ** 2)
    return out


@pytest.mark.parametrize("sfreq", [250.0, 487.0, 2048.0])
def test_noise_of_white_noise_matches_its_band_power(rng, sfreq) -> None:
    x = _white(rng, sfreq, 20)
    np.testing.assert_allclose(noise_rms(x, sfreq=sfreq), _expected_noise(sfreq), rtol=0.06)


def test_noise_ignores_mains_lines_and_bursts(rng) -> None:
    sfreq = 2048.0
    x = _white(rng, sfreq, 20)
    t = np.arange(x.shape[1]) / sfreq
    x_mains = x + 200e-6 * np.sin(2 * np.pi * 50 * t) + 50e-6 * np.sin(2 * np.pi * 150 * t)
    # bursts 100 ms long, 20x the noise, once every 2 s (5 % of the time)
    x_bursts = x.copy()
    for start in np.arange(0.5, 20, 2.0):
        i = int(start * sfreq)
        x_bursts[:, i : i + int(0.1 * sfreq)] *= 20
    expected = _expected_noise(sfreq)
    np.testing.assert_allclose(noise_rms(x_mains, sfreq=sfreq), expected, rtol=0.06)
    np.testing.assert_allclose(noise_rms(x_bursts, sfreq=sfreq), expected, rtol=0.15)
    # whereas a plain RMS is dominated by them
    assert np.sqrt(np.mean(x_bursts**2)) > 4 * SIGMA


def test_harmonics_fold_below_nyquist() -> None:
    assert mains_harmonics(50.0, sfreq=250.0) == (50.0, 100.0, 100.0, 50.0, 0.0)
    assert mains_harmonics(50.0, sfreq=256.0)[2] == 106.0
    assert mains_harmonics(60.0, sfreq=250.0)[2] == 70.0
    assert mains_harmonics(60.0, sfreq=2000.0) == (60.0, 120.0, 180.0, 240.0, 300.0)


@pytest.mark.parametrize("sfreq", [250.0, 1000.0])
def test_mains_levels_are_line_rms(rng, sfreq) -> None:
    x = _white(rng, sfreq, 10, n_ch=2)
    t = np.arange(x.shape[1]) / sfreq
    x[0] += 100e-6 * np.sin(2 * np.pi * 49.95 * t)  # slightly off 50 Hz, as real mains
    x[0] += 40e-6 * np.sin(2 * np.pi * 150 * t + 1.0)  # aliases to 100 Hz at 250 Hz
    levels = mains_levels(x, sfreq=sfreq, mains_hz=50)
    assert levels[0, 0] == pytest.approx(100e-6 / np.sqrt(2), rel=0.05)
    assert levels[0, 2 if sfreq == 1000 else 1] == pytest.approx(40e-6 / np.sqrt(2), rel=0.1)
    assert levels[1].max() < 2e-6  # the clean channel: nothing above the floor
    assert estimate_mains(x, sfreq=sfreq) == 50.0
    x[1] += 300e-6 * np.sin(2 * np.pi * 60 * t)
    assert estimate_mains(x, sfreq=sfreq) == 60.0


@pytest.mark.parametrize(("sfreq", "bpm"), [(250.0, 58.0), (1000.0, 72.0), (2048.0, 95.0)])
def test_ecg_found_with_its_heart_rate(rng, sfreq, bpm) -> None:
    x = _white(rng, sfreq, 20, n_ch=1)[0] + _ecg(sfreq, 20, bpm, 150e-6, rng)
    ecg = detect_ecg(x, sfreq=sfreq)
    assert ecg.present
    assert ecg.heart_rate_bpm == pytest.approx(bpm, abs=2.0)
    assert len(ecg.r_peaks_s) == pytest.approx(20 * bpm / 60, abs=2)


def test_no_ecg_in_noise_or_irregular_bursts(rng) -> None:
    sfreq = 1000.0
    x = _white(rng, sfreq, 20, n_ch=1)[0]
    assert not detect_ecg(x, sfreq=sfreq).present
    # twitch-like bursts at irregular times
    for start in np.cumsum(rng.uniform(0.4, 3.0, size=12)):
        i = int(start * sfreq)
        x[i : i + 120] += 15 * SIGMA * rng.standard_normal(x[i : i + 120].size)
    ecg = detect_ecg(x, sfreq=sfreq)
    assert len(ecg.r_peaks_s) >= 5  # the bursts are found as peaks ...
    assert not ecg.present  # ... but they are not a regular R-peak train


def test_clipped_fraction_of_a_clipped_sine() -> None:
    sfreq = 2000.0
    t = np.arange(int(10 * sfreq)) / sfreq
    sine = np.sin(2 * np.pi * 3 * t) * 1e-3
    clipped = np.clip(sine, -0.5e-3, 0.5e-3)
    x = np.vstack([sine, clipped])
    frac = clipped_fraction(x)
    assert frac[0] == 0.0
    assert frac[1] == pytest.approx(2 / 3, abs=0.01)  # |sin| > 1/2 two thirds of the time
    frac_fs = clipped_fraction(x, full_scale_v=0.5e-3)
    assert frac_fs[1] == pytest.approx(2 / 3, abs=0.01)
    assert frac_fs[0] == pytest.approx(2 / 3, abs=0.01)  # the sine exceeds that range too


def test_lost_samples_from_gaps() -> None:
    gaps = [
        Gap(onset_s=1.0, n_samples=30, sfreq=250.0),
        Gap(onset_s=5.0, n_samples=20, sfreq=250.0),
    ]
    assert lost_samples(gaps, n_samples=950) == (50, 0.05)
    assert lost_samples([], n_samples=0) == (0, 0.0)


def test_bandwidth_warning_below_500_hz() -> None:
    low = effective_bandwidth(250.0)
    assert low.nyquist_hz == 125.0 and low.detection_only
    assert "125 Hz" in low.warning and "detection only" in low.warning
    assert low.band_hz == (20.0, 112.5)
    mid = effective_bandwidth(500.0)
    assert mid.warning and not mid.detection_only
    high = effective_bandwidth(2000.0)
    assert high.warning == "" and high.band_hz == (20.0, 450.0)


def test_assess_quality_puts_it_together(rng) -> None:
    sfreq = 500.0
    x = _white(rng, sfreq, 12)
    t = np.arange(x.shape[1]) / sfreq
    x[1] += _ecg(sfreq, 12, 66.0, 200e-6, rng)
    x[2] += 80e-6 * np.sin(2 * np.pi * 60 * t)
    gaps = [Gap(onset_s=3.0, n_samples=60, sfreq=sfreq)]
    q = assess_quality(x, sfreq=sfreq, ch_names=["a", "b", "c"], mains="auto", gaps=gaps)
    assert q.mains_hz == 60.0
    assert [c.ecg.present for c in q.channels] == [False, True, False]
    assert q.ecg_present and q.heart_rate_bpm == pytest.approx(66, abs=2)
    assert q.channels[2].mains_rms_v == pytest.approx(80e-6 / np.sqrt(2), rel=0.05)
    assert q.channels[0].noise_rms_v == pytest.approx(_expected_noise(sfreq), rel=0.1)
    assert q.n_lost == 60 and q.lost_fraction == pytest.approx(60 / (x.shape[1] + 60))
    text = " ".join(q.warnings)
    assert "ECG present (66 bpm)" in text and "60 samples lost" in text and "250 Hz" in text


def test_bad_input_raises_one_line_errors(rng) -> None:
    with pytest.raises(ConfigError, match="at least 3 s"):
        assess_quality(np.zeros((1, 100)), sfreq=1000.0, ch_names=["a"])
    with pytest.raises(ConfigError, match="NaN"):
        noise_rms(np.full((1, 2000), np.nan), sfreq=1000.0)
    with pytest.raises(ConfigError, match="'mains' parameter"):
        assess_quality(_white(rng, 1000.0, 4), sfreq=1000.0, ch_names="abc", mains=55)
    with pytest.raises(ConfigError, match="one channel"):
        detect_ecg(np.zeros((2, 5000)), sfreq=1000.0)


def test_quality_of_the_simulators_trunk_scenario() -> None:
    """The simulator's ECG-contaminated trapezius: ECG found at its heart rate, its mains level."""
    from twitchscope.signal import simulate

    cfg = simulate.preset("trunk_ecg", sfreq=500.0)
    block, _ = simulate.sim_step(cfg, 15_000, simulate.init_sim_state(cfg, seed=4))
    q = assess_quality(block.data, sfreq=500.0, ch_names=cfg.ch_names, mains="auto")
    assert q.mains_hz == cfg.mains_hz
    assert q.ecg_present
    assert q.heart_rate_bpm == pytest.approx(cfg.ecg_hr_bpm, rel=0.05)
    # the channel with the largest R wave shows the ECG
    strongest = int(np.argmax(cfg.ecg_r_v))
    assert q.channels[strongest].ecg.present
    # the fundamental's RMS is the configured peak / sqrt(2)
    fundamental = max(c.mains_harmonics_rms_v[0] for c in q.channels)
    assert fundamental == pytest.approx(cfg.mains_v / np.sqrt(2), rel=0.15)
