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

Chunk invariance: every decision depends on sample indexes only (baseline segments are
aligned on absolute indexes; a candidate is measured from a fixed window around it), so
any block sizes give exactly the same events. Offline helpers (:func:`detect_array`,
:func:`detect_raw`) simply stream in chunks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy import signal

if TYPE_CHECKING:
    import mne

from twitchscope.signal.core.checks import check_ch_names, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.masks import true_runs
from twitchscope.signal.core.model import (
    NeedleSite,
    RejectedCandidate,
    RejectReason,
    SampleBlock,
    Twitch,
    attribute_to_sites,
)
from twitchscope.signal.detect.classify import (
    EcgTracker,
    classify_candidate,
    is_burst,
    update_ecg_tracker,
)
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.envelope import (
    BaselineState,
    EnvelopeDesign,
    EnvelopeState,
    baseline_thresholds,
    design_envelope,
    envelope_block,
    init_baseline_state,
    init_envelope_state,
    update_baseline,
)
from twitchscope.signal.detect.features import CandidateFeatures, CandidateWindow, measure_candidate
from twitchscope.signal.detect.filters import (
    FilterDesign,
    FilterState,
    check_band,
    design_conditioning,
    filter_block,
    init_filter_state,
)
from twitchscope.signal.detect.inner_burst import InnerBurst, find_inner_burst
from twitchscope.signal.detect.mains import estimate_mains

__all__ = [
    "DetectionOutput",
    "DetectorState",
    "init_detector_state",
    "add_site",
    "detect_step",
    "flush",
    "detect_blocks",
    "detect_stream",
    "array_blocks",
    "detect_array",
    "detect_raw",
    "DEFAULT_CHUNK_S",
]

log = logging.getLogger(__name__)

#: Chunk length used by the offline helpers, s.
DEFAULT_CHUNK_S = 10.0

LF_BAND_HZ = (1.0, 20.0)


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
class DetectorState:
    """Everything the detector carries from one block to the next (never mutated).

    ``n_seen`` is the absolute index of the next expected sample. The history arrays
    (conditioned signal, 1-20 Hz band, envelope) hold the samples from ``hist_first``
    to ``n_seen``, enough for the context of any open candidate.
    """

    sfreq: float
    ch_names: tuple[str, ...]
    n_seen: int = 0
    mains_hz: float | None = None
    probe: NDArray[np.float64] | None = None
    design: FilterDesign | None = None
    filt: FilterState | None = None
    lf_design: FilterDesign | None = None
    lf: FilterState | None = None
    env_design: EnvelopeDesign | None = None
    env: EnvelopeState | None = None
    baseline: BaselineState | None = None
    active: NDArray[np.int8] | None = None  # per channel: 1 on, -1 off
    hist_first: int = 0
    hist_cond: NDArray[np.float64] | None = None
    hist_lf: NDArray[np.float64] | None = None
    hist_env: NDArray[np.float64] | None = None
    candidate: _Candidate | None = None
    ecg: EcgTracker = EcgTracker()
    sites: tuple[NeedleSite, ...] = ()

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.ch_names)

    @property
    def bandwidth_hz(self) -> tuple[float, float] | None:
        """The conditioned band (Hz) once the filters are designed, else None."""
        return None if self.design is None else self.design.band


def init_detector_state(
    config: DetectorConfig,
    *,
    sfreq: float,
    ch_names: Sequence[str],
    sites: Iterable[NeedleSite] = (),
) -> DetectorState:
    """Initial state for a stream of ``len(ch_names)`` channels at ``sfreq`` Hz.

    Parameters
    ----------
    config : DetectorConfig
    sfreq : float
        Sampling rate, Hz.
    ch_names : sequence of str
        Channel names, one per row of every block.
    sites : iterable of NeedleSite
        Needle sites known in advance (for the ``site`` and ``latency_s`` of twitches).
    """
    sfreq = check_band(config, sfreq=sfreq)
    names = check_ch_names(ch_names)
    lp = config.low_pass_hz(sfreq)
    if sfreq < config.low_rate_sfreq:
        log.warning(
            "sfreq %g Hz: detection-only mode, reduced bandwidth %g-%g Hz, no spectral metrics "
            "(>= 1000 Hz recommended).",
            sfreq,
            config.hp_hz,
            lp,
        )
    n = len(names)
    state = DetectorState(
        sfreq=sfreq,
        ch_names=names,
        baseline=init_baseline_state(n),
        active=-np.ones(n, dtype=np.int8),
        hist_cond=np.zeros((n, 0)),
        hist_lf=np.zeros((n, 0)),
        hist_env=np.zeros((n, 0)),
        sites=tuple(sorted(sites, key=lambda s: s.onset_s)),
    )
    if config.mains == "auto":
        return replace(state, probe=np.zeros((n, 0)))
    return _with_filters(config, state, float(config.mains))


