"""Amplitude envelope (TKEO or RMS) and the robust adaptive baseline it is compared with.

Envelope
    At ``sfreq >= tkeo_min_sfreq`` the Teager-Kaiser energy
    ``psi[n] = x[n]^2 - x[n-1] x[n+1]`` (Solnik et al. 2010, lit §4) is rectified and
    smoothed by a causal 2nd-order low-pass; below that rate the squared signal is
    smoothed instead (a moving RMS, lit §3.3). The envelope is the square root of the
    smoothed energy, so both methods give volts. TKEO needs one sample ahead, so its
    value at ``n`` uses ``x[n-2..n]`` (a one-sample delay, handled by onset refinement).

Baseline
    The stream is cut into fixed segments aligned on absolute sample indexes. Each segment
    in which at most ``baseline_max_active`` of the samples were active contributes ten
    envelope quantiles (5 %, 15 %, ... 95 %) to a ring of the last
    ``baseline_n_segments`` such segments. Segments dominated by activity (a sustained
    contraction) are left out, and the median and MAD of the pooled quantiles ignore the
    short bursts that remain (robust statistics), so the baseline does not learn from
    bursts; excluding every segment a burst touches would instead bias the baseline low
    and let the threshold creep down. The thresholds are

    ``on = median + k_on * 1.4826 * MAD`` and ``off = median + k_off * 1.4826 * MAD``.

    Because segments are aligned on sample indexes, the thresholds do not depend on how
    the stream is cut into blocks.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.false_alarms import append_maxima, peak_statistic
from twitchscope.signal.detect.filters import sosfilt_block

__all__ = [
    "EnvelopeDesign",
    "EnvelopeState",
    "design_envelope",
    "init_envelope_state",
    "envelope_block",
    "BaselineState",
    "init_baseline_state",
    "baseline_thresholds",
    "update_baseline",
]

MAD_TO_SD = 1.4826


@dataclass(frozen=True, eq=False, slots=True)
class EnvelopeDesign:
    """How the envelope is computed: ``method`` ("tkeo" or "rms") and its smoothing SOS."""

    method: str
    sos: NDArray[np.float64]
    sfreq: float


@dataclass(frozen=True, eq=False, slots=True)
class EnvelopeState:
    """Last two input samples (for TKEO) and the smoothing filter's delay line."""

    tail: NDArray[np.float64]  # (n_channels, 2)
    zi: NDArray[np.float64]  # (n_sections, n_channels, 2)


def design_envelope(config: DetectorConfig, *, sfreq: float) -> EnvelopeDesign:
    """Choose TKEO or RMS for ``sfreq`` (see ``DetectorConfig.envelope_method``) and design
    the smoothing low-pass."""
    method = config.envelope_for(sfreq)
    corner = config.tkeo_lp_hz if method == "tkeo" else config.rms_lp_hz
    if corner >= sfreq / 2:
        raise ConfigError(
            f"envelope low-pass {corner:g} Hz must be below Nyquist ({sfreq / 2:g} Hz)."
        )
    sos = signal.butter(2, corner, btype="lowpass", fs=sfreq, output="sos")
    return EnvelopeDesign(method=method, sos=sos, sfreq=float(sfreq))


def init_envelope_state(design: EnvelopeDesign, n_channels: int) -> EnvelopeState:
    """Zero state for ``n_channels`` channels."""
    return EnvelopeState(
        tail=np.zeros((n_channels, 2)), zi=np.zeros((design.sos.shape[0], n_channels, 2))
    )


def envelope_block(
    design: EnvelopeDesign, x: NDArray[np.float64], state: EnvelopeState
) -> tuple[NDArray[np.float64], EnvelopeState]:
    """Envelope (V) of one conditioned block, shape (n_channels, n_samples); state untouched."""
    if x.shape[1] == 0:
        return x.copy(), state
    if design.method == "tkeo":
        ext = np.concatenate([state.tail, x], axis=1)
        energy = np.abs(ext[:, 1:-1] ** 2 - ext[:, :-2] * ext[:, 2:])
        tail = ext[:, -2:].copy()
    else:
        energy = x * x
        tail = state.tail
    smooth, zf = sosfilt_block(design.sos, energy, state.zi, overwrite_x=True)  # energy: ours
    env = np.sqrt(np.maximum(smooth, 0.0, out=smooth), out=smooth)  # its own array
    return env, EnvelopeState(tail=tail, zi=zf)


