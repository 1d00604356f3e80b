"""Per-candidate measurements: refined onset, offset, amplitudes, SNR, area, spectrum, shape.

These functions work on the stretch of signal the detector kept around one candidate
(a :class:`CandidateWindow`), so they see exactly the same samples however the stream
was cut into blocks.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.detect.config import DetectorConfig

__all__ = [
    "CHI2_1_MEDIAN",
    "CandidateWindow",
    "CandidateFeatures",
    "refine_onset",
    "median_frequency",
    "mains_line_ratio",
    "mains_line_stats",
    "measure_candidate",
    "median_of_rows",
]

# median of a chi-square variable with one degree of freedom: median(x^2) = 0.4549 sigma^2
CHI2_1_MEDIAN = 0.454936


@dataclass(frozen=True, eq=False, slots=True)
class CandidateWindow:
    """The samples around one candidate, all arrays shape (n_channels, n).

    Parameters
    ----------
    first_sample : int
        Absolute index of column 0.
    start, end : int
        Absolute indexes of the first active sample and one past the last active one.
    cond, lf, raw_mains, env : array
        Conditioned signal, 1-20 Hz band of the raw signal, raw power around the mains
        lines (see the detector), envelope.
    on, off, env_median : array, shape (n_channels,)
        Thresholds and envelope median at the time of the candidate.
    sfreq : float
        Sampling rate, Hz.
    mains_lines_hz : tuple of float
        Where the mains lines sit after aliasing (the notch frequencies), Hz.
    """

    first_sample: int
    start: int
    end: int
    cond: NDArray[np.float64]
    lf: NDArray[np.float64]
    env: NDArray[np.float64]
    on: NDArray[np.float64]
    off: NDArray[np.float64]
    env_median: NDArray[np.float64]
    sfreq: float
    mains_lines_hz: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class CandidateFeatures:
    """What :func:`measure_candidate` found (times in s, amplitudes in V)."""

    onset_s: float
    offset_s: float
    channel_index: int
    channel_indexes: tuple[int, ...]
    peak_v: float
    rms_v: float
    snr_db: float
    area_vs: float
    median_freq_hz: float | None
    rise_s: float
    crest: float
    lf_ratio: float
    step_ratio: float
    power_ratio: float
    glr: float
    mains_line_ratio: float
    duration_s: float
    mains_share: float = 1.0  # share of the burst's excess power in the mains lines
    mains_fit_share: float = 0.0  # energy share one mains sinusoid explains (last window)
    pre_level: float = 1.0  # envelope before the onset over the baseline median


@functools.lru_cache(maxsize=64)
def _hann(n: int) -> NDArray[np.float64]:
    """``np.hanning(n)``, computed once per length (read-only)."""
    win = np.hanning(n)
    win.setflags(write=False)
    return win


#: Up to this many samples a sort finds a median faster than NumPy's partition.
_SORT_MAX = 256


def _median(x: NDArray[np.float64]) -> float:
    """``float(np.median(x))`` of a 1-D array (bit for bit): the measurements take several
    medians per candidate, where NumPy's general code costs more than finding the middle."""
    return float(median_of_rows(x[None, :])[0])


