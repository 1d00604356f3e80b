"""A threshold set by a false-alarm rate, from the recording's own background.

The detector keeps a candidate only when its evidence for a rise of EMG-band power, the
generalised likelihood ratio ``glr`` (see :mod:`twitchscope.signal.detect.features`), is
larger than the background of *this* recording would give by chance more often than
``false_alarms_per_min``.

The background statistic
    For every quiet baseline segment (the segments the baseline learns from, see
    :mod:`twitchscope.signal.detect.envelope`) and every channel, the largest likelihood
    ratio a background excursion as long as the shortest twitch reaches in that segment:
    with the envelope power ratio ``r(t) = env(t)^2 / median^2``,
    ``g(t) = 0.5 n (r - 1 - ln r)`` for ``r > 1``, ``n = 2 x bandwidth x min_duration_s``
    independent samples, and the segment's statistic is ``max_t g(t)``.
    Gaussian noise gives small values; the sporadic motor-unit potentials and tonic
    activity of a muscle that is not quite relaxed give large ones, so they raise the
    threshold of the recording in which they occur instead of becoming twitches.

The extreme-value fit
    The segment maxima of the last ``far_memory_s`` seconds are fitted per channel with a
    Gumbel distribution through two quantiles, the median and :data:`FIT_QUANTILE` (a
    maximum of many nearly independent values has a Gumbel tail; quantiles, unlike
    moments, ignore the few twitches that fall in quiet segments). The threshold is the
    level that one segment of one channel exceeds with probability
    ``p = false_alarms_per_min / (n_channels x segments per minute)``:
    ``mu - beta ln(-ln(1 - p))``. It is a floor under ``glr_min``; before
    ``far_min_segments`` segments are known, ``glr_min`` alone applies.

Everything is computed from segments aligned on absolute sample indexes, so the threshold
does not depend on how the stream is cut into blocks.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.detect.config import DetectorConfig

__all__ = [
    "segment_statistic",
    "peak_statistic",
    "far_thresholds",
    "append_maxima",
    "background_maxima",
    "FIT_QUANTILE",
]

#: The upper quantile of the segment maxima that, with the median, fixes the Gumbel fit.
#: Robust to the twitches that fall in quiet segments (a few per cent of them). Measured
#: (F1 corpus-dev / corpus-dev-b at 0.5 false alarms per minute): 0.7 -> 0.804 / 0.603,
#: 0.8 -> 0.804 / 0.607, 0.9 -> 0.798 / 0.595, 0.95 -> 0.776 / 0.606; 0.9 is kept because
#: with 0.8 a background with a motor-unit potential every second (a quarter of the
#: segments) gave 5 false twitches per minute instead of none, and the bundled
#: gastrocnemius sample 2 more false twitches.
FIT_QUANTILE = 0.9


def segment_statistic(
    env: NDArray[np.float64], median: NDArray[np.float64], *, n_eff: float
) -> NDArray[np.float64]:
    """Largest likelihood ratio of a background excursion in one segment, per channel.

    Parameters
    ----------
    env : array, shape (n_channels, n_samples)
        Envelope of the segment, V.
    median : array, shape (n_channels,)
        Baseline median of the envelope, V.
    n_eff : float
        Independent samples in a window of ``min_duration_s``.

    Returns
    -------
    stat : array, shape (n_channels,)
    """
    if env.shape[1] == 0:
        return np.zeros(env.shape[0])
    return peak_statistic(env.max(axis=1), median, n_eff=n_eff)


def peak_statistic(
    peak: NDArray[np.float64], median: NDArray[np.float64], *, n_eff: float
) -> NDArray[np.float64]:
    """:func:`segment_statistic` of a segment whose envelope peaks at ``peak`` (per channel)."""
    r = (peak / np.maximum(median, 1e-30)) ** 2
    r = np.maximum(r, 1.0)
    return 0.5 * n_eff * (r - 1.0 - np.log(r))


def append_maxima(
    maxima: NDArray[np.float64],
    segments: NDArray[np.int64],
    stat: NDArray[np.float64],
    *,
    segment_index: int,
    keep: int,
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The ring of segment maxima (n_channels, <= keep) and their segment indexes with one
    more segment, oldest dropped."""
    start = max(0, maxima.shape[1] + 1 - keep)
    return (
        np.concatenate([maxima[:, start:], stat[:, None]], axis=1),
        np.concatenate([segments[start:], np.array([segment_index], dtype=np.int64)]),
    )


