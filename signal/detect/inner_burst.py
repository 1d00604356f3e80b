"""A twitch inside an artefact: the EMG burst that needle handling or a hum change hides.

In IMS the needle movement that elicits a twitch also shakes the electrodes and their
cables, so the candidate often holds both a motion artefact and the twitch, and the
whole candidate looks low-frequency dominated. Likewise a twitch during a change of
the mains hum shares its candidate with the notches' ringing, and a twitch on a trunk
muscle often shares it with a QRS complex. Rejecting such a
candidate as a whole loses the twitch, the event the practitioner was waiting for.

The artefacts and the twitch differ in frequency: motion and needle handling put their
power below 20 Hz (lit §2) and leak into the EMG band only near its lower corner; the
ringing of a hum change is a sinusoid at a mains line; the EMG of a twitch fills the
band above about 50 Hz (lit §0: surface EMG power 50-150 Hz), while the QRS has most
of its energy below 30-40 Hz (lit §2). So inside a candidate rejected as
``low_freq_artifact``, ``mains`` or ``ecg`` this module looks for a burst of the
conditioned signal above ``inner_hp_hz``: a rise of its power over the power it had
before the candidate, lasting at least ``inner_min_duration_s`` (``inner_min_duration_ecg_s``
inside an ``ecg`` rejection), with a likelihood
ratio of at least ``inner_glr_min``, not spike-like (crest factor under
``pop_crest_min``) and not explained by one mains sinusoid (``mains_fit_min``).
Electrode pops are not searched: their step has power at every frequency.

Everything is computed on the samples the detector kept around the candidate (a
:class:`~twitchscope.signal.detect.features.CandidateWindow`), zero-phase within that
window, so the result does not depend on how the stream was cut into blocks.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from twitchscope.signal.core.masks import true_runs
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.features import (
    CHI2_1_MEDIAN,
    CandidateWindow,
    mains_fit_share,
    median_frequency,
    median_of_rows,
    refine_onset,
)
from twitchscope.signal.detect.filters import sosfilt_block

__all__ = ["InnerBurst", "find_inner_burst", "high_band", "high_band_peaks"]

# the power of the high band is judged on a 10 ms moving mean
_SMOOTH_S = 0.01
# a moving mean at least this many times the pre-candidate power is active
_ACTIVE_RATIO = 4.0
# active stretches closer than this are one burst
_MERGE_S = 0.02


@dataclass(frozen=True, slots=True)
class InnerBurst:
    """An EMG burst found inside a rejected candidate (indexes into the window arrays).

    Parameters
    ----------
    channel_index : int
        Channel where the burst is strongest (largest likelihood ratio).
    channel_indexes : tuple of int
        Every channel where a burst was found, strongest first.
    onset, offset : int
        First sample of the burst and one past its last, in the window.
    glr : float
        Likelihood ratio of the power rise above ``inner_hp_hz`` over the burst.
    peak_v, rms_v, snr_db, area_vs : float
        Amplitude features of the conditioned signal over the burst (as for twitches).
    median_freq_hz : float or None
        Median frequency where the rate and duration allow it.
    """

    channel_index: int
    channel_indexes: tuple[int, ...]
    onset: int
    offset: int
    glr: float
    peak_v: float
    rms_v: float
    snr_db: float
    area_vs: float
    median_freq_hz: float | None


def _moving_mean_span(x: NDArray[np.float64], n: int, lo: int, hi: int) -> NDArray[np.float64]:
    """Columns ``lo:hi`` of the centred moving mean of length ``n`` along the last axis
    (shorter at the ends): at column ``i`` the mean of ``x[..., i - n // 2 : i - n // 2 + n]``
    clipped to the array, as the difference of two cumulative sums over the window's length.

    Only the burst search's columns are computed, from the cumulative sum of the samples
    they reach (the first values of a cumulative sum do not depend on what follows).
    """
    size = x.shape[-1]
    hi = min(hi, size)
    if hi <= lo:
        return np.zeros(x.shape[:-1] + (0,))
    h = n // 2
    i = np.arange(lo, hi)
    top = np.minimum(i - h + n, size)
    bottom = np.maximum(i - h, 0)
    reach = int(top[-1])  # top never decreases
    c = np.concatenate([np.zeros(x.shape[:-1] + (1,)), np.cumsum(x[..., :reach], axis=-1)], axis=-1)
    return (c[..., top] - c[..., bottom]) / _window_lengths(size, n)[lo:hi]


@functools.lru_cache(maxsize=16)
def _window_lengths(size: int, n: int) -> NDArray[np.intp]:
    """Samples in each window of :func:`_moving_mean_span` (read-only)."""
    i = np.arange(size)
    lengths = np.minimum(i - n // 2 + n, size) - np.maximum(i - n // 2, 0)
    lengths.setflags(write=False)
    return lengths


@functools.lru_cache(maxsize=16)
def _highpass(hp_hz: float, sfreq: float) -> NDArray[np.float64]:
    """4th-order Butterworth high-pass as SOS (designed once per rate; do not modify)."""
    sos: NDArray[np.float64] = signal.butter(4, hp_hz, btype="highpass", fs=sfreq, output="sos")
    return sos


@functools.lru_cache(maxsize=16)
def _highpass_zi(hp_hz: float, sfreq: float) -> NDArray[np.float64]:
    """:func:`scipy.signal.sosfilt_zi` of :func:`_highpass` (computed once per rate)."""
    zi: NDArray[np.float64] = signal.sosfilt_zi(_highpass(hp_hz, sfreq))
    zi.setflags(write=False)
    return zi


def _filtfilt(
    sos: NDArray[np.float64], zi: NDArray[np.float64], x: NDArray[np.float64]
) -> NDArray[np.float64]:
    """``scipy.signal.sosfiltfilt(sos, x, axis=-1)`` (odd padding of its default length)
    with the same samples bit for bit, ``zi`` being ``sosfilt_zi(sos)``: SciPy solves for
    ``zi`` at every call, which costs more than filtering a candidate's window."""
    n_sections = sos.shape[0]
    ntaps = 2 * n_sections + 1
    ntaps -= min(int((sos[:, 2] == 0).sum()), int((sos[:, 5] == 0).sum()))
    edge = 3 * ntaps
    if x.ndim != 2 or x.shape[1] <= edge:  # SciPy's own message
        out: NDArray[np.float64] = signal.sosfiltfilt(sos, x, axis=-1)
        return out
    # odd extension, as scipy.signal._arraytools.odd_ext
    ext = np.concatenate(
        (
            2 * x[:, 0:1] - x[:, edge:0:-1],
            x,
            2 * x[:, -1:] - x[:, -2 : -(edge + 2) : -1],
        ),
        axis=-1,
    )
    zi = zi.reshape(n_sections, 1, 2)
    y, _ = sosfilt_block(sos, ext, zi * ext[:, 0:1], overwrite_x=True)  # ext: ours
    y, _ = sosfilt_block(sos, y[:, ::-1], zi * y[:, -1:])
    return y[:, ::-1][:, edge:-edge]


def _best_burst_on_channel(
    config: DetectorConfig,
    w: CandidateWindow,
    ch: int,
    *,
    xh: NDArray[np.float64],
    power: NDArray[np.float64],
    noise_var: float,
    search_lo: int,
    search_hi: int,
    min_duration_s: float,
) -> tuple[float, int, int] | None:
    """``(glr, onset, offset)`` of the strongest qualifying high-band burst on ``ch``
    (at least ``min_duration_s`` long).

    ``xh`` is the channel's conditioned signal above ``inner_hp_hz``, ``power`` its
    10 ms moving power over ``noise_var`` (its power before the candidate) from
    ``search_lo`` to ``search_hi``.
    """
    sf = w.sfreq
    band_hi = config.low_pass_hz(sf)
    active = np.zeros(xh.size, dtype=bool)
    active[search_lo:search_hi] = power > _ACTIVE_RATIO
    starts, ends = true_runs(active)
    runs: list[list[int]] = []
    merge = int(round(_MERGE_S * sf))
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        if runs and a - runs[-1][1] < merge:
            runs[-1][1] = b
        else:
            runs.append([a, b])
    best: tuple[float, int, int] | None = None
    min_len = int(round(min_duration_s * sf))
    for a, b in runs:
        if b - a < min_len:
            continue
        seg = xh[a:b]
        ratio = float(np.mean(seg * seg)) / noise_var
        if ratio <= 1:
            continue
        n_eff = 2.0 * (band_hi - config.inner_hp_hz) * (b - a) / sf
        glr = 0.5 * n_eff * (ratio - 1.0 - math.log(ratio))
        crest = float(np.max(np.abs(seg))) / math.sqrt(float(np.mean(seg * seg)))
        if glr < config.inner_glr_min or crest >= config.pop_crest_min:
            continue
        share = mains_fit_share(w.cond[ch, a:b], sfreq=sf, lines_hz=w.mains_lines_hz)
        if share >= config.mains_fit_min:
            continue
        search = int(round(config.onset_search_s * sf))
        onset = refine_onset(
            xh,
            noise_var=noise_var,
            lo=max(a - search, search_lo),
            hi=min(b, a + max(int(round(0.02 * sf)), 3)),
        )
        if best is None or glr > best[0]:
            best = (glr, onset, b)
    return best


def high_band(config: DetectorConfig, w: CandidateWindow) -> NDArray[np.float64] | None:
    """The window's conditioned signal above ``inner_hp_hz``, every channel (zero-phase).

    None when the rate leaves no band above ``inner_hp_hz`` or the window is too short
    for the filter's padding. Computed once per rejected candidate, for
    :func:`find_inner_burst` and :func:`high_band_peaks` alike.
    """
    sf = w.sfreq
    if config.inner_hp_hz * 1.25 >= config.low_pass_hz(sf):
        return None
    sos = _highpass(config.inner_hp_hz, sf)
    if w.cond.shape[1] <= 3 * (2 * sos.shape[0] + 1):  # filter padding
        return None
    return _filtfilt(sos, _highpass_zi(config.inner_hp_hz, sf), w.cond)


def find_inner_burst(
    config: DetectorConfig,
    w: CandidateWindow,
    *,
    onset: int,
    xh: NDArray[np.float64] | None,
    min_duration_s: float | None = None,
) -> InnerBurst | None:
    """Look for a twitch's EMG burst inside a rejected candidate.

    Parameters
    ----------
    config : DetectorConfig
        ``inner_hp_hz``, ``inner_min_duration_s``, ``inner_glr_min`` and the pop and
        mains limits.
    w : CandidateWindow
        The samples around the candidate (context before it included).
    onset : int
        The candidate's refined onset, index into the window.
    xh : array or None
        :func:`high_band` of ``w``.
    min_duration_s : float, optional
        Shortest burst, s; ``inner_min_duration_s`` when not given.

    Returns
    -------
    InnerBurst or None
        None when the rate leaves no band above ``inner_hp_hz`` or nothing qualifies.
    """
    sf = w.sfreq
    search_lo = max(min(onset, w.start - w.first_sample) - int(round(0.05 * sf)), 0)
    search_hi = w.end - w.first_sample
    if xh is None or search_lo < 8:
        return None
    # every channel at once: the high band's power before the candidate, its 10 ms power
    noise_var = median_of_rows(xh[:, :search_lo] ** 2) / CHI2_1_MEDIAN
    ok = noise_var > 0
    smooth_n = max(3, int(round(_SMOOTH_S * sf)))
    power = _moving_mean_span(xh * xh, smooth_n, search_lo, search_hi)  # where it is searched
    if ok.all():
        power /= noise_var[:, None]
    else:
        power[ok] /= noise_var[ok, None]
    busy = ok & (power > _ACTIVE_RATIO).any(axis=1)
    found: list[tuple[float, int, int, int]] = []
    for ch in np.flatnonzero(busy).tolist():
        got = _best_burst_on_channel(
            config,
            w,
            ch,
            xh=xh[ch],
            power=power[ch],
            noise_var=float(noise_var[ch]),
            search_lo=search_lo,
            search_hi=search_hi,
            min_duration_s=config.inner_min_duration_s
            if min_duration_s is None
            else min_duration_s,
        )
        if got is not None:
            found.append((got[0], ch, got[1], got[2]))
    if not found:
        return None
    found.sort(key=lambda f: -f[0])
    glr, ch, a, b = found[0]
    x = w.cond[ch]
    burst = x[a:b]
    peak = float(np.max(np.abs(burst)))
    rms = math.sqrt(float(np.mean(burst * burst)))
    noise_rms = float(w.env_median[ch])
    snr_db = 20 * math.log10(rms / noise_rms) if noise_rms > 0 and rms > 0 else math.nan
    duration = (b - a) / sf
    mdf = None
    if sf >= config.mdf_min_sfreq and duration >= config.mdf_min_duration_s:
        mdf = median_frequency(burst, sfreq=sf)
    return InnerBurst(
        channel_index=ch,
        channel_indexes=tuple(f[1] for f in found),
        onset=a,
        offset=b,
        glr=glr,
        peak_v=peak,
        rms_v=rms,
        snr_db=snr_db,
        area_vs=float(np.sum(np.abs(burst)) / sf),
        median_freq_hz=mdf,
    )


def high_band_peaks(w: CandidateWindow, xh: NDArray[np.float64] | None) -> tuple[float, ...]:
    """Per channel, the largest 10 ms mean power above ``inner_hp_hz`` over the candidate, V^2.

    ``xh`` is :func:`high_band` of ``w``; empty when it is None.
    """
    if xh is None:
        return ()
    lo, hi = w.start - w.first_sample, w.end - w.first_sample
    power = _moving_mean_span(xh * xh, max(3, int(round(_SMOOTH_S * w.sfreq))), lo, hi)
    if power.shape[1] == 0:
        return ()
    return tuple(float(v) for v in power.max(axis=1))