def add_site(state: DetectorState, site: NeedleSite) -> DetectorState:
    """Return the state with one more needle site (e.g. a needle marker set live).

    Twitches closed from then on get ``site`` and ``latency_s`` from the sites known.
    """
    return replace(state, sites=tuple(sorted((*state.sites, site), key=lambda s: s.onset_s)))


def _with_filters(config: DetectorConfig, state: DetectorState, mains_hz: float) -> DetectorState:
    n = state.n_channels
    design = design_conditioning(config, sfreq=state.sfreq, mains_hz=mains_hz)
    lf_sos = signal.butter(2, LF_BAND_HZ, btype="bandpass", fs=state.sfreq, output="sos")
    lf_design = FilterDesign(sos=lf_sos, sfreq=state.sfreq, band=LF_BAND_HZ)
    env_design = design_envelope(config, sfreq=state.sfreq)
    return replace(
        state,
        mains_hz=mains_hz,
        probe=None,
        design=design,
        filt=init_filter_state(design, n),
        lf_design=lf_design,
        lf=init_filter_state(lf_design, n),
        env_design=env_design,
        env=init_envelope_state(env_design, n),
    )


def detect_step(
    config: DetectorConfig, block: SampleBlock, state: DetectorState
) -> tuple[DetectionOutput, DetectorState]:
    """Process one block; return what was decided and the new state.

    Parameters
    ----------
    config : DetectorConfig
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
    """
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
        out, state = _restart_after_gap(config, state, block.first_sample)
    data = block.data
    if state.probe is not None:
        need = int(round(config.mains_probe_s * state.sfreq)) - state.probe.shape[1]
        probe = np.concatenate([state.probe, data[:, :need]], axis=1)
        if probe.shape[1] < int(round(config.mains_probe_s * state.sfreq)):
            return out, replace(state, probe=probe)
        state = _with_filters(config, state, estimate_mains(probe, sfreq=state.sfreq))
        more, state = _process(config, probe, state)
        out = out + more
        data = data[:, need:]
        if data.shape[1] == 0:
            return out, state
    more, state = _process(config, data, state)
    return out + more, state


def flush(config: DetectorConfig, state: DetectorState) -> tuple[DetectionOutput, DetectorState]:
    """End of stream: decide whatever is still pending (held-back probe, open candidate)."""
    out = DetectionOutput()
    if state.probe is not None:
        probe = state.probe
        mains: float = 50.0  # too short a stream to estimate: the common case
        if probe.shape[1] >= int(0.5 * state.sfreq):
            mains = estimate_mains(probe, sfreq=state.sfreq)
        state = _with_filters(config, state, mains)
        if probe.shape[1]:
            out, state = _process(config, probe, state)
    if state.candidate is not None:
        more, state = _close(config, state, state.candidate, limit=state.n_seen)
        out = out + more
        state = replace(state, candidate=None)
    return out, state


def _restart_after_gap(
    config: DetectorConfig, state: DetectorState, first_sample: int
) -> tuple[DetectionOutput, DetectorState]:
    out, state = flush(config, state)
    n = state.n_channels
    assert state.design is not None and state.lf_design is not None and state.env_design is not None
    state = replace(
        state,
        n_seen=first_sample,
        filt=init_filter_state(state.design, n),
        lf=init_filter_state(state.lf_design, n),
        env=init_envelope_state(state.env_design, n),
        active=-np.ones(n, dtype=np.int8),
        hist_first=first_sample,
        hist_cond=np.zeros((n, 0)),
        hist_lf=np.zeros((n, 0)),
        hist_env=np.zeros((n, 0)),
    )
    return out, state


