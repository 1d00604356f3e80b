"""Find where a short multichannel window sits inside a longer signal.

Used to line a received stream up with the signal that was sent: a simulated
amplifier streams from the moment it starts, the host drops whatever arrived before
it opened the port, so the first received sample is some unknown sample of the
simulation. Its index is where the first received samples correlate with the
simulation, found by normalised cross-correlation (insensitive to the gain and offset
a protocol's encoding may add).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.errors import ConfigError

__all__ = ["locate_window"]


def locate_window(
    signal: NDArray[np.float64], window: NDArray[np.float64], *, min_corr: float = 0.95
) -> int | None:
    """Return the sample index of ``signal`` at which ``window`` best fits, or None.

    Parameters
    ----------
    signal : array, shape (n_channels, n_samples)
        The longer signal.
    window : array, shape (n_channels, n_window)
        The piece to find (``n_window`` >= 2, at most ``n_samples``).
    min_corr : float
        Smallest normalised correlation (pooled over channels, each channel's mean
        removed) that counts as a match; below it the window is not in the signal.

    Returns
    -------
    index : int or None
        ``i`` such that ``window`` matches ``signal[:, i:i + n_window]``, or None when
        no position reaches ``min_corr`` (or the window is flat).
    """
    x = np.asarray(signal, dtype=np.float64)
    w = np.asarray(window, dtype=np.float64)
    if x.ndim != 2 or w.ndim != 2 or x.shape[0] != w.shape[0]:
        raise ConfigError(
            f"signal and window must be (n_channels, n_samples) arrays with the same number of "
            f"channels, got {x.shape} and {w.shape}."
        )
    m = w.shape[1]
    if m < 2 or m > x.shape[1]:
        return None
    w = w - w.mean(axis=1, keepdims=True)
    w_energy = float(np.sum(w * w))
    if w_energy <= 0:
        return None
    views = np.lib.stride_tricks.sliding_window_view(x, m, axis=1)  # (n_ch, n_pos, m)
    centred = views - views.mean(axis=2, keepdims=True)
    cross = np.einsum("cpm,cm->p", centred, w)
    energy = np.einsum("cpm,cpm->p", centred, centred)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.where(energy > 0, cross / np.sqrt(energy * w_energy), -np.inf)
    best = int(np.argmax(corr))
    return best if corr[best] >= min_corr else None
