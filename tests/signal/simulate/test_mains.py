"""Tests of the mains interference: its frequency, and aliasing through a device low-pass."""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from tests.signal.simulate.scenarios import busy_config
from twitchscope.signal.simulate import simulate


def test_large_mains_dominates_the_spectrum_at_its_frequency() -> None:
    cfg = busy_config(mains_hz=60.0, mains_v=100e-6, ecg=False)
    sim = simulate(cfg, duration_s=10.0, seed=1)
    freqs, psd = sps.welch(sim.data[1], fs=sim.sfreq, nperseg=1024)
    assert abs(freqs[np.argmax(psd)] - 60.0) <= freqs[1]


def test_low_rate_device_aliases_mains_harmonics() -> None:
    # 250 Hz with a sinc3-like low-pass: the 3rd harmonic of 60 Hz (180 Hz) aliases to 70 Hz
    cfg = busy_config(
        sfreq=250.0,
        mains_hz=60.0,
        mains_v=200e-6,
        mains_harmonics_db=(-80.0, 0.0),
        device_lowpass_hz=65.5,
        ecg=False,
    )
    sim = simulate(cfg, duration_s=10.0, seed=1)
    freqs, psd = sps.welch(sim.data[1], fs=250.0, nperseg=500)
    at = {f: psd[np.argmin(np.abs(freqs - f))] for f in (60.0, 70.0, 80.0)}
    assert at[70.0] > 30 * at[80.0]
    assert at[60.0] > at[70.0]