def _history_len(config: DetectorConfig, sfreq: float) -> int:
    return int(
        math.ceil((config.context_s + config.sustained_max_s + config.merge_gap_s + 0.25) * sfreq)
    )


def _process(
    config: DetectorConfig, data: NDArray[np.float64], state: DetectorState
) -> tuple[DetectionOutput, DetectorState]:
    assert state.design is not None and state.filt is not None
    assert state.lf_design is not None and state.lf is not None
    assert state.env_design is not None and state.env is not None
    assert state.baseline is not None and state.active is not None
    sf = state.sfreq
    cond, filt = filter_block(state.design, data, state.filt)
    lf, lf_state = filter_block(state.lf_design, data, state.lf)
    env, env_state = envelope_block(state.env_design, cond, state.env)
    first = state.n_seen
    n = data.shape[1]
    assert state.hist_cond is not None and state.hist_lf is not None and state.hist_env is not None
    state = replace(
        state,
        filt=filt,
        lf=lf_state,
        env=env_state,
        n_seen=first + n,
        hist_cond=np.concatenate([state.hist_cond, cond], axis=1),
        hist_lf=np.concatenate([state.hist_lf, lf], axis=1),
        hist_env=np.concatenate([state.hist_env, env], axis=1),
    )
    seg_n = max(1, int(round(config.baseline_segment_s * sf)))
    warm_segments = int(math.ceil(config.warmup_s / config.baseline_segment_s))
    stale_segments = int(math.ceil(config.baseline_stale_s / config.baseline_segment_s))
    settle_segments = int(math.ceil(config.settle_s / config.baseline_segment_s))
    k_on = config.k_on_for(sf)
    merge_n = max(1, int(round(config.merge_gap_s * sf)))
    out = DetectionOutput()
    a = first
    baseline, active = state.baseline, state.active
    assert baseline is not None and active is not None  # set with the filters
    while a < first + n:
        seg_idx = a // seg_n
        b = min((seg_idx + 1) * seg_n, first + n)
        e = env[:, a - first : b - first]
        thr = baseline_thresholds(config, baseline, k_on=k_on)
        if thr is None or seg_idx < warm_segments:
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
            stale_segments=stale_segments,
            settle_segments=settle_segments,
        )
        state = replace(state, baseline=baseline, active=active)
        if any_act.any():
            starts, ends = true_runs(any_act)
            starts, ends = starts + a, ends + a
            for s, en in zip(starts.tolist(), ends.tolist(), strict=True):
                cand = state.candidate
                if cand is not None and s - cand.end >= merge_n:
                    more, state = _close(config, state, cand, limit=cand.end + merge_n)
                    out = out + more
                    cand = None
                if cand is None:
                    assert thr_on is not None and thr_off is not None and med is not None
                    cand = _Candidate(start=s, end=en, on=thr_on, off=thr_off, env_median=med)
                else:
                    cand = replace(cand, end=en)
                state = replace(state, candidate=_maybe_sustained(config, state, cand))
        cand = state.candidate
        if cand is not None and b - cand.end >= merge_n:
            more, state = _close(config, state, cand, limit=cand.end + merge_n)
            out = out + more
            state = replace(state, candidate=None)
        a = b
    # trim the history to what an open candidate (or the next one) can need
    keep_from = state.n_seen - _history_len(config, sf)
    cand = state.candidate
    if cand is not None and cand.sustained_peak is None:
        keep_from = min(keep_from, cand.start - int(math.ceil(config.context_s * sf)) - 1)
    keep_from = max(keep_from, state.hist_first)
    # trim only once the surplus is as long as what is kept: amortised copying
    if keep_from - state.hist_first > _history_len(config, sf):
        cut = keep_from - state.hist_first
        assert (
            state.hist_cond is not None and state.hist_lf is not None and state.hist_env is not None
        )
        state = replace(
            state,
            hist_first=keep_from,
            hist_cond=state.hist_cond[:, cut:].copy(),
            hist_lf=state.hist_lf[:, cut:].copy(),
            hist_env=state.hist_env[:, cut:].copy(),
        )
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