def median_of_rows(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """``np.median(x, axis=1)`` of a 2-D array (bit for bit) through one sort (short rows)
    or one partition at the middle: the order statistics are the same values whatever
    puts them in place, and for an even count the one below the middle is the largest
    of the lower part the partition leaves."""
    n = x.shape[1]
    if n == 0 or x.shape[0] == 0 or np.isnan(x).any():  # NumPy's own result
        out: NDArray[np.float64] = np.median(x, axis=1)
        return out
    k = n // 2
    if n <= _SORT_MAX:
        s = np.sort(x, axis=1)
        return s[:, k].copy() if n % 2 else (s[:, k - 1] + s[:, k]) / 2
    p = np.partition(x, k, axis=1)
    if n % 2:
        return p[:, k].copy()
    return (p[:, :k].max(axis=1) + p[:, k]) / 2


def _mean(x: NDArray[np.float64]) -> float:
    """``float(np.mean(x))`` of a 1-D float64 array (bit for bit): its sum over its size."""
    n = x.size
    if n == 0:
        return float(np.mean(x))  # NaN, with NumPy's warning
    return float(np.add.reduce(x, axis=None)) / n


def refine_onset(x: NDArray[np.float64], *, noise_var: float, lo: int, hi: int) -> int:
    """Maximum-likelihood change point of the variance in ``x[lo:hi]``.

    Before the change the samples are zero-mean Gaussian with the known ``noise_var``;
    after it, with a variance estimated from the samples themselves (a one-sided
    version of the ML refinement of Staude et al. 2001, lit §4).

    Returns
    -------
    k : int
        Index into ``x`` (``lo < k < hi``) of the first sample of the burst.
    """
    seg = x[lo:hi] ** 2
    n = seg.size
    if n < 3 or noise_var <= 0:
        return lo + n // 2
    csum = np.concatenate([[0.0], np.cumsum(seg)])
    ks = np.arange(1, n - 1)  # change after ks samples
    pre = csum[ks]
    post = csum[n] - csum[ks]
    n_post = n - ks
    var_post = np.maximum(post / n_post, noise_var * 1e-6)
    ll = (
        -0.5 * ks * math.log(noise_var)
        - pre / (2 * noise_var)
        - 0.5 * n_post * np.log(var_post)
        - 0.5 * n_post
    )
    return lo + int(ks[int(np.argmax(ll))])


def median_frequency(x: NDArray[np.float64], *, sfreq: float) -> float:
    """Frequency below which half the power of ``x`` lies (Hann-windowed periodogram), Hz."""
    spec = np.abs(np.fft.rfft((x - x.mean()) * _hann(x.size))) ** 2
    freqs = np.fft.rfftfreq(x.size, 1.0 / sfreq)
    cum = np.cumsum(spec)
    if cum[-1] <= 0:
        return math.nan
    return float(freqs[int(np.searchsorted(cum, cum[-1] / 2))])


def mains_line_ratio(x: NDArray[np.float64], *, sfreq: float, lines_hz: tuple[float, ...]) -> float:
    """How far the strongest mains line stands out of its neighbourhood in ``x``.

    For each line: mean periodogram power within max(1.5 Hz, 1 bin) of it, over the median
    power 4-15 Hz away from it (Hann window). White noise gives about 1; the residue of a
    mains surge that the notches are still ringing out sits exactly on the line and gives
    tens to thousands (a steady residual hum also stands out, less). Returns the largest.
    """
    return mains_line_stats(x, sfreq=sfreq, lines_hz=lines_hz)[0]


def mains_line_stats(
    x: NDArray[np.float64], *, sfreq: float, lines_hz: tuple[float, ...]
) -> tuple[float, float]:
    """``(ratio, line_power)`` of the mains lines in ``x``.

    ``ratio`` is what :func:`mains_line_ratio` returns. ``line_power`` is the mean power
    (V^2) that all the lines carry above their neighbourhood, i.e. the mean square of the
    mains residue in ``x`` (0 without lines).
    """
    if not lines_hz or x.size < 16:
        return 0.0, 0.0
    to_power, bins, line_bins, flank_bins = _line_bins(x.size, float(sfreq), tuple(lines_hz))
    spec = np.abs(np.fft.rfft((x - x.mean()) * _hann(x.size))) ** 2
    if line_bins is not None and flank_bins is not None:
        # every line at once (as many bins each): the same sums, row by row
        refs = median_of_rows(spec[flank_bins])
        on_lines = spec[line_bins]
        sums = np.add.reduce(on_lines, axis=1).tolist()
        excess = np.add.reduce(on_lines - refs[:, None], axis=1).tolist()
        stats: Iterable[tuple[float, float, float]] = zip(
            refs.tolist(), [v / line_bins.shape[1] for v in sums], excess, strict=True
        )
    else:
        stats = (
            (ref, _mean(spec[line]), float(np.add.reduce(spec[line] - ref, axis=None)))
            for line, flank in bins
            for ref in (_median(spec[flank]),)
        )
    best, line_power = 0.0, 0.0
    for ref, mean, above in stats:
        if ref > 0:
            best = max(best, mean / ref)
        line_power += max(above, 0.0) * to_power
    return best, line_power


@functools.lru_cache(maxsize=64)
def _line_bins(
    n: int, sfreq: float, lines_hz: tuple[float, ...]
) -> tuple[
    float,
    tuple[tuple[NDArray[np.intp], NDArray[np.intp]], ...],
    NDArray[np.intp] | None,
    NDArray[np.intp] | None,
]:
    """For :func:`mains_line_stats` on ``n`` samples: the periodogram's bins-to-power
    factor; for each line with a neighbourhood, the bins of the line and of its
    neighbourhood; and the same stacked (n_lines, n_bins) when every line has as many
    (else None). They depend on the length and the rate only: computed once."""
    win = _hann(n)
    freqs = np.fft.rfftfreq(n, 1.0 / sfreq)
    df = freqs[1]
    # one-sided periodogram bins in power units: they sum to about the mean square of x
    to_power = 2.0 / (n * float(np.sum(win**2)))
    bins = []
    for f in lines_hz:
        dist = np.abs(freqs - f)
        line = dist <= max(1.5, df)
        flank = (dist >= max(4.0, 2.5 * df)) & (dist <= max(15.0, 8 * df))
        if not line.any() or np.count_nonzero(flank) < 3:
            continue
        bins.append((np.flatnonzero(line), np.flatnonzero(flank)))
    line_bins = flank_bins = None
    if bins and len({b[0].size for b in bins}) == 1 and len({b[1].size for b in bins}) == 1:
        line_bins = np.stack([b[0] for b in bins])
        flank_bins = np.stack([b[1] for b in bins])
    return to_power, tuple(bins), line_bins, flank_bins


def mains_fit_share(x: NDArray[np.float64], *, sfreq: float, lines_hz: tuple[float, ...]) -> float:
    """Largest share of the energy of ``x`` that one sinusoid at a mains line explains.

    For each line a sine and a cosine are fitted by least squares to ``x`` (mean
    removed); the result is the best fit's energy over the energy of ``x`` (0 without
    lines or energy). A notch ringing out a change of the hum is one sinusoid at a line;
    EMG spreads its energy over the band, so any one line explains about 2 / len(x) of it.
    """
    if not lines_hz or x.size < 8:
        return 0.0
    y = x - x.mean()
    energy = float(np.dot(y, y))
    if energy <= 0:
        return 0.0
    # least squares per line through the 2 x 2 normal equations; the fit's energy is
    # coef . (basis^T y) at the solution
    s, c, ss, cc, sc, ok, den = _fit_basis(y.size, float(sfreq), tuple(lines_hz))
    sy, cy = s @ y, c @ y
    a = np.where(ok, (cc * sy - sc * cy) / den, 0.0)
    b = np.where(ok, (ss * cy - sc * sy) / den, 0.0)
    fit_energy = a * sy + b * cy
    return float(min(max(float(np.max(fit_energy)) / energy, 0.0), 1.0))


@functools.lru_cache(maxsize=64)
def _fit_basis(n: int, sfreq: float, lines_hz: tuple[float, ...]) -> tuple[NDArray[Any], ...]:
    """For :func:`mains_fit_share` on ``n`` samples (read-only, computed once per length:
    most candidates fit the same ``mains_fit_window_s``): the sines and cosines of each
    line (:func:`_sinusoids`), their sums of products ``ss``, ``cc`` and ``sc``, where
    the normal equations are well posed (``ok``) and their determinant there (1 elsewhere).
    """
    s, c = _sinusoids(n, sfreq, lines_hz)  # (n_lines, n)
    ss, cc, sc = np.sum(s * s, axis=1), np.sum(c * c, axis=1), np.sum(s * c, axis=1)
    det = ss * cc - sc * sc
    ok = det > 1e-12 * np.maximum(ss * cc, 1e-300)
    out = (s, c, ss, cc, sc, ok, np.where(ok, det, 1.0))
    for part in out:
        part.setflags(write=False)
    return out


_SINUSOIDS: dict[tuple[float, tuple[float, ...]], tuple[NDArray[np.float64], ...]] = {}


def _sinusoids(
    n: int, sfreq: float, lines_hz: tuple[float, ...]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``sin`` and ``cos`` of ``2 pi f t`` for each line over ``n`` samples, shape
    (n_lines, n): the first ``n`` columns of a table kept per rate and lines (each value
    depends on its own sample index only, so it is the same as computed afresh)."""
    key = (sfreq, lines_hz)
    table = _SINUSOIDS.get(key)
    if table is None or table[0].shape[1] < n:
        if len(_SINUSOIDS) >= 32:
            _SINUSOIDS.clear()
        size = max(n, 2 * table[0].shape[1] if table is not None else 0, 1024)
        phase = (
            2 * np.pi * np.asarray(lines_hz, dtype=np.float64)[:, None] * (np.arange(size) / sfreq)
        )
        table = (np.sin(phase), np.cos(phase))
        for part in table:
            part.setflags(write=False)
        _SINUSOIDS[key] = table
    return table[0][:, :n].copy(), table[1][:, :n].copy()


def _pre_level(env: NDArray[np.float64], onset: int, median: float, sfreq: float) -> float:
    """The envelope before ``onset`` over the baseline median (1.0 when unknown)."""
    step = max(int(round(0.05 * sfreq)), 1)
    lo = onset - 6 * step
    if lo < 0 or median <= 0:
        return 1.0
    windows = env[lo : onset - step].reshape(5, step)
    return float(median_of_rows(windows).min()) / median


def measure_candidate(config: DetectorConfig, w: CandidateWindow) -> CandidateFeatures:
    """Measure one candidate: onset refinement, amplitude features and shape features."""
    sf = w.sfreq
    i0, i1 = w.start - w.first_sample, w.end - w.first_sample
    env_peaks = w.env[:, i0:i1].max(axis=1)
    rel = (env_peaks - w.env_median) / np.maximum(w.on - w.env_median, 1e-30)
    # channel of maximum amplitude (envelope peak), and every channel reaching k_on
    ch = int(np.argmax(env_peaks))
    involved = [c for c in np.argsort(-env_peaks) if rel[c] >= config.channel_ratio]
    if ch not in involved:
        involved.insert(0, ch)
    involved = [ch, *[int(c) for c in involved if c != ch]]

    x = w.cond[ch]
    # noise variance of the conditioned signal: with the RMS envelope, the baseline envelope
    # median squared (a robust 10 s estimate); the TKEO envelope is not a power, so then the
    # robust variance of the context before the onset search window
    search = int(round(config.onset_search_s * sf))
    ctx_end = max(i0 - search, 1)
    if config.envelope_for(sf) == "rms" or ctx_end < 8:
        noise_var = float(w.env_median[ch]) ** 2
    else:
        noise_var = float(_median(x[:ctx_end] ** 2) / CHI2_1_MEDIAN)
    lo = max(i0 - search, 0)
    hi = min(i1, i0 + max(int(round(0.02 * sf)), 3))
    k = refine_onset(x, noise_var=noise_var, lo=lo, hi=hi)
    onset_idx = min(k, i0)
    # offset: the same change-point search run backwards from the last active sample (the
    # envelope's smoothing and the off-threshold make the threshold offset late)
    tail = x[onset_idx:i1][::-1]
    back = refine_onset(tail, noise_var=noise_var, lo=0, hi=min(tail.size, int(round(0.15 * sf))))
    min_len = max(1, int(round(config.min_duration_s * sf / 2)))
    offset_idx = max(i1 - back, onset_idx + min_len)
    offset_idx = min(offset_idx, x.size)
    # the reported offset: the change point, unless it makes the burst shorter than the
    # shortest twitch; then the threshold offset less the envelope's smoothing delay, if
    # later (the backward search can stop at the last strong discharge of a weak burst,
    # while the threshold offset of a strong burst is late by its envelope's decay)
    report_offset = offset_idx
    if offset_idx - onset_idx < config.min_duration_s * sf:
        smooth_lag = int(round(sf * math.sqrt(2.0) / (2 * math.pi * config.envelope_lp_hz(sf))))
        report_offset = min(max(offset_idx, i1 - smooth_lag), x.size)
    burst = x[onset_idx:offset_idx]
    peak = float(np.max(np.abs(burst)))
    burst_power = _mean(burst**2)
    rms = math.sqrt(burst_power)
    noise_rms = math.sqrt(noise_var) if noise_var > 0 else math.nan
    snr_db = (
        20 * math.log10(rms / noise_rms) if noise_rms and noise_rms > 0 and rms > 0 else math.nan
    )
    area = float(np.sum(np.abs(burst)) / sf)
    duration = (offset_idx - onset_idx) / sf
    mdf = None
    if sf >= config.mdf_min_sfreq and duration >= config.mdf_min_duration_s:
        mdf = median_frequency(burst, sfreq=sf)
    # shape: rise time of the envelope (onset to its peak), crest factor
    env_ch = w.env[ch, onset_idx:i1]
    rise = (int(np.argmax(env_ch)) if env_ch.size else 0) / sf
    crest = peak / rms if rms > 0 else math.inf
    # low-frequency excess (motion, needle handling) relative to the EMG-band excess
    lfb = w.lf[ch]
    span = slice(max(onset_idx - int(0.05 * sf), 0), i1)
    lf_pre = float(_median(lfb[:ctx_end] ** 2) / CHI2_1_MEDIAN) if ctx_end >= 8 else 0.0
    lf_excess = max(_mean(lfb[span] ** 2) - lf_pre, 0.0)
    hf_excess = max(_mean(x[span] ** 2) - noise_var, 0.5 * noise_var, 1e-30)
    lf_ratio = lf_excess / hf_excess
    # generalised likelihood ratio of a variance rise over the burst (AGLR-like, lit §4),
    # counting 2 * bandwidth * duration independent samples
    ratio = burst_power / noise_var if noise_var > 0 else math.inf
    lo_hz, hi_hz = config.hp_hz, config.low_pass_hz(sf)
    n_eff = 2.0 * (hi_hz - lo_hz) * duration
    glr = 0.5 * n_eff * (ratio - 1.0 - math.log(ratio)) if 1.0 < ratio < math.inf else 0.0
    # abruptness of the low band: its largest 2 ms change relative to its excursion. A step
    # (electrode pop) through the 20 Hz band edge gives about 0.2; a 5-10 Hz wander 0.06-0.13
    lag = max(1, int(round(0.002 * sf)))
    seg_lf = lfb[span]
    excursion = float(np.max(np.abs(seg_lf))) if seg_lf.size else 0.0
    step = float(np.max(np.abs(seg_lf[lag:] - seg_lf[:-lag]))) if seg_lf.size > lag else 0.0
    step_ratio = step / excursion if excursion > 0 else 0.0
    # mains residue in the last mains_window_s, and the share of the burst's excess power
    # it could explain (a surge ringing out of the notches: most of it; EMG on a steady
    # residual hum: little)
    win_lo = max(0, x.size - int(round(config.mains_window_s * sf)))
    mains_ratio, line_power = mains_line_stats(x[win_lo:], sfreq=sf, lines_hz=w.mains_lines_hz)
    tail = x[max(onset_idx, win_lo) : offset_idx]  # the burst's part inside that window
    tail_excess = _mean(tail**2) - noise_var if tail.size else 0.0
    mains_share = min(line_power / tail_excess, 1.0) if tail_excess > 0 else 1.0
    # and how much of the last mains_fit_window_s (from the onset at the latest) one
    # mains sinusoid explains: a notch ringing out the start or end of a hum surge
    fit_lo = max(0, min(onset_idx, x.size - int(round(config.mains_fit_window_s * sf))))
    fit_share = mains_fit_share(x[fit_lo:], sfreq=sf, lines_hz=w.mains_lines_hz)
    # the level before the burst: a transient rises from the baseline, ongoing (tonic or
    # voluntary) activity from a raised level. The lowest of five 50 ms medians of the
    # envelope 300-50 ms before the onset: a QRS or a twitch just before raises only some
    pre_level = _pre_level(w.env[ch], onset_idx, float(w.env_median[ch]), sf)
    return CandidateFeatures(
        onset_s=(w.first_sample + onset_idx) / sf,
        offset_s=(w.first_sample + report_offset) / sf,
        channel_index=ch,
        channel_indexes=tuple(involved),
        peak_v=peak,
        rms_v=rms,
        snr_db=snr_db,
        area_vs=area,
        median_freq_hz=mdf,
        rise_s=rise,
        crest=crest,
        lf_ratio=lf_ratio,
        step_ratio=step_ratio,
        power_ratio=ratio,
        mains_line_ratio=mains_ratio,
        glr=glr,
        duration_s=(w.end - w.start) / sf,
        mains_share=mains_share,
        mains_fit_share=fit_share,
        pre_level=pre_level,
    )
