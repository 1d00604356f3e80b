"""Mains: estimate its frequency (50 or 60 Hz), and follow it as it drifts.

Estimation: each hypothesis is scored by how far its lines (fundamental and harmonics, where they
land after aliasing) stand out of the neighbouring spectrum, summed over channels. The
lines common to both hypotheses (at 250 Hz, 300 Hz folds onto 50 Hz) are left out of the
comparison, so they cannot decide it.

Tracking (:func:`track_block`): the fixed notches of the conditioning filter are narrow
(Q 30: 1.7 Hz wide at 50 Hz) and sit at the nominal frequency; mains that drifts by
0.1 Hz passes them at 14 % of its amplitude, a hum of 90 uV then leaves 13 uV, several
times a resting background. The tracker follows the fundamental left in the conditioned
signal: it demodulates it at the tracked frequency, low-passes the complex amplitude
(``mains_track_lp_hz``) and subtracts the line it describes; at the end of each segment
(absolute indexes, so any chunking gives the same result) it moves the tracked frequency
by the phase drift of the amplitude on the channels where the line stands out of its
neighbourhood (``mains_track_min_ratio``), within ``mains_track_max_dev_hz`` of nominal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from twitchscope.signal.core.checks import check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.detect.filters import mains_notch_frequencies

__all__ = [
    "estimate_mains",
    "line_prominence",
    "MainsTracker",
    "TrackerState",
    "design_tracker",
    "init_tracker_state",
    "track_block",
    "SIDE_HZ",
]

log = logging.getLogger(__name__)


def line_prominence(data: NDArray[np.float64], *, sfreq: float, freqs: tuple[float, ...]) -> float:
    """Sum over channels and ``freqs`` of log10(line power / median power of the neighbourhood).

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Signal, any unit.
    sfreq : float
        Sampling rate, Hz.
    freqs : tuple of float
        Line frequencies, Hz.
    """
    data = np.asarray(data, dtype=np.float64)
    n = data.shape[-1]
    window = np.hanning(n)
    spec = np.abs(np.fft.rfft(signal.detrend(data, axis=-1) * window, axis=-1)) ** 2
    spec = spec.sum(axis=0) + 1e-300
    f_axis = np.fft.rfftfreq(n, 1.0 / sfreq)
    df = f_axis[1] - f_axis[0]
    scores = []
    for f in freqs:
        line = np.abs(f_axis - f) <= max(1.0, 1.5 * df)
        ring = (np.abs(f_axis - f) > 2.0 + 2 * df) & (np.abs(f_axis - f) <= 8.0 + 2 * df)
        if not line.any() or not ring.any():
            continue
        scores.append(float(np.log10(spec[line].max() / np.median(spec[ring]))))
    return float(np.mean(scores)) if scores else 0.0


def estimate_mains(data: NDArray[np.float64], *, sfreq: float, n_harmonics: int = 3) -> int:
    """Return 50 or 60: the mains frequency whose lines stand out more in ``data``.

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Raw signal (at least 0.5 s).
    sfreq : float
        Sampling rate, Hz.
    n_harmonics : int
        Harmonics considered, fundamental included. 3: the strongest lines; higher
        harmonics alias onto each other at low rates and blur the comparison.

    Returns
    -------
    mains_hz : int
        50 or 60. Ties (no line at all) give 50.
    """
    sfreq = check_sfreq(sfreq)
    data = np.atleast_2d(np.asarray(data, dtype=np.float64))
    if data.shape[-1] < int(0.5 * sfreq):
        raise ConfigError(
            f"mains estimation needs at least 0.5 s of signal, got {data.shape[-1]} samples "
            f"at {sfreq:g} Hz."
        )
    lines = {
        hz: set(mains_notch_frequencies(hz, sfreq=sfreq, n_harmonics=n_harmonics))
        for hz in (50, 60)
    }
    common = lines[50] & lines[60]
    scores = {
        hz: line_prominence(data, sfreq=sfreq, freqs=tuple(sorted(lines[hz] - common)))
        for hz in (50, 60)
    }
    best = 60 if scores[60] > scores[50] else 50
    log.info("mains estimate %d Hz (scores 50 Hz %.2f, 60 Hz %.2f)", best, scores[50], scores[60])
    return best


#: Offsets (Hz) of the two demodulators either side of the line that measure its
#: neighbourhood; with the 2nd-order low-pass at 0.3 Hz the line leaks into them at -68 dB.
SIDE_HZ = 5.0
#: Weight of a new segment in the averaged line and neighbourhood powers.
_POWER_WEIGHT = 0.125
#: Segments whose input RMS sets the clipping level (median), and the level in RMS.
_N_SCALES = 8
_CLIP = 3.0
#: Lag (s) of the phase-drift estimate within a segment.
_LAG_S = 0.05


@dataclass(frozen=True, eq=False, slots=True)
class MainsTracker:
    """Design of the mains tracker: nominal frequency, low-passes and segment length."""

    sfreq: float
    nominal_hz: float
    sos: NDArray[np.float64]  # complex amplitude low-pass of the line
    side_sos: NDArray[np.float64]  # neighbourhood demodulators' low-pass
    segment_n: int
    lag_n: int
    gain: float
    max_dev_hz: float
    min_ratio: float


@dataclass(frozen=True, eq=False, slots=True)
class TrackerState:
    """Tracked frequency, the phase at the start of the current segment, the low-passes'
    delay lines (line, lower and upper neighbour) and the current segment's demodulated
    amplitudes (kept whole so that the frequency update does not depend on chunking)."""

    freq_hz: float
    segment_index: int
    phase: float  # phase of the line at the first sample of segment ``segment_index``
    zi: tuple[NDArray[np.complex128], ...]
    segment: tuple[NDArray[np.complex128], ...]  # (n_channels, n) of this segment so far
    tail: NDArray[np.complex128]  # last ``lag_n`` line amplitudes of the previous segment
    power: NDArray[np.float64]  # (2, n_channels): line and neighbourhood power, averaged
    signal_segment: NDArray[np.float64]  # (n_channels, n): this segment's input so far
    scales: NDArray[np.float64]  # (n_channels, _N_SCALES): RMS of the last segments' input
    n_averaged: int = 0  # segments in ``power``


def design_tracker(
    *,
    sfreq: float,
    mains_hz: float,
    segment_n: int,
    lp_hz: float,
    max_dev_hz: float,
    min_ratio: float,
) -> MainsTracker:
    """Design the tracker of mains at ``mains_hz`` for ``sfreq``, updated every ``segment_n``."""
    sfreq = check_sfreq(sfreq)
    sos = signal.butter(1, lp_hz, fs=sfreq, output="sos")
    side_sos = signal.butter(2, lp_hz, fs=sfreq, output="sos")
    return MainsTracker(
        sfreq=sfreq,
        nominal_hz=float(mains_hz),
        sos=sos,
        side_sos=side_sos,
        segment_n=int(segment_n),
        lag_n=max(1, int(round(_LAG_S * sfreq))),
        gain=0.5,
        max_dev_hz=float(max_dev_hz),
        min_ratio=float(min_ratio),
    )


def init_tracker_state(design: MainsTracker, n_channels: int) -> TrackerState:
    """Start at the nominal frequency, amplitudes zero."""
    zi = tuple(
        np.zeros((s.shape[0], n_channels, 2), dtype=np.complex128)
        for s in (design.sos, design.side_sos, design.side_sos)
    )
    empty = np.zeros((n_channels, 0), dtype=np.complex128)
    return TrackerState(
        freq_hz=design.nominal_hz,
        segment_index=0,
        phase=0.0,
        zi=zi,
        segment=(empty, empty, empty),
        tail=empty,
        power=np.zeros((2, n_channels)),
        signal_segment=np.zeros((n_channels, 0)),
        scales=np.full((n_channels, _N_SCALES), np.inf),
    )


def track_block(
    design: MainsTracker, x: NDArray[np.float64], state: TrackerState, *, first: int
) -> tuple[NDArray[np.float64], TrackerState]:
    """Remove the tracked mains line from one conditioned block; ``state`` is not modified.

    Parameters
    ----------
    design : MainsTracker
    x : array, shape (n_channels, n_samples)
        Conditioned signal (no DC), samples ``first`` to ``first + n_samples``.
    state : TrackerState
    first : int
        Absolute index of the first sample (segments are aligned on absolute indexes).

    Returns
    -------
    y : array, shape (n_channels, n_samples)
    new_state : TrackerState
    """
    n = x.shape[1]
    y = x.copy()
    a = first
    while a < first + n:
        seg_idx = a // design.segment_n
        if seg_idx != state.segment_index:  # a gap: start the segment's phase afresh
            state = _next_segment(design, state, seg_idx, update=False)
        b = min((seg_idx + 1) * design.segment_n, first + n)
        k = np.arange(a - seg_idx * design.segment_n, b - seg_idx * design.segment_n)
        piece = x[:, a - first : b - first]
        # a pop or a strong twitch would ring in the line's amplitude for a second: the
        # estimate sees the input clipped at a few times its recent RMS (the hum never is)
        limit = _CLIP * np.median(state.scales, axis=1)[:, None]
        clipped = np.clip(piece, -limit, limit)
        zs, zis = [], []
        for i, (off, sos) in enumerate(
            ((0.0, design.sos), (-SIDE_HZ, design.side_sos), (SIDE_HZ, design.side_sos))
        ):
            w = 2 * np.pi * (state.freq_hz + off) / design.sfreq
            rot = np.exp(-1j * (state.phase * (1.0 + off / state.freq_hz) + w * k))
            z, zf = signal.sosfilt(sos, clipped * rot[None, :], axis=1, zi=state.zi[i])
            zs.append(z)
            zis.append(zf)
            if i == 0:
                y[:, a - first : b - first] -= 2.0 * np.real(z * np.conj(rot)[None, :])
        state = TrackerState(
            freq_hz=state.freq_hz,
            segment_index=seg_idx,
            phase=state.phase,
            zi=tuple(zis),
            segment=tuple(
                np.concatenate([s, z], axis=1) for s, z in zip(state.segment, zs, strict=True)
            ),
            tail=state.tail,
            power=state.power,
            signal_segment=np.concatenate([state.signal_segment, piece], axis=1),
            scales=state.scales,
            n_averaged=state.n_averaged,
        )
        if b == (seg_idx + 1) * design.segment_n:
            state = _next_segment(design, state, seg_idx + 1, update=True)
        a = b
    return y, state


def _next_segment(
    design: MainsTracker, state: TrackerState, seg_idx: int, *, update: bool
) -> TrackerState:
    """Close the current segment: move the frequency by the line's phase drift (``update``)."""
    line, lower, upper = state.segment
    freq = state.freq_hz
    tail = line[:, -design.lag_n :]
    power, n_averaged, scales = state.power, state.n_averaged, state.scales
    if update and line.shape[1] > 0:
        rms = np.sqrt(np.mean(state.signal_segment**2, axis=1))
        scales = np.concatenate([scales[:, 1:], rms[:, None]], axis=1)
        ext = np.concatenate([state.tail, line], axis=1)
        p_line = np.mean(np.abs(line) ** 2, axis=1)
        p_side = 0.5 * (np.mean(np.abs(lower) ** 2, axis=1) + np.mean(np.abs(upper) ** 2, axis=1))
        # averaged over about 2 s: one segment's narrow-band powers are too few degrees of
        # freedom (noise alone passes a ratio of 10 once in 11 segments)
        n_averaged += 1
        weight = max(_POWER_WEIGHT, 1.0 / n_averaged)
        power = power + weight * (np.vstack([p_line, p_side]) - power)
        strong = power[0] > design.min_ratio * np.maximum(power[1], np.finfo(float).tiny)
        strong &= n_averaged >= round(1 / _POWER_WEIGHT)
        lag = design.lag_n
        if strong.any() and ext.shape[1] > lag:
            c = np.sum(ext[strong, lag:] * np.conj(ext[strong, :-lag]))
            drift = float(np.angle(c)) * design.sfreq / (2 * np.pi * lag)
            freq = float(
                np.clip(
                    freq + design.gain * drift,
                    design.nominal_hz - design.max_dev_hz,
                    design.nominal_hz + design.max_dev_hz,
                )
            )
    # the phase of the line at the first sample of segment ``seg_idx``
    n_between = (seg_idx - state.segment_index) * design.segment_n
    phase = float(
        (state.phase + 2 * np.pi * state.freq_hz / design.sfreq * n_between) % (2 * np.pi)
    )
    empty = line[:, :0]
    return TrackerState(
        freq_hz=freq,
        segment_index=seg_idx,
        phase=phase,
        zi=state.zi,
        segment=(empty, empty, empty),
        tail=tail,
        power=power,
        signal_segment=state.signal_segment[:, :0],
        scales=scales,
        n_averaged=n_averaged,
    )