def _maybe_sustained(config: DetectorConfig, state: DetectorState, cand: _Candidate) -> _Candidate:
    """Once a candidate outlasts ``sustained_max_s``, note its peak and stop keeping its samples."""
    if cand.sustained_peak is not None:
        return cand
    limit = int(round(config.sustained_max_s * state.sfreq))
    if cand.end - cand.start <= limit:
        return cand
    assert state.hist_cond is not None and state.hist_env is not None
    i0 = cand.start - state.hist_first
    seg = state.hist_cond[:, i0 : i0 + limit]
    env_peaks = state.hist_env[:, i0 : i0 + limit].max(axis=1)
    ch = int(np.argmax(env_peaks))
    return replace(cand, sustained_peak=float(np.abs(seg[ch]).max()), sustained_channel=ch)


def _close(
    config: DetectorConfig, state: DetectorState, cand: _Candidate, *, limit: int
) -> tuple[DetectionOutput, DetectorState]:
    """Measure and classify a finished candidate using samples before ``limit`` only."""
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
        return DetectionOutput(rejected=(rej,)), state
    if cand.end - cand.start < int(round(config.min_duration_s * sf)):
        return DetectionOutput(), state  # too short to be a burst: not a candidate at all
    assert state.hist_cond is not None and state.hist_lf is not None and state.hist_env is not None
    lo = max(cand.start - int(math.ceil(config.context_s * sf)), state.hist_first)
    hi = min(limit, state.n_seen)
    i, j = lo - state.hist_first, hi - state.hist_first
    window = CandidateWindow(
        first_sample=lo,
        start=cand.start,
        end=cand.end,
        cond=state.hist_cond[:, i:j],
        lf=state.hist_lf[:, i:j],
        env=state.hist_env[:, i:j],
        on=cand.on,
        off=cand.off,
        env_median=cand.env_median,
        sfreq=sf,
        mains_lines_hz=state.design.notch_hz if state.design is not None else (),
    )
    feats = measure_candidate(config, window)
    if not is_burst(config, feats):
        return DetectionOutput(), state  # a noise excursion, not a candidate
    reason, detail, ecg = classify_candidate(config, feats, state.ecg)
    state = replace(state, ecg=update_ecg_tracker(config, ecg, feats))
    ch = state.ch_names[feats.channel_index]
    if reason is not None:
        inner = None
        if reason in (RejectReason.LOW_FREQ_ARTIFACT, RejectReason.MAINS, RejectReason.ECG):
            onset = int(round(feats.onset_s * sf)) - lo
            inner = find_inner_burst(config, window, onset=onset)
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
        tw = _twitch(
            state, inner, onset_s=(lo + inner.onset) / sf, offset_s=(lo + inner.offset) / sf
        )
        return DetectionOutput(twitches=(tw,), rejected=(rej,)), state
    tw = _twitch(state, feats, onset_s=feats.onset_s, offset_s=feats.offset_s)
    return DetectionOutput(twitches=(tw,)), state


def _twitch(
    state: DetectorState,
    measured: CandidateFeatures | InnerBurst,
    *,
    onset_s: float,
    offset_s: float,
) -> Twitch:
    """The twitch of a measured burst, with its needle site when sites are known."""
    tw = Twitch(
        onset_s=onset_s,
        offset_s=offset_s,
        channel=state.ch_names[measured.channel_index],
        channels=tuple(state.ch_names[c] for c in measured.channel_indexes),
        peak_v=measured.peak_v,
        rms_v=measured.rms_v,
        snr_db=measured.snr_db,
        area_vs=measured.area_vs,
        median_freq_hz=measured.median_freq_hz,
    )
    return attribute_to_sites([tw], state.sites)[0] if state.sites else tw


# ----------------------------------------------------------------------------- offline helpers


