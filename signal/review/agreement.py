"""Agreement between two sets of twitches: detector vs reviewer, or reviewer vs reviewer.

Matching is that of the development corpus' scorer (``shared/bench/ltrscore.py``,
channel-agnostic mode), so that the F1 of ``twitchscope agreement`` equals the
scorer's on the same files:

1. The TEST twitches seen on several channels are merged first: sorted by onset, a
   twitch joins the group of the earliest onset before it when it lies within the
   tolerance of that onset and its channel is not in the group yet (one twitch seen on
   several channels counts once). The REFERENCE is taken as it is.
2. Onsets are matched one to one: every (test, reference) pair within the tolerance is
   sorted by its onset error and accepted smallest first, each twitch used once.

Precision = TP / (TP + FP), recall = TP / (TP + FN), F1 their harmonic mean (0 when
nothing matched; undefined, NaN, when a side is empty), per needle site and overall. A
matched pair counts for the reference's site, an unmatched test twitch for its own.

For two raters, :func:`cohen_kappa` on the presence of at least one twitch per needle
site (Cohen 1960) and :func:`icc_agreement` on the per-site counts (ICC(2,1), two-way
random effects, absolute agreement, single rater: Shrout & Fleiss 1979; McGraw & Wong
1996 ICC(A,1)).

References
----------
Cohen J (1960). A coefficient of agreement for nominal scales. Educ Psychol Meas 20:37-46.
Shrout PE, Fleiss JL (1979). Intraclass correlations: uses in assessing rater
reliability. Psychol Bull 86:420-428.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite, Twitch, site_at
from twitchscope.signal.io.events import read_events
from twitchscope.signal.review.sidecar import (
    Verdict,
    is_review_file,
    pick_reviewer,
    read_review,
    reviewed_twitches,
)

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "NO_SITE",
    "Mark",
    "Counts",
    "Agreement",
    "marks_from_twitches",
    "marks_from_verdicts",
    "load_marks",
    "merge_across_channels",
    "greedy_match",
    "compare",
    "cohen_kappa",
    "icc_agreement",
]

#: Onsets this close match (the corpus scorer's 40 ms).
DEFAULT_TOLERANCE_S = 0.04
#: Site label of a twitch outside every needle site.
NO_SITE = "(no site)"


@dataclass(frozen=True, slots=True)
class Mark:
    """One twitch as the agreement sees it: onset, offset, channel, needle site (s)."""

    onset_s: float
    offset_s: float
    channel: str
    site: str = NO_SITE


@dataclass(frozen=True, slots=True)
class Counts:
    """Matches and misses of TEST against REFERENCE over one subset."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        """TP / (TP + FP); NaN without test twitches."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else math.nan

    @property
    def recall(self) -> float:
        """TP / (TP + FN); NaN without reference twitches."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else math.nan

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall (the scorer's convention for empty sides)."""
        p, r = self.precision, self.recall
        if self.tp + self.fp and self.tp + self.fn and p + r > 0:
            return 2 * p * r / (p + r)
        return 0.0 if self.tp + self.fn else math.nan

    def as_dict(self) -> dict[str, Any]:
        """Counts and rates (NaN as None), for JSON."""
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": _clean(self.precision),
            "recall": _clean(self.recall),
            "f1": _clean(self.f1),
        }


@dataclass(frozen=True, slots=True)
class Agreement:
    """TEST against REFERENCE: overall, per site, and between-rater statistics.

    Parameters
    ----------
    overall : Counts
    per_site : dict of str to Counts
    onset_errors_s : tuple of float
        Test minus reference onset of each match, s.
    site_counts : dict of str to (int, int)
        Twitches per site in REFERENCE and TEST (after merging).
    kappa : float
        Cohen's kappa on "the site has at least one twitch" (NaN when undefined).
    icc : float
        ICC(2,1) of the per-site counts (NaN when undefined).
    tolerance_s : float
    """

    overall: Counts
    per_site: dict[str, Counts]
    onset_errors_s: tuple[float, ...]
    site_counts: dict[str, tuple[int, int]]
    kappa: float
    icc: float
    tolerance_s: float
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def median_abs_error_ms(self) -> float:
        """Median |onset error| over the matches, ms (NaN without matches)."""
        if not self.onset_errors_s:
            return math.nan
        return float(np.median(np.abs(self.onset_errors_s)) * 1000.0)

    def as_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready (NaN as None)."""
        return {
            **self.labels,
            "tolerance_ms": self.tolerance_s * 1000.0,
            "matching": "one-to-one by onset error, test merged across channels",
            "overall": {
                **self.overall.as_dict(),
                "median_abs_onset_error_ms": _clean(self.median_abs_error_ms),
            },
            "per_site": {
                site: {
                    **c.as_dict(),
                    "n_reference": self.site_counts[site][0],
                    "n_test": self.site_counts[site][1],
                }
                for site, c in self.per_site.items()
            },
            "cohen_kappa_site_presence": _clean(self.kappa),
            "icc_site_counts": _clean(self.icc),
        }


def _clean(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


# --------------------------------------------------------------------------------------
# inputs


def _norm_channel(name: str) -> str:
    return re.sub(r"^EMG[\s_:]+", "", str(name).strip(), flags=re.IGNORECASE)


def marks_from_twitches(twitches: Iterable[Twitch], sites: Sequence[NeedleSite] = ()) -> list[Mark]:
    """Marks from twitches; the site is the twitch's, else the active needle site's."""
    return [
        Mark(t.onset_s, t.offset_s, _norm_channel(t.channel), _site(t.site, t.onset_s, sites))
        for t in twitches
    ]


def marks_from_verdicts(
    verdicts: Sequence[Verdict], *, reviewer: str | None = None, sites: Sequence[NeedleSite] = ()
) -> list[Mark]:
    """Marks from a reviewer's reviewed twitches (confirmed + added)."""
    return [
        Mark(v.onset_s, v.offset_s, _norm_channel(v.channel), _site(v.site, v.onset_s, sites))
        for v in reviewed_twitches(verdicts, reviewer)
    ]


