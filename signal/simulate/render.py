"""Rendering one generation segment: background EMG, planned bursts, mains and ECG summed.

What is in the signal
---------------------
- **Background**: white amplifier noise plus low tonic sEMG shaped by the Shwedyk
  spectrum ``P(f) ∝ f² / ((f² + fl²)(f² + fh²)²)`` with fl = 60 Hz, fh = 120 Hz
  (peak ≈ 65 Hz, median ≈ 96 Hz), together ``baseline_rms_v`` RMS per channel.
- **Mains** 50 or 60 Hz plus harmonics, common to all channels. Harmonics at or above
  Nyquist are left out (ideal anti-alias filter) unless a device low-pass is set, in
  which case they are attenuated by it and alias, as on an ADS1299 at 250 SPS.
- **ECG** (optional): P-QRS-T beats from a sum of Gaussians, R amplitude per channel,
  heart rate with beat-to-beat jitter and respiratory modulation.
- **LTRs**: during each needle site the needle is inserted every
  ``insertion_interval_s``; an insertion elicits an LTR with ``ltr_probability``, after
  a latency of 5–60 ms. An LTR is a train of motor-unit discharges (5–30 units at
  20–50 Hz) shaped by a 50–250 Hz band-pass (a MUAP-like wavelet), under an envelope
  that rises in 5–15 ms, holds 0–100 ms and decays with τ = 15–80 ms (50–355 ms in
  all). Its peak RMS is ``snr`` × the channel's baseline RMS for the first twitch of a
  bout, multiplied by ``habituation`` for each following twitch until the
  ``habituation_n``-th, then stable. It spreads to neighbouring channels with gain
  ``exp(-distance / spread_cm)`` (channels below ``min_spread_gain`` get nothing).
- **Confounders**: needle-handling transients at insertions (1–15 Hz, all channels),
  electrode pops (step then exponential decay, one channel), electrode motion
  (0.5–10 Hz, one channel), voluntary guarding (1–5 s of sEMG with 0.2–0.5 s ramps,
  2–10× baseline), and mains surges (mains × 3–10 for 0.5–3 s).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy import signal as sps

from twitchscope.signal.simulate.ecg import ECG_AFTER_S, ECG_BEFORE_S, ecg_beat, ecg_r_times
from twitchscope.signal.simulate.filters import amp_lowpass_sos, shwedyk_sos
from twitchscope.signal.simulate.mains import mains_wave
from twitchscope.signal.simulate.plans import Burst, Surge, plan_window, site_plans, windows_between
from twitchscope.signal.simulate.seeding import STREAM_BG, keyed_rng
from twitchscope.signal.simulate.specs import SimConfig
from twitchscope.signal.simulate.waveforms import waveform

__all__ = ["segment_len", "render_segment"]

_SEGMENT_S = 1.0  # length of a generation segment


def segment_len(config: SimConfig) -> int:
    """Number of samples in one generation segment of ``config`` (at least 1)."""
    return max(1, int(round(config.sfreq * _SEGMENT_S)))


def render_segment(
    config: SimConfig,
    seed: int,
    k: int,
    zi_tonic: NDArray[np.float64],
    zi_amp: NDArray[np.float64] | None,
    *,
    cycling: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
    """Render segment ``k`` (samples [k L, (k + 1) L)) and return the new filter states."""
    fs = config.sfreq
    seg_len = segment_len(config)
    s0, s1 = k * seg_len, (k + 1) * seg_len
    t0, t1 = s0 / fs, s1 / fs
    n_ch = config.n_channels
    rms = np.asarray(config.baseline_rms_v)[:, None]
    share = config.amp_noise_share

    noise = keyed_rng(seed, STREAM_BG, k).standard_normal((2, n_ch, seg_len))
    tonic, zi_tonic = sps.sosfilt(shwedyk_sos(config), noise[0], axis=-1, zi=zi_tonic)
    amp = noise[1]
    if zi_amp is not None:
        amp, zi_amp = sps.sosfilt(amp_lowpass_sos(config), amp, axis=-1, zi=zi_amp)
    out = rms * (math.sqrt(1 - share) * tonic + math.sqrt(share) * amp)

    bursts: list[Burst] = []
    surges: list[Surge] = []
    for plan in site_plans(config, seed, t0, t1, cycling=cycling):
        bursts.extend(plan.ltrs)
        bursts.extend(plan.handling)
    for w in windows_between(config, t0, t1):
        window_bursts, window_surges = plan_window(config, seed, w)
        bursts.extend(window_bursts)
        surges.extend(window_surges)
    for burst in bursts:
        if burst.n1 <= s0 or burst.n0 >= s1:
            continue
        wave = waveform(config, seed, burst)
        a, b = max(burst.n0, s0), min(burst.n1, s1)
        out[:, a - s0 : b - s0] += (
            np.asarray(burst.gains)[:, None] * wave[a - burst.n0 : b - burst.n0]
        )

    n_idx = np.arange(s0, s1)
    if config.mains_v > 0:
        out += mains_wave(config, seed, n_idx, surges)[None, :]
    if config.ecg:
        t = n_idx / fs
        ecg = np.zeros(seg_len)
        for r in ecg_r_times(config, seed, t0 - ECG_AFTER_S, t1 + ECG_BEFORE_S):
            a = max(0, math.ceil((r - ECG_BEFORE_S) * fs) - s0)
            b = min(seg_len, math.floor((r + ECG_AFTER_S) * fs) + 1 - s0)
            if b > a:
                ecg[a:b] += ecg_beat(t[a:b] - r)
        out += np.asarray(config.ecg_r_v)[:, None] * ecg[None, :]
    return out, zi_tonic, zi_amp