@dataclass(frozen=True, eq=False, slots=True)
class BaselineState:
    """Ring of quiet-segment statistics plus the segment being filled.

    Parameters
    ----------
    quantiles : array, shape (n_channels, 10 * n_kept)
        Envelope quantiles of the last admitted segments, oldest first.
    segment : array, shape (n_channels, n_in_segment)
        Envelope samples of the current segment so far.
    segment_active : int
        Number of active samples in the current segment.
    segment_index : int
        Index of the current segment (absolute sample // segment length).
    last_quiet_segment : int
        Index of the last quiet segment admitted to the ring (-1 before any); while none
        has closed for ``stale_segments``, every segment is admitted.
    stats : tuple of arrays or None
        ``(median, robust SD)`` per channel over the ring, computed when the ring changes
        (None while it is empty).
    maxima : array, shape (n_channels, n_far)
        The background statistic of the last admitted segments, oldest first (see
        :mod:`twitchscope.signal.detect.false_alarms`).
    maxima_segments : array of int, shape (n_far,)
        The segment index of each column of ``maxima``.
    """

    quantiles: NDArray[np.float64]
    segment: NDArray[np.float64]
    segment_active: int = 0
    segment_index: int = 0
    last_quiet_segment: int = -1
    stats: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
    maxima: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 0)))
    maxima_segments: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def init_baseline_state(n_channels: int) -> BaselineState:
    """Empty baseline for ``n_channels`` channels."""
    empty = np.zeros((n_channels, 0))
    return BaselineState(quantiles=empty, segment=empty, maxima=empty)


def baseline_thresholds(
    config: DetectorConfig, state: BaselineState, *, k_on: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]] | None:
    """Return ``(on, off, median)`` thresholds per channel in volts, or None before any segment."""
    if state.stats is None:
        return None
    med, spread = state.stats
    on = med + k_on * spread
    off = med + config.k_off * spread
    return on, off, med


_QUANTILES = np.linspace(0.05, 0.95, 10)


def _quantiles(seg: NDArray[np.float64]) -> NDArray[np.float64]:
    """``np.quantile(seg, _QUANTILES, axis=1).T`` (its default linear method, bit for bit)
    from one sort: the baseline computes it for every segment of every stream. (The
    order statistics are the same values whatever puts them in place; NumPy's sort of a
    segment costs half its partition at twenty positions.)"""
    return _sorted_quantiles(np.sort(seg, axis=1))


def _sorted_quantiles(s: NDArray[np.float64]) -> NDArray[np.float64]:
    """:func:`_quantiles` of a segment already sorted along its rows."""
    lo, hi, t, upper = _quantile_positions(s.shape[1])
    a, b = s[:, lo], s[:, hi]
    d = b - a
    return np.where(upper, b - d * (1 - t), a + d * t)


@functools.lru_cache(maxsize=16)
def _quantile_positions(
    n: int,
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64], NDArray[np.bool_]]:
    """For :func:`_quantiles` of ``n`` samples: the lower and upper neighbour of each
    quantile among the sorted samples, the interpolation weight and where it is >= 0.5."""
    pos = _QUANTILES * (n - 1)
    lo = np.floor(pos).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    t = pos - lo
    return lo, hi, t, t >= 0.5


