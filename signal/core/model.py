"""The data model: sample blocks, needle sites, twitches, rejected candidates and gaps.

Everything here holds SI units: volts and seconds. Microvolts appear only at the
display and export edges (see :mod:`twitchscope.signal.io.events`).

Recordings are :class:`mne.io.Raw` objects with EMG channels in volts, and the
events live in their :class:`mne.Annotations` with this convention:

===================  =====================================================
description          meaning
===================  =====================================================
``needle:<label>``   a needle site: the span during which the needle was in
``LTR``              a local twitch response (channels: where it shows)
``BAD_ACQ_SKIP``     samples lost during acquisition (MNE skips BAD_ spans)
===================  =====================================================

Structured fields that do not fit the description (a site's muscle and side, a
twitch's amplitude and SNR, the number of samples a gap lost) travel in the
annotation ``extras``; FIF keeps them, EDF+ keeps only onset, duration,
description and channels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.checks import check_ch_names, check_sfreq
from twitchscope.signal.core.errors import ConfigError

__all__ = [
    "SITE_PREFIX",
    "TWITCH_DESCRIPTION",
    "GAP_DESCRIPTION",
    "SampleBlock",
    "NeedleSite",
    "Twitch",
    "RejectReason",
    "RejectedCandidate",
    "Gap",
    "RecordingEvents",
    "site_at",
    "attribute_to_sites",
]

SITE_PREFIX = "needle:"
TWITCH_DESCRIPTION = "LTR"
GAP_DESCRIPTION = "BAD_ACQ_SKIP"


@dataclass(frozen=True, eq=False, slots=True)
class SampleBlock:
    """A block of consecutive samples from all channels of one source.

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Samples in volts (float64).
    sfreq : float
        Sampling rate in Hz.
    first_sample : int
        Absolute index of the first sample of this block in its stream.
    ch_names : tuple of str
        One name per row of ``data``.
    n_lost_before : int
        Number of samples lost just before this block (0 when contiguous).
        ``first_sample`` already counts them, so the block's time is
        ``first_sample / sfreq`` either way.
    """

    data: NDArray[np.float64]
    sfreq: float
    first_sample: int
    ch_names: tuple[str, ...]
    n_lost_before: int = 0

    def __post_init__(self) -> None:
        data = np.asarray(self.data, dtype=np.float64)
        if data.ndim != 2:
            raise ConfigError(
                f"data must be a 2D array of shape (n_channels, n_samples), got shape {data.shape}."
            )
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "sfreq", check_sfreq(self.sfreq))
        object.__setattr__(self, "ch_names", check_ch_names(self.ch_names, data.shape[0]))
        if int(self.first_sample) < 0 or int(self.n_lost_before) < 0:
            raise ConfigError(
                "first_sample and n_lost_before must be >= 0, got "
                f"{self.first_sample!r} and {self.n_lost_before!r}."
            )
        object.__setattr__(self, "first_sample", int(self.first_sample))
        object.__setattr__(self, "n_lost_before", int(self.n_lost_before))

    @property
    def n_channels(self) -> int:
        """Number of channels (rows)."""
        return int(self.data.shape[0])

    @property
    def n_samples(self) -> int:
        """Number of samples (columns)."""
        return int(self.data.shape[1])

    @property
    def onset_s(self) -> float:
        """Time of the first sample in seconds from the start of the stream."""
        return self.first_sample / self.sfreq

    @property
    def end_sample(self) -> int:
        """Absolute index one past the last sample."""
        return self.first_sample + self.n_samples

    def times(self) -> NDArray[np.float64]:
        """Times of the samples in seconds, shape (n_samples,)."""
        return (self.first_sample + np.arange(self.n_samples)) / self.sfreq

    def pieces(self, n: int) -> Iterator[SampleBlock]:
        """This block as consecutive blocks of at most ``n`` samples (itself when short
        enough); the first piece keeps ``n_lost_before``."""
        if self.n_samples <= n:
            yield self
            return
        for a in range(0, self.n_samples, n):
            yield SampleBlock(
                data=self.data[:, a : a + n],
                sfreq=self.sfreq,
                first_sample=self.first_sample + a,
                ch_names=self.ch_names,
                n_lost_before=self.n_lost_before if a == 0 else 0,
            )

    def __repr__(self) -> str:
        return (
            f"<SampleBlock | {self.n_channels} ch x {self.n_samples} samples at "
            f"{self.sfreq:g} Hz, first_sample={self.first_sample}, "
            f"n_lost_before={self.n_lost_before}>"
        )


@dataclass(frozen=True, slots=True)
class NeedleSite:
    """A labelled span during which the needle was in one site.

    Parameters
    ----------
    label : str
        Free text shown to the user, e.g. ``"R upper trapezius TrP1"``.
    onset_s, duration_s : float
        Start and length of the span in seconds.
    muscle, side : str
        Optional structured fields (``side`` is ``"L"``, ``"R"`` or ``""``).
    point_id : str or None
        Optional point identifier within the muscle (e.g. ``"TrP1"``, ``"L4"``).
    note : str
        Optional free note.
    """

    label: str
    onset_s: float
    duration_s: float
    muscle: str = ""
    side: str = ""
    point_id: str | None = None
    note: str = ""

    def __post_init__(self) -> None:
        label = str(self.label).strip()
        if not label:
            raise ConfigError("a needle site needs a non-empty label.")
        if label.lower().startswith(SITE_PREFIX):
            label = label[len(SITE_PREFIX) :].strip()
        object.__setattr__(self, "label", label)
        _check_span("needle site", self.onset_s, self.duration_s)

    @property
    def offset_s(self) -> float:
        """End of the span in seconds."""
        return self.onset_s + self.duration_s

    @property
    def description(self) -> str:
        """The MNE annotation description, ``needle:<label>``."""
        return f"{SITE_PREFIX}{self.label}"

    def contains(self, t: float) -> bool:
        """Whether time ``t`` (s) falls within the span (onset inclusive, offset exclusive)."""
        return self.onset_s <= t < self.offset_s

    def extras(self) -> dict[str, Any]:
        """Structured fields for the annotation ``extras`` (empty fields left out)."""
        out: dict[str, Any] = {}
        for key in ("muscle", "side", "point_id", "note"):
            value = getattr(self, key)
            if value:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class Twitch:
    """One local twitch response, with its features.

    All amplitudes are in volts, times in seconds. A twitch is one event even when
    it shows on several channels: ``channel`` is where it is largest and
    ``channels`` lists every channel it shows on (``channel`` first).

    Parameters
    ----------
    onset_s, offset_s : float
        Start and end of the burst.
    channel : str
        Channel of maximum amplitude.
    channels : tuple of str
        Every channel the twitch shows on, ``channel`` first.
    peak_v : float
        Peak absolute amplitude of the conditioned signal, V.
    rms_v : float
        RMS of the conditioned signal over the burst, V.
    snr_db : float
        ``20 log10(rms / baseline rms)`` on ``channel``.
    area_vs : float
        Integral of the rectified conditioned signal over the burst, V·s.
    site : str or None
        Label of the needle site active at onset, if known.
    latency_s : float or None
        Onset minus the start of that needle site.
    median_freq_hz : float or None
        Median frequency of the burst; only where sfreq >= 1 kHz and the burst is
        long enough, otherwise ``None`` (absent, not wrong).
    confidence : float
        Probability (0-1) that the detection is a real twitch, from the detector's
        calibrated model (:func:`twitchscope.signal.detect.classify.twitch_confidence`);
        NaN when unknown (e.g. read from a file without it).
    """

    onset_s: float
    offset_s: float
    channel: str
    channels: tuple[str, ...] = ()
    peak_v: float = math.nan
    rms_v: float = math.nan
    snr_db: float = math.nan
    area_vs: float = math.nan
    site: str | None = None
    latency_s: float | None = None
    median_freq_hz: float | None = None
    confidence: float = math.nan

    def __post_init__(self) -> None:
        _check_span("twitch", self.onset_s, self.offset_s - self.onset_s)
        if not (math.isnan(self.confidence) or 0.0 <= self.confidence <= 1.0):
            raise ConfigError(f"twitch confidence must be within 0-1, got {self.confidence!r}.")
        channels = tuple(self.channels) or (self.channel,)
        if channels[0] != self.channel:
            channels = (self.channel, *(c for c in channels if c != self.channel))
        object.__setattr__(self, "channels", channels)

    @property
    def duration_s(self) -> float:
        """Offset minus onset, s."""
        return self.offset_s - self.onset_s

    def extras(self) -> dict[str, Any]:
        """Features for the annotation ``extras`` (non-finite and absent ones left out)."""
        out: dict[str, Any] = {}
        for key in (
            "peak_v",
            "rms_v",
            "snr_db",
            "area_vs",
            "latency_s",
            "median_freq_hz",
            "confidence",
        ):
            value = getattr(self, key)
            if value is not None and math.isfinite(value):
                out[key] = float(value)
        if self.site is not None:
            out["site"] = self.site
        return out


class RejectReason(StrEnum):
    """Why a candidate burst was not counted as a twitch."""

    ECG = "ecg"
    LOW_FREQ_ARTIFACT = "low_freq_artifact"
    POP = "pop"
    SUSTAINED = "sustained"
    MAINS = "mains"
    SHORT = "short"
    LOW_CONFIDENCE = "low_confidence"


@dataclass(frozen=True, slots=True)
class RejectedCandidate:
    """A candidate burst that the detector saw and did not count, and why.

    Parameters
    ----------
    onset_s, offset_s : float
        Span of the candidate, s.
    channel : str
        Channel where it was largest.
    reason : RejectReason
        The reason code.
    peak_v : float
        Peak absolute amplitude of the conditioned signal, V.
    detail : str
        A short human-readable explanation (e.g. ``"1.8 s long, limit 1.0 s"``).
    """

    onset_s: float
    offset_s: float
    channel: str
    reason: RejectReason
    peak_v: float = math.nan
    detail: str = ""

    def __post_init__(self) -> None:
        _check_span("rejected candidate", self.onset_s, self.offset_s - self.onset_s)
        try:
            object.__setattr__(self, "reason", RejectReason(self.reason))
        except ValueError:
            allowed = ", ".join(r.value for r in RejectReason)
            raise ConfigError(
                f"unknown reject reason {self.reason!r}; expected one of {allowed}."
            ) from None

    @property
    def duration_s(self) -> float:
        """Offset minus onset, s."""
        return self.offset_s - self.onset_s


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of samples lost during acquisition (``BAD_ACQ_SKIP``).

    Parameters
    ----------
    onset_s : float
        Time of the first lost sample, s.
    n_samples : int
        Number of samples lost.
    sfreq : float
        Sampling rate, to turn the count into a duration.
    """

    onset_s: float
    n_samples: int
    sfreq: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "sfreq", check_sfreq(self.sfreq))
        if int(self.n_samples) < 1:
            raise ConfigError(f"a gap loses at least one sample, got n_samples={self.n_samples}.")
        object.__setattr__(self, "n_samples", int(self.n_samples))
        _check_span("gap", self.onset_s, 0.0)

    @property
    def duration_s(self) -> float:
        """Length of the gap, s."""
        return self.n_samples / self.sfreq


