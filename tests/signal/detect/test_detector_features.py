"""Features of detected twitches on synthetic bursts of known onset, amplitude and duration."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.signal import ltr_synth as syn
from twitchscope.signal.core.model import NeedleSite
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.features import mains_line_stats, median_frequency, refine_onset
from twitchscope.signal.detect.run import detect_array

CONFIG = DetectorConfig(mains="50")


@pytest.mark.parametrize("sfreq", [1000.0, 2000.0])
def test_onset_peak_duration_and_snr_of_known_bursts(sfreq):
    data = syn.background(sfreq=sfreq, duration_s=12, n_channels=2, noise_v=3e-6)
    truth = [(4.0, 0.05, 30e-6), (6.3, 0.15, 60e-6), (9.1, 0.25, 120e-6)]
    for i, (t, dur, peak) in enumerate(truth):
        data = syn.add(
            data,
            syn.emg_burst(sfreq=sfreq, duration_s=dur, peak_v=peak, seed=i, rise_s=0.003),
            sfreq=sfreq,
            onset_s=t,
            channel=1,
        )
    # weak crosstalk of the last burst on channel A
    data = syn.add(
        data,
        0.5 * syn.emg_burst(sfreq=sfreq, duration_s=0.25, peak_v=120e-6, seed=2, rise_s=0.003),
        sfreq=sfreq,
        onset_s=9.1,
        channel=0,
    )
    sites = [NeedleSite(label="TrP1", onset_s=3.5, duration_s=8.0)]
    twitches, _ = detect_array(data, sfreq=sfreq, ch_names=["A", "B"], config=CONFIG, sites=sites)
    assert len(twitches) == 3
    for tw, (t, dur, peak) in zip(twitches, truth, strict=True):
        assert abs(tw.onset_s - t) <= 0.005
        assert tw.channel == "B"
        assert 0.6 * peak <= tw.peak_v <= 1.3 * peak  # conditioned-signal peak: filter shaping
        assert 0.4 * dur <= tw.duration_s <= 1.3 * dur
        assert tw.snr_db > 6
        assert tw.rms_v < tw.peak_v
        assert tw.area_vs == pytest.approx(np.mean(np.abs([tw.rms_v])) * tw.duration_s, rel=0.5)
        assert tw.site == "TrP1"
        assert tw.latency_s == pytest.approx(tw.onset_s - 3.5)
    assert twitches[2].channels == ("B", "A")
    assert twitches[0].channels == ("B",)
    # median frequency: only for bursts >= 0.1 s at >= 1 kHz, in the burst's band (30-200 Hz)
    assert twitches[0].median_freq_hz is None
    assert 40 <= twitches[1].median_freq_hz <= 160
    assert twitches[0].snr_db < twitches[2].snr_db and twitches[0].peak_v < twitches[1].peak_v


def test_no_spectral_metric_at_low_rate():
    sfreq = 250.0
    data = syn.background(sfreq=sfreq, duration_s=8)
    data = syn.add(
        data, syn.emg_burst(sfreq=sfreq, duration_s=0.2, peak_v=60e-6), sfreq=sfreq, onset_s=5.0
    )
    twitches, _ = detect_array(data, sfreq=sfreq, ch_names=["A"], config=CONFIG)
    assert len(twitches) == 1
    assert twitches[0].median_freq_hz is None
    assert math.isfinite(twitches[0].snr_db)


def test_quiet_recording_gives_nothing():
    data = syn.background(sfreq=1000.0, duration_s=30, n_channels=2, seed=5)
    twitches, rejected = detect_array(data, sfreq=1000.0, ch_names=["A", "B"], config=CONFIG)
    assert twitches == [] and rejected == []


def test_refine_onset_finds_a_variance_step():
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.standard_normal(200), 4 * rng.standard_normal(100)])
    k = refine_onset(x, noise_var=1.0, lo=150, hi=260)
    assert abs(k - 200) <= 3


def test_median_frequency_of_a_tone():
    t = np.arange(1000) / 1000.0
    assert median_frequency(np.sin(2 * np.pi * 97 * t), sfreq=1000.0) == pytest.approx(97, abs=1.5)


def test_mains_line_power_of_a_residual_hum():
    rng = np.random.default_rng(3)
    sfreq, amp = 1000.0, 4e-6
    t = np.arange(500) / sfreq
    noise = 2e-6 * rng.standard_normal(t.size)
    ratio, power = mains_line_stats(
        noise + amp * np.sin(2 * np.pi * 50 * t), sfreq=sfreq, lines_hz=(50.0, 100.0)
    )
    assert ratio > 20
    assert power == pytest.approx(amp**2 / 2, rel=0.25)
    ratio, power = mains_line_stats(noise, sfreq=sfreq, lines_hz=(50.0, 100.0))
    assert ratio < 10
    assert power < 0.05 * amp**2 / 2
