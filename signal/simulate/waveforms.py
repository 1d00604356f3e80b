"""Unit waveforms of planned bursts: LTR motor-unit trains, pops, motion, needle handling, guarding."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import signal as sps

from twitchscope.signal.simulate.filters import muap_sos, shwedyk_sos
from twitchscope.signal.simulate.plans import (
    K_GUARD,
    K_HANDLING,
    K_LTR,
    K_MOTION,
    K_POP,
    Burst,
    lerp,
)
from twitchscope.signal.simulate.seeding import keyed_rng
from twitchscope.signal.simulate.specs import LTR_CUT, SimConfig

__all__ = ["waveform"]


def waveform(config: SimConfig, seed: int, burst: Burst) -> NDArray[np.float64]:
    """Unit waveform of ``burst`` over its whole span (deterministic from its key)."""
    fs = config.sfreq
    m = burst.n1 - burst.n0
    t = np.arange(m) / fs
    rng = keyed_rng(seed, *burst.key)
    if burst.kind == K_LTR:
        rise, plateau, tau, u_mu, u_rate = burst.params
        lo, hi = config.ltr.n_motor_units
        n_mu = int(round(lo + (hi - lo) * u_mu))
        train = np.zeros(m)
        dur = m / fs
        for _ in range(n_mu):
            rate = lerp(config.ltr.firing_rate_hz, u_rate) * rng.uniform(0.8, 1.2)
            isi = 1.0 / rate
            n_fire = int(dur * rate) + 2
            times = rng.uniform(0, isi) + np.cumsum(
                np.r_[0.0, isi * (1 + 0.1 * rng.standard_normal(n_fire - 1))]
            )
            idx = np.round(times[times < dur] * fs).astype(np.int64)
            idx = idx[idx < m]
            amp = rng.lognormal(0.0, 0.5) * rng.choice((-1.0, 1.0))
            np.add.at(train, idx, amp)
        carrier = sps.sosfilt(muap_sos(config), train)
        rms = float(np.sqrt(np.mean(carrier * carrier)))
        if rms > 0:
            carrier /= rms
        return carrier * _ltr_envelope(t, rise, plateau, tau)
    if burst.kind == K_POP:
        (tau,) = burst.params
        w = np.exp(-t / tau)
        n_taper = max(1, int(0.3 * m))
        w[m - n_taper :] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, n_taper)))
        return w
    if burst.kind in (K_MOTION, K_HANDLING):
        freq, u_phase = burst.params
        w = np.hanning(m + 2)[1:-1] * np.sin(2 * np.pi * (freq * t + u_phase))
        peak = float(np.max(np.abs(w)))
        return w / peak if peak > 0 else w
    if burst.kind == K_GUARD:
        (ramp,) = burst.params
        n_warm = int(0.2 * fs)
        noise = rng.standard_normal(m + n_warm)
        carrier = sps.sosfilt(shwedyk_sos(config), noise)[n_warm:]
        rms = float(np.sqrt(np.mean(carrier * carrier)))
        if rms > 0:
            carrier /= rms
        env = np.ones(m)
        n_ramp = min(m // 2, max(1, int(ramp * fs)))
        up = 0.5 * (1 - np.cos(np.linspace(0, np.pi, n_ramp)))
        env[:n_ramp] = up
        env[m - n_ramp :] = up[::-1]
        return carrier * env
    raise AssertionError(f"unknown burst kind {burst.kind}")


def _ltr_envelope(
    t: NDArray[np.float64], rise: float, plateau: float, tau: float
) -> NDArray[np.float64]:
    """Raised-cosine rise, plateau, exponential decay reaching exactly 0 at the 5 % point."""
    env = np.zeros_like(t)
    r = t < rise
    env[r] = 0.5 * (1 - np.cos(np.pi * t[r] / rise))
    p = (t >= rise) & (t < rise + plateau)
    env[p] = 1.0
    d = t >= rise + plateau
    decay = np.exp(-(t[d] - rise - plateau) / tau)
    env[d] = np.clip((decay - LTR_CUT) / (1 - LTR_CUT), 0.0, None)
    return env
