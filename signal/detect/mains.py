"""Estimate the mains frequency (50 or 60 Hz) from a stretch of signal.

Each hypothesis is scored by how far its lines (fundamental and harmonics, where they
land after aliasing) stand out of the neighbouring spectrum, summed over channels. The
lines common to both hypotheses (at 250 Hz, 300 Hz folds onto 50 Hz) are left out of the
comparison, so they cannot decide it.
"""

from __future__ import annotations

import logging

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from twitchscope.signal.core.checks import check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.detect.filters import mains_notch_frequencies

__all__ = ["estimate_mains", "line_prominence"]

log = logging.getLogger(__name__)


def line_prominence(data: NDArray[np.float64], *, sfreq: float, freqs: tuple[float, ...]) -> float:
    """Sum over channels and ``freqs`` of log10(line power / median power of the neighbourhood).

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Signal, any unit.
    sfreq : float
        Sampling rate, Hz.
    freqs : tuple of float
        Line frequencies, Hz.
    """
    data = np.asarray(data, dtype=np.float64)
    n = data.shape[-1]
    window = np.hanning(n)
    spec = np.abs(np.fft.rfft(signal.detrend(data, axis=-1) * window, axis=-1)) ** 2
    spec = spec.sum(axis=0) + 1e-300
    f_axis = np.fft.rfftfreq(n, 1.0 / sfreq)
    df = f_axis[1] - f_axis[0]
    scores = []
    for f in freqs:
        line = np.abs(f_axis - f) <= max(1.0, 1.5 * df)
        ring = (np.abs(f_axis - f) > 2.0 + 2 * df) & (np.abs(f_axis - f) <= 8.0 + 2 * df)
        if not line.any() or not ring.any():
            continue
        scores.append(float(np.log10(spec[line].max() / np.median(spec[ring]))))
    return float(np.mean(scores)) if scores else 0.0


def estimate_mains(data: NDArray[np.float64], *, sfreq: float, n_harmonics: int = 3) -> int:
    """Return 50 or 60: the mains frequency whose lines stand out more in ``data``.

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Raw signal (at least 0.5 s).
    sfreq : float
        Sampling rate, Hz.
    n_harmonics : int
        Harmonics considered, fundamental included. 3: the strongest lines; higher
        harmonics alias onto each other at low rates and blur the comparison.

    Returns
    -------
    mains_hz : int
        50 or 60. Ties (no line at all) give 50.
    """
    sfreq = check_sfreq(sfreq)
    data = np.atleast_2d(np.asarray(data, dtype=np.float64))
    if data.shape[-1] < int(0.5 * sfreq):
        raise ConfigError(
            f"mains estimation needs at least 0.5 s of signal, got {data.shape[-1]} samples "
            f"at {sfreq:g} Hz."
        )
    lines = {
        hz: set(mains_notch_frequencies(hz, sfreq=sfreq, n_harmonics=n_harmonics))
        for hz in (50, 60)
    }
    common = lines[50] & lines[60]
    scores = {
        hz: line_prominence(data, sfreq=sfreq, freqs=tuple(sorted(lines[hz] - common)))
        for hz in (50, 60)
    }
    best = 60 if scores[60] > scores[50] else 50
    log.info("mains estimate %d Hz (scores 50 Hz %.2f, 60 Hz %.2f)", best, scores[50], scores[60])
    return best
