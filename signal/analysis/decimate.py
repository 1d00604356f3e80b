"""Min–max decimation of traces for display.

A trace of many thousands of samples is drawn on a few hundred pixels. Min–max
decimation keeps, in each bin of ``k`` consecutive samples, the smallest and the
largest value, in the order they occur, so every spike (a twitch, a pop) keeps its
full height on screen however far the view is zoomed out. The output is evenly
spaced (two points per bin, ``dx = k / (2 sfreq)``), so a plot can send ``y`` only
with ``x0``/``dx`` instead of an x array.

The time of a decimated point is exact to within one bin (``k / sfreq``); the
values themselves are exact samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from twitchscope.signal.core.checks import check_sfreq
from twitchscope.signal.core.errors import ConfigError

__all__ = ["DecimatedTraces", "decimate_minmax"]


@dataclass(frozen=True, eq=False, slots=True)
class DecimatedTraces:
    """Evenly spaced display points for several channels.

    Parameters
    ----------
    data : array, shape (n_channels, n_points)
        The kept samples (same unit as the input).
    x0 : float
        Time of the first point, s.
    dx : float
        Spacing between points, s.
    factor : int
        Samples per bin (``1`` when nothing was decimated).
    """

    data: NDArray[np.float64]
    x0: float
    dx: float
    factor: int

    @property
    def n_points(self) -> int:
        """Number of points per channel."""
        return int(self.data.shape[1])

    def times(self) -> NDArray[np.float64]:
        """Times of the points, s, shape (n_points,)."""
        return np.asarray(self.x0 + self.dx * np.arange(self.n_points), dtype=np.float64)


def decimate_minmax(
    data: ArrayLike, *, sfreq: float, n_points: int = 2000, t0: float = 0.0
) -> DecimatedTraces:
    """Reduce each trace to about ``n_points`` points, keeping every extreme.

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Traces (any unit).
    sfreq : float
        Sampling rate of ``data``, Hz.
    n_points : int
        Target number of points per trace (>= 2). Traces not longer than this are
        returned as they are.
    t0 : float
        Time of the first sample, s.

    Returns
    -------
    traces : DecimatedTraces
        At most ``n_points`` points per channel. Each bin of ``factor`` samples
        gives two points: its minimum and its maximum, in time order.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.zeros((1, 10_000)); x[0, 1234] = 5.0
    >>> d = decimate_minmax(x, sfreq=1000.0, n_points=100)
    >>> d.n_points <= 100, float(d.data.max())
    (True, 5.0)
    """
    sfreq = check_sfreq(sfreq)
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim != 2:
        raise ConfigError(
            f"data must be a 2D array of shape (n_channels, n_samples), got shape {arr.shape}."
        )
    if isinstance(n_points, bool) or int(n_points) != n_points or n_points < 2:
        raise ConfigError(f"n_points must be an integer >= 2, got {n_points!r}.")
    n_points = int(n_points)
    n_channels, n_samples = arr.shape
    if n_samples <= n_points:
        return DecimatedTraces(data=arr.copy(), x0=float(t0), dx=1.0 / sfreq, factor=1)
    n_bins = n_points // 2
    k = math.ceil(n_samples / n_bins)
    n_bins = math.ceil(n_samples / k)
    pad = n_bins * k - n_samples
    if pad:
        # repeat the last sample: it already lies in the last bin, so min/max are unchanged
        arr = np.concatenate([arr, np.repeat(arr[:, -1:], pad, axis=1)], axis=1)
    bins = arr.reshape(n_channels, n_bins, k)
    i_min = bins.argmin(axis=2)
    i_max = bins.argmax(axis=2)
    v_min = np.take_along_axis(bins, i_min[..., None], axis=2)[..., 0]
    v_max = np.take_along_axis(bins, i_max[..., None], axis=2)[..., 0]
    min_first = i_min <= i_max
    out = np.empty((n_channels, n_bins, 2))
    out[..., 0] = np.where(min_first, v_min, v_max)
    out[..., 1] = np.where(min_first, v_max, v_min)
    return DecimatedTraces(
        data=out.reshape(n_channels, 2 * n_bins),
        x0=float(t0),
        dx=k / (2.0 * sfreq),
        factor=int(k),
    )
