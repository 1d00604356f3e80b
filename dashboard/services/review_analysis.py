"""Whole-file analysis for the review page (no Streamlit): detection and conditioned traces."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from twitchscope.dashboard.services.recordings import Recording
from twitchscope.dashboard.services.stream_view import condition_array, display_mains
from twitchscope.signal.analysis.railed import railed_channels
from twitchscope.signal.core.model import RejectedCandidate, Twitch
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.run import array_blocks, chunk_samples, run_detector

__all__ = ["Analysis", "analyse_recording"]


@dataclass(frozen=True, eq=False, slots=True)
class Analysis:
    """Detection over a whole recording and its conditioned traces.

    Parameters
    ----------
    twitches : tuple of Twitch
        Accepted twitches, attributed to the recording's needle sites.
    rejected : tuple of RejectedCandidate
        Candidates the detector did not count, with reasons.
    mains_hz : float
        Mains frequency the detector used.
    conditioned : array, shape (n_channels, n_samples)
        The recording filtered as the detector sees it, volts (read-only).
    railed : tuple of str
        Channels stuck at a rail (not connected), left out of detection.
    """

    twitches: tuple[Twitch, ...]
    rejected: tuple[RejectedCandidate, ...]
    mains_hz: float
    conditioned: NDArray[np.float64]
    railed: tuple[str, ...] = ()


def analyse_recording(recording: Recording, config: DetectorConfig) -> Analysis:
    """Run the streaming detector over the whole recording, in chunks, and condition it.

    Railed channels (stuck at a rail: not connected) are left out of detection, as by
    ``twitchscope detect``, unless every channel is railed.
    """
    sfreq, names = recording.sfreq, recording.ch_names
    chunk = chunk_samples(sfreq)
    found = railed_channels(array_blocks(recording.data, sfreq=sfreq, ch_names=names, chunk=chunk))
    railed = tuple(r.name for r in found)
    keep = [k for k, n in enumerate(names) if n not in railed] if len(railed) < len(names) else []
    if not keep:
        keep, railed = list(range(len(names))), ()
    kept_names = tuple(names[k] for k in keep)
    run = run_detector(
        config,
        array_blocks(recording.data[keep], sfreq=sfreq, ch_names=kept_names, chunk=chunk),
        sfreq=sfreq,
        ch_names=kept_names,
        sites=recording.events.sites,
    )
    mains = display_mains(config, run.mains_hz)
    conditioned = condition_array(recording.data, sfreq=sfreq, config=config, mains_hz=mains)
    conditioned.setflags(write=False)
    return Analysis(
        twitches=run.twitches,  # attributed to the sites by the run loop
        rejected=run.rejected,
        mains_hz=mains,
        conditioned=conditioned,
        railed=railed,
    )