def _site(label: str | None, onset_s: float, sites: Sequence[NeedleSite]) -> str:
    if label:
        return label
    active = site_at(sites, onset_s) if sites else None
    return active.label if active is not None else NO_SITE


def load_marks(
    path: str | os.PathLike[str],
    *,
    reviewer: str | None = None,
    sites: Sequence[NeedleSite] = (),
) -> tuple[list[Mark], str]:
    """Read an events file (``detect --out``, CSV or JSON) or a review CSV.

    Parameters
    ----------
    path : path
        The file.
    reviewer : str or None
        For a review file with several reviewers, whose twitches to take.
    sites : sequence of NeedleSite
        Needle sites, for twitches whose file gives none.

    Returns
    -------
    marks : list of Mark
    label : str
        What was read, e.g. ``"review by AL"`` or ``"events"``.
    """
    path = Path(path)
    if is_review_file(path):
        verdicts = read_review(path)
        who = pick_reviewer(verdicts, reviewer)
        return marks_from_verdicts(verdicts, reviewer=who, sites=sites), f"review by {who}"
    if reviewer is not None:
        raise ConfigError(
            f"{path.name} is an events file, not a review; a reviewer applies only to a "
            "review CSV (with a verdict column)."
        )
    return marks_from_twitches(read_events(path), sites), "events"


# --------------------------------------------------------------------------------------
# matching


def merge_across_channels(marks: Sequence[Mark], tolerance_s: float) -> list[Mark]:
    """One mark per twitch seen on several channels (see the module's rule 1)."""
    ordered = sorted(marks, key=lambda m: m.onset_s)
    out: list[Mark] = []
    group: set[str] = set()
    for m in ordered:
        if out and m.onset_s - out[-1].onset_s <= tolerance_s and m.channel not in group:
            group.add(m.channel)
            last = out[-1]
            out[-1] = Mark(last.onset_s, max(last.offset_s, m.offset_s), last.channel, last.site)
            continue
        out.append(m)
        group = {m.channel}
    return out


def greedy_match(
    test_onsets: ArrayLike, ref_onsets: ArrayLike, tolerance_s: float
) -> list[tuple[int, int, float]]:
    """One-to-one matches ``(test index, reference index, test - reference s)``.

    Examples
    --------
    >>> greedy_match([1.0, 1.03, 5.0], [1.02, 4.0], 0.04)
    [(1, 0, 0.010000000000000009)]
    """
    t = np.asarray(test_onsets, dtype=float)
    r = np.asarray(ref_onsets, dtype=float)
    if t.size == 0 or r.size == 0:
        return []
    d = t[:, None] - r[None, :]
    ii, jj = np.nonzero(np.abs(d) <= tolerance_s + 1e-9)
    order = np.argsort(np.abs(d[ii, jj]), kind="stable")
    used_t: set[int] = set()
    used_r: set[int] = set()
    out: list[tuple[int, int, float]] = []
    for k in order:
        i, j = int(ii[k]), int(jj[k])
        if i in used_t or j in used_r:
            continue
        used_t.add(i)
        used_r.add(j)
        out.append((i, j, float(d[i, j])))
    return out


