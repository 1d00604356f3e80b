"""Fit the detector to reviewed recordings: a small search, validated leave-one-recording-out.

The truth of a recording is its review (the reviewed twitches, confirmed + added, of one
reviewer; see :mod:`twitchscope.signal.review.sidecar`). :func:`calibrate`:

1. reads every recording and its review, and refuses with fewer than
   :data:`MIN_TWITCHES` reviewed twitches or fewer than two recordings (an F1 fitted to
   a handful of labels is an overfitted one);
2. searches the parameters of :data:`SEARCH_SPACE` one at a time (coordinate search,
   one pass, in that order): each value is tried with the others at their best so far,
   the pooled F1 over the recordings decides (a tie keeps the value already chosen). A
   value is never taken when its false alarms per minute exceed the upper end of the
   defaults' 95 % interval on the same recordings (exact Poisson), so the profile does not
   buy F1 with more false alarms than chance explains.
   The detector runs once per recording per configuration
   (:func:`~twitchscope.signal.detect.run.detect_recording`); results are cached;
3. validates the *whole procedure* leave-one-recording-out: for each recording the
   search is run on the others and the configuration it picks is scored on the one left
   out; the held-out counts are pooled into the cross-validated F1 and false alarms per
   minute, with 95 % intervals (F1: percentile bootstrap over recordings, 2000 draws,
   seed 0; false alarms: exact Poisson interval on the pooled count);
4. runs the search once more on every recording for the profile's values, and keeps the
   defaults instead when the validated procedure did not beat them (F1 left out no higher
   than the defaults' on the same recordings): a profile then never trades the defaults for
   values that only fitted the labels in hand.

Scoring is that of :mod:`twitchscope.signal.review.agreement` (40 ms by default).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.detect.config import PRESETS, DetectorConfig, preset
from twitchscope.signal.detect.run import detect_recording
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.review.agreement import (
    DEFAULT_TOLERANCE_S,
    Counts,
    Mark,
    compare,
    marks_from_twitches,
    marks_from_verdicts,
)
from twitchscope.signal.review.sidecar import (
    load_review,
    pick_reviewer,
    review_path,
    verdicts_from_annotations,
)

__all__ = [
    "MIN_TWITCHES",
    "SEARCH_SPACE",
    "search_space",
    "Labelled",
    "Validation",
    "CalibrationResult",
    "load_labelled",
    "Evaluator",
    "coordinate_search",
    "calibrate",
    "f1_interval",
    "rate_interval",
]

log = logging.getLogger(__name__)

#: Fewest reviewed twitches (over all recordings) a calibration accepts.
MIN_TWITCHES = 20

#: Parameters searched, in order, and the values tried (``preset`` first). The
#: defaults are among them, so the search can keep them.
SEARCH_SPACE: dict[str, tuple[Any, ...]] = {
    "preset": ("limb", "trunk"),
    # the optional mains tracker: a kind of recording whose hum drifts gains most from it
    "mains_track": (False, True),
    "k_on": (3.5, 4.5, 5.5, 7.0),
    # below low_rate_sfreq (250/256 Hz boards) the threshold is max(k_on, k_on_low_rate):
    # without this, no k_on under the default k_on_low_rate would change anything there
    "k_on_low_rate": (3.5, 4.5, 5.5, 7.0),
    "glr_min": (10.0, 20.0, 40.0, 80.0),
    "false_alarms_per_min": (0.25, 0.5, 1.0, 2.0),
    "min_duration_s": (0.02, 0.04),
    "max_duration_s": (0.3, 0.5),
}

Candidate = tuple[tuple[str, Any], ...]


def search_space() -> dict[str, tuple[Any, ...]]:
    """:data:`SEARCH_SPACE` restricted to the parameters this ``DetectorConfig`` has."""
    names = {f.name for f in fields(DetectorConfig)} | {"preset"}
    return {k: v for k, v in SEARCH_SPACE.items() if k in names}


def config_of(candidate: Candidate) -> DetectorConfig:
    """The configuration a candidate stands for (``preset`` plus changes)."""
    values = dict(candidate)
    name = str(values.pop("preset", "limb"))
    return preset(name, **values)


@dataclass(frozen=True, eq=False, slots=True)
class Labelled:
    """A recording with its reviewed twitches (the truth)."""

    path: Path
    reviewer: str
    truth: tuple[Mark, ...]
    minutes: float


def load_labelled(
    paths: Sequence[str | os.PathLike[str]], *, reviewer: str | None = None
) -> list[Labelled]:
    """Each recording's reviewed twitches and length.

    Raises
    ------
    FileFormatError
        A recording without a review file.
    ConfigError
        A review with several reviewers and none chosen, or one without ``reviewer``.
    """
    out: list[Labelled] = []
    for p in paths:
        path = Path(p)
        verdicts = load_review(path)
        raw = read_recording(path, preload=False)
        if not verdicts:  # a FIF may carry its review as REVIEW:* annotations
            verdicts = verdicts_from_annotations(raw.annotations, first_time=float(raw.first_time))
        if not verdicts:
            raise FileFormatError(
                f"{path.name} has no review; expected {review_path(path).name} next to it "
                "(review it in the dashboard or write one)."
            )
        who = pick_reviewer(verdicts, reviewer)
        minutes = raw.n_times / float(raw.info["sfreq"]) / 60.0
        truth = tuple(marks_from_verdicts(verdicts, reviewer=who))
        out.append(Labelled(path=path, reviewer=who, truth=truth, minutes=minutes))
    return out


class Evaluator:
    """Counts of a configuration on a recording, each detector run done once (cached)."""

    def __init__(
        self,
        recordings: Sequence[Labelled],
        *,
        tolerance_s: float = DEFAULT_TOLERANCE_S,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.recordings = list(recordings)
        self.tolerance_s = tolerance_s
        self._cache: dict[tuple[Candidate, int], Counts] = {}
        self._raws: dict[int, Any] = {}
        self._progress = progress

    @property
    def n_runs(self) -> int:
        """Detector runs done so far."""
        return len(self._cache)

    def counts(self, candidate: Candidate, index: int) -> Counts:
        """TP, FP, FN of ``candidate`` on recording ``index``."""
        key = (candidate, index)
        if key not in self._cache:
            rec = self.recordings[index]
            if index not in self._raws:
                self._raws[index] = read_recording(rec.path, preload=True)
            run = detect_recording(self._raws[index], config_of(candidate))
            result = compare(
                rec.truth, marks_from_twitches(run.twitches), tolerance_s=self.tolerance_s
            )
            self._cache[key] = result.overall
            if self._progress is not None:
                self._progress(len(self._cache))
        return self._cache[key]

    def pooled(self, candidate: Candidate, indices: Sequence[int]) -> Counts:
        """Counts summed over the recordings ``indices``."""
        return sum((self.counts(candidate, i) for i in indices), Counts())


def _f1(c: Counts) -> float:
    f1 = c.f1
    return -1.0 if math.isnan(f1) else f1


def coordinate_search(
    evaluator: Evaluator, indices: Sequence[int], space: dict[str, tuple[Any, ...]]
) -> Candidate:
    """One pass of coordinate search over ``space`` on the recordings ``indices``."""
    current: dict[str, Any] = {}
    base = evaluator.pooled(_candidate(current), indices)
    minutes = sum(evaluator.recordings[i].minutes for i in indices)
    fp_ceiling = rate_interval(base.fp, minutes)[1] * minutes  # false alarms allowed
    best = _f1(base)
    for name, levels in space.items():
        for level in levels:
            trial = {**current, name: level}
            try:
                config_of(_candidate(trial))
            except ConfigError:  # an inconsistent combination (e.g. k_off > k_on)
                continue
            counts = evaluator.pooled(_candidate(trial), indices)
            if counts.fp > fp_ceiling:  # more false alarms than the defaults' interval allows
                continue
            score = _f1(counts)
            if score > best + 1e-12:
                best, current = score, trial
    return _candidate(current)


def _candidate(values: dict[str, Any]) -> Candidate:
    """A hashable candidate; values equal to its preset's (limb by default) are left out."""
    base = PRESETS[str(values.get("preset", "limb"))]
    kept = {
        k: v
        for k, v in values.items()
        if not (k == "preset" and v == "limb") and not (k != "preset" and getattr(base, k) == v)
    }
    return tuple(sorted(kept.items()))


