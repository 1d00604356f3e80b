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

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.masks import true_runs
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.detect.classify import EcgTracker
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.decide import DetectionOutput, History, close_candidate
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
from twitchscope.signal.detect.filters import FilterState, filter_block, init_filter_state
from twitchscope.signal.detect.mains import (
    TrackerState,
    estimate_mains,
    init_tracker_state,
    track_block,
)

__all__ = [
    "DetectionOutput",
    "DetectorState",
    "FilterStates",
    "History",
    "init_detector_state",
    "detect_step",
    "flush",
]


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
    """Delay lines of the causal filters: conditioning, mains tracker, 1-20 Hz band, envelope."""

    cond: FilterState
    lf: FilterState
    env: EnvelopeState
    mains: TrackerState | None = None


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
        history=History.empty(n, 0),
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
        mains=None if design.tracker is None else init_tracker_state(design.tracker, n),
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
        more, state = close_candidate(state, state.candidate, limit=state.n_seen)
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
        history=History.empty(n, first_sample),
    )
    return out, state


def _process(
    data: NDArray[np.float64], state: DetectorState
) -> tuple[DetectionOutput, DetectorState]:
    design, filters = state.design, state.filters
    config = design.config
    assert design.conditioning is not None and filters is not None
    first = state.n_seen
    cond, cond_state = filter_block(design.conditioning, data, filters.cond)
    mains_state = filters.mains
    if design.tracker is not None and mains_state is not None:
        cond, mains_state = track_block(design.tracker, cond, mains_state, first=first)
    lf, lf_state = filter_block(design.lf, data, filters.lf)
    env, env_state = envelope_block(design.envelope, cond, filters.env)
    n = data.shape[1]
    state = replace(
        state,
        filters=FilterStates(cond=cond_state, lf=lf_state, env=env_state, mains=mains_state),
        n_seen=first + n,
        history=state.history.appended(cond, lf, env),
    )
    seg_n = design.segment_n
    merge_n = design.merge_n
    out = DetectionOutput()
    a = first
    baseline, active = state.baseline, state.active
    # the thresholds change only when the baseline's statistics do
    thr_stats: object = None
    thr: tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]] | None = None
    while a < first + n:
        seg_idx = a // seg_n
        b = min((seg_idx + 1) * seg_n, first + n)
        e = env[:, a - first : b - first]
        if baseline.stats is not thr_stats:
            thr_stats = baseline.stats
            thr = baseline_thresholds(config, baseline, k_on=design.k_on)
        any_act: NDArray[np.bool_] | None = None  # None: no sample active
        if thr is None or seg_idx < design.warm_segments:
            thr_on = thr_off = med = None
        else:
            thr_on, thr_off, med = thr
            any_act, active = _hysteresis(e, thr_on, thr_off, active)
        baseline = update_baseline(
            config,
            baseline,
            e,
            0 if any_act is None else int(np.count_nonzero(any_act)),
            segment_index=seg_idx,
            segment_complete=b == (seg_idx + 1) * seg_n,
            stale_segments=design.stale_segments,
            settle_segments=design.settle_segments,
            far_n_eff=design.far_n_eff,
            far_segments=design.far_ring,
        )
        busy = any_act is not None
        if busy or state.candidate is not None:  # (else set once, after the loop)
            state = replace(state, baseline=baseline, active=active)
        if any_act is not None:
            starts, ends = true_runs(any_act)
            starts, ends = starts + a, ends + a
            for s, en in zip(starts.tolist(), ends.tolist(), strict=True):
                cand = state.candidate
                if cand is not None and s - cand.end >= merge_n:
                    more, state = close_candidate(state, cand, limit=cand.end + merge_n)
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
            more, state = close_candidate(state, cand, limit=cand.end + merge_n)
            out = out + more
            state = replace(state, candidate=None)
        a = b
    if state.baseline is not baseline or state.active is not active:
        state = replace(state, baseline=baseline, active=active)
    # trim the history to what an open candidate (or the next one) can need
    history = state.history
    keep_from = state.n_seen - design.history_n
    cand = state.candidate
    if cand is not None and cand.sustained_peak is None:
        keep_from = min(keep_from, cand.start - design.context_n - 1)
    keep_from = max(keep_from, history.first)
    # trim only once the surplus is as long as what is kept (fewer, larger new stores)
    if keep_from - history.first > design.history_n:
        state = replace(state, history=history.from_sample(keep_from))
    return out, state


def _hysteresis(
    env: NDArray[np.float64],
    on: NDArray[np.float64],
    off: NDArray[np.float64],
    prev: NDArray[np.int8],
) -> tuple[NDArray[np.bool_] | None, NDArray[np.int8]]:
    """Vectorised two-threshold switch per channel: on above ``on``, off below ``off``.

    Returns where any channel is on (shape (n_samples,); None when none is at any
    sample) and each channel's state after the last sample (``prev`` itself when every
    channel was off and stays off).
    """
    rows = np.fmax.reduce(env, axis=1) > on  # a sample above ``on`` (NaN never is)
    rows |= prev == 1
    if not rows.any():  # every channel off, and nothing switches one on
        return None, prev
    # the channels that are off throughout stay off: switch the others only
    idx_rows = np.flatnonzero(rows)
    sub = env[idx_rows]
    sub_up = sub > on[idx_rows, None]
    mark = np.where(sub_up, 1, np.where(sub < off[idx_rows, None], -1, 0)).astype(np.int8)
    n = env.shape[1]
    idx = np.where(mark != 0, _arange(n)[None, :], -1)
    idx = np.maximum.accumulate(idx, axis=1)
    filled = np.where(
        idx >= 0, np.take_along_axis(mark, np.maximum(idx, 0), axis=1), prev[idx_rows, None]
    )
    act = filled == 1
    state = prev.copy()
    state[idx_rows] = filled[:, -1]
    any_act = act.any(axis=0)
    return (any_act if any_act.any() else None), state


@functools.lru_cache(maxsize=8)
def _arange(n: int) -> NDArray[np.intp]:
    """``np.arange(n)``, read-only, made once per block length."""
    out = np.arange(n)
    out.setflags(write=False)
    return out


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
