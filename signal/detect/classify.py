"""Classification of candidate bursts: a twitch, or rejected with a reason code.

Rules (lit §2 confounder table; thresholds in :class:`DetectorConfig`):

``sustained``
    longer than ``max_duration_s`` (LTR accept window 20-500 ms) or a slow ramp
    (onset-to-peak rise longer than ``max_rise_s``): guarding or voluntary contraction.
``pop``
    a spike (crest factor of the conditioned burst at least ``pop_crest_min``), or a
    low-frequency dominated candidate whose 1-20 Hz band changes abruptly (largest 2 ms
    change at least ``pop_step_ratio`` of its excursion): a step, as an electrode pop.
``low_freq_artifact``
    excess power 1-20 Hz over excess power in the EMG band above ``lf_ratio_max``:
    motion, needle handling, cable sway.
``ecg``
    a short candidate (< ``ecg_max_duration_s``) with QRS-like low-frequency content
    (``lf_ratio >= ecg_lf_min``; the QRS has most energy below 30-40 Hz) that continues a regular train of short
    candidates (RR 0.4-1.5 s, ``ecg_min_beats`` beats, RR within ``ecg_rr_tolerance``): QRS
    complexes leaking through the high-pass on trunk and shoulder muscles. Also a longer
    candidate whose low band is dominated (not spike-like) and that holds the beat the
    regular train expects next: a QRS inside a longer burst, not a pop or motion.
    And, whatever its low band (the background's can absorb the QRS's), a candidate
    shorter than ``max_duration_s`` that continues a tight chain of recent short
    candidates (``ecg_train_jitter_s``) and is not far stronger than they are
    (``ecg_train_glr_ratio``).
``mains``
    a candidate whose conditioned signal has a mains line standing far out of the
    neighbouring spectrum (``mains_line_ratio_min``) and whose line power explains a
    part of the burst's excess power (``mains_share_min``): the residue of a hum surge
    that the notches are still ringing out, not a burst of EMG on a steady residual hum.
    Also a candidate of which one mains sinusoid explains most of the last
    ``mains_fit_window_s`` (``mains_fit_min``): a notch ringing out the start or end of
    a surge, whose line is too short to stand far out of the spectrum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from twitchscope.signal.core.model import RejectReason
from twitchscope.signal.core.units import s_to_ms
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.features import CandidateFeatures

__all__ = [
    "EcgTracker",
    "classify_candidate",
    "is_burst",
    "update_ecg_tracker",
    "twitch_confidence",
    "beat_at",
    "qrs_of_train",
    "CONFIDENCE_MODEL",
    "RR_RANGE_S",
]

#: Logistic model of :func:`twitch_confidence`: intercept, weight of
#: ``ln(glr / threshold)``, weight of ``ln(duration_s)``. Fitted on 2026-12-03 to the
#: detections of this detector (false-alarm threshold 0.5 per minute) on both
#: development corpora and the real files (``bench/RESULTS.md``, reliability table),
#: each set weighted equally; leave-one-set-out log-loss 0.47 (corpus-dev), 0.52
#: (corpus-dev-b), 1.00 (real files, all false).
CONFIDENCE_MODEL: tuple[float, float, float] = (-6.387, 1.331, -2.024)

#: Plausible RR intervals, s (heart rate 40-150 bpm).
RR_RANGE_S = (0.4, 1.5)
_BEAT_MEMORY_S = 8.0
#: Shortest RR interval of a train recognised by its spacing alone (120 bpm; measured:
#: at 0.4 s chance chains of noise crossings cost a twitch of corpus-dev-b).
_PLAIN_RR_MIN_S = 0.5


@dataclass(frozen=True, slots=True)
class EcgTracker:
    """Onsets (s) of recent short candidates, the raw material of the R-peak train."""

    beats: tuple[float, ...] = ()
    #: ``(onset s, likelihood ratio)`` of recent short, not spike-like candidates of any
    #: low band and channel: the train of QRS complexes whose low band the background
    #: absorbs
    recent: tuple[tuple[float, float], ...] = ()
    #: per channel, the largest 10 ms power above ``inner_hp_hz`` (V^2) of each of the
    #: last plain QRS candidates (rejected as ``ecg`` with no twitch inside)
    qrs_high_band: tuple[tuple[float, ...], ...] = ()


def _beats_apart(config: DetectorConfig, d: float, rr: float) -> bool:
    """Whether ``d`` is one RR interval, or two (a beat too weak to form a candidate)."""
    tol = config.ecg_rr_tolerance
    return abs(d - rr) <= tol * rr or abs(d - 2 * rr) <= 2 * tol * rr


def _train_rr(config: DetectorConfig, beats: tuple[float, ...], t: float) -> float | None:
    """The RR interval (s) of the regular train that a beat at ``t`` continues, or None.

    The train needs ``ecg_min_beats`` beats (``t`` included) at one RR interval within
    ``ecg_rr_tolerance``; one missed beat (two RR) is still the train.
    """
    need = config.ecg_min_beats - 1  # intervals
    prev = [b for b in beats if b < t]
    for i in range(len(prev) - 1, -1, -1):
        rr = t - prev[i]
        if rr < RR_RANGE_S[0]:
            continue
        if rr > RR_RANGE_S[1]:
            break
        chain, last, ok = 1, prev[i], True
        while chain < need and ok:
            ok = False
            for b in reversed([p for p in prev if p < last]):
                d = last - b
                if _beats_apart(config, d, rr):
                    chain, last, ok = chain + 1, b, True
                    break
                if d > 2 * rr * (1 + config.ecg_rr_tolerance):
                    break
        if chain >= need:
            return rr
    return None


def _continues_train(config: DetectorConfig, beats: tuple[float, ...], t: float) -> str | None:
    """Describe the regular train that ``t`` continues, or None."""
    rr = _train_rr(config, beats, t)
    if rr is None:
        return None
    return f"continues a regular train, RR {s_to_ms(rr):.0f} ms ({60 / rr:.0f} bpm)"


def _train_beat_inside(
    config: DetectorConfig, beats: tuple[float, ...], t0: float, t1: float
) -> tuple[float, str] | None:
    """``(time, description)`` of the beat a regular train expects within ``[t0, t1]``.

    The train ends at one of the last three beats before ``t0`` (a spurious short
    candidate after it does not hide it); its next beats are extrapolated at most three
    RR past the last beat.
    """
    prev = [b for b in beats if b < t0]
    for j in range(len(prev) - 1, max(len(prev) - 4, -1), -1):
        rr = _train_rr(config, tuple(prev[:j]), prev[j])
        if rr is None:
            continue
        for k in range(1, 7):
            beat = prev[j] + k * rr
            if beat - prev[-1] > 3 * rr * (1 + config.ecg_rr_tolerance):
                break
            slack = config.ecg_rr_tolerance * rr * min(k, 3)
            if t0 - slack <= beat <= t1 + slack:
                text = (
                    f"a QRS of the regular train (RR {s_to_ms(rr):.0f} ms, {60 / rr:.0f} bpm) "
                    "inside"
                )
                return beat, text
    return None


def beat_at(config: DetectorConfig, ecg: EcgTracker, t: float) -> float | None:
    """The time of the beat a regular train expects within ``ecg_onset_tolerance_s`` of
    ``t``, or None (no train, or no beat there)."""
    tol = config.ecg_onset_tolerance_s
    found = _train_beat_inside(config, ecg.beats, t - tol, t + tol)
    if found is None or abs(found[0] - t) > tol + config.ecg_rr_tolerance * RR_RANGE_S[1]:
        return None
    return found[0]


def qrs_of_train(
    config: DetectorConfig, feats: CandidateFeatures, ecg: EcgTracker
) -> tuple[str, EcgTracker] | None:
    """``(detail, tracker)`` when the candidate is a QRS of the regular train, else None.

    The two ``ecg`` rules of :func:`classify_candidate`, which checks them first: a short
    QRS-like candidate continuing the train, or a low-band dominated, not spike-like one
    holding the beat the train expects.
    """
    if feats.duration_s < config.ecg_max_duration_s and feats.lf_ratio >= config.ecg_lf_min:
        train = _continues_train(config, ecg.beats, feats.onset_s)
        if train is not None:
            return train, ecg
    if feats.lf_ratio > config.lf_ratio_max and feats.crest < config.pop_crest_min:
        # longer than a QRS alone, its low band dominated by the beat the train expects
        # (a twitch or guarding burst around a QRS): the QRS, not a pop or motion
        beat = _train_beat_inside(config, ecg.beats, feats.onset_s, feats.offset_s)
        if beat is not None:  # the train goes on through this beat
            kept = tuple(b for b in ecg.beats if beat[0] - b <= _BEAT_MEMORY_S)
            return beat[1], replace(ecg, beats=(*kept, beat[0]))
    if (
        feats.duration_s < config.max_duration_s
        and feats.crest < config.pop_crest_min
        and feats.lf_ratio < config.ecg_lf_min
    ):
        plain = _plain_train(config, ecg, feats)
        if plain is not None:
            return plain, ecg
    return None


def _short_qrs_like(config: DetectorConfig, feats: CandidateFeatures) -> bool:
    """Whether the candidate is as short as a QRS candidate and not a spike."""
    return feats.duration_s < config.ecg_max_duration_s and feats.crest < config.pop_crest_min


def _plain_train(config: DetectorConfig, ecg: EcgTracker, feats: CandidateFeatures) -> str | None:
    """Describe the regular train of short candidates that a short candidate without a
    QRS-like low band continues, or None.

    The background's own low band can absorb a QRS's (its ratio is then 0): such a
    candidate is a QRS when a chain of ``ecg_min_beats`` recent short candidates (any
    channel) precedes it at one RR interval (or two, a missed beat), each step within
    ``ecg_train_jitter_s`` of it, no candidate within ``ecg_train_glr_ratio`` of the
    chain's strongest lies between its last beat and it (it would be half-way in a faster
    train), and its likelihood ratio is at most ``ecg_train_glr_ratio`` times the
    chain's strongest; a stronger one is a twitch that merely coincides with a beat.
    """
    t = feats.onset_s
    prev = sorted(r for r in ecg.recent if r[0] < t)
    jitter = config.ecg_train_jitter_s
    for o_last, glr_last in reversed(prev):
        rr = t - o_last
        if rr < _PLAIN_RR_MIN_S:
            continue
        if rr > RR_RANGE_S[1]:
            break
        levels, last = [glr_last], o_last
        while len(levels) < config.ecg_min_beats:
            step = [
                (o, glr)
                for o, glr in prev
                if abs(last - o - rr) <= jitter or abs(last - o - 2 * rr) <= 2 * jitter
            ]
            if not step:
                break
            last, glr = step[-1]
            levels.append(glr)
        if len(levels) < config.ecg_min_beats:
            continue
        floor = max(levels) / config.ecg_train_glr_ratio
        if any(o_last + jitter < o < t - jitter and g >= floor for o, g in prev):
            continue  # a beat of the train's size between: a faster train's
        level = max(levels)
        if feats.glr > config.ecg_train_glr_ratio * level:
            return None
        return (
            f"continues a regular train of short candidates, RR {s_to_ms(rr):.0f} ms "
            f"({60 / rr:.0f} bpm), likelihood ratio {feats.glr:.0f} within "
            f"{config.ecg_train_glr_ratio:g}x the train's {level:.0f}"
        )
    return None


def classify_candidate(
    config: DetectorConfig, feats: CandidateFeatures, ecg: EcgTracker
) -> tuple[RejectReason | None, str, EcgTracker]:
    """Return ``(reason or None, detail, tracker)`` for one measured candidate."""
    qrs = qrs_of_train(config, feats, ecg)
    if qrs is not None:
        return RejectReason.ECG, qrs[0], qrs[1]
    lf_dominated = feats.lf_ratio > config.lf_ratio_max
    if feats.crest >= config.pop_crest_min or (
        lf_dominated and feats.step_ratio >= config.pop_step_ratio
    ):
        return (
            RejectReason.POP,
            f"step-like: crest factor {feats.crest:.1f}, low-band 2 ms change "
            f"{feats.step_ratio:.2f} of its excursion",
            ecg,
        )
    if (
        feats.mains_line_ratio >= config.mains_line_ratio_min
        and feats.mains_share >= config.mains_share_min
    ) or (
        feats.mains_line_ratio >= config.mains_dominant_ratio_min
        and feats.mains_share >= config.mains_dominant_share
    ):
        return (
            RejectReason.MAINS,
            f"a mains line stands {feats.mains_line_ratio:.0f}x above its neighbourhood "
            f"and carries {feats.mains_share:.0%} of the burst's excess power",
            ecg,
        )
    if (
        feats.mains_line_ratio >= config.mains_dominant_ratio_min
        and feats.mains_fit_share >= config.mains_fit_min
    ):
        return (
            RejectReason.MAINS,
            f"one mains sinusoid explains {feats.mains_fit_share:.0%} of the burst's last "
            f"{config.mains_fit_window_s:g} s (a line {feats.mains_line_ratio:.0f}x above "
            "its neighbourhood): the notch ringing out a change of the hum",
            ecg,
        )
    if lf_dominated:
        return (
            RejectReason.LOW_FREQ_ARTIFACT,
            f"1-20 Hz excess {feats.lf_ratio:.1f}x the EMG-band excess, limit {config.lf_ratio_max:g}",
            ecg,
        )
    span_s = feats.offset_s - feats.onset_s
    if span_s < config.min_duration_s:
        return (
            RejectReason.SHORT,
            f"{s_to_ms(span_s):.0f} ms from onset to offset, minimum "
            f"{s_to_ms(config.min_duration_s):.0f} ms: a single motor-unit potential or a spike",
            ecg,
        )
    if feats.duration_s > config.max_duration_s or span_s > config.max_duration_s:
        return (
            RejectReason.SUSTAINED,
            f"{max(feats.duration_s, span_s):.2f} s long, limit {config.max_duration_s:g} s",
            ecg,
        )
    if feats.pre_level > config.pre_level_max and feats.glr < config.pre_level_glr_max:
        return (
            RejectReason.SUSTAINED,
            f"ongoing activity: the envelope before it was {feats.pre_level:.1f}x the "
            f"baseline, limit {config.pre_level_max:g}",
            ecg,
        )
    if feats.rise_s > config.max_rise_s:
        return (
            RejectReason.SUSTAINED,
            f"slow ramp: {s_to_ms(feats.rise_s):.0f} ms rise, limit {s_to_ms(config.max_rise_s):.0f} ms",
            ecg,
        )
    return None, "", ecg


def is_burst(
    config: DetectorConfig, feats: CandidateFeatures, *, glr_threshold: float | None = None
) -> bool:
    """Whether the candidate is a real rise of EMG-band power and not a noise excursion.

    ``glr_threshold`` is the likelihood-ratio threshold of the candidate's channel (the
    false-alarm-rate threshold of :mod:`twitchscope.signal.detect.false_alarms`); default
    ``glr_min``.
    """
    threshold = config.glr_min if glr_threshold is None else max(glr_threshold, config.glr_min)
    return feats.glr >= threshold


def twitch_confidence(glr: float, threshold: float, duration_s: float) -> float:
    """Probability (0-1) that a kept burst is a real twitch.

    A logistic model (:data:`CONFIDENCE_MODEL`) of how far the burst's likelihood ratio
    stands above the threshold it had to pass, and of its duration: on the development
    sets, evidence well above the recording's own background made a twitch likely, and
    long low-evidence bursts (tonic or voluntary activity) unlikely.

    Parameters
    ----------
    glr : float
        The burst's generalised likelihood ratio.
    threshold : float
        The threshold it was compared with (> 0).
    duration_s : float
        Onset to offset, s (> 0).
    """
    a, b, c = CONFIDENCE_MODEL
    if not (glr > 0 and threshold > 0 and duration_s > 0):
        return 0.0
    z = a + b * math.log(glr / threshold) + c * math.log(duration_s)
    return 1.0 / (1.0 + math.exp(-min(max(z, -50.0), 50.0)))


def below_peak_floor(
    config: DetectorConfig, *, sfreq: float, peak_v: float, background_v: float
) -> bool:
    """Whether a burst's peak stands too low above its channel's background envelope to be
    a twitch: below ``low_rate_sfreq``, under ``low_rate_min_peak_ratio`` times it (never
    when the background is not positive)."""
    return (
        sfreq < config.low_rate_sfreq
        and background_v > 0.0
        and not peak_v >= config.low_rate_min_peak_ratio * background_v
    )


def update_ecg_tracker(
    config: DetectorConfig, ecg: EcgTracker, feats: CandidateFeatures
) -> EcgTracker:
    """Remember the onset of a short, QRS-like candidate (any class); forget old ones.

    Every short, not spike-like candidate also joins ``recent`` with its likelihood ratio.
    """
    t = feats.onset_s
    if _short_qrs_like(config, feats):
        recent = tuple(r for r in ecg.recent if t - r[0] <= _BEAT_MEMORY_S)
        ecg = replace(ecg, recent=(*recent, (t, feats.glr)))
    if feats.duration_s >= config.ecg_max_duration_s or feats.lf_ratio < config.ecg_lf_min:
        return ecg
    beats = tuple(b for b in ecg.beats if t - b <= _BEAT_MEMORY_S) + (t,)
    return replace(ecg, beats=beats)