def background_maxima(
    maxima: NDArray[np.float64],
    segments: NDArray[np.int64],
    *,
    before_segment: int,
    segment_n: int,
    explained: tuple[tuple[int, int], ...],
    n_kept: int,
) -> NDArray[np.float64]:
    """The segment maxima of the ``n_kept`` segments before ``before_segment`` (the fit's
    memory, in time: segments that were not quiet are missing) that no explained artefact
    touches.

    ``explained`` holds ``(first, end)`` sample spans of candidates rejected for a reason
    (a QRS, a pop, mains, motion, sustained activity): the classifier handles those, so
    they are not the background the false-alarm rate is about (on trunk muscles the QRS
    would otherwise set the threshold).
    """
    keep = (segments < before_segment) & (segments >= before_segment - n_kept)
    if explained:
        keep &= ~_touched(segments, segment_n, np.array(explained, dtype=np.int64))
    return maxima[:, keep][:, -n_kept:]


def _touched(
    segments: NDArray[np.int64], segment_n: int, spans: NDArray[np.int64]
) -> NDArray[np.bool_]:
    """Which segments (indexes ``s``: samples ``s * segment_n`` to ``(s + 1) * segment_n``)
    overlap any of the sample spans, ``spans`` of shape (n_spans, 2) holding ``(first, end)``.

    Segment ``s`` overlaps ``(first, end)`` when ``s * segment_n < end`` and
    ``(s + 1) * segment_n > first``, i.e. ``first // segment_n <= s <=
    (end - 1) // segment_n``: with the segments in increasing order (as the ring keeps
    them), each span covers one run of them, found by bisection.
    """
    if segments.size > 1 and not bool((segments[1:] > segments[:-1]).all()):
        starts = segments * segment_n  # any order: every pair compared
        touched = (starts[None, :] < spans[:, 1:]) & (starts[None, :] + segment_n > spans[:, :1])
        return np.asarray(touched.any(axis=0), dtype=bool)
    lo = np.searchsorted(segments, spans[:, 0] // segment_n, side="left")
    hi = np.searchsorted(segments, (spans[:, 1] - 1) // segment_n, side="right")
    hi = np.maximum(hi, lo)  # a span between two kept segments covers none
    edges = np.bincount(lo, minlength=segments.size + 1) - np.bincount(
        hi, minlength=segments.size + 1
    )
    return np.cumsum(edges[:-1]) > 0


def _quantiles_of_rows(x: NDArray[np.float64], qs: tuple[float, ...]) -> NDArray[np.float64]:
    """``np.quantile(x, qs, axis=1)`` (its default linear method, bit for bit) from one
    sort: the threshold is computed for every candidate, where NumPy's general code
    costs several times the sort."""
    s = np.sort(x, axis=1)
    n = s.shape[1]
    if n == 0 or np.isnan(s[:, -1]).any():  # NumPy's own handling of the odd cases
        out: NDArray[np.float64] = np.quantile(x, list(qs), axis=1)
        return out
    pos = (n - 1) * np.asarray(qs, dtype=np.float64)
    lo = np.floor(pos)
    t = pos - lo
    lo_i = lo.astype(np.intp)
    hi_i = np.minimum(lo_i + 1, n - 1)
    a, b = s[:, lo_i].T, s[:, hi_i].T
    d = b - a
    return np.where((t >= 0.5)[:, None], b - d * (1 - t)[:, None], a + d * t[:, None])


def _gumbel_z(q: float) -> float:
    """The standard Gumbel quantile: ``-ln(-ln q)``."""
    return -math.log(-math.log(q))


def far_thresholds(
    config: DetectorConfig, maxima: NDArray[np.float64], *, n_channels: int
) -> NDArray[np.float64]:
    """Likelihood-ratio threshold per channel for ``config.false_alarms_per_min``.

    Parameters
    ----------
    config : DetectorConfig
    maxima : array, shape (n_rows, n_segments)
        Segment maxima of the background statistic, oldest first: a row per channel
        (or for some of the channels only; each row's threshold depends on that row).
    n_channels : int
        Channels of the stream (the target rate is shared among them).

    Returns
    -------
    thresholds : array, shape (n_rows,)
        ``glr_min`` where too few segments are known, else the larger of ``glr_min``
        and the Gumbel level for the target rate.
    """
    floor = np.full(maxima.shape[0], config.glr_min)
    if maxima.shape[1] < config.far_min_segments:
        return floor
    per_min = 60.0 / config.baseline_segment_s
    p = min(config.false_alarms_per_min / (max(n_channels, 1) * per_min), 0.5)
    q50, q_upper = _quantiles_of_rows(maxima, (0.5, FIT_QUANTILE))
    beta = (q_upper - q50) / (_gumbel_z(FIT_QUANTILE) - _gumbel_z(0.5))
    mu = q50 - beta * _gumbel_z(0.5)
    level = mu - beta * math.log(-math.log1p(-p))
    return np.maximum(floor, level)
