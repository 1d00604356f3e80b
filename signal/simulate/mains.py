"""Mains interference: the fundamental and its harmonics, common to every channel, with surges."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.simulate.plans import Surge
from twitchscope.signal.simulate.seeding import STREAM_MAINS, keyed_rng
from twitchscope.signal.simulate.specs import SimConfig

__all__ = ["mains_wave"]


def mains_wave(
    config: SimConfig, seed: int, n_idx: NDArray[np.int64], surges: list[Surge]
) -> NDArray[np.float64]:
    """Mains interference at the sample indices ``n_idx``, V (one row for every channel).

    Parameters
    ----------
    config : SimConfig
        The scenario (mains frequency, level, harmonics, device low-pass).
    seed : int
        Seed of the simulation (fixes the harmonics' phases).
    n_idx : array of int, shape (n_samples,)
        Consecutive sample indices from the start of the stream.
    surges : list of Surge
        Mains surges; those overlapping ``n_idx`` raise the level with 20 ms ramps.

    Returns
    -------
    wave : array, shape (n_samples,)
    """
    fs = config.sfreq
    levels = [1.0, *(10 ** (db / 20) for db in config.mains_harmonics_db)]
    phases = _mains_phases(seed, len(levels))
    wave = np.zeros(n_idx.shape[0])
    for h, (level, phase) in enumerate(zip(levels, phases, strict=True), start=1):
        freq = h * config.mains_hz
        if config.device_lowpass_hz is None:
            if freq >= fs / 2:
                continue
            gain = 1.0
        else:
            gain = 1.0 / math.sqrt(1.0 + (freq / config.device_lowpass_hz) ** 6)
        cycles = np.mod(n_idx * (freq / fs), 1.0)
        wave += level * gain * np.sin(2 * np.pi * (cycles + phase))
    env = np.ones(n_idx.shape[0])
    n_ramp = max(1, int(0.02 * fs))
    for s in surges:
        if s.n1 <= n_idx[0] or s.n0 > n_idx[-1]:
            continue
        pos = n_idx - s.n0
        length = s.n1 - s.n0
        inside = (pos >= 0) & (pos < length)
        shape = np.minimum(1.0, np.minimum(pos + 1, length - pos) / n_ramp)
        env[inside] += (s.gain - 1.0) * shape[inside]
    return config.mains_v * env * wave


def _mains_phases(seed: int, n: int) -> NDArray[np.float64]:
    return keyed_rng(seed, STREAM_MAINS).uniform(0.0, 1.0, n)
