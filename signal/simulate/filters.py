"""Filter designs of the simulator: the tonic sEMG (Shwedyk) shape, the device low-pass, the MUAP band-pass.

Designs are memoised on their (hashable) parameters (pure functions of them); the
cache keeps read-only arrays and callers get copies (scipy's sosfilt needs writable
coefficients).
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import NDArray
from scipy import signal as sps

from twitchscope.signal.simulate.seeding import STREAM_BG_WARM, keyed_rng
from twitchscope.signal.simulate.specs import Range, SimConfig

__all__ = ["shwedyk_sos", "amp_lowpass_sos", "muap_sos", "initial_zi"]


def shwedyk_sos(config: SimConfig) -> NDArray[np.float64]:
    """Tonic sEMG shaping filter (Shwedyk PSD, fl = 60 Hz, fh = 120 Hz) plus device low-pass."""
    return _design_shwedyk(config.sfreq, config.device_lowpass_hz).copy()


def amp_lowpass_sos(config: SimConfig) -> NDArray[np.float64]:
    """Device low-pass scaled to unit output RMS (for the white amplifier noise)."""
    assert config.device_lowpass_hz is not None
    return _design_lowpass(config.sfreq, config.device_lowpass_hz, True).copy()


def muap_sos(config: SimConfig) -> NDArray[np.float64]:
    """MUAP-shaping band-pass of the LTR discharges, plus device low-pass."""
    return _design_muap(config.sfreq, config.ltr.band_hz, config.device_lowpass_hz).copy()


@functools.lru_cache(maxsize=64)
def _design_lowpass(sfreq: float, cutoff: float, unit_rms: bool) -> NDArray[np.float64]:
    sos = sps.butter(3, cutoff, btype="lowpass", fs=sfreq, output="sos")
    return _frozen(_unit_rms(sos, sfreq) if unit_rms else sos)


@functools.lru_cache(maxsize=64)
def _design_shwedyk(sfreq: float, lowpass_hz: float | None) -> NDArray[np.float64]:
    fl, fh = 60.0, 120.0
    z = np.array([0.0])
    p = -2 * np.pi * np.array([fl, fh, fh])
    zd, pd, kd = sps.bilinear_zpk(z, p, 1.0, sfreq)
    sos = sps.zpk2sos(zd, pd, kd)
    if lowpass_hz is not None:
        sos = np.vstack([sos, _design_lowpass(sfreq, lowpass_hz, False)])
    return _frozen(_unit_rms(sos, sfreq))


@functools.lru_cache(maxsize=64)
def _design_muap(sfreq: float, band_hz: Range, lowpass_hz: float | None) -> NDArray[np.float64]:
    high = min(band_hz[1], 0.45 * sfreq)
    low = min(band_hz[0], 0.5 * high)
    sos = sps.butter(2, (low, high), btype="bandpass", fs=sfreq, output="sos")
    if lowpass_hz is not None:
        sos = np.vstack([sos, _design_lowpass(sfreq, lowpass_hz, False)])
    return _frozen(sos)


def _frozen(a: NDArray[np.float64]) -> NDArray[np.float64]:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def _unit_rms(sos: NDArray[np.float64], sfreq: float) -> NDArray[np.float64]:
    """Scale ``sos`` so that unit white noise comes out with unit RMS."""
    impulse = np.zeros(int(sfreq * 2))
    impulse[0] = 1.0
    h = sps.sosfilt(sos, impulse)
    sos = np.array(sos, dtype=np.float64)
    sos[0, :3] /= math.sqrt(float(np.sum(h * h)))
    return sos


def initial_zi(
    config: SimConfig, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Filter states after a warm-up on independent noise (no start-up transient)."""
    n_ch = config.n_channels
    n_warm = int(config.sfreq * 0.5)
    rng = keyed_rng(seed, STREAM_BG_WARM)
    warm = rng.standard_normal((2, n_ch, n_warm))
    tonic = shwedyk_sos(config)
    zi0 = np.zeros((tonic.shape[0], n_ch, 2))
    _, zi_tonic = sps.sosfilt(tonic, warm[0], axis=-1, zi=zi0)
    zi_amp = None
    if config.device_lowpass_hz is not None:
        lp = amp_lowpass_sos(config)
        _, zi_amp = sps.sosfilt(lp, warm[1], axis=-1, zi=np.zeros((lp.shape[0], n_ch, 2)))
    return zi_tonic, zi_amp
