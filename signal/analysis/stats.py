"""Per-site summary of a needling session: counts, yield, latency, amplitudes, habituation, rest RMS.

Conventions
-----------
Sites
    Needle sites are :class:`~twitchscope.signal.core.model.NeedleSite` spans; spans with the
    same label (the needle went back to the same point) are summarised together.
    Twitches are attributed to sites afresh with
    :func:`~twitchscope.signal.core.model.attribute_to_sites` (the active span at onset);
    twitches outside every span are summarised under :data:`NO_SITE`.
Insertions
    Each needle-site span is **one insertion**, unless insertion markers fall inside it:
    then the span counts as many insertions as it holds markers. A marker is an
    annotation described ``insertion`` (any case; in
    :class:`~twitchscope.signal.core.model.RecordingEvents` it arrives in ``other``), set
    e.g. for each redirection ("pistoning") of the needle within one site.
    Spans with the same label add up: pressing *Needle in* again at the same site
    (the dashboard, ``record``'s typed labels) opens a new span, so each press counts.
    The needle-site log holds spans, not needle movements: redirections made
    without a press or a marker are not seen, and the yield is then per span
    (the dashboard's column says "twitches per insertion" and its help says so).
    Yield = twitches / insertions.
Time to first twitch
    Onset of the site's first twitch minus the start of the span it falls in (that
    insertion's "needle in").
Amplitudes and duration
    Median and interquartile range (25th, 75th percentile) of the twitches' peak and
    RMS amplitude (V) and duration (s).
Habituation
    Least-squares line of peak amplitude against the twitch's index within the site
    (0, 1, 2, … in time order): slope in V per twitch (negative = habituating),
    intercept, and n. With fewer than two twitches the slope is None.
Resting RMS before vs after
    RMS of the band-passed signal (20 Hz to min(450 Hz, 0.45·sfreq), zero-phase) on
    the site's main channel (where most of its twitches were largest; the first
    channel if it has none). *Before*: the ``rest_window_s`` seconds that end at the
    start of the site's first span. *After*: the ``rest_window_s`` seconds that start
    ``rest_guard_s`` after the end of its last span. A window is cut short where it
    would enter another needle span or leave the recording, and is None when less
    than half of it remains.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import mne
import numpy as np
from numpy.typing import NDArray
from scipy import signal as sps

from twitchscope.signal.core.checks import check_ch_names, check_positive, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite, Twitch, attribute_to_sites
from twitchscope.signal.core.units import ms_cell, uv_cell

__all__ = [
    "NO_SITE",
    "INSERTION_DESCRIPTION",
    "Spread",
    "Habituation",
    "SiteSummary",
    "count_insertions",
    "fit_habituation",
    "summarize_sites",
    "site_rows",
]

#: Label under which twitches outside every needle span are summarised.
NO_SITE = "(no site)"
#: Annotation description of an insertion marker.
INSERTION_DESCRIPTION = "insertion"
_FILTER_PAD_S = 0.5


@dataclass(frozen=True, slots=True)
class Spread:
    """Median and interquartile range of a feature (NaN when there are no values)."""

    median: float
    q25: float
    q75: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        """Spread of the finite ``values``."""
        arr = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
        if arr.size == 0:
            return cls(math.nan, math.nan, math.nan)
        q25, med, q75 = np.percentile(arr, [25, 50, 75])
        return cls(float(med), float(q25), float(q75))

    @property
    def iqr(self) -> float:
        """q75 − q25."""
        return self.q75 - self.q25


@dataclass(frozen=True, slots=True)
class Habituation:
    """Least-squares fit of amplitude against twitch index within a site.

    Parameters
    ----------
    slope : float or None
        Change of peak amplitude per successive twitch, V (None when n < 2).
    intercept : float or None
        Fitted amplitude of the first twitch, V.
    n : int
        Number of twitches in the fit.
    """

    slope: float | None
    intercept: float | None
    n: int

    @property
    def slope_percent(self) -> float | None:
        """Slope as a percentage of the fitted first amplitude, per twitch."""
        if self.slope is None or not self.intercept:
            return None
        return 100.0 * self.slope / self.intercept


@dataclass(frozen=True, slots=True)
class SiteSummary:
    """Everything summarised for one needle-site label (see the module docstring)."""

    site: str
    n_spans: int
    n_insertions: int
    needle_time_s: float
    n_twitches: int
    yield_per_insertion: float | None
    time_to_first_s: float | None
    peak_v: Spread
    rms_v: Spread
    duration_s: Spread
    habituation: Habituation
    channel: str | None
    rest_before_rms_v: float | None
    rest_after_rms_v: float | None


def count_insertions(site: NeedleSite, markers_s: Sequence[float]) -> int:
    """Insertions in one span: the markers inside it, or 1 when it holds none."""
    n = sum(1 for t in markers_s if site.onset_s <= t <= site.offset_s)
    return n if n > 0 else 1


def fit_habituation(amplitudes: Sequence[float]) -> Habituation:
    """Fit ``amplitude = intercept + slope * index`` by least squares.

    Examples
    --------
    >>> h = fit_habituation([10.0, 8.0, 6.0])
    >>> round(h.slope, 6), round(h.intercept, 6), h.n
    (-2.0, 10.0, 3)
    """
    y = np.asarray([a for a in amplitudes if a is not None and math.isfinite(a)], dtype=float)
    n = int(y.size)
    if n < 2:
        return Habituation(slope=None, intercept=float(y[0]) if n else None, n=n)
    slope, intercept = np.polyfit(np.arange(n, dtype=float), y, 1)
    return Habituation(slope=float(slope), intercept=float(intercept), n=n)


def summarize_sites(
    twitches: Sequence[Twitch],
    sites: Sequence[NeedleSite],
    *,
    recording: NDArray[np.float64] | mne.io.BaseRaw | None = None,
    sfreq: float | None = None,
    ch_names: Sequence[str] | None = None,
    start_s: float = 0.0,
    insertion_markers_s: Sequence[float] = (),
    rest_window_s: float = 5.0,
    rest_guard_s: float = 1.0,
) -> tuple[SiteSummary, ...]:
    """Summarise the twitches of each needle site.

    Parameters
    ----------
    twitches : sequence of Twitch
        The detected twitches (their ``site`` is recomputed from ``sites``).
    sites : sequence of NeedleSite
        The needle spans.
    recording : array (n_channels, n_samples), mne Raw, or None
        Samples in volts, for the resting RMS; None leaves it out.
    sfreq : float or None
        Required with an array ``recording``; taken from a Raw.
    ch_names : sequence of str or None
        Required with an array ``recording``; taken from a Raw.
    start_s : float
        Time of the first sample of an array ``recording`` (e.g. the oldest sample
        still in a live buffer), s; sites and twitches keep their own times.
    insertion_markers_s : sequence of float
        Times of ``insertion`` annotations, s.
    rest_window_s, rest_guard_s : float
        Length of the resting windows and the gap after needle out, s.

    Returns
    -------
    summaries : tuple of SiteSummary
        One per site label in order of first needle-in, then :data:`NO_SITE` if any
        twitch fell outside every span.
    """
    rest_window_s = check_positive("rest_window_s", rest_window_s)
    rest_guard_s = check_positive("rest_guard_s", rest_guard_s, allow_zero=True)
    reader = _RecordingWindows.of(recording, sfreq=sfreq, ch_names=ch_names, start_s=start_s)
    sites = sorted(sites, key=lambda s: s.onset_s)
    attributed = sorted(attribute_to_sites(twitches, sites), key=lambda t: t.onset_s)
    labels: list[str] = []
    for s in sites:
        if s.label not in labels:
            labels.append(s.label)
    out = []
    for label in labels:
        spans = [s for s in sites if s.label == label]
        tws = [t for t in attributed if t.site == label]
        n_ins = sum(count_insertions(s, insertion_markers_s) for s in spans)
        channel = _main_channel(tws, reader)
        before = after = None
        if reader is not None and channel is not None:
            start = spans[0].onset_s
            before = reader.rms(
                channel, *_clear_window(start - rest_window_s, start, sites, keep="end")
            )
            a0 = spans[-1].offset_s + rest_guard_s
            after = reader.rms(channel, *_clear_window(a0, a0 + rest_window_s, sites, keep="start"))
            if before is not None and before[1] < 0.5 * rest_window_s:
                before = None
            if after is not None and after[1] < 0.5 * rest_window_s:
                after = None
        out.append(
            _summary(
                label,
                spans,
                tws,
                n_ins,
                channel,
                before[0] if before else None,
                after[0] if after else None,
            )
        )
    loose = [t for t in attributed if t.site is None]
    if loose:
        out.append(_summary(NO_SITE, [], loose, 0, _main_channel(loose, reader), None, None))
    return tuple(out)


def _summary(
    label: str,
    spans: Sequence[NeedleSite],
    tws: Sequence[Twitch],
    n_ins: int,
    channel: str | None,
    before: float | None,
    after: float | None,
) -> SiteSummary:
    first = tws[0].latency_s if tws and spans else None
    return SiteSummary(
        site=label,
        n_spans=len(spans),
        n_insertions=n_ins,
        needle_time_s=float(sum(s.duration_s for s in spans)),
        n_twitches=len(tws),
        yield_per_insertion=len(tws) / n_ins if n_ins else None,
        time_to_first_s=first,
        peak_v=Spread.of(t.peak_v for t in tws),
        rms_v=Spread.of(t.rms_v for t in tws),
        duration_s=Spread.of(t.duration_s for t in tws),
        habituation=fit_habituation([t.peak_v for t in tws]),
        channel=channel,
        rest_before_rms_v=before,
        rest_after_rms_v=after,
    )


def _main_channel(tws: Sequence[Twitch], reader: _RecordingWindows | None) -> str | None:
    counts = Counter(t.channel for t in tws if t.channel)
    if reader is not None:
        counts = Counter({c: n for c, n in counts.items() if c in reader.ch_names})
        if not counts:
            return reader.ch_names[0]
    return counts.most_common(1)[0][0] if counts else None


def _clear_window(
    t0: float, t1: float, sites: Sequence[NeedleSite], *, keep: str
) -> tuple[float, float]:
    """Shrink [t0, t1) so it enters no needle span, keeping its ``"end"`` or ``"start"``."""
    for s in sites:
        if s.offset_s <= t0 or s.onset_s >= t1:
            continue
        if keep == "end":
            t0 = max(t0, s.offset_s)
        else:
            t1 = min(t1, s.onset_s)
    return t0, max(t0, t1)


@dataclass(frozen=True, slots=True)
class _RecordingWindows:
    """Windows of a recording (array or Raw) band-passed for resting RMS."""

    source: Any
    sfreq: float
    ch_names: tuple[str, ...]
    n_samples: int
    start_s: float = 0.0

    @classmethod
    def of(
        cls,
        recording: NDArray[np.float64] | mne.io.BaseRaw | None,
        *,
        sfreq: float | None,
        ch_names: Sequence[str] | None,
        start_s: float = 0.0,
    ) -> _RecordingWindows | None:
        if recording is None:
            return None
        if isinstance(recording, mne.io.BaseRaw):
            return cls(
                recording,
                float(recording.info["sfreq"]),
                tuple(recording.ch_names),
                int(recording.n_times),
            )
        arr = np.asarray(recording, dtype=np.float64)
        if arr.ndim != 2:
            raise ConfigError(
                f"recording must be a 2D array (n_channels, n_samples), got shape {arr.shape}."
            )
        if ch_names is None:
            raise ConfigError("ch_names is required with an array recording, got None.")
        return cls(
            arr,
            check_sfreq(sfreq),
            check_ch_names(ch_names, arr.shape[0]),
            int(arr.shape[1]),
            float(start_s),
        )

    def _get(self, ch: int, start: int, stop: int) -> NDArray[np.float64]:
        if isinstance(self.source, mne.io.BaseRaw):
            return self.source.get_data(picks=[ch], start=start, stop=stop)[0]
        return self.source[ch, start:stop]

    def rms(self, channel: str, t0: float, t1: float) -> tuple[float, float] | None:
        """(RMS in V, seconds used) of the band-passed window [t0, t1), or None if empty."""
        ch = self.ch_names.index(channel)
        a = max(0, int(round((t0 - self.start_s) * self.sfreq)))
        b = min(self.n_samples, int(round((t1 - self.start_s) * self.sfreq)))
        if b - a < 2:
            return None
        pad = int(round(_FILTER_PAD_S * self.sfreq))
        pa, pb = max(0, a - pad), min(self.n_samples, b + pad)
        x = self._get(ch, pa, pb)
        low, high = 20.0, min(450.0, 0.45 * self.sfreq)
        sos = sps.butter(4, (low, high), btype="bandpass", fs=self.sfreq, output="sos")
        padlen = min(x.size - 1, 3 * (2 * sos.shape[0] + 1))
        y = sps.sosfiltfilt(sos, x - np.mean(x), padlen=padlen)[a - pa : b - pa]
        return float(np.sqrt(np.mean(y * y))), (b - a) / self.sfreq


def site_rows(summaries: Sequence[SiteSummary]) -> list[dict[str, Any]]:
    """One flat row per site with display/export units (µV, ms) in the column names."""

    def uv(v: float | None) -> float | None:
        return uv_cell(v, 2)

    def ms(v: float | None) -> float | None:
        return ms_cell(v, 1)

    rows = []
    for s in summaries:
        h = s.habituation
        rows.append(
            {
                "site": s.site,
                "insertions": s.n_insertions,
                "twitches": s.n_twitches,
                "yield_per_insertion": (
                    None if s.yield_per_insertion is None else round(s.yield_per_insertion, 2)
                ),
                "time_to_first_ms": ms(s.time_to_first_s),
                "peak_median_uv": uv(s.peak_v.median),
                "peak_iqr_uv": uv(s.peak_v.iqr),
                "rms_median_uv": uv(s.rms_v.median),
                "rms_iqr_uv": uv(s.rms_v.iqr),
                "duration_median_ms": ms(s.duration_s.median),
                "duration_iqr_ms": ms(s.duration_s.iqr),
                "habituation_uv_per_twitch": uv(h.slope),
                "habituation_n": h.n,
                "channel": s.channel,
                "rest_before_rms_uv": uv(s.rest_before_rms_v),
                "rest_after_rms_uv": uv(s.rest_after_rms_v),
            }
        )
    return rows
