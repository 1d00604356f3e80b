"""The simulated ECG: P-QRS-T beats at jittered, respiration-modulated R times."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.simulate.seeding import STREAM_ECG, keyed_rng
from twitchscope.signal.simulate.specs import SimConfig

__all__ = ["ECG_BEFORE_S", "ECG_AFTER_S", "ecg_beat", "ecg_r_times"]

_ECG_BLOCK = 64  # heartbeats per random block
#: span of a beat before and after its R peak, s
ECG_BEFORE_S, ECG_AFTER_S = 0.30, 0.45


def ecg_beat(t: NDArray[np.float64]) -> NDArray[np.float64]:
    """P-QRS-T beat (R = 1) at times ``t`` relative to the R peak, s."""
    waves = (  # amplitude, centre s, width s
        (0.12, -0.16, 0.025),
        (-0.12, -0.025, 0.008),
        (1.0, 0.0, 0.010),
        (-0.30, 0.025, 0.010),
        (0.25, 0.25, 0.045),
    )
    out = np.zeros_like(t)
    for a, mu, sd in waves:
        out += a * np.exp(-0.5 * ((t - mu) / sd) ** 2)
    return out


def ecg_r_times(config: SimConfig, seed: int, t0: float, t1: float) -> NDArray[np.float64]:
    """Times of the R peaks falling in [t0, t1) seconds."""
    rr = 60.0 / config.ecg_hr_bpm
    phase = float(keyed_rng(seed, STREAM_ECG, 0, 0).uniform(0.2, 1.0)) * rr
    k_lo = max(0, math.floor((t0 - phase) / rr) - 1)
    k_hi = max(-1, math.ceil((t1 - phase) / rr) + 1)
    if k_hi < k_lo:
        return np.zeros(0)
    times = []
    for b in range(k_lo // _ECG_BLOCK, k_hi // _ECG_BLOCK + 1):
        jitter = keyed_rng(seed, STREAM_ECG, 1, b).normal(0.0, 0.02, _ECG_BLOCK)
        ks = b * _ECG_BLOCK + np.arange(_ECG_BLOCK)
        nominal = phase + ks * rr
        tk = nominal + rr * (
            np.clip(jitter, -0.08, 0.08) + 0.03 * np.sin(2 * np.pi * nominal / 4.0)
        )
        times.append(tk)
    tk = np.concatenate(times)
    return tk[(tk >= t0) & (tk < t1)]
