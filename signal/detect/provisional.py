"""The candidate the detector holds open, read before it is decided: provisional twitches.

A twitch is decided once it has ended (about ``merge_gap_s`` after): that is when its
whole burst can be measured and classified. A consumer that wants it sooner (an LSL
marker, the live scope) can look at the candidate still open after each step:
:func:`open_candidates` measures it as :func:`~twitchscope.signal.detect.features.
measure_candidate` will (onset refined per channel, the likelihood ratio of its power
rise against the false-alarm threshold of the background before it, the 1-20 Hz
excess that would make it a ``low_freq_artifact``), and :func:`looks_like_twitch` says
whether it already passes what a twitch must pass. Read-only: the detector state is
not changed, and every value depends on the samples only, never on how the stream was
cut into blocks, as long as the state is looked at every ``merge_gap_s`` at least.
A provisional twitch can still be withdrawn when the whole burst is decided (``ecg``,
``mains``, ``sustained``, ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from twitchscope.signal.detect.classify import below_peak_floor
from twitchscope.signal.detect.decide import glr_thresholds
from twitchscope.signal.detect.detector import DetectorState
from twitchscope.signal.detect.features import CHI2_1_MEDIAN, refine_onset

__all__ = ["OpenCandidate", "open_candidates", "looks_like_twitch"]


@dataclass(frozen=True, slots=True)
class OpenCandidate:
    """The candidate the detector holds open (not decided yet), read by :func:`open_candidates`.

    Parameters
    ----------
    channel : str
        The channel of ``glr`` (the first channel when there is no evidence yet).
    onset_sample : int
        Absolute index of its first active sample (the on-threshold crossing); the same
        sample while it stays open, which identifies it.
    end_sample : int
        One past its last active sample so far.
    glr : float
        The likelihood ratio of a rise of EMG-band power on ``channel`` over a window
        that starts at the onset refined on that channel (up to ``onset_search_s``
        before ``onset_sample``), ends at least ``min_duration_s`` after
        ``onset_sample`` and by ``end_sample`` (at most ``max_duration_s`` after it),
        and whose 1-20 Hz excess stays within ``lf_ratio_max`` of its EMG-band excess
        (else the burst would be a ``low_freq_artifact``): the statistics that
        :func:`~twitchscope.signal.detect.features.measure_candidate` computes on a
        decided burst. The window is the shortest in which some channel passes its
        threshold (then fixed), else the one closest to passing. 0 when there is no
        such window yet, and when it is sustained.
    glr_threshold : float
        What the decided burst's ratio must reach on ``channel``: the false-alarm-rate
        threshold of :mod:`~twitchscope.signal.detect.false_alarms` (at least ``glr_min``).
    glr_span_s : float
        Length of the window that gave ``glr``, s.
    sustained : bool
        Longer than ``sustained_max_s``: it will be rejected as ``sustained``.
    big_enough : bool
        Below ``low_rate_sfreq``: its largest conditioned sample on ``channel`` since the
        refined onset already reaches ``low_rate_min_peak_ratio`` times that channel's
        background envelope, as the decided twitch's peak must. Always true at higher rates.
    """

    channel: str
    onset_sample: int
    end_sample: int
    glr: float
    glr_threshold: float
    glr_span_s: float
    sustained: bool = False
    big_enough: bool = True


def open_candidates(state: DetectorState) -> tuple[OpenCandidate, ...]:
    """The candidates the detector holds open after a step: none or one, read-only.

    Every value depends on the samples only (windows from the onset, thresholds from the
    background before it), never on how the stream was cut into blocks, and once a
    window passes its threshold it stays the one reported: once ``glr >= glr_threshold``
    holds, it holds, on the same channel, until the candidate is decided. Costs a few
    cumulative sums over at most ``max_duration_s`` of the candidate's samples when one
    is open.
    """
    cand = state.candidate
    if cand is None:
        return ()
    names = state.ch_names
    if cand.sustained_peak is not None:
        channel = names[cand.sustained_channel]
        return (OpenCandidate(channel, cand.start, cand.end, 0.0, math.inf, 0.0, True),)
    design = state.design
    config = design.config
    sf = state.sfreq
    thresholds = glr_thresholds(state, cand)
    h = state.history
    n_ch = state.n_channels
    w = max(design.min_duration_n, 1)
    hi_n = max(int(round(0.02 * sf)), 3)  # the onset search ends this far after the crossing
    i0 = cand.start - h.first
    i1 = min(cand.end, cand.start + int(round(config.max_duration_s * sf))) - h.first
    if i0 < 0 or i1 - i0 < max(w, hi_n):  # too short yet (or its samples are gone)
        return (OpenCandidate(names[0], cand.start, cand.end, 0.0, float(thresholds[0]), 0.0),)
    # as measure_candidate: the noise from the context before the onset search window,
    # the onset refined per channel, the low band from 50 ms before it
    lo = max(i0 - design.context_n, 0)
    search = int(round(config.onset_search_s * sf))
    ctx = slice(lo, max(i0 - search, lo + 1))
    enough = ctx.stop - ctx.start >= 8
    noise_var = np.asarray(cand.env_median, dtype=np.float64) ** 2
    if config.envelope_for(sf) != "rms" and enough:
        noise_var = np.median(h.cond[:, ctx] ** 2, axis=1) / CHI2_1_MEDIAN
    lf_pre = np.median(h.lf[:, ctx] ** 2, axis=1) / CHI2_1_MEDIAN if enough else np.zeros(n_ch)
    onset = np.array(
        [
            min(
                refine_onset(
                    h.cond[c], noise_var=float(noise_var[c]), lo=max(i0 - search, lo), hi=i0 + hi_n
                ),
                i0,
            )
            for c in range(n_ch)
        ]
    )
    span0 = np.maximum(onset - int(0.05 * sf), lo)
    b0 = int(span0.min())
    ends = np.arange(i0 + w, i1 + 1) - b0  # window ends (exclusive), from b0
    rows = np.arange(n_ch)[:, None]
    zero = np.zeros((n_ch, 1))
    cond2 = np.concatenate([zero, np.cumsum(h.cond[:, b0:i1] ** 2, axis=1)], axis=1)
    lf2 = np.concatenate([zero, np.cumsum(h.lf[:, b0:i1] ** 2, axis=1)], axis=1)
    k = (ends[None, :] - (onset - b0)[:, None]).astype(np.float64)  # window lengths
    n_span = (ends[None, :] - (span0 - b0)[:, None]).astype(np.float64)
    nv = noise_var[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        hf = (cond2[:, ends] - cond2[rows, (span0 - b0)[:, None]]) / n_span - nv
        lf = (lf2[:, ends] - lf2[rows, (span0 - b0)[:, None]]) / n_span - lf_pre[:, None]
        lf_ok = np.maximum(lf, 0.0) <= config.lf_ratio_max * np.maximum(hf, 0.5 * nv)
        power = (cond2[:, ends] - cond2[rows, (onset - b0)[:, None]]) / k
        ratio = power / np.where(nv > 0, nv, np.nan)
        n_eff = 2.0 * (config.low_pass_hz(sf) - config.hp_hz) * k / sf
        glr = np.where((ratio > 1.0) & lf_ok, 0.5 * n_eff * (ratio - 1.0 - np.log(ratio)), 0.0)
    glr = np.nan_to_num(glr, nan=0.0, posinf=0.0)
    score = glr / thresholds[:, None]
    passing = np.flatnonzero((score >= 1.0).any(axis=0))
    if passing.size:  # the shortest window that passes: fixed once found
        j = int(passing[0])
        ch = int(np.argmax(score[:, j]))
    else:
        ch, j = (int(i) for i in np.unravel_index(int(np.argmax(score)), score.shape))
    big_enough = True
    if sf < config.low_rate_sfreq:  # the peak floor the decided twitch must pass
        start = int(onset[ch])
        peak = float(np.max(np.abs(h.cond[ch, start:i1]))) if i1 > start else 0.0
        background = float(cand.env_median[ch])
        big_enough = not below_peak_floor(config, sfreq=sf, peak_v=peak, background_v=background)
    return (
        OpenCandidate(
            channel=names[int(ch)],
            onset_sample=cand.start,
            end_sample=cand.end,
            glr=float(glr[ch, j]),
            glr_threshold=float(thresholds[ch]),
            glr_span_s=float(k[ch, j]) / sf,
            big_enough=big_enough,
        ),
    )


def looks_like_twitch(candidate: OpenCandidate, *, min_duration_n: int) -> bool:
    """Whether an open candidate is a provisional twitch.

    It is when it is not sustained, its envelope has been above the on-threshold
    (hysteresis and merging included) for at least ``min_duration_n`` samples (the
    shortest twitch), a window of its samples from the onset already passes the
    likelihood-ratio threshold that the decided burst must pass, and (below
    ``low_rate_sfreq``) its peak already stands high enough above the background
    (:func:`open_candidates`). All only grow while it is open, so once true it stays
    true until the candidate is decided.
    """
    return (
        not candidate.sustained
        and candidate.end_sample - candidate.onset_sample >= min_duration_n
        and candidate.glr >= candidate.glr_threshold
        and candidate.big_enough
    )
