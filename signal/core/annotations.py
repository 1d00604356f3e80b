"""Conversions between the data model and MNE: ``mne.io.Raw`` + ``mne.Annotations``.

See :mod:`twitchscope.signal.core.model` for the annotation convention
(``needle:<label>``, ``LTR``, ``BAD_ACQ_SKIP``).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Any

import mne
import numpy as np
from numpy.typing import ArrayLike

from twitchscope.signal.core.checks import check_ch_names, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import (
    GAP_DESCRIPTION,
    SITE_PREFIX,
    TWITCH_DESCRIPTION,
    Gap,
    NeedleSite,
    RecordingEvents,
    Twitch,
)

__all__ = [
    "events_to_annotations",
    "annotations_to_events",
    "relative_onsets",
    "make_raw",
    "recording_events",
    "set_recording_events",
]


def events_to_annotations(
    events: RecordingEvents, *, orig_time: dt.datetime | None = None
) -> mne.Annotations:
    """Build MNE annotations from sites, twitches, gaps and other annotations.

    Parameters
    ----------
    events : RecordingEvents
        What to annotate. Onsets are seconds from the first sample.
    orig_time : datetime or None
        Passed to :class:`mne.Annotations`; leave ``None`` to have onsets relative
        to the first sample of the Raw they are set on.

    Returns
    -------
    annotations : mne.Annotations
    """
    onset: list[float] = []
    duration: list[float] = []
    description: list[str] = []
    ch_names: list[tuple[str, ...]] = []
    extras: list[dict[str, Any]] = []
    for site in events.sites:
        onset.append(site.onset_s)
        duration.append(site.duration_s)
        description.append(site.description)
        ch_names.append(())
        extras.append(site.extras())
    for tw in events.twitches:
        onset.append(tw.onset_s)
        duration.append(tw.duration_s)
        description.append(TWITCH_DESCRIPTION)
        ch_names.append(tw.channels)
        extras.append(tw.extras())
    for gap in events.gaps:
        onset.append(gap.onset_s)
        duration.append(gap.duration_s)
        description.append(GAP_DESCRIPTION)
        ch_names.append(())
        extras.append({"n_samples": gap.n_samples})
    for o, d, desc in events.other:
        onset.append(o)
        duration.append(d)
        description.append(desc)
        ch_names.append(())
        extras.append({})
    return mne.Annotations(
        onset, duration, description, orig_time=orig_time, ch_names=ch_names, extras=extras
    )


def relative_onsets(annotations: mne.Annotations, first_time: float) -> np.ndarray:
    """Onsets in seconds from the first sample of the Raw the annotations belong to.

    MNE stores a Raw's onsets against ``orig_time`` (the measurement date) when it is
    set, and against sample 0 of the acquisition otherwise; in both cases the first
    sample of the Raw lies at ``raw.first_time`` (non-zero after ``crop``).
    """
    return np.asarray(annotations.onset, dtype=float) - first_time


def annotations_to_events(
    annotations: mne.Annotations, *, sfreq: float, first_time: float = 0.0
) -> RecordingEvents:
    """Read sites, twitches and gaps back from MNE annotations.

    Parameters
    ----------
    annotations : mne.Annotations
        Annotations of a Raw.
    sfreq : float
        Sampling rate of that Raw (to count the samples of a gap).
    first_time : float
        ``raw.first_time``; onsets are returned relative to the first sample.

    Returns
    -------
    events : RecordingEvents
        Annotations that follow none of the conventions are kept in ``other``.
    """
    sfreq = check_sfreq(sfreq)
    onsets = relative_onsets(annotations, first_time)
    extras_list = getattr(annotations, "extras", None) or [{}] * len(annotations)
    sites: list[NeedleSite] = []
    twitches: list[Twitch] = []
    gaps: list[Gap] = []
    other: list[tuple[float, float, str]] = []
    for onset, duration, desc, chs, extras in zip(
        onsets,
        annotations.duration,
        annotations.description,
        annotations.ch_names,
        extras_list,
        strict=True,
    ):
        onset = max(0.0, float(onset))
        duration = float(duration)
        extras = dict(extras or {})
        desc = str(desc)
        if desc.lower().startswith(SITE_PREFIX):
            sites.append(
                NeedleSite(
                    label=desc[len(SITE_PREFIX) :],
                    onset_s=onset,
                    duration_s=duration,
                    muscle=str(extras.get("muscle", "")),
                    side=str(extras.get("side", "")),
                    point_id=extras.get("point_id"),
                    note=str(extras.get("note", "")),
                )
            )
        elif desc == TWITCH_DESCRIPTION:
            channels = tuple(str(c) for c in chs)
            twitches.append(
                Twitch(
                    onset_s=onset,
                    offset_s=onset + duration,
                    channel=channels[0] if channels else "",
                    channels=channels,
                    peak_v=_float(extras.get("peak_v")),
                    rms_v=_float(extras.get("rms_v")),
                    snr_db=_float(extras.get("snr_db")),
                    area_vs=_float(extras.get("area_vs")),
                    site=extras.get("site"),
                    latency_s=_opt_float(extras.get("latency_s")),
                    median_freq_hz=_opt_float(extras.get("median_freq_hz")),
                    confidence=_float(extras.get("confidence")),
                )
            )
        elif desc == GAP_DESCRIPTION:
            n = extras.get("n_samples")
            n_samples = int(n) if n is not None else max(1, round(duration * sfreq))
            gaps.append(Gap(onset_s=onset, n_samples=n_samples, sfreq=sfreq))
        else:
            other.append((onset, duration, desc))
    return RecordingEvents(
        sites=tuple(sorted(sites, key=lambda s: s.onset_s)),
        twitches=tuple(sorted(twitches, key=lambda t: t.onset_s)),
        gaps=tuple(sorted(gaps, key=lambda g: g.onset_s)),
        other=tuple(other),
    )


def recording_events(raw: mne.io.BaseRaw) -> RecordingEvents:
    """The sites, twitches and gaps annotated on ``raw``."""
    return annotations_to_events(
        raw.annotations, sfreq=float(raw.info["sfreq"]), first_time=float(raw.first_time)
    )


def set_recording_events(raw: mne.io.BaseRaw, events: RecordingEvents) -> mne.io.BaseRaw:
    """Replace the annotations of ``raw`` (in place) by ``events``; returns ``raw``."""
    # orig_time=None: MNE syncs the onsets to the first sample of ``raw``.
    ann = events_to_annotations(events)
    raw.set_annotations(ann)
    return raw


def make_raw(
    data: ArrayLike,
    *,
    sfreq: float,
    ch_names: Sequence[str],
    ch_types: str | Sequence[str] = "emg",
    events: RecordingEvents | None = None,
    meas_date: dt.datetime | None = None,
) -> mne.io.RawArray:
    """Build an MNE Raw from an array in volts.

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Samples in volts.
    sfreq : float
        Sampling rate in Hz.
    ch_names : sequence of str
        One unique name per channel.
    ch_types : str or sequence of str
        MNE channel types; EMG is ``"emg"``, auxiliary channels ``"misc"``.
    events : RecordingEvents or None
        Sites, twitches and gaps to annotate.
    meas_date : datetime or None
        Measurement date (UTC). EDF+ requires one; ``None`` is allowed here.

    Returns
    -------
    raw : mne.io.RawArray
    """
    sfreq = check_sfreq(sfreq)
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim != 2:
        raise ConfigError(
            f"data must be a 2D array of shape (n_channels, n_samples), got shape {arr.shape}."
        )
    names = check_ch_names(ch_names, arr.shape[0])
    if not np.all(np.isfinite(arr)):
        raise ConfigError("data contains NaN or infinite samples; expected finite volts.")
    info = mne.create_info(
        list(names), sfreq, ch_types=ch_types if isinstance(ch_types, str) else list(ch_types)
    )
    if meas_date is not None:
        if meas_date.tzinfo is None:
            meas_date = meas_date.replace(tzinfo=dt.UTC)
        info.set_meas_date(meas_date)
    raw = mne.io.RawArray(arr, info, verbose="error")
    if events is not None:
        set_recording_events(raw, events)
    return raw


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
