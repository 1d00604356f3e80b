"""The false-alarm-rate threshold, the duration gates and the confidence of each twitch."""

from __future__ import annotations

import numpy as np
import pytest

from twitchscope.signal.core.model import RejectReason
from twitchscope.signal.detect.classify import twitch_confidence
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.false_alarms import far_thresholds, segment_statistic
from twitchscope.signal.detect.run import detect_array

SFREQ = 1000.0


def _gumbel_maxima(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    return rng.gumbel(loc=5.0, scale=scale, size=(1, n))


def test_threshold_follows_the_tail_of_the_background() -> None:
    rng = np.random.default_rng(0)
    config = DetectorConfig(glr_min=1.0)
    light = far_thresholds(config, _gumbel_maxima(rng, 240, 1.0), n_channels=1)
    heavy = far_thresholds(config, _gumbel_maxima(rng, 240, 4.0), n_channels=1)
    assert heavy[0] > 2 * light[0]
    # a Gumbel(5, 1) segment maximum exceeds the level for 0.5/min (p = 0.5 / 240) with
    # that probability: -ln(-ln(1 - p)) = 6.17 above the location
    assert light[0] == pytest.approx(5.0 + 6.17, abs=1.0)


def test_lower_target_rate_gives_higher_threshold_and_glr_min_is_a_floor() -> None:
    rng = np.random.default_rng(1)
    maxima = _gumbel_maxima(rng, 240, 2.0)
    strict = far_thresholds(
        DetectorConfig(false_alarms_per_min=0.1, glr_min=1.0), maxima, n_channels=1
    )
    loose = far_thresholds(
        DetectorConfig(false_alarms_per_min=10.0, glr_min=1.0), maxima, n_channels=1
    )
    assert strict[0] > loose[0]
    high_floor = far_thresholds(DetectorConfig(glr_min=500.0), maxima, n_channels=1)
    assert high_floor[0] == 500.0


def test_too_few_segments_leave_glr_min_alone() -> None:
    config = DetectorConfig()
    maxima = np.full((2, config.far_min_segments - 1), 1e6)
    np.testing.assert_array_equal(far_thresholds(config, maxima, n_channels=2), config.glr_min)


def test_segment_statistic_is_zero_below_the_median_and_grows_above() -> None:
    env = np.array([[0.5, 0.9, 1.0], [1.0, 2.0, 3.0]])
    stat = segment_statistic(env, np.array([1.0, 1.0]), n_eff=10.0)
    assert stat[0] == 0.0
    r = 9.0
    assert stat[1] == pytest.approx(0.5 * 10.0 * (r - 1 - np.log(r)))


def _spiky_background(seconds: float, *, spikes_per_s: float, seed: int) -> np.ndarray:
    """Gaussian noise plus sporadic single motor-unit potentials (biphasic, 8 ms)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SFREQ)
    x = rng.normal(0.0, 3e-6, size=(1, n))
    t = np.arange(int(0.008 * SFREQ)) / SFREQ
    muap = 25e-6 * np.sin(2 * np.pi * t / 0.008) * np.hanning(t.size)
    for start in rng.uniform(1.0, seconds - 1.0, size=int(spikes_per_s * seconds)):
        i = int(start * SFREQ)
        x[0, i : i + t.size] += muap * rng.uniform(0.7, 1.3)
    return x


def test_sporadic_motor_unit_potentials_raise_the_threshold_instead_of_becoming_twitches() -> None:
    x = _spiky_background(120.0, spikes_per_s=1.0, seed=3)
    off = DetectorConfig(false_alarms_per_min=1e6, min_confidence=0.0)
    loose, _ = detect_array(x, sfreq=SFREQ, ch_names=["A"], config=off)
    default, _ = detect_array(x, sfreq=SFREQ, ch_names=["A"], config=DetectorConfig())
    assert len(loose) >= 5  # without the background's own threshold they are twitches
    assert len(default) / 2.0 <= 1.0  # per minute, with the default target of 0.5/min


def test_a_real_twitch_on_that_background_is_still_found_with_a_confidence() -> None:
    x = _spiky_background(60.0, spikes_per_s=1.0, seed=4)
    rng = np.random.default_rng(5)
    onset = int(40.0 * SFREQ)
    burst = rng.normal(0.0, 30e-6, size=int(0.12 * SFREQ)) * np.hanning(int(0.12 * SFREQ))
    x[0, onset : onset + burst.size] += burst
    twitches, _ = detect_array(x, sfreq=SFREQ, ch_names=["A"], config=DetectorConfig())
    found = [t for t in twitches if abs(t.onset_s - 40.0) < 0.04]
    assert len(found) == 1
    assert 0.5 < found[0].confidence <= 1.0


def test_every_twitch_respects_the_duration_gates() -> None:
    x = _spiky_background(60.0, spikes_per_s=2.0, seed=6)
    config = DetectorConfig(false_alarms_per_min=1e6, min_confidence=0.0)
    twitches, rejected = detect_array(x, sfreq=SFREQ, ch_names=["A"], config=config)
    for t in twitches:
        assert config.min_duration_s <= t.duration_s <= config.max_duration_s
    assert any(r.reason == RejectReason.SHORT for r in rejected) or len(twitches) > 0


def test_confidence_grows_with_evidence_and_stays_within_zero_one() -> None:
    values = [twitch_confidence(g, 20.0, 0.1) for g in (1.0, 20.0, 200.0, 2e4, 1e9)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert values == sorted(values) and values[-1] > 0.99
    assert twitch_confidence(0.0, 20.0, 0.1) == 0.0


def test_min_confidence_rejects_with_a_reason_code() -> None:
    x = _spiky_background(60.0, spikes_per_s=1.0, seed=7)
    rng = np.random.default_rng(8)
    onset = int(30.0 * SFREQ)
    burst = rng.normal(0.0, 12e-6, size=int(0.4 * SFREQ)) * np.hanning(int(0.4 * SFREQ))
    x[0, onset : onset + burst.size] += burst
    strict = DetectorConfig(min_confidence=0.999)
    twitches, rejected = detect_array(x, sfreq=SFREQ, ch_names=["A"], config=strict)
    assert twitches == []
    low = [r for r in rejected if r.reason == RejectReason.LOW_CONFIDENCE]
    assert low and "confidence" in low[0].detail


def test_min_confidence_must_be_a_probability() -> None:
    from twitchscope.signal.core.errors import ConfigError

    with pytest.raises(ConfigError, match="min_confidence"):
        DetectorConfig(min_confidence=1.5)


def test_a_qrs_train_does_not_raise_the_threshold_for_twitches() -> None:
    from tests.signal import ltr_synth as syn

    sfreq = 1000.0
    data = syn.background(sfreq=sfreq, duration_s=60)
    for i in range(70):  # a strong QRS in a third of the segments, every 0.8 s
        qrs = syn.qrs(sfreq=sfreq, amplitude_v=150e-6)
        data = syn.add(data, qrs, sfreq=sfreq, onset_s=2.0 + 0.8 * i)
    onsets = [33.6, 41.6, 48.0]  # half-way between beats
    rng = np.random.default_rng(9)
    for t in onsets:
        burst = rng.normal(0.0, 12e-6, size=int(0.08 * sfreq)) * np.hanning(int(0.08 * sfreq))
        data = syn.add(data, burst, sfreq=sfreq, onset_s=t)
    twitches, rejected = detect_array(data, sfreq=sfreq, ch_names=["A"], config=DetectorConfig())
    assert [round(t.onset_s, 1) for t in twitches] == onsets
    assert sum(r.reason == RejectReason.ECG for r in rejected) > 60


def test_a_lasting_rise_of_the_noise_floor_is_learnt_and_twitches_on_it_are_found() -> None:
    rng = np.random.default_rng(11)
    n = int(60 * SFREQ)
    level = np.where(np.arange(n) < 15 * SFREQ, 2e-6, 8e-6)  # the floor quadruples at 15 s
    x = rng.normal(0.0, 1.0, size=(1, n)) * level
    onsets = [35.0, 45.0]
    for t in onsets:
        i = int(t * SFREQ)
        burst = rng.normal(0.0, 60e-6, size=int(0.1 * SFREQ)) * np.hanning(int(0.1 * SFREQ))
        x[0, i : i + burst.size] += burst
    config = DetectorConfig()
    twitches, rejected = detect_array(x, sfreq=SFREQ, ch_names=["A"], config=config)
    assert [round(t.onset_s, 1) for t in twitches] == onsets
    rise = [r for r in rejected if r.reason == RejectReason.SUSTAINED and r.onset_s < 16.0]
    assert rise and rise[0].offset_s < 15.0 + config.baseline_stale_s + 3.0


@pytest.mark.parametrize("n", [1, 2, 61, 62, 125, 500])
def test_baseline_quantiles_and_median_equal_numpy_bit_for_bit(n: int) -> None:
    from twitchscope.signal.detect.envelope import _QUANTILES, _median, _quantiles

    x = np.abs(np.random.default_rng(n).standard_normal((4, n)))
    np.testing.assert_array_equal(_quantiles(x), np.quantile(x, _QUANTILES, axis=1).T)
    np.testing.assert_array_equal(_median(x), np.median(x, axis=1))
