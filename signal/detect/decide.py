"""Deciding on a closed candidate: a twitch, a rejection with its reason, or noise.

:func:`close_candidate` measures the candidate
(:func:`~twitchscope.signal.detect.features.measure_candidate`), tests its likelihood
ratio against the recording's false-alarm threshold
(:mod:`twitchscope.signal.detect.false_alarms`; segments of artefacts the classifier
explains are left out of that background), classifies it
(:mod:`twitchscope.signal.detect.classify`), searches a rejected artefact for a twitch
inside it (:mod:`twitchscope.signal.detect.inner_burst`), starts a twitch that merged with
the QRS before it after that QRS, and gives each kept twitch its confidence. Every
duration gate holds on what is reported. The streaming state machine that opens and
closes candidates is :mod:`twitchscope.signal.detect.detector`; :class:`History` holds the
recent samples it keeps for these decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.model import RejectedCandidate, RejectReason, Twitch
from twitchscope.signal.detect.classify import (
    EcgTracker,
    beat_at,
    below_peak_floor,
    classify_candidate,
    is_burst,
    qrs_of_train,
    twitch_confidence,
    update_ecg_tracker,
)
from twitchscope.signal.detect.false_alarms import background_maxima, far_thresholds
from twitchscope.signal.detect.features import CandidateFeatures, CandidateWindow, measure_candidate
from twitchscope.signal.detect.inner_burst import (
    InnerBurst,
    find_inner_burst,
    high_band,
    high_band_peaks,
)

if TYPE_CHECKING:
    from twitchscope.signal.detect.detector import DetectorState, _Candidate

__all__ = ["DetectionOutput", "History", "close_candidate", "glr_thresholds", "glr_threshold_of"]

#: The plain QRS complexes whose high band a twitch inside a QRS is compared with: the
#: last ``_QRS_REFERENCES``, of which at least ``_QRS_REFERENCES_MIN`` (else no comparison)
_QRS_REFERENCES = 5
_QRS_REFERENCES_MIN = 3


class _Store:
    """Append-only storage behind :class:`History`: (3, n_channels, capacity) samples of
    which the first ``used`` columns are written; never rewritten once written."""

    __slots__ = ("data", "used")

    def __init__(self, data: NDArray[np.float64], used: int) -> None:
        self.data = data
        self.used = used


@dataclass(frozen=True, eq=False, slots=True)
class History:
    """The last samples of the conditioned signal, the 1-20 Hz band and the envelope.

    Each array has shape (n_channels, n) and holds samples ``first`` to ``first + n``
    (absolute indexes): views of ``n`` columns from ``offset`` of a store that later
    blocks are appended to in place (a history already appended to copies its samples
    to a new store instead), so the samples a history shows never change.
    """

    first: int
    store: _Store
    offset: int = 0
    n: int = 0

    @property
    def cond(self) -> NDArray[np.float64]:
        """Conditioned signal."""
        return self.store.data[0, :, self.offset : self.offset + self.n]

    @property
    def lf(self) -> NDArray[np.float64]:
        """1-20 Hz band of the raw signal."""
        return self.store.data[1, :, self.offset : self.offset + self.n]

    @property
    def env(self) -> NDArray[np.float64]:
        """Envelope."""
        return self.store.data[2, :, self.offset : self.offset + self.n]

    def appended(
        self, cond: NDArray[np.float64], lf: NDArray[np.float64], env: NDArray[np.float64]
    ) -> History:
        """The history with one more block of each signal (the rest is not copied)."""
        store, offset, end, m = self.store, self.offset, self.offset + self.n, cond.shape[1]
        if store.used != end or end + m > store.data.shape[2]:
            data = np.empty((3, cond.shape[0], self.n + m + (self.n if m < self.n else 0)))
            data[:, :, : self.n] = store.data[:, :, offset:end]
            store, offset, end = _Store(data, self.n), 0, self.n
        store.data[0, :, end : end + m] = cond
        store.data[1, :, end : end + m] = lf
        store.data[2, :, end : end + m] = env
        store.used = end + m
        return History(first=self.first, store=store, offset=offset, n=self.n + m)

    @staticmethod
    def empty(n_channels: int, first: int) -> History:
        """No samples yet; the next one is ``first``."""
        return History(first=first, store=_Store(np.zeros((3, n_channels, 0)), 0))

    def from_sample(self, first: int) -> History:
        """The history without the samples before ``first``."""
        cut = first - self.first
        return History(first=first, store=self.store, offset=self.offset + cut, n=self.n - cut)


@dataclass(frozen=True, slots=True)
class DetectionOutput:
    """What one step emitted: accepted twitches and rejected candidates, each by onset."""

    twitches: tuple[Twitch, ...] = ()
    rejected: tuple[RejectedCandidate, ...] = ()

    def __add__(self, other: DetectionOutput) -> DetectionOutput:
        return DetectionOutput(self.twitches + other.twitches, self.rejected + other.rejected)


def close_candidate(
    state: DetectorState, cand: _Candidate, *, limit: int
) -> tuple[DetectionOutput, DetectorState]:
    """Measure and classify a finished candidate using samples before ``limit`` only."""
    design = state.design
    config = design.config
    sf = state.sfreq
    if cand.sustained_peak is not None:
        rej = RejectedCandidate(
            onset_s=cand.start / sf,
            offset_s=cand.end / sf,
            channel=state.ch_names[cand.sustained_channel],
            reason=RejectReason.SUSTAINED,
            peak_v=cand.sustained_peak,
            detail=f"{(cand.end - cand.start) / sf:.2f} s long, limit {config.max_duration_s:g} s",
        )
        return DetectionOutput(rejected=(rej,)), _explain(state, cand.start, cand.end)
    if cand.end - cand.start < design.min_duration_n:
        return DetectionOutput(), state  # too short to be a burst: not a candidate at all
    history = state.history
    lo = max(cand.start - design.context_n, history.first)
    hi = min(limit, state.n_seen)
    i, j = lo - history.first, hi - history.first
    window = CandidateWindow(
        first_sample=lo,
        start=cand.start,
        end=cand.end,
        cond=history.cond[:, i:j],
        lf=history.lf[:, i:j],
        env=history.env[:, i:j],
        on=cand.on,
        off=cand.off,
        env_median=cand.env_median,
        sfreq=sf,
        mains_lines_hz=design.conditioning.notch_hz if design.conditioning is not None else (),
    )
    feats = measure_candidate(config, window)
    glr_threshold = glr_threshold_of(state, cand, feats.channel_index)
    if not is_burst(config, feats, glr_threshold=glr_threshold):
        # a noise excursion, not a candidate; a weak QRS still keeps the beat of the train
        # and, as a QRS, is no background for the false-alarm threshold
        if qrs_of_train(config, feats, state.ecg) is not None:
            state = _explain(state, cand.start, cand.end)
        return DetectionOutput(), replace(state, ecg=update_ecg_tracker(config, state.ecg, feats))
    reason, detail, ecg = classify_candidate(config, feats, state.ecg)
    state = replace(state, ecg=update_ecg_tracker(config, ecg, feats))
    ch = state.ch_names[feats.channel_index]
    if reason is not None and reason != RejectReason.SHORT:
        state = _explain(state, cand.start, cand.end)
    if reason is not None:
        inner = None
        xh = None
        if reason in (RejectReason.LOW_FREQ_ARTIFACT, RejectReason.MAINS, RejectReason.ECG):
            onset = int(round(feats.onset_s * sf)) - lo
            shortest = (
                config.inner_min_duration_ecg_s
                if reason == RejectReason.ECG
                else config.inner_min_duration_s
            )
            xh = high_band(config, window)  # once: the search and the QRS's high band
            inner = find_inner_burst(config, window, onset=onset, xh=xh, min_duration_s=shortest)
        if inner is not None and not (
            config.min_duration_s <= (inner.offset - inner.onset) / sf <= config.max_duration_s
        ):
            inner = None  # the twitch gates hold inside artefacts too
        inner_confidence = 0.0
        if inner is not None:
            span_s = (inner.offset - inner.onset) / sf
            inner_confidence = twitch_confidence(inner.glr, config.inner_glr_min, span_s)
            if inner_confidence < config.min_confidence or _too_small(state, inner, cand):
                inner = None
        if reason == RejectReason.ECG:
            inner, state = _beyond_the_qrs(state, high_band_peaks(window, xh), inner)
        if inner is not None:
            detail += "; a twitch inside it was kept"
        rej = RejectedCandidate(
            onset_s=feats.onset_s,
            offset_s=max(feats.offset_s, feats.onset_s),
            channel=ch,
            reason=reason,
            peak_v=feats.peak_v,
            detail=detail,
        )
        if inner is None:
            return DetectionOutput(rejected=(rej,)), state
        onset_s, offset_s = (lo + inner.onset) / sf, (lo + inner.offset) / sf
        tw = _twitch(state, inner, onset_s=onset_s, offset_s=offset_s, confidence=inner_confidence)
        return DetectionOutput(twitches=(tw,), rejected=(rej,)), state
    feats, rejected, state = _after_leading_qrs(state, cand, window, feats, glr_threshold)
    ch = state.ch_names[feats.channel_index]
    confidence = twitch_confidence(feats.glr, glr_threshold, feats.offset_s - feats.onset_s)
    if confidence < config.min_confidence:
        weak = (
            f"confidence {confidence:.2f}, minimum {config.min_confidence:g} "
            f"(likelihood ratio {feats.glr:.0f} against a threshold of {glr_threshold:.0f})"
        )
    else:
        weak = _too_small(state, feats, cand)
    if weak:
        rej = RejectedCandidate(
            onset_s=feats.onset_s,
            offset_s=feats.offset_s,
            channel=ch,
            reason=RejectReason.LOW_CONFIDENCE,
            peak_v=feats.peak_v,
            detail=weak,
        )
        return DetectionOutput(rejected=(*rejected, rej)), state
    tw = _twitch(
        state, feats, onset_s=feats.onset_s, offset_s=feats.offset_s, confidence=confidence
    )
    return DetectionOutput(twitches=(tw,), rejected=rejected), state


def _after_leading_qrs(
    state: DetectorState,
    cand: _Candidate,
    window: CandidateWindow,
    feats: CandidateFeatures,
    glr_threshold: float,
) -> tuple[CandidateFeatures, tuple[RejectedCandidate, ...], DetectorState]:
    """A burst kept as a twitch that began with a QRS of the regular train (its onset on a
    beat the train expects, its first ``ecg_qrs_s`` QRS-like): the twitch measured after
    the QRS, the QRS as an ``ecg`` rejection, the beat kept by the tracker. Otherwise the
    burst unchanged."""
    design = state.design
    config = design.config
    sf = state.sfreq
    beat = beat_at(config, state.ecg, feats.onset_s)
    if beat is None:
        return feats, (), state
    onset_n = int(round(feats.onset_s * sf))
    qrs_n = int(round(config.ecg_qrs_s * sf))
    after = onset_n + qrs_n + int(round(config.onset_search_s * sf))
    head = measure_candidate(
        config, replace(window, start=onset_n, end=min(onset_n + qrs_n, cand.end))
    )
    if head.lf_ratio < config.ecg_lf_min or feats.offset_s * sf - after < design.min_duration_n:
        return feats, (), state
    split = measure_candidate(config, replace(window, start=max(after, cand.start)))
    if split.offset_s - split.onset_s < config.min_duration_s or not is_burst(
        config, split, glr_threshold=glr_threshold
    ):
        return feats, (), state
    qrs = RejectedCandidate(
        onset_s=feats.onset_s,
        offset_s=split.onset_s,
        channel=state.ch_names[feats.channel_index],
        reason=RejectReason.ECG,
        peak_v=feats.peak_v,
        detail="a QRS of the regular train just before a twitch",
    )
    return split, (qrs,), replace(state, ecg=_with_beat(state.ecg, beat))


def _beyond_the_qrs(
    state: DetectorState, peaks: tuple[float, ...], inner: InnerBurst | None
) -> tuple[InnerBurst | None, DetectorState]:
    """The twitch found inside an ``ecg`` rejection, if its channel's high band rises
    ``inner_qrs_ratio`` times above what the last plain QRS complexes gave there (a QRS
    of a trunk channel has power above ``inner_hp_hz`` too); ``peaks`` is this
    candidate's (:func:`~twitchscope.signal.detect.inner_burst.high_band_peaks`). The
    state remembers the high band of a plain QRS (no twitch inside)."""
    config = state.design.config
    if not peaks:
        return inner, state
    refs = [q for q in state.ecg.qrs_high_band if len(q) == len(peaks)]
    if inner is not None and len(refs) >= _QRS_REFERENCES_MIN:
        ref = float(np.median([q[inner.channel_index] for q in refs]))
        if peaks[inner.channel_index] < config.inner_qrs_ratio * ref:
            inner = None
    if inner is None:
        kept = (*state.ecg.qrs_high_band[1 - _QRS_REFERENCES :], peaks)
        state = replace(state, ecg=replace(state.ecg, qrs_high_band=kept))
    return inner, state


def _with_beat(ecg: EcgTracker, beat: float) -> EcgTracker:
    """The tracker with one more beat (kept in time order)."""
    return replace(ecg, beats=tuple(sorted((*ecg.beats, beat))))


def glr_thresholds(state: DetectorState, cand: _Candidate) -> NDArray[np.float64]:
    """The false-alarm-rate threshold per channel for a candidate, from the background
    before it (segments touched by explained artefacts left out)."""
    maxima = _background(state, cand, state.baseline.maxima)
    return far_thresholds(state.design.config, maxima, n_channels=state.n_channels)


def glr_threshold_of(state: DetectorState, cand: _Candidate, channel: int) -> float:
    """``glr_thresholds(state, cand)[channel]`` (the same value), fitted on that channel
    only: a candidate is judged on its strongest channel."""
    maxima = _background(state, cand, state.baseline.maxima[channel : channel + 1])
    return float(far_thresholds(state.design.config, maxima, n_channels=state.n_channels)[0])


def _background(
    state: DetectorState, cand: _Candidate, maxima: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The columns of ``maxima`` (rows of the baseline's segment maxima) the threshold of
    ``cand`` is fitted on."""
    design = state.design
    return background_maxima(
        maxima,
        state.baseline.maxima_segments,
        before_segment=cand.start // design.segment_n,
        segment_n=design.segment_n,
        explained=state.explained,
        n_kept=design.far_segments,
    )