def _median(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``np.median(x, axis=1)`` (bit for bit) through one partition."""
    n = x.shape[1]
    k = n // 2
    if n % 2:
        return np.partition(x, k, axis=1)[:, k]
    p = np.partition(x, [k - 1, k], axis=1)
    return (p[:, k - 1] + p[:, k]) / 2


def _median_and_mad(x: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``(m, _median(np.abs(x - m[:, None])))`` with ``m = _median(x)``, bit for bit, from
    one sort of ``x`` (n >= 1 columns).

    Once ``x`` is sorted (``s``), the deviations below the median (``m - s[j]``, the
    same values as ``abs(s[j] - m)``: a float difference only changes sign when its
    operands swap) fall as ``j`` rises and those above it (``s[j] - m``) rise. Paired
    in that order, the element-wise minima hold the lower half of all the deviations
    and the maxima the upper half (a bitonic half-cleaner), so the median of the
    deviations is the largest of the lower half (and, for an even count, that and the
    smallest of the upper): no second partition. Rows with a NaN or an infinite value
    go through :func:`_median` twice instead.
    """
    n = x.shape[1]
    k = n // 2
    s = np.sort(x, axis=1)
    if n % 2:
        med = s[:, k].copy()
        below, above = s[:, :k], s[:, k + 1 :]  # pairs s[j] with s[k + 1 + j], j < k
    else:
        med = (s[:, k - 1] + s[:, k]) / 2
        below, above = s[:, :k], s[:, k:]
    # (a finite median of an even count lies between its two neighbours, the sum and the
    # halving both rounding monotonically, so the deviations' signs are known)
    if k == 0 or not np.isfinite(s[:, -1] - med).all():  # a NaN, or an infinite value
        m = _median(x)
        return m, _median(np.abs(x - m[:, None]))
    m_col = med[:, None]
    low = m_col - below
    high = above - m_col
    lower = np.minimum(low, high).max(axis=1)
    if n % 2:  # the zero deviation of the median itself is the smallest of all
        return med, lower
    return med, (lower + np.maximum(low, high).min(axis=1)) / 2


def update_baseline(
    config: DetectorConfig,
    state: BaselineState,
    env: NDArray[np.float64],
    n_active: int,
    *,
    segment_index: int,
    segment_complete: bool,
    stale_segments: int,
    settle_segments: int = 0,
    far_n_eff: float = 0.0,
    far_segments: int = 1,
) -> BaselineState:
    """Add envelope samples of one segment; close the segment when ``segment_complete``.

    ``env`` (n_channels, n) must belong to ``segment_index``; ``n_active`` of its samples
    were active (on any channel).
    A closed segment enters the ring when at most ``baseline_max_active`` of its samples
    were active, or when no quiet segment has closed for ``stale_segments`` segments (so a
    lasting rise of the noise floor is learnt). Segments before ``settle_segments`` (filter
    start-up) never enter. An admitted segment also adds its background statistic
    (:func:`~twitchscope.signal.detect.false_alarms.segment_statistic` with ``far_n_eff``
    samples, against the median before it) to a ring of ``far_segments`` (which must hold
    the segments a candidate can span and wait for, beyond the ones the fit uses).
    """
    if segment_index != state.segment_index or state.segment.shape[1] == 0:
        seg = env
    else:
        seg = np.concatenate([state.segment, env], axis=1)
        n_active += state.segment_active
    if not segment_complete:
        return BaselineState(
            quantiles=state.quantiles,
            segment=seg,
            segment_active=n_active,
            segment_index=segment_index,
            last_quiet_segment=state.last_quiet_segment,
            stats=state.stats,
            maxima=state.maxima,
            maxima_segments=state.maxima_segments,
        )
    settled = segment_index >= settle_segments
    stale = settled and segment_index - state.last_quiet_segment > stale_segments
    quiet = settled and n_active <= config.baseline_max_active * seg.shape[1]
    quantiles, last = state.quantiles, state.last_quiet_segment
    stats = state.stats
    maxima, maxima_segments = state.maxima, state.maxima_segments
    if seg.shape[1] > 0 and (quiet or stale):
        ordered = np.sort(seg, axis=1)  # its last column is the segment's peak
        if stats is not None:
            stat = peak_statistic(ordered[:, -1], stats[0], n_eff=far_n_eff)
            maxima, maxima_segments = append_maxima(
                maxima, maxima_segments, stat, segment_index=segment_index, keep=far_segments
            )
        keep = config.baseline_n_segments - 1
        if stale and not quiet:  # a new level: forget most of the old one
            keep = min(keep, max(config.baseline_n_segments // 8, 1))
        q = _sorted_quantiles(ordered)
        quantiles = np.concatenate(
            [
                quantiles[:, max(0, quantiles.shape[1] - 10 * keep) :]
                if keep
                else quantiles[:, :0],
                q,
            ],
            axis=1,
        )
        if quiet:
            last = segment_index  # a stale segment enters without ending the stale spell
        med, mad = _median_and_mad(quantiles)
        spread = MAD_TO_SD * mad
        stats = (med, spread)
    return BaselineState(
        quantiles=quantiles,
        segment=env[:, :0],
        segment_active=0,
        segment_index=segment_index + 1,
        last_quiet_segment=last,
        stats=stats,
        maxima=maxima,
        maxima_segments=maxima_segments,
    )
