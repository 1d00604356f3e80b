"""Analyse one recording file offline: detector run, per-site summary, quality panel.

This is what ``twitchscope report`` and ``twitchscope batch`` share. The detector
runs exactly as ``twitchscope detect`` runs it
(:func:`~twitchscope.signal.detect.run.detect_recording`: the EMG channels streamed in
chunks through the one run loop), so the twitches found here are the ones ``detect``
writes.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import mne
import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.analysis.quality import SignalQuality, assess_quality
from twitchscope.signal.analysis.stats import INSERTION_DESCRIPTION, SiteSummary, summarize_sites
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import RecordingEvents
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.run import DetectionRun, detect_recording
from twitchscope.signal.io.readers import read_recording

__all__ = ["SessionAnalysis", "analyse_recording"]

log = logging.getLogger(__name__)


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


def analyse_recording(
    path: str | Path,
    *,
    config: DetectorConfig,
    quality: bool = True,
    sfreq: float | None = None,
    board: str | int | None = None,
    scale: float | None = None,
    site_markers: Mapping[str, str] | None = None,
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
    sfreq, board, scale, site_markers
        As in :func:`~twitchscope.signal.io.readers.read_recording` (what a file does not say).

    Returns
    -------
    analysis : SessionAnalysis

    Raises
    ------
    FileFormatError
        Unreadable file or no EMG samples.
    """
    path = Path(path)
    raw = read_recording(
        path, sfreq=sfreq, board=board, scale=scale, site_markers=site_markers, preload=False
    )
    detection = detect_recording(raw, config)
    if detection.n_samples == 0:
        raise FileFormatError(f"{path.name}: no EMG samples to analyse.")
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
