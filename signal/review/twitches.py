"""Between verdicts and twitches: proposing a review, applying it, measuring an added twitch.

* :func:`verdicts_from_twitches` turns detected twitches into rows to review (every one
  ``confirmed`` until the reviewer says otherwise), carrying the detector's confidence
  when the events file has one.
* :func:`verdicts_from_events_file` does the same for an events CSV (``detect --out``) or
  a corpus' ``*.truth.csv``.
* :func:`apply_review` gives the reviewed twitches as :class:`Twitch` objects: a
  confirmed row keeps the features of the detected twitch it refers to (matched by
  channel and onset), with the reviewer's onset and offset; an added row is measured on
  the conditioned signal with :func:`measure_twitch` when that is given.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import NeedleSite, Twitch, attribute_to_sites
from twitchscope.signal.detect.features import median_frequency
from twitchscope.signal.io.events import read_events
from twitchscope.signal.review.sidecar import Verdict, reviewed_twitches

__all__ = [
    "MATCH_TOLERANCE_S",
    "nearest_onset",
    "verdicts_from_twitches",
    "verdicts_from_events_file",
    "apply_review",
    "measure_twitch",
]

#: A verdict refers to the detected twitch on its channel whose onset is this close, s.
MATCH_TOLERANCE_S = 0.05
#: Seconds of conditioned signal before an added twitch taken as its baseline.
_BASELINE_S = 1.0


def verdicts_from_twitches(
    twitches: Iterable[Twitch],
    *,
    reviewer: str,
    verdict: str = "confirmed",
    detector_version: str = "",
    confidences: Sequence[float | None] | None = None,
) -> tuple[Verdict, ...]:
    """One verdict per twitch (by default ``confirmed``), with its site.

    Parameters
    ----------
    twitches : iterable of Twitch
    reviewer : str
    verdict : str
        Verdict given to every row.
    detector_version : str
        Version of the detector that found them.
    confidences : sequence of float or None, optional
        The detector's confidence for each twitch (same order); by default each twitch's
        own ``confidence`` attribute when the model has one.
    """
    tws = list(twitches)
    if confidences is None:  # the detector's own confidence, where the model carries one
        conf: list[float | None] = [_finite(getattr(t, "confidence", None)) for t in tws]
    else:
        conf = list(confidences)
    if len(conf) != len(tws):
        raise FileFormatError(
            f"got {len(conf)} confidences for {len(tws)} twitches; expected one per twitch."
        )
    return tuple(
        Verdict(
            onset_s=float(t.onset_s),
            offset_s=float(t.offset_s),
            channel=t.channel,
            verdict=verdict,
            reviewer=reviewer,
            confidence=c,
            detector_version=detector_version,
            site=t.site or "",
        )
        for t, c in zip(tws, conf, strict=True)
    )


def _finite(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value) and 0.0 <= value <= 1.0:
        return float(value)
    return None


def verdicts_from_events_file(
    path: str | os.PathLike[str],
    *,
    reviewer: str,
    verdict: str = "confirmed",
    detector_version: str = "",
) -> tuple[Verdict, ...]:
    """Verdicts for every row of an events CSV/JSON (or a corpus ``*.truth.csv``).

    A ``confidence`` column, when the file has one, is carried over.
    """
    path = Path(path)
    twitches = read_events(path)
    confidences: list[float | None] | None = None
    if path.suffix.lower() == ".csv":
        with path.open(encoding="utf-8-sig", newline="") as f:
            rows = [r for r in csv.DictReader(f) if any((v or "").strip() for v in r.values())]
        if rows and "confidence" in rows[0]:
            confidences = [_confidence(path, r.get("confidence")) for r in rows]
    return verdicts_from_twitches(
        twitches,
        reviewer=reviewer,
        verdict=verdict,
        detector_version=detector_version,
        confidences=confidences,
    )


def _confidence(path: Path, text: str | None) -> float | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise FileFormatError(
            f"{path.name}: column 'confidence' holds {text!r}; expected a number in [0, 1]."
        ) from None
    return value if math.isfinite(value) else None


def apply_review(
    detected: Sequence[Twitch],
    verdicts: Sequence[Verdict],
    *,
    reviewer: str | None = None,
    sites: Sequence[NeedleSite] = (),
    conditioned: NDArray[np.float64] | None = None,
    sfreq: float | None = None,
    ch_names: Sequence[str] = (),
) -> tuple[Twitch, ...]:
    """The reviewed twitches (confirmed + added) of one reviewer as :class:`Twitch` objects.

    Parameters
    ----------
    detected : sequence of Twitch
        The detector's twitches the review was made on (their features are kept).
    verdicts : sequence of Verdict
        The review.
    reviewer : str or None
        Whose review; None when there is only one reviewer.
    sites : sequence of NeedleSite
        Needle sites, for ``site`` and ``latency_s``.
    conditioned : array (n_channels, n_samples), optional
        The recording conditioned as the detector sees it, volts: an added twitch (or a
        confirmed one that matches no detected twitch) is measured on it. Without it,
        such a twitch has no amplitude features (NaN).
    sfreq : float, optional
        Sampling rate of ``conditioned``, Hz (required with it).
    ch_names : sequence of str
        Channel names of ``conditioned``.

    Returns
    -------
    twitches : tuple of Twitch
        Sorted by onset.
    """
    pairs: list[tuple[Twitch, Verdict]] = []
    used: set[int] = set()
    for v in reviewed_twitches(verdicts, reviewer):
        k = _nearest(detected, v, used) if v.verdict == "confirmed" else None
        if k is not None:
            used.add(k)
            tw = replace(detected[k], onset_s=v.onset_s, offset_s=v.offset_s)
        elif conditioned is not None and sfreq is not None and v.channel in ch_names:
            tw = measure_twitch(
                conditioned,
                sfreq=sfreq,
                ch_names=ch_names,
                onset_s=v.onset_s,
                offset_s=v.offset_s,
                channel=v.channel,
            )
        else:
            tw = Twitch(onset_s=v.onset_s, offset_s=v.offset_s, channel=v.channel)
        pairs.append((tw, v))
    if sites:
        out = attribute_to_sites([t for t, _ in pairs], sites)
    else:
        out = [t if t.site or not v.site else replace(t, site=v.site) for t, v in pairs]
    return tuple(sorted(out, key=lambda t: t.onset_s))


def _nearest(detected: Sequence[Twitch], v: Verdict, used: set[int]) -> int | None:
    return nearest_onset(
        v.onset_s,
        [t.onset_s for t in detected],
        eligible=lambda k: k not in used and v.channel in detected[k].channels,
    )


def nearest_onset(
    onset_s: float,
    onsets: Sequence[float],
    *,
    eligible: Callable[[int], bool] | None = None,
    tolerance_s: float = MATCH_TOLERANCE_S,
) -> int | None:
    """Index of the onset nearest ``onset_s`` within ``tolerance_s``, among the eligible ones.

    How a verdict finds the detected twitch it refers to, and a detected twitch the
    verdict of a stored review (:func:`apply_review`, and the dashboard's review draft).

    Parameters
    ----------
    onset_s : float
        The onset to match, s.
    onsets : sequence of float
        Candidate onsets, s.
    eligible : callable(index) -> bool, optional
        Which candidates may match (e.g. not used yet, on the same channel); all by default.
    tolerance_s : float
        Largest onset difference, s.

    Returns
    -------
    int or None
        The candidate's index (of equally near ones, the last), or None.

    Examples
    --------
    >>> nearest_onset(1.0, [0.5, 0.98, 1.03])
    1
    >>> nearest_onset(1.0, [0.5, 0.98, 1.03], eligible=lambda k: k != 1)
    2
    >>> nearest_onset(1.0, [0.5]) is None
    True
    """
    best, best_err = None, tolerance_s
    for k, t in enumerate(onsets):
        if eligible is not None and not eligible(k):
            continue
        err = abs(t - onset_s)
        if err <= best_err:
            best, best_err = k, err
    return best


def measure_twitch(
    conditioned: NDArray[np.float64],
    *,
    sfreq: float,
    ch_names: Sequence[str],
    onset_s: float,
    offset_s: float,
    channel: str,
) -> Twitch:
    """Measure a twitch a reviewer marked, as the detector measures its own.

    On the conditioned signal (volts): peak absolute amplitude, RMS and rectified area
    over ``[onset_s, offset_s]``, SNR in dB against the RMS of the second before the
    onset, and the median frequency where the detector gives one (sfreq >= 1 kHz,
    at least 0.1 s).

    Examples
    --------
    >>> x = np.zeros((1, 2000)); x[0, 1000:1100] = 1e-5
    >>> x[0, :1000] = 1e-6
    >>> t = measure_twitch(x, sfreq=1000.0, ch_names=["A"], onset_s=1.0, offset_s=1.1, channel="A")
    >>> round(t.peak_v * 1e6, 3), round(t.snr_db, 1)
    (10.0, 20.0)
    """
    if channel not in ch_names:
        raise FileFormatError(
            f"channel {channel!r} is not in the recording; expected one of {', '.join(ch_names)}."
        )
    x = np.asarray(conditioned, dtype=np.float64)[list(ch_names).index(channel)]
    a = max(0, int(round(onset_s * sfreq)))
    b = min(x.size, max(a + 1, int(round(offset_s * sfreq))))
    if a >= x.size:
        raise FileFormatError(
            f"twitch at {onset_s:.3f} s lies after the end of the recording "
            f"({x.size / sfreq:.3f} s); expected a time inside it."
        )
    burst = x[a:b]
    rms = float(np.sqrt(np.mean(burst**2)))
    base = x[max(0, a - int(_BASELINE_S * sfreq)) : a]
    base_rms = float(np.sqrt(np.mean(base**2))) if base.size else math.nan
    snr = 20 * math.log10(rms / base_rms) if base_rms > 0 and rms > 0 else math.nan
    mdf = None
    if sfreq >= 1000.0 and (b - a) / sfreq >= 0.1:
        mdf = median_frequency(burst, sfreq=sfreq)
    return Twitch(
        onset_s=float(onset_s),
        offset_s=float(offset_s),
        channel=channel,
        peak_v=float(np.max(np.abs(burst))),
        rms_v=rms,
        snr_db=snr,
        area_vs=float(np.sum(np.abs(burst)) / sfreq),
        median_freq_hz=mdf,
    )
