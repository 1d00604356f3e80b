"""Tests of the simulated ECG: beat shape and R-peak times."""

from __future__ import annotations

import numpy as np

from twitchscope.signal.simulate import SimConfig
from twitchscope.signal.simulate.ecg import ecg_beat, ecg_r_times

CFG = SimConfig(sfreq=500.0, ecg=True, ecg_hr_bpm=75.0, ecg_r_v=(2e-5, 0.0))


def test_beat_peaks_at_r_with_unit_height() -> None:
    t = np.linspace(-0.3, 0.45, 751)
    beat = ecg_beat(t)
    assert t[np.argmax(beat)] == 0.0
    assert 0.95 < beat.max() < 1.1
    assert abs(beat[0]) < 0.01 and abs(beat[-1]) < 0.01


def test_r_times_follow_the_heart_rate_with_jitter() -> None:
    r = ecg_r_times(CFG, 3, 0.0, 120.0)
    assert np.all((r >= 0.0) & (r < 120.0))
    rr = np.diff(r)
    assert np.all(rr > 0)
    assert abs(np.mean(rr) - 60.0 / 75.0) < 0.01
    assert 0.005 < np.std(rr) < 0.1  # beat-to-beat variation, not a metronome
    assert abs(len(r) - 150) <= 2


def test_r_times_do_not_depend_on_the_window() -> None:
    whole = ecg_r_times(CFG, 3, 0.0, 200.0)
    edges = [0.0, 0.4, 37.3, 51.2, 51.21, 200.0]  # across heartbeat blocks of 64
    parts = [ecg_r_times(CFG, 3, a, b) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    np.testing.assert_array_equal(np.concatenate(parts), whole)
    assert not np.array_equal(ecg_r_times(CFG, 4, 0.0, 200.0)[:10], whole[:10])