@dataclass(frozen=True, slots=True)
class RecordingEvents:
    """Everything annotated on a recording, as typed objects.

    Parameters
    ----------
    sites, twitches, gaps : tuple
        The needle sites, twitches and acquisition gaps, each sorted by onset.
    other : tuple of (onset_s, duration_s, description)
        Annotations that follow none of the conventions, kept so nothing is lost.
    """

    sites: tuple[NeedleSite, ...] = ()
    twitches: tuple[Twitch, ...] = ()
    gaps: tuple[Gap, ...] = ()
    other: tuple[tuple[float, float, str], ...] = field(default=())


def site_at(sites: Sequence[NeedleSite], t: float) -> NeedleSite | None:
    """Return the needle site active at time ``t`` (the latest-starting one), or None."""
    active = [s for s in sites if s.contains(t)]
    return max(active, key=lambda s: s.onset_s) if active else None


def attribute_to_sites(twitches: Iterable[Twitch], sites: Sequence[NeedleSite]) -> list[Twitch]:
    """Return the twitches with ``site`` and ``latency_s`` set from the active needle site."""
    out = []
    for tw in twitches:
        site = site_at(sites, tw.onset_s)
        if site is None:
            out.append(replace(tw, site=None, latency_s=None))
        else:
            out.append(replace(tw, site=site.label, latency_s=tw.onset_s - site.onset_s))
    return out


def _check_span(what: str, onset_s: float, duration_s: float) -> None:
    if not (math.isfinite(onset_s) and math.isfinite(duration_s)):
        raise ConfigError(
            f"{what} times must be finite, got onset {onset_s!r}, duration {duration_s!r}."
        )
    if onset_s < 0 or duration_s < 0:
        raise ConfigError(
            f"{what} needs onset >= 0 s and duration >= 0 s, got onset {onset_s!r} s and "
            f"duration {duration_s!r} s."
        )
