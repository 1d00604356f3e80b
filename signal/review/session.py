"""Use a review where one exists: the reviewed twitches in place of the detector's.

:func:`review_session` takes an offline session analysis
(:func:`~twitchscope.signal.analysis.session.analyse_recording`) and, when the
recording has a review (:func:`~twitchscope.signal.review.sidecar.load_review`; for a
FIF without a review file, its ``REVIEW:*`` annotations),
returns it with the reviewed twitches (confirmed + added of one reviewer; see
:func:`~twitchscope.signal.review.twitches.apply_review`) and the per-site summary
recomputed from them, together with a :class:`ReviewUse` that says what was used, so
that reports, batch tables and exports can say so.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.analysis.session import SessionAnalysis
from twitchscope.signal.analysis.stats import INSERTION_DESCRIPTION, summarize_sites
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.filters import design_conditioning, filter_block, init_filter_state
from twitchscope.signal.review.sidecar import (
    Verdict,
    load_review,
    pick_reviewer,
    review_files,
    verdicts_from_annotations,
)
from twitchscope.signal.review.twitches import apply_review

__all__ = ["ReviewUse", "NOT_REVIEWED", "review_session", "conditioned", "describe_review"]

#: What reports say when no review was used.
NOT_REVIEWED = "the detector's twitches (not reviewed)"


@dataclass(frozen=True, slots=True)
class ReviewUse:
    """Which review a result used.

    Parameters
    ----------
    reviewer : str
    files : tuple of str
        Names of the review files read.
    n_confirmed, n_added, n_rejected : int
        That reviewer's verdicts.
    """

    reviewer: str
    files: tuple[str, ...]
    n_confirmed: int
    n_added: int
    n_rejected: int

    @property
    def n_twitches(self) -> int:
        """Reviewed twitches: confirmed + added."""
        return self.n_confirmed + self.n_added

    def line(self) -> str:
        """``"reviewed twitches of AL (30 confirmed + 2 added; 5 rejected) from x.review.csv"``."""
        return (
            f"reviewed twitches of {self.reviewer} ({self.n_confirmed} confirmed + "
            f"{self.n_added} added; {self.n_rejected} rejected) from {', '.join(self.files)}"
        )


def describe_review(
    verdicts: Sequence[Verdict], reviewer: str, files: Sequence[str | Path]
) -> ReviewUse:
    """Count one reviewer's verdicts into a :class:`ReviewUse`."""
    n = Counter(v.verdict for v in verdicts if v.reviewer == reviewer)
    return ReviewUse(
        reviewer=reviewer,
        files=tuple(Path(f).name for f in files),
        n_confirmed=n["confirmed"],
        n_added=n["added"],
        n_rejected=n["rejected"],
    )


def conditioned(
    data: NDArray[np.float64], *, sfreq: float, config: DetectorConfig, mains_hz: float | None
) -> NDArray[np.float64]:
    """``data`` (volts) filtered causally as the detector conditions it."""
    mains = float(mains_hz) if mains_hz is not None and math.isfinite(mains_hz) else 50.0
    design = design_conditioning(config, sfreq=sfreq, mains_hz=mains)
    out, _ = filter_block(design, data, init_filter_state(design, data.shape[0]))
    return np.asarray(out, dtype=np.float64)


def review_session(
    analysis: SessionAnalysis, *, reviewer: str | None = None
) -> tuple[SessionAnalysis, ReviewUse | None]:
    """The analysis with the recording's review applied (unchanged when there is none).

    Parameters
    ----------
    analysis : SessionAnalysis
    reviewer : str or None
        Whose review (None: the only reviewer).

    Returns
    -------
    analysis : SessionAnalysis
        ``detection.twitches`` are the reviewed twitches and ``sites`` is recomputed
        from them; the detector's rejected candidates are kept as they were.
    use : ReviewUse or None
        None when the recording has no review.

    Raises
    ------
    ConfigError
        Several reviewers and none chosen, or an unknown one.
    FileFormatError
        A review file that cannot be read.
    """
    verdicts = load_review(analysis.path)
    files: list[str | Path] = list(review_files(analysis.path))
    if not verdicts:  # a FIF may carry its review as REVIEW:* annotations
        verdicts = verdicts_from_annotations(
            analysis.raw.annotations, first_time=float(analysis.raw.first_time)
        )
        files = [f"{analysis.path.name} (REVIEW annotations)"]
    if not verdicts:
        return analysis, None
    who = pick_reviewer(verdicts, reviewer)
    data = analysis.emg_data()
    cond = conditioned(
        data, sfreq=analysis.sfreq, config=analysis.config, mains_hz=analysis.detection.mains_hz
    )
    twitches = apply_review(
        analysis.detection.twitches,
        verdicts,
        reviewer=who,
        sites=analysis.events.sites,
        conditioned=cond,
        sfreq=analysis.sfreq,
        ch_names=analysis.emg_names,
    )
    markers = [t for t, _, d in analysis.events.other if d.strip().lower() == INSERTION_DESCRIPTION]
    sites = summarize_sites(
        twitches,
        analysis.events.sites,
        recording=data,
        sfreq=analysis.sfreq,
        ch_names=analysis.emg_names,
        insertion_markers_s=markers,
    )
    reviewed = replace(
        analysis, detection=replace(analysis.detection, twitches=twitches), sites=sites
    )
    return reviewed, describe_review(verdicts, who, files)
