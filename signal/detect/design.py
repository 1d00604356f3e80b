"""The detector's design: what it derives once from its configuration, rate and channels.

A :class:`DetectorDesign` is immutable and records the :class:`DetectorConfig` it was
built from, so a step can refuse a configuration the design does not match
(:func:`check_design`). It holds the filter designs (conditioning band-pass with its
mains notches, the 1-20 Hz band of the low-frequency veto, the envelope) and the
configuration's durations turned into sample counts at this rate. The running state
(:class:`~twitchscope.signal.detect.detector.DetectorState`) holds everything that
changes from block to block.

With ``mains="auto"`` the conditioning filter is not known until the mains frequency
has been estimated from the first ``mains_probe_s`` seconds: the design then has
``mains_hz`` and ``conditioning`` None, and :meth:`DetectorDesign.with_mains` gives the
complete design once the frequency is known.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

from scipy import signal

from twitchscope.signal.core.checks import check_ch_names
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.envelope import EnvelopeDesign, design_envelope
from twitchscope.signal.detect.filters import FilterDesign, check_band, design_conditioning
from twitchscope.signal.detect.mains import SIDE_HZ, MainsTracker, design_tracker

__all__ = ["LF_BAND_HZ", "DetectorDesign", "design_detector", "check_design"]

log = logging.getLogger(__name__)

#: Band of the raw signal the low-frequency (needle handling) veto looks at, Hz.
LF_BAND_HZ = (1.0, 20.0)


@dataclass(frozen=True, eq=False, slots=True)
class DetectorDesign:
    """Everything the detector derives from its configuration, before any sample.

    Parameters
    ----------
    config : DetectorConfig
        The configuration this design was built from.
    sfreq : float
        Sampling rate, Hz.
    ch_names : tuple of str
        Channel names, one per row of every block.
    lf : FilterDesign
        The 1-20 Hz band-pass of the raw signal (low-frequency veto).
    envelope : EnvelopeDesign
        Envelope method and smoothing.
    mains_hz : float or None
        Mains frequency notched; None while it is still to be estimated.
    conditioning : FilterDesign or None
        Band-pass plus mains notches; None while the mains frequency is unknown.
    probe_n : int
        Samples held back to estimate the mains frequency (``mains="auto"``).
    segment_n : int
        Samples per baseline segment (segments are aligned on absolute indexes).
    warm_segments, stale_segments, settle_segments : int
        ``warmup_s``, ``baseline_stale_s`` and ``settle_s`` in baseline segments.
    k_on : float
        On-threshold k at this rate.
    merge_n : int
        ``merge_gap_s`` in samples: fragments closer than this merge, and a candidate
        is closed this long after its last active sample.
    context_n : int
        ``context_s`` in samples: the signal kept before a candidate to measure it.
    sustained_n : int
        ``sustained_max_s`` in samples: a longer candidate is sustained activity.
    min_duration_n : int
        ``min_duration_s`` in samples: a shorter candidate is not a burst.
    far_n_eff : float
        Independent samples in ``min_duration_s`` of the conditioned band (the background
        statistic of :mod:`twitchscope.signal.detect.false_alarms`).
    far_segments : int
        ``far_memory_s`` in baseline segments (the fit's memory).
    far_ring : int
        Segment maxima kept: ``far_segments`` before a candidate plus the segments it can
        span and wait for before it is closed.
    history_n : int
        Samples of conditioned signal, 1-20 Hz band and envelope kept behind the
        newest one, enough for the context of any open candidate.
    """

    config: DetectorConfig
    sfreq: float
    ch_names: tuple[str, ...]
    lf: FilterDesign
    envelope: EnvelopeDesign
    probe_n: int
    segment_n: int
    warm_segments: int
    stale_segments: int
    settle_segments: int
    k_on: float
    merge_n: int
    context_n: int
    sustained_n: int
    min_duration_n: int
    history_n: int
    far_n_eff: float
    far_segments: int
    far_ring: int
    mains_hz: float | None = None
    conditioning: FilterDesign | None = None
    tracker: MainsTracker | None = None

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.ch_names)

    @property
    def bandwidth_hz(self) -> tuple[float, float] | None:
        """The conditioned band (Hz) once the mains frequency is known, else None."""
        return None if self.conditioning is None else self.conditioning.band

    def with_mains(self, mains_hz: float) -> DetectorDesign:
        """The design with the conditioning filter for mains at ``mains_hz`` (50 or 60)."""
        config = self.config
        conditioning = design_conditioning(config, sfreq=self.sfreq, mains_hz=mains_hz)
        tracker = None
        if (
            config.mains_track_for(self.sfreq)
            and mains_hz < self.sfreq / 2 - SIDE_HZ - config.mains_track_max_dev_hz
        ):
            tracker = design_tracker(
                sfreq=self.sfreq,
                mains_hz=mains_hz,
                segment_n=self.segment_n,
                lp_hz=config.mains_track_lp_hz,
                max_dev_hz=config.mains_track_max_dev_hz,
                min_ratio=config.mains_track_min_ratio,
            )
        return replace(self, mains_hz=mains_hz, conditioning=conditioning, tracker=tracker)


def design_detector(
    config: DetectorConfig, *, sfreq: float, ch_names: Sequence[str]
) -> DetectorDesign:
    """Design the detector for a stream of ``len(ch_names)`` channels at ``sfreq`` Hz.

    Parameters
    ----------
    config : DetectorConfig
    sfreq : float
        Sampling rate, Hz.
    ch_names : sequence of str
        Channel names, one per row of every block.

    Returns
    -------
    design : DetectorDesign
        Complete when ``config.mains`` is given; with ``mains="auto"`` the conditioning
        filter waits for :meth:`DetectorDesign.with_mains`.

    Raises
    ------
    ConfigError
        A rate that leaves no pass band or no envelope smoothing below Nyquist, or bad
        channel names.
    """
    sfreq = check_band(config, sfreq=sfreq)
    names = check_ch_names(ch_names)
    if sfreq < config.low_rate_sfreq:
        log.warning(
            "sfreq %g Hz: detection-only mode, reduced bandwidth %g-%g Hz, no spectral metrics "
            "(>= 1000 Hz recommended).",
            sfreq,
            config.hp_hz,
            config.low_pass_hz(sfreq),
        )
    lf_sos = signal.butter(2, LF_BAND_HZ, btype="bandpass", fs=sfreq, output="sos")

    def segments(seconds: float) -> int:
        return int(math.ceil(seconds / config.baseline_segment_s))

    design = DetectorDesign(
        config=config,
        sfreq=sfreq,
        ch_names=names,
        lf=FilterDesign(sos=lf_sos, sfreq=sfreq, band=LF_BAND_HZ),
        envelope=design_envelope(config, sfreq=sfreq),
        probe_n=int(round(config.mains_probe_s * sfreq)),
        segment_n=max(1, int(round(config.baseline_segment_s * sfreq))),
        warm_segments=segments(config.warmup_s),
        stale_segments=segments(config.baseline_stale_s),
        settle_segments=segments(config.settle_s),
        k_on=config.k_on_for(sfreq),
        merge_n=max(1, int(round(config.merge_gap_s * sfreq))),
        context_n=int(math.ceil(config.context_s * sfreq)),
        sustained_n=int(round(config.sustained_max_s * sfreq)),
        min_duration_n=int(round(config.min_duration_s * sfreq)),
        far_n_eff=2.0 * (config.low_pass_hz(sfreq) - config.hp_hz) * config.min_duration_s,
        far_segments=segments(config.far_memory_s),
        far_ring=segments(config.far_memory_s)
        + segments(config.sustained_max_s + config.merge_gap_s)
        + 2,
        history_n=int(
            math.ceil(
                (config.context_s + config.sustained_max_s + config.merge_gap_s + 0.25) * sfreq
            )
        ),
    )
    if config.mains == "auto":
        return design
    return design.with_mains(float(config.mains))


def check_design(design: DetectorDesign, config: DetectorConfig) -> None:
    """Raise unless ``design`` was built from ``config``.

    Raises
    ------
    ConfigError
        Naming the parameters that differ: the state of a detector designed for one
        configuration cannot be stepped with another.
    """
    if design.config is config or design.config == config:
        return
    changed = [
        f.name for f in fields(config) if getattr(config, f.name) != getattr(design.config, f.name)
    ]
    raise ConfigError(
        f"the detector state was designed for another DetectorConfig (differs in "
        f"{', '.join(changed)}); start a new state with init_detector_state for this config."
    )
