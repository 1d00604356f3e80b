"""Synthetic surface EMG for the detector tests: noise, twitches and confounders (volts)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal


def background(
    *,
    sfreq: float,
    duration_s: float,
    n_channels: int = 1,
    noise_v: float = 3e-6,
    seed: int = 0,
    mains_hz: float = 50.0,
    mains_v: float = 5e-6,
) -> NDArray[np.float64]:
    """White amplifier noise plus a mains hum, shape (n_channels, n)."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sfreq))
    t = np.arange(n) / sfreq
    data = noise_v * rng.standard_normal((n_channels, n))
    return data + mains_v * np.sin(2 * np.pi * mains_hz * t)[None, :]


def emg_burst(
    *, sfreq: float, duration_s: float, peak_v: float, rise_s: float = 0.01, seed: int = 1
) -> NDArray[np.float64]:
    """A twitch-like burst: band-limited noise (30 Hz - 0.4 fs) under a rise/decay envelope,
    scaled so its largest absolute sample is ``peak_v``."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sfreq))
    hi = min(200.0, 0.4 * sfreq)
    sos = signal.butter(4, [30.0, hi], btype="bandpass", fs=sfreq, output="sos")
    pad = int(sfreq * 0.2)
    noise = signal.sosfilt(sos, rng.standard_normal(n + pad))[pad:]
    t = np.arange(n) / sfreq
    env = np.minimum(t / rise_s, 1.0) * np.exp(-np.maximum(t - rise_s, 0) / (duration_s / 3))
    burst = noise * env
    return burst * peak_v / np.abs(burst).max()


def add(
    data: NDArray[np.float64],
    wave: NDArray[np.float64],
    *,
    sfreq: float,
    onset_s: float,
    channel: int = 0,
) -> NDArray[np.float64]:
    """Return ``data`` with ``wave`` added on ``channel`` from ``onset_s``."""
    out = data.copy()
    a = int(round(onset_s * sfreq))
    b = min(out.shape[1], a + wave.size)
    out[channel, a:b] += wave[: b - a]
    return out


def pop(*, sfreq: float, step_v: float = 500e-6, tau_s: float = 0.2) -> NDArray[np.float64]:
    """An electrode pop: a step with exponential recovery."""
    t = np.arange(int(5 * tau_s * sfreq)) / sfreq
    return step_v * np.exp(-t / tau_s)


def qrs(*, sfreq: float, amplitude_v: float = 80e-6, width_s: float = 0.015) -> NDArray[np.float64]:
    """A QRS-like Gaussian complex (energy mostly below 30 Hz), 8 widths long."""
    t = (np.arange(int(8 * width_s * sfreq)) - 4 * width_s * sfreq) / sfreq
    return amplitude_v * np.exp(-0.5 * (t / width_s) ** 2)


def motion(
    *, sfreq: float, freq_hz: float = 4.0, amplitude_v: float = 1e-3, duration_s: float = 0.5
) -> NDArray[np.float64]:
    """A low-frequency wander under a Hann window."""
    n = int(duration_s * sfreq)
    t = np.arange(n) / sfreq
    return amplitude_v * np.hanning(n) * np.sin(2 * np.pi * freq_hz * t)


def sustained(
    *,
    sfreq: float,
    duration_s: float = 2.0,
    rms_v: float = 30e-6,
    ramp_s: float = 0.3,
    seed: int = 2,
) -> NDArray[np.float64]:
    """A voluntary contraction: band-limited noise with slow ramps."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * sfreq)
    hi = min(200.0, 0.4 * sfreq)
    sos = signal.butter(4, [30.0, hi], btype="bandpass", fs=sfreq, output="sos")
    x = signal.sosfilt(sos, rng.standard_normal(n))
    x *= rms_v / x.std()
    t = np.arange(n) / sfreq
    env = np.clip(np.minimum(t / ramp_s, (duration_s - t) / ramp_s), 0, 1)
    return x * env


def mains_surge(
    *,
    sfreq: float,
    duration_s: float = 1.0,
    amplitude_v: float = 150e-6,
    mains_hz: float = 50.0,
    onset_s: float = 0.0,
) -> NDArray[np.float64]:
    """Extra hum (fundamental and 3rd harmonic) switched on for ``duration_s``."""
    n = int(duration_s * sfreq)
    t = onset_s + np.arange(n) / sfreq
    return amplitude_v * (
        np.sin(2 * np.pi * mains_hz * t) + 0.3 * np.sin(2 * np.pi * 3 * mains_hz * t)
    )
