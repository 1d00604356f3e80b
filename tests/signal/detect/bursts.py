"""A quiet two-channel stream with one EMG burst: the test signal of provisional twitches."""

from __future__ import annotations

import numpy as np

SFREQ = 1000.0
CH = ("APB", "FDI")
BURST_AT_S = 5.0


def burst_stream(burst_s: float, *, seed: int = 0) -> np.ndarray:
    """8 s of quiet EMG (5 µV RMS) with one burst on FDI (80 µV RMS, tapered) at 5 s."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, int(8 * SFREQ))) * 5e-6
    a, n = int(BURST_AT_S * SFREQ), int(burst_s * SFREQ)
    x[1, a : a + n] += rng.standard_normal(n) * 80e-6 * np.hanning(n) ** 0.25
    return x