def f1_interval(
    per_recording: Sequence[Counts], *, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """95 % percentile-bootstrap interval of the pooled F1, resampling recordings."""
    if not per_recording:
        return (math.nan, math.nan)
    arr = np.array([[c.tp, c.fp, c.fn] for c in per_recording], dtype=float)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(arr), size=(n_boot, len(arr)))
    tp, fp, fn = (arr[draws, k].sum(axis=1) for k in range(3))
    denom = 2 * tp + fp + fn
    f1 = np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), np.nan)
    lo, hi = np.nanpercentile(f1, [2.5, 97.5])
    return (float(lo), float(hi))


def rate_interval(count: int, minutes: float) -> tuple[float, float]:
    """Exact (Garwood) 95 % interval of a Poisson rate ``count / minutes``, per minute.

    Examples
    --------
    >>> [round(x, 3) for x in rate_interval(0, 10.0)]
    [0.0, 0.369]
    """
    if minutes <= 0:
        return (math.nan, math.nan)
    lo = 0.0 if count == 0 else float(stats.chi2.ppf(0.025, 2 * count)) / 2
    hi = float(stats.chi2.ppf(0.975, 2 * count + 2)) / 2
    return (lo / minutes, hi / minutes)


@dataclass(frozen=True, slots=True)
class Validation:
    """Leave-one-recording-out results of the calibration and of the default configuration.

    ``per_recording`` holds, per held-out recording: its name, the values the search on
    the others chose (``"k_on=5.5, ..."``), its F1 with them and with the defaults.
    """

    f1: float
    f1_ci: tuple[float, float]
    precision: float
    recall: float
    fp_per_min: float
    fp_per_min_ci: tuple[float, float]
    default_f1: float
    default_f1_ci: tuple[float, float]
    default_fp_per_min: float
    default_fp_per_min_ci: tuple[float, float]
    per_recording: tuple[tuple[str, str, float, float], ...]


