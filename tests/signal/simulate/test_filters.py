"""Tests of the simulator's filter designs: the tonic sEMG spectrum and the cached copies."""

from __future__ import annotations

import numpy as np
from scipy import signal as sps

from twitchscope.signal.simulate import SimConfig
from twitchscope.signal.simulate.filters import amp_lowpass_sos, initial_zi, shwedyk_sos

CFG = SimConfig(sfreq=2000.0)


def _shaped_noise(sos: np.ndarray, n: int = 400_000) -> np.ndarray:
    return sps.sosfilt(sos, np.random.default_rng(0).standard_normal(n))


def test_shwedyk_shapes_unit_noise_to_unit_rms_with_emg_spectrum() -> None:
    y = _shaped_noise(shwedyk_sos(CFG))
    assert abs(np.sqrt(np.mean(y * y)) - 1.0) < 0.02
    freqs, h = sps.sosfreqz(shwedyk_sos(CFG), worN=20_000, fs=CFG.sfreq)
    power = np.abs(h) ** 2
    assert 60.0 < freqs[np.argmax(power)] < 70.0  # peak ≈ 65 Hz
    cum = np.cumsum(power) / np.sum(power)
    assert 85.0 < freqs[np.searchsorted(cum, 0.5)] < 105.0  # median ≈ 96 Hz (analogue)


def test_device_lowpass_keeps_unit_rms() -> None:
    cfg = SimConfig(sfreq=250.0, device_lowpass_hz=65.5)
    y = _shaped_noise(amp_lowpass_sos(cfg))
    assert abs(np.sqrt(np.mean(y * y)) - 1.0) < 0.02


def test_callers_get_writable_copies_of_the_cached_design() -> None:
    a = shwedyk_sos(CFG)
    a[0, 0] = 123.0
    b = shwedyk_sos(CFG)
    assert b[0, 0] != 123.0 and b.flags.writeable


def test_initial_states_depend_on_the_seed_only() -> None:
    zi_a, amp_a = initial_zi(CFG, 1)
    zi_b, _ = initial_zi(CFG, 1)
    zi_c, _ = initial_zi(CFG, 2)
    np.testing.assert_array_equal(zi_a, zi_b)
    assert not np.array_equal(zi_a, zi_c)
    assert zi_a.shape == (shwedyk_sos(CFG).shape[0], CFG.n_channels, 2)
    assert amp_a is None  # no device low-pass, no state
