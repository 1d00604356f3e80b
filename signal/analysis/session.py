"""Analyse one recording file offline: detector run, per-site summary, quality panel.

This is what ``twitchscope report`` and ``twitchscope batch`` share. The detector
runs exactly as ``twitchscope detect`` runs it: the EMG channels are streamed in
blocks of :data:`BLOCK_S` seconds through
:func:`~twitchscope.signal.detect.detector.detect_step` and flushed at the end, so the
twitches found here are the ones ``detect`` writes.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import mne
import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.analysis.quality import SignalQuality, assess_quality
from twitchscope.signal.analysis.stats import INSERTION_DESCRIPTION, SiteSummary, summarize_sites
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import RecordingEvents, RejectedCandidate, Twitch
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.detector import detect_step, flush, init_detector_state
from twitchscope.signal.io.readers import iter_blocks, read_recording

__all__ = ["BLOCK_S", "DetectionRun", "SessionAnalysis", "run_detector", "analyse_recording"]

log = logging.getLogger(__name__)

#: Seconds of signal read and processed at a time (as ``twitchscope detect``).
BLOCK_S = 5.0


@dataclass(frozen=True, slots=True)
class DetectionRun:
    """The detector's output over a whole recording.

    Parameters
    ----------
    twitches, rejected : tuple
        Twitches and rejected candidates in time order.
    mains_hz : float or None
        Mains frequency the detector notched (given or estimated).
    band_hz : tuple of float or None
        The detector's pass band at this rate, Hz.
    """

    twitches: tuple[Twitch, ...]
    rejected: tuple[RejectedCandidate, ...]
    mains_hz: float | None
    band_hz: tuple[float, float] | None


@dataclass(frozen=True, slots=True, eq=False)
class SessionAnalysis:
    """Everything a report needs about one recording.

    Parameters
    ----------
    path : Path
        The recording file.
    raw : mne.io.BaseRaw
        The recording (not preloaded; volts).
    emg_names : tuple of str
        The EMG channels the detector saw.
    events : RecordingEvents
        The file's annotations (needle sites, gaps, ...).
    config : DetectorConfig
        The detector configuration used.
    detection : DetectionRun
        The detector's output.
    sites : tuple of SiteSummary
        The per-site summary.
    quality : SignalQuality or None
        The signal-quality panel (None when not asked for or the recording is under 3 s).
    """

    path: Path
    raw: mne.io.BaseRaw
    emg_names: tuple[str, ...]
    events: RecordingEvents
    config: DetectorConfig
    detection: DetectionRun
    sites: tuple[SiteSummary, ...]
    quality: SignalQuality | None

    @property
    def sfreq(self) -> float:
        """Sampling rate, Hz."""
        return float(self.raw.info["sfreq"])

    @property
    def duration_s(self) -> float:
        """Length of the recording, s."""
        return float(self.raw.n_times / self.sfreq)

    def emg_data(self) -> NDArray[np.float64]:
        """The EMG channels, volts, shape (n_channels, n_samples)."""
        return np.asarray(self.raw.get_data(picks=list(self.emg_names)), dtype=np.float64)


def run_detector(raw: mne.io.BaseRaw, config: DetectorConfig, *, name: str) -> DetectionRun:
    """Stream the EMG channels of ``raw`` through the detector, as ``twitchscope detect`` does."""
    sites = recording_events(raw).sites
    sfreq = float(raw.info["sfreq"])
    block_samples = max(1, int(round(BLOCK_S * sfreq)))
    twitches: list[Twitch] = []
    rejected: list[RejectedCandidate] = []
    state = None
    for block in iter_blocks(raw, block_samples=block_samples):
        if state is None:
            state = init_detector_state(config, sfreq=sfreq, ch_names=block.ch_names, sites=sites)
        out, state = detect_step(config, block, state)
        twitches.extend(out.twitches)
        rejected.extend(out.rejected)
    if state is None:
        raise FileFormatError(f"{name}: no EMG samples to analyse.")
    out, state = flush(config, state)
    twitches.extend(out.twitches)
    rejected.extend(out.rejected)
    return DetectionRun(
        twitches=tuple(twitches),
        rejected=tuple(rejected),
        mains_hz=state.mains_hz,
        band_hz=state.bandwidth_hz,
    )


def analyse_recording(
    path: str | Path,
    *,
    config: DetectorConfig,
    quality: bool = True,
    sfreq: float | None = None,
    board: str | int | None = None,
) -> SessionAnalysis:
    """Read ``path``, detect twitches, summarise each needle site and assess signal quality.

    Parameters
    ----------
    path : str or Path
        A recording file (any format :func:`~twitchscope.signal.io.readers.read_recording` reads).
    config : DetectorConfig
        Detector configuration.
    quality : bool
        Compute the signal-quality panel (reads the whole EMG into memory).
    sfreq, board
        As in :func:`~twitchscope.signal.io.readers.read_recording` (text formats).

    Returns
    -------
    analysis : SessionAnalysis

    Raises
    ------
    FileFormatError
        Unreadable file or no EMG samples.
    """
    path = Path(path)
    raw = read_recording(path, sfreq=sfreq, board=board, preload=False)
    detection = run_detector(raw, config, name=path.name)
    events = recording_events(raw)
    emg_idx = mne.pick_types(raw.info, emg=True)
    emg_names = tuple(raw.ch_names[i] for i in emg_idx)
    markers = [t for t, _, d in events.other if d.strip().lower() == INSERTION_DESCRIPTION]
    emg_raw = raw.copy().pick(list(emg_names))
    sites = summarize_sites(
        detection.twitches, events.sites, recording=emg_raw, insertion_markers_s=markers
    )
    panel = None
    sf = float(raw.info["sfreq"])
    if quality and raw.n_times >= 3 * sf:
        # the mains the detector notched (given or estimated), so both panels agree
        mains = detection.mains_hz
        panel = assess_quality(
            emg_raw.get_data(),
            sfreq=sf,
            ch_names=emg_names,
            mains=float(mains) if mains is not None and math.isfinite(mains) else "auto",
            gaps=events.gaps,
        )
    return SessionAnalysis(
        path=path,
        raw=raw,
        emg_names=emg_names,
        events=events,
        config=config,
        detection=detection,
        sites=sites,
        quality=panel,
    )