@dataclass(frozen=True, slots=True)
class CalibrationResult:
    """The chosen configuration and how well it generalises."""

    candidate: Candidate
    validation: Validation
    recordings: tuple[Labelled, ...]
    tolerance_s: float
    n_runs: int
    space: dict[str, tuple[Any, ...]]

    @property
    def preset(self) -> str:
        """The chosen preset."""
        return str(dict(self.candidate).get("preset", "limb"))

    @property
    def changes(self) -> dict[str, Any]:
        """The chosen parameter values that differ from the preset's."""
        return {k: v for k, v in self.candidate if k != "preset"}

    def config(self) -> DetectorConfig:
        """The chosen configuration."""
        return config_of(self.candidate)

    def describe(self) -> str:
        """``"preset trunk, k_on=5.5"`` (or ``"preset limb, defaults"``)."""
        rest = ", ".join(f"{k}={v:g}" for k, v in self.changes.items())
        return f"preset {self.preset}, " + (rest or "defaults")


def _describe(candidate: Candidate) -> str:
    return ", ".join(f"{k}={v}" for k, v in candidate) or "defaults"


def calibrate(
    paths: Sequence[str | os.PathLike[str]],
    *,
    reviewer: str | None = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    progress: Callable[[int, int], None] | None = None,
    space: dict[str, tuple[Any, ...]] | None = None,
) -> CalibrationResult:
    """Fit the detector to reviewed recordings (see the module docstring).

    Parameters
    ----------
    paths : sequence of path
        Recordings, each with its review sidecar.
    reviewer : str or None
        Whose review (None: the only reviewer of each file).
    tolerance_s : float
        Matching tolerance, s.
    progress : callable(done, estimate), optional
        Called after each detector run.
    space : dict, optional
        Parameters to search and their values, in search order (default
        :func:`search_space`); every name must be a ``DetectorConfig`` field or ``preset``.

    Raises
    ------
    ConfigError
        Fewer than two recordings or fewer than :data:`MIN_TWITCHES` reviewed twitches.
    """
    if space is None:
        space = search_space()
    else:
        known = {f.name for f in fields(DetectorConfig)} | {"preset"}
        unknown = sorted(set(space) - known)
        if unknown:
            raise ConfigError(
                f"search space names {', '.join(unknown)}, which DetectorConfig does not have; "
                "expected its documented parameters or 'preset'."
            )
    if len(paths) < 2:
        raise ConfigError(
            f"calibration needs at least 2 reviewed recordings (it validates leaving one "
            f"out), got {len(paths)}."
        )
    recs = load_labelled(paths, reviewer=reviewer)
    n_truth = sum(len(r.truth) for r in recs)
    if n_truth < MIN_TWITCHES:
        raise ConfigError(
            f"only {n_truth} reviewed twitches (confirmed + added) in {len(recs)} recordings; "
            f"calibration needs at least {MIN_TWITCHES} to fit a profile that is not "
            "overfitted: review more twitches."
        )
    estimate = len(recs) * (1 + sum(len(v) for v in space.values()))

    def tick(done: int) -> None:
        if progress is not None:
            progress(done, max(estimate, done))

    ev = Evaluator(recs, tolerance_s=tolerance_s, progress=tick)
    everyone = list(range(len(recs)))
    default: Candidate = ()
    held: list[Counts] = []
    held_default: list[Counts] = []
    rows: list[tuple[str, str, float, float]] = []
    for i in everyone:
        others = [j for j in everyone if j != i]
        chosen = coordinate_search(ev, others, space)
        c, d = ev.counts(chosen, i), ev.counts(default, i)
        held.append(c)
        held_default.append(d)
        rows.append((recs[i].path.name, _describe(chosen), c.f1, d.f1))
        log.info("held out %s: %s, F1 %.3f (defaults %.3f)", recs[i].path.name, chosen, c.f1, d.f1)
    minutes = sum(r.minutes for r in recs)
    pooled = sum(held, Counts())
    pooled_default = sum(held_default, Counts())
    validation = Validation(
        f1=pooled.f1,
        f1_ci=f1_interval(held),
        precision=pooled.precision,
        recall=pooled.recall,
        fp_per_min=pooled.fp / minutes,
        fp_per_min_ci=rate_interval(pooled.fp, minutes),
        default_f1=pooled_default.f1,
        default_f1_ci=f1_interval(held_default),
        default_fp_per_min=pooled_default.fp / minutes,
        default_fp_per_min_ci=rate_interval(pooled_default.fp, minutes),
        per_recording=tuple(rows),
    )
    final = coordinate_search(ev, everyone, space) if pooled.f1 > pooled_default.f1 else default
    return CalibrationResult(
        candidate=final,
        validation=validation,
        recordings=tuple(recs),
        tolerance_s=tolerance_s,
        n_runs=ev.n_runs,
        space=space,
    )