def _explain(state: DetectorState, first: int, end: int) -> DetectorState:
    """Remember an artefact's span; forget the ones older than the fit's memory."""
    design = state.design
    oldest = end - design.far_ring * design.segment_n
    kept = tuple(span for span in state.explained if span[1] > oldest)
    return replace(state, explained=(*kept, (first, end)))


def _too_small(
    state: DetectorState, measured: CandidateFeatures | InnerBurst, cand: _Candidate
) -> str:
    """Why a twitch at a low rate is too small to count ("" when it is not): its peak
    under ``low_rate_min_peak_ratio`` times its channel's background envelope."""
    config = state.design.config
    background = float(cand.env_median[measured.channel_index])
    floor = below_peak_floor(
        config, sfreq=state.sfreq, peak_v=measured.peak_v, background_v=background
    )
    if not floor:
        return ""
    return (
        f"peak {measured.peak_v / background:.1f} times the background envelope, minimum "
        f"{config.low_rate_min_peak_ratio:g} below {config.low_rate_sfreq:g} Hz"
    )


def _twitch(
    state: DetectorState,
    measured: CandidateFeatures | InnerBurst,
    *,
    onset_s: float,
    offset_s: float,
    confidence: float,
) -> Twitch:
    """The twitch of a measured burst (its needle site is attributed by the run loop)."""
    return Twitch(
        onset_s=onset_s,
        offset_s=offset_s,
        channel=state.ch_names[measured.channel_index],
        channels=tuple(state.ch_names[c] for c in measured.channel_indexes),
        peak_v=measured.peak_v,
        rms_v=measured.rms_v,
        snr_db=measured.snr_db,
        area_vs=measured.area_vs,
        median_freq_hz=measured.median_freq_hz,
        confidence=confidence,
    )