def detect_stream(
    config: DetectorConfig,
    blocks: Iterable[SampleBlock],
    *,
    sfreq: float,
    ch_names: Sequence[str],
    sites: Iterable[NeedleSite] = (),
) -> tuple[list[Twitch], list[RejectedCandidate], DetectorState]:
    """Run the detector over an iterable of blocks, flush at the end, keep the last state
    (e.g. for the mains frequency it used)."""
    state = init_detector_state(config, sfreq=sfreq, ch_names=ch_names, sites=sites)
    twitches: list[Twitch] = []
    rejected: list[RejectedCandidate] = []
    for block in blocks:
        out, state = detect_step(config, block, state)
        twitches.extend(out.twitches)
        rejected.extend(out.rejected)
    out, state = flush(config, state)
    twitches.extend(out.twitches)
    rejected.extend(out.rejected)
    return twitches, rejected, state


def detect_blocks(
    config: DetectorConfig,
    blocks: Iterable[SampleBlock],
    *,
    sfreq: float,
    ch_names: Sequence[str],
    sites: Iterable[NeedleSite] = (),
) -> tuple[list[Twitch], list[RejectedCandidate]]:
    """Run the detector over an iterable of blocks and flush at the end."""
    twitches, rejected, _ = detect_stream(
        config, blocks, sfreq=sfreq, ch_names=ch_names, sites=sites
    )
    return twitches, rejected


def array_blocks(
    data: NDArray[np.float64], *, sfreq: float, ch_names: tuple[str, ...], chunk: int
) -> Iterator[SampleBlock]:
    """``data`` (n_channels, n_samples) as consecutive blocks of ``chunk`` samples."""
    for a in range(0, data.shape[1], chunk):
        yield SampleBlock(
            data=data[:, a : a + chunk], sfreq=sfreq, first_sample=a, ch_names=ch_names
        )


def detect_array(
    data: NDArray[np.float64],
    *,
    sfreq: float,
    ch_names: Sequence[str],
    config: DetectorConfig | None = None,
    sites: Iterable[NeedleSite] = (),
    chunk_s: float = DEFAULT_CHUNK_S,
) -> tuple[list[Twitch], list[RejectedCandidate]]:
    """Detect twitches in an array (n_channels, n_samples) in volts, streamed in chunks.

    Returns
    -------
    twitches : list of Twitch
    rejected : list of RejectedCandidate
    """
    config = config or DetectorConfig()
    sfreq = check_sfreq(sfreq)
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2:
        raise ConfigError(f"data must be 2D (n_channels, n_samples), got shape {data.shape}.")
    names = check_ch_names(ch_names, data.shape[0])
    chunk = max(1, int(round(chunk_s * sfreq)))
    return detect_blocks(
        config,
        array_blocks(data, sfreq=sfreq, ch_names=names, chunk=chunk),
        sfreq=sfreq,
        ch_names=names,
        sites=sites,
    )


def detect_raw(
    raw: mne.io.BaseRaw,
    config: DetectorConfig | None = None,
    *,
    chunk_s: float = DEFAULT_CHUNK_S,
) -> tuple[list[Twitch], list[RejectedCandidate]]:
    """Detect twitches in an :class:`mne.io.Raw` (EMG in volts), reading it in chunks.

    Needle sites are taken from the Raw's ``needle:<label>`` annotations. The Raw need
    not be preloaded: only one chunk is in memory at a time.
    """
    from twitchscope.signal.core.annotations import recording_events

    config = config or DetectorConfig()
    sfreq = float(raw.info["sfreq"])
    names = tuple(raw.ch_names)
    sites = recording_events(raw).sites
    chunk = max(1, int(round(chunk_s * sfreq)))
    n_times = int(raw.n_times)

    def blocks() -> Iterator[SampleBlock]:
        for a in range(0, n_times, chunk):
            b = min(a + chunk, n_times)
            data = raw.get_data(start=a, stop=b)
            yield SampleBlock(data=data, sfreq=sfreq, first_sample=a, ch_names=names)

    return detect_blocks(config, blocks(), sfreq=sfreq, ch_names=names, sites=sites)