def compare(
    reference: Sequence[Mark],
    test: Sequence[Mark],
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    sites: Iterable[str] = (),
) -> Agreement:
    """Precision, recall and F1 of ``test`` against ``reference``, with kappa and ICC.

    Parameters
    ----------
    reference, test : sequence of Mark
    tolerance_s : float
        Largest onset difference of a match, s (default 40 ms).
    sites : iterable of str
        Needle-site labels to count even when neither side has a twitch there (they
        enter kappa and the ICC as "no twitch" by both).

    Raises
    ------
    ConfigError
        A tolerance that is not a positive number.
    """
    if not (isinstance(tolerance_s, int | float) and math.isfinite(tolerance_s)):
        raise ConfigError(f"tolerance must be a finite number of seconds, got {tolerance_s!r}.")
    if tolerance_s <= 0:
        raise ConfigError(f"tolerance must be > 0 s, got {tolerance_s!r}.")
    merged = merge_across_channels(test, tolerance_s)
    ref = sorted(reference, key=lambda m: m.onset_s)
    matches = greedy_match([m.onset_s for m in merged], [m.onset_s for m in ref], tolerance_s)
    matched_t = {i for i, _, _ in matches}
    matched_r = {j for _, j, _ in matches}
    per_site: dict[str, Counts] = {}

    def add(site: str, c: Counts) -> None:
        per_site[site] = per_site.get(site, Counts()) + c

    for i, j, _ in matches:
        add(ref[j].site if ref[j].site != NO_SITE else merged[i].site, Counts(tp=1))
    for i, m in enumerate(merged):
        if i not in matched_t:
            add(m.site, Counts(fp=1))
    for j, m in enumerate(ref):
        if j not in matched_r:
            add(m.site, Counts(fn=1))
    labels = sorted(set(per_site) | set(sites) | {m.site for m in ref} | {m.site for m in merged})
    for label in labels:
        per_site.setdefault(label, Counts())
    counts = {s: (sum(m.site == s for m in ref), sum(m.site == s for m in merged)) for s in labels}
    rated = [s for s in labels if s != NO_SITE]
    a = np.array([counts[s][0] for s in rated], dtype=float)
    b = np.array([counts[s][1] for s in rated], dtype=float)
    overall = sum(per_site.values(), Counts())
    return Agreement(
        overall=overall,
        per_site=dict(sorted(per_site.items())),
        onset_errors_s=tuple(e for _, _, e in matches),
        site_counts=counts,
        kappa=cohen_kappa(a > 0, b > 0) if rated else math.nan,
        icc=icc_agreement(np.column_stack([a, b])) if len(rated) >= 2 else math.nan,
        tolerance_s=float(tolerance_s),
    )


# --------------------------------------------------------------------------------------
# between-rater statistics


def cohen_kappa(rater_a: ArrayLike, rater_b: ArrayLike) -> float:
    """Cohen's kappa of two raters' categorical labels over the same items.

    Returns NaN when chance agreement is 1 (both raters give one and the same label to
    every item: kappa is undefined).

    Examples
    --------
    >>> a = [1] * 25 + [0] * 25
    >>> b = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    >>> round(cohen_kappa(a, b), 3)
    0.4
    """
    x = np.asarray(rater_a)
    y = np.asarray(rater_b)
    if x.shape != y.shape or x.ndim != 1:
        raise ConfigError(
            f"both raters need one label per item, got shapes {x.shape} and {y.shape}."
        )
    if x.size == 0:
        return math.nan
    po = float(np.mean(x == y))
    pe = sum(float(np.mean(x == c)) * float(np.mean(y == c)) for c in np.union1d(x, y))
    if pe >= 1.0 - 1e-12:
        return math.nan
    return (po - pe) / (1.0 - pe)


def icc_agreement(ratings: ArrayLike) -> float:
    """ICC(2,1): two-way random effects, absolute agreement, single rater.

    Parameters
    ----------
    ratings : array, shape (n_items, n_raters)

    Returns
    -------
    icc : float
        NaN with fewer than two items or when every rating is the same.

    Examples
    --------
    Shrout & Fleiss (1979), table 2: six targets, four judges, ICC(2,1) = 0.29.

    >>> y = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    >>> round(icc_agreement(y), 2)
    0.29
    """
    y = np.asarray(ratings, dtype=float)
    if y.ndim != 2 or y.shape[1] < 2:
        raise ConfigError(f"ratings must be (n_items, n_raters >= 2), got shape {y.shape}.")
    n, k = y.shape
    if n < 2:
        return math.nan
    gm = y.mean()
    ssr = k * float(np.sum((y.mean(axis=1) - gm) ** 2))
    ssc = n * float(np.sum((y.mean(axis=0) - gm) ** 2))
    sse = float(np.sum((y - gm) ** 2)) - ssr - ssc
    msr, msc, mse = ssr / (n - 1), ssc / (k - 1), sse / ((n - 1) * (k - 1))
    denom = msr + (k - 1) * mse + k * (msc - mse) / n
    if denom <= 1e-12:
        return math.nan
    return (msr - mse) / denom
