"""The streaming twitch detector: ``detect_step(config, block, state) -> (output, new_state)``.

Pipeline per block (every stage causal, with its state carried in :class:`DetectorState`):

1. mains estimate (``mains="auto"``: the first ``mains_probe_s`` seconds are held back,
   the mains frequency is estimated from them, then they are processed);
2. conditioning (band-pass + aliased mains notches, :mod:`twitchscope.signal.detect.filters`) and,
   in parallel, the 1-20 Hz band of the raw signal (for the low-frequency veto);
3. envelope (TKEO or RMS) and robust adaptive baseline (:mod:`twitchscope.signal.detect.envelope`);
4. per-channel hysteresis; the union over channels gives one candidate per twitch,
   fragments closer than ``merge_gap_s`` merged;
5. a candidate is closed ``merge_gap_s`` after its last active sample, measured
   (:mod:`twitchscope.signal.detect.features`), classified (:mod:`twitchscope.signal.detect.classify`)
   and emitted at once: a twitch appears about ``merge_gap_s`` after its offset.

The state holds the immutable design (:class:`~twitchscope.signal.detect.design.DetectorDesign`,
built from the configuration, which every step checks against the ``config`` it is given)
and the running state; a step never modifies the state it is given.

Chunk invariance: every decision depends on sample indexes only (baseline segments are
aligned on absolute indexes; a candidate is measured from a fixed window around it), so
any block sizes give exactly the same events. The run loop over a whole stream, and
needle-site attribution, are in :mod:`twitchscope.signal.detect.run`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.masks import true_runs
from twitchscope.signal.core.model import (
    RejectedCandidate,
    RejectReason,
    SampleBlock,
    Twitch,
)
from twitchscope.signal.detect.classify import (
    EcgTracker,
    beat_at,
    classify_candidate,
    is_burst,
    twitch_confidence,
    update_ecg_tracker,
)
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.design import DetectorDesign, check_design, design_detector
from twitchscope.signal.detect.envelope import (
    BaselineState,
    EnvelopeState,
    baseline_thresholds,
    envelope_block,
    init_baseline_state,
    init_envelope_state,
    update_baseline,
)
from twitchscope.signal.detect.false_alarms import background_maxima, far_thresholds
from twitchscope.signal.detect.features import CandidateFeatures, CandidateWindow, measure_candidate
from twitchscope.signal.detect.filters import FilterState, filter_block, init_filter_state
from twitchscope.signal.detect.inner_burst import InnerBurst, find_inner_burst
from twitchscope.signal.detect.mains import estimate_mains

__all__ = [
    "DetectionOutput",
    "DetectorState",
    "FilterStates",
    "History",
    "init_detector_state",
    "detect_step",
    "flush",
]


@dataclass(frozen=True, slots=True)
class DetectionOutput:
    """What one step emitted: accepted twitches and rejected candidates, each by onset."""

    twitches: tuple[Twitch, ...] = ()
    rejected: tuple[RejectedCandidate, ...] = ()

    def __add__(self, other: DetectionOutput) -> DetectionOutput:
        return DetectionOutput(self.twitches + other.twitches, self.rejected + other.rejected)


@dataclass(frozen=True, eq=False, slots=True)
class _Candidate:
    """An open candidate: first active sample, one past the last, thresholds at its start."""

    start: int
    end: int
    on: NDArray[np.float64]
    off: NDArray[np.float64]
    env_median: NDArray[np.float64]
    sustained_peak: float | None = None  # set once it is known to be sustained
    sustained_channel: int = 0


@dataclass(frozen=True, eq=False, slots=True)
class FilterStates:
    """Delay lines of the three causal filters: conditioning, 1-20 Hz band, envelope."""

    cond: FilterState
    lf: FilterState
    env: EnvelopeState


@dataclass(frozen=True, eq=False, slots=True)
class History:
    """The last samples of the conditioned signal, the 1-20 Hz band and the envelope.

    Each array has shape (n_channels, n) and holds samples ``first`` to ``first + n``
    (absolute indexes).
    """

    first: int
    cond: NDArray[np.float64]
    lf: NDArray[np.float64]
    env: NDArray[np.float64]

    def appended(
        self, cond: NDArray[np.float64], lf: NDArray[np.float64], env: NDArray[np.float64]
    ) -> History:
        """The history with one more block of each signal."""
        return History(
            first=self.first,
            cond=np.concatenate([self.cond, cond], axis=1),
            lf=np.concatenate([self.lf, lf], axis=1),
            env=np.concatenate([self.env, env], axis=1),
        )

    def from_sample(self, first: int) -> History:
        """The history without the samples before ``first`` (copied, so the rest is freed)."""
        cut = first - self.first
        return History(
            first=first,
            cond=self.cond[:, cut:].copy(),
            lf=self.lf[:, cut:].copy(),
            env=self.env[:, cut:].copy(),
        )


def _empty_history(n_channels: int, first: int) -> History:
    empty = np.zeros((n_channels, 0))
    return History(first=first, cond=empty, lf=empty, env=empty)


@dataclass(frozen=True, eq=False, slots=True)
class DetectorState:
    """What the detector carries from one block to the next (never mutated).

    Parameters
    ----------
    design : DetectorDesign
        The filters and sample counts, built from the configuration.
    baseline : BaselineState
        The adaptive baseline of the envelope.
    active : array of int8, shape (n_channels,)
        Hysteresis state per channel: 1 on, -1 off.
    history : History
        Recent samples, enough for the context of any open candidate.
    n_seen : int
        Absolute index of the next sample the filters expect.
    probe : array or None
        Samples held back to estimate the mains frequency (``mains="auto"``); None once
        it is known.
    filters : FilterStates or None
        The filters' delay lines; None while the mains frequency is estimated.
    candidate : _Candidate or None
        The open candidate, if any.
    ecg : EcgTracker
        Recent short candidates, for the R-peak veto.
    explained : tuple of (int, int)
        Sample spans of recent candidates rejected for a reason (left out of the
        background of the false-alarm-rate threshold).
    """

    design: DetectorDesign
    baseline: BaselineState
    active: NDArray[np.int8]
    history: History
    n_seen: int = 0
    probe: NDArray[np.float64] | None = None
    filters: FilterStates | None = None
    candidate: _Candidate | None = None
    ecg: EcgTracker = EcgTracker()
    explained: tuple[tuple[int, int], ...] = ()

    @property
    def sfreq(self) -> float:
        """Sampling rate, Hz."""
        return self.design.sfreq

    @property
    def ch_names(self) -> tuple[str, ...]:
        """Channel names."""
        return self.design.ch_names

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return self.design.n_channels

    @property
    def mains_hz(self) -> float | None:
        """Mains frequency notched (None while it is still estimated)."""
        return self.design.mains_hz

    @property
    def bandwidth_hz(self) -> tuple[float, float] | None:
        """The conditioned band (Hz) once the filters are designed, else None."""
        return self.design.bandwidth_hz


def init_detector_state(
    config: DetectorConfig, *, sfreq: float, ch_names: Sequence[str]
) -> DetectorState:
    """Initial state for a stream of ``len(ch_names)`` channels at ``sfreq`` Hz.

    Parameters
    ----------
    config : DetectorConfig
    sfreq : float
        Sampling rate, Hz.
    ch_names : sequence of str
        Channel names, one per row of every block.

    Raises
    ------
    ConfigError
        As :func:`~twitchscope.signal.detect.design.design_detector`.
    """
    design = design_detector(config, sfreq=sfreq, ch_names=ch_names)
    n = design.n_channels
    state = DetectorState(
        design=design,
        baseline=init_baseline_state(n),
        active=-np.ones(n, dtype=np.int8),
        history=_empty_history(n, 0),
    )
    if design.conditioning is None:
        return replace(state, probe=np.zeros((n, 0)))
    return replace(state, filters=_init_filters(design))


def _init_filters(design: DetectorDesign) -> FilterStates:
    assert design.conditioning is not None
    n = design.n_channels
    return FilterStates(
        cond=init_filter_state(design.conditioning, n),
        lf=init_filter_state(design.lf, n),
        env=init_envelope_state(design.envelope, n),
    )


def _with_mains(state: DetectorState, mains_hz: float) -> DetectorState:
    """The state once the mains frequency is known: the design completed, filters started."""
    design = state.design.with_mains(mains_hz)
    return replace(state, design=design, probe=None, filters=_init_filters(design))


def detect_step(
    config: DetectorConfig, block: SampleBlock, state: DetectorState
) -> tuple[DetectionOutput, DetectorState]:
    """Process one block; return what was decided and the new state.

    Parameters
    ----------
    config : DetectorConfig
        Must be the configuration the state was initialised with.
    block : SampleBlock
        Next samples of the stream (``block.first_sample`` must be ``state.n_seen``, or
        later when samples were lost: the detector then closes what is open and restarts
        its filters after the gap).
    state : DetectorState
        From :func:`init_detector_state` or the previous step; not modified.

    Returns
    -------
    output : DetectionOutput
        Twitches and rejected candidates closed by this block (each about ``merge_gap_s``
        after its offset).
    new_state : DetectorState

    Raises
    ------
    ConfigError
        ``config`` is not the one the state was designed for; the block's channels or
        rate differ from the stream's; the block starts before the next expected sample.
    """
    check_design(state.design, config)
    if block.ch_names != state.ch_names:
        raise ConfigError(
            f"block channels {list(block.ch_names)} differ from the stream's {list(state.ch_names)}."
        )
    if not math.isclose(block.sfreq, state.sfreq):
        raise ConfigError(
            f"block sfreq {block.sfreq:g} Hz differs from the stream's {state.sfreq:g} Hz."
        )
    if block.n_samples == 0:
        return DetectionOutput(), state
    out = DetectionOutput()
    expected = state.n_seen + (state.probe.shape[1] if state.probe is not None else 0)
    if block.first_sample < expected:
        raise ConfigError(
            f"block starts at sample {block.first_sample}, before the next expected sample "
            f"{expected}; blocks must come in order without overlap."
        )
    if block.first_sample > expected:
        out, state = _restart_after_gap(state, block.first_sample)
    data = block.data
    if state.probe is not None:
        probe_n = state.design.probe_n
        need = probe_n - state.probe.shape[1]
        probe = np.concatenate([state.probe, data[:, :need]], axis=1)
        if probe.shape[1] < probe_n:
            return out, replace(state, probe=probe)
        state = _with_mains(state, estimate_mains(probe, sfreq=state.sfreq))
        more, state = _process(probe, state)
        out = out + more
        data = data[:, need:]
        if data.shape[1] == 0:
            return out, state
    more, state = _process(data, state)
    return out + more, state


def flush(config: DetectorConfig, state: DetectorState) -> tuple[DetectionOutput, DetectorState]:
    """End of stream: decide whatever is still pending (held-back probe, open candidate).

    Raises
    ------
    ConfigError
        ``config`` is not the one the state was designed for.
    """
    check_design(state.design, config)
    return _flush(state)


def _flush(state: DetectorState) -> tuple[DetectionOutput, DetectorState]:
    out = DetectionOutput()
    if state.probe is not None:
        probe = state.probe
        mains: float = 50.0  # too short a stream to estimate: the common case
        if probe.shape[1] >= int(0.5 * state.sfreq):
            mains = estimate_mains(probe, sfreq=state.sfreq)
        state = _with_mains(state, mains)
        if probe.shape[1]:
            out, state = _process(probe, state)
    if state.candidate is not None:
        more, state = _close(state, state.candidate, limit=state.n_seen)
        out = out + more
        state = replace(state, candidate=None)
    return out, state


def _restart_after_gap(
    state: DetectorState, first_sample: int
) -> tuple[DetectionOutput, DetectorState]:
    out, state = _flush(state)
    n = state.n_channels
    state = replace(
        state,
        n_seen=first_sample,
        filters=_init_filters(state.design),
        active=-np.ones(n, dtype=np.int8),
        history=_empty_history(n, first_sample),
    )
    return out, state


def _process(
    data: NDArray[np.float64], state: DetectorState
) -> tuple[DetectionOutput, DetectorState]:
    design, filters = state.design, state.filters
    config = design.config
    assert design.conditioning is not None and filters is not None
    cond, cond_state = filter_block(design.conditioning, data, filters.cond)
    lf, lf_state = filter_block(design.lf, data, filters.lf)
    env, env_state = envelope_block(design.envelope, cond, filters.env)
    first = state.n_seen
    n = data.shape[1]
    state = replace(
        state,
        filters=FilterStates(cond=cond_state, lf=lf_state, env=env_state),
        n_seen=first + n,
        history=state.history.appended(cond, lf, env),
    )
    seg_n = design.segment_n
    merge_n = design.merge_n
    out = DetectionOutput()
    a = first
    baseline, active = state.baseline, state.active
    while a < first + n:
        seg_idx = a // seg_n
        b = min((seg_idx + 1) * seg_n, first + n)
        e = env[:, a - first : b - first]
        thr = baseline_thresholds(config, baseline, k_on=design.k_on)
        if thr is None or seg_idx < design.warm_segments:
            act_ch = np.zeros(e.shape, dtype=bool)
            thr_on = thr_off = med = None
        else:
            thr_on, thr_off, med = thr
            act_ch, active = _hysteresis(e, thr_on, thr_off, active)
        any_act = np.asarray(act_ch.any(axis=0), dtype=bool)
        baseline = update_baseline(
            config,
            baseline,
            e,
            any_act,
            segment_index=seg_idx,
            segment_complete=b == (seg_idx + 1) * seg_n,
            stale_segments=design.stale_segments,
            settle_segments=design.settle_segments,
            far_n_eff=design.far_n_eff,
            far_segments=design.far_ring,
        )
        state = replace(state, baseline=baseline, active=active)
        if any_act.any():
            starts, ends = true_runs(any_act)
            starts, ends = starts + a, ends + a
            for s, en in zip(starts.tolist(), ends.tolist(), strict=True):
                cand = state.candidate
                if cand is not None and s - cand.end >= merge_n:
                    more, state = _close(state, cand, limit=cand.end + merge_n)
                    out = out + more
                    cand = None
                if cand is None:
                    assert thr_on is not None and thr_off is not None and med is not None
                    cand = _Candidate(start=s, end=en, on=thr_on, off=thr_off, env_median=med)
                else:
                    cand = replace(cand, end=en)
                state = replace(state, candidate=_maybe_sustained(state, cand))
        cand = state.candidate
        if cand is not None and b - cand.end >= merge_n:
            more, state = _close(state, cand, limit=cand.end + merge_n)
            out = out + more
            state = replace(state, candidate=None)
        a = b
    # trim the history to what an open candidate (or the next one) can need
    history = state.history
    keep_from = state.n_seen - design.history_n
    cand = state.candidate
    if cand is not None and cand.sustained_peak is None:
        keep_from = min(keep_from, cand.start - design.context_n - 1)
    keep_from = max(keep_from, history.first)
    # trim only once the surplus is as long as what is kept: amortised copying
    if keep_from - history.first > design.history_n:
        state = replace(state, history=history.from_sample(keep_from))
    return out, state


def _hysteresis(
    env: NDArray[np.float64],
    on: NDArray[np.float64],
    off: NDArray[np.float64],
    prev: NDArray[np.int8],
) -> tuple[NDArray[np.bool_], NDArray[np.int8]]:
    """Vectorised two-threshold switch per channel: on above ``on``, off below ``off``."""
    mark = np.where(env > on[:, None], 1, np.where(env < off[:, None], -1, 0)).astype(np.int8)
    n = env.shape[1]
    idx = np.where(mark != 0, np.arange(n)[None, :], -1)
    idx = np.maximum.accumulate(idx, axis=1)
    filled = np.where(idx >= 0, np.take_along_axis(mark, np.maximum(idx, 0), axis=1), prev[:, None])
    return filled == 1, filled[:, -1].astype(np.int8).copy()


def _maybe_sustained(state: DetectorState, cand: _Candidate) -> _Candidate:
    """Once a candidate outlasts ``sustained_max_s``, note its peak and stop keeping its samples."""
    if cand.sustained_peak is not None:
        return cand
    limit = state.design.sustained_n
    if cand.end - cand.start <= limit:
        return cand
    history = state.history
    i0 = cand.start - history.first
    seg = history.cond[:, i0 : i0 + limit]
    env_peaks = history.env[:, i0 : i0 + limit].max(axis=1)
    ch = int(np.argmax(env_peaks))
    return replace(cand, sustained_peak=float(np.abs(seg[ch]).max()), sustained_channel=ch)


def _close(
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
    glr_threshold = float(_glr_thresholds(state, cand)[feats.channel_index])
    if not is_burst(config, feats, glr_threshold=glr_threshold):
        # a noise excursion, not a candidate; a weak QRS still keeps the beat of the train
        # and, as a QRS, is no background for the false-alarm threshold
        if classify_candidate(config, feats, state.ecg)[0] is RejectReason.ECG:
            state = _explain(state, cand.start, cand.end)
        return DetectionOutput(), replace(state, ecg=update_ecg_tracker(config, state.ecg, feats))
    reason, detail, ecg = classify_candidate(config, feats, state.ecg)
    state = replace(state, ecg=update_ecg_tracker(config, ecg, feats))
    ch = state.ch_names[feats.channel_index]
    if reason is not None and reason != RejectReason.SHORT:
        state = _explain(state, cand.start, cand.end)
    if reason is not None:
        inner = None
        if reason in (RejectReason.LOW_FREQ_ARTIFACT, RejectReason.MAINS, RejectReason.ECG):
            onset = int(round(feats.onset_s * sf)) - lo
            inner = find_inner_burst(config, window, onset=onset)
        if inner is not None and not (
            config.min_duration_s <= (inner.offset - inner.onset) / sf <= config.max_duration_s
        ):
            inner = None  # the twitch gates hold inside artefacts too
        inner_confidence = 0.0
        if inner is not None:
            span_s = (inner.offset - inner.onset) / sf
            inner_confidence = twitch_confidence(inner.glr, config.inner_glr_min, span_s)
            if inner_confidence < config.min_confidence:
                inner = None
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
    rejected: tuple[RejectedCandidate, ...] = ()
    beat = beat_at(config, state.ecg, feats.onset_s)
    if beat is not None:  # it may begin with a QRS: then the twitch is what follows it
        onset_n = int(round(feats.onset_s * sf))
        qrs_n = int(round(config.ecg_qrs_s * sf))
        after = onset_n + qrs_n + int(round(config.onset_search_s * sf))
        head = measure_candidate(
            config, replace(window, start=onset_n, end=min(onset_n + qrs_n, cand.end))
        )
        if (
            head.lf_ratio >= config.ecg_lf_min
            and feats.offset_s * sf - after >= design.min_duration_n
        ):
            split = measure_candidate(config, replace(window, start=max(after, cand.start)))
            if split.offset_s - split.onset_s >= config.min_duration_s and is_burst(
                config, split, glr_threshold=glr_threshold
            ):
                rejected = (
                    RejectedCandidate(
                        onset_s=feats.onset_s,
                        offset_s=split.onset_s,
                        channel=ch,
                        reason=RejectReason.ECG,
                        peak_v=feats.peak_v,
                        detail="a QRS of the regular train just before a twitch",
                    ),
                )
                state = replace(state, ecg=_with_beat(state.ecg, beat))
                feats = split
                ch = state.ch_names[feats.channel_index]
    confidence = twitch_confidence(feats.glr, glr_threshold, feats.offset_s - feats.onset_s)
    if confidence < config.min_confidence:
        rej = RejectedCandidate(
            onset_s=feats.onset_s,
            offset_s=feats.offset_s,
            channel=ch,
            reason=RejectReason.LOW_CONFIDENCE,
            peak_v=feats.peak_v,
            detail=f"confidence {confidence:.2f}, minimum {config.min_confidence:g} "
            f"(likelihood ratio {feats.glr:.0f} against a threshold of {glr_threshold:.0f})",
        )
        return DetectionOutput(rejected=(*rejected, rej)), state
    tw = _twitch(
        state, feats, onset_s=feats.onset_s, offset_s=feats.offset_s, confidence=confidence
    )
    return DetectionOutput(twitches=(tw,), rejected=rejected), state


def _with_beat(ecg: EcgTracker, beat: float) -> EcgTracker:
    """The tracker with one more beat (kept in time order)."""
    return EcgTracker(beats=tuple(sorted((*ecg.beats, beat))))


def _glr_thresholds(state: DetectorState, cand: _Candidate) -> NDArray[np.float64]:
    """The false-alarm-rate threshold per channel for a candidate, from the background
    before it (segments touched by explained artefacts left out)."""
    design = state.design
    maxima = background_maxima(
        state.baseline.maxima,
        state.baseline.maxima_segments,
        before_segment=cand.start // design.segment_n,
        segment_n=design.segment_n,
        explained=state.explained,
        n_kept=design.far_segments,
    )
    return far_thresholds(design.config, maxima, n_channels=state.n_channels)


def _explain(state: DetectorState, first: int, end: int) -> DetectorState:
    """Remember an artefact's span; forget the ones older than the fit's memory."""
    design = state.design
    oldest = end - design.far_ring * design.segment_n
    kept = tuple(span for span in state.explained if span[1] > oldest)
    return replace(state, explained=(*kept, (first, end)))


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
