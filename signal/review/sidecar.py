"""The review sidecar: a reviewer's verdict on each twitch, stored next to the recording.

A review of ``<stem>.<ext>`` is the CSV file ``<stem>.review.csv`` beside it (any
recording format: :func:`review_path`). A second reviewer either adds rows to the same
file (the ``reviewer`` column tells them apart) or keeps a separate file
``<stem>.review.<reviewer>.csv`` (:func:`reviewer_path`); :func:`load_review` reads
them all.

Columns, in order (the first five are required):

======================  ============================================================
``onset_s``             onset of the twitch as reviewed, s from the first sample
``offset_s``            offset, s
``channel``             channel the twitch is largest on
``verdict``             ``confirmed`` (a detected twitch is real), ``rejected`` (it
                        is not) or ``added`` (a twitch the detector missed)
``reviewer``            who said so (a name or initials)
``confidence``          the detector's confidence in the candidate, 0-1 (optional)
``detector_version``    twitchscope version that proposed the candidate (optional)
``reviewed_at``         when the verdict was given, ISO 8601 (optional)
``note``                free text (optional)
``site``                needle site active at onset (optional)
======================  ============================================================

The *reviewed twitches* of a reviewer are the rows ``confirmed`` or ``added``
(:func:`reviewed_twitches`). In a FIF recording the verdicts can also be kept as
annotations ``REVIEW:<verdict>`` with the other columns in their ``extras``
(:func:`verdict_annotations`, :func:`verdicts_from_annotations`).
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mne

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.io.formats import sibling_path

__all__ = [
    "REQUIRED_COLUMNS",
    "OPTIONAL_COLUMNS",
    "VERDICTS",
    "REVIEW_PREFIX",
    "Verdict",
    "review_path",
    "reviewer_path",
    "review_files",
    "is_review_file",
    "read_review",
    "write_review",
    "load_review",
    "reviewers",
    "pick_reviewer",
    "reviewed_twitches",
    "replace_reviewer",
    "verdict_annotations",
    "verdicts_from_annotations",
    "annotate_review",
]

#: Columns every review file has, in this order.
REQUIRED_COLUMNS: tuple[str, ...] = ("onset_s", "offset_s", "channel", "verdict", "reviewer")
#: Columns a review file may add after them, in this order.
OPTIONAL_COLUMNS: tuple[str, ...] = (
    "confidence",
    "detector_version",
    "reviewed_at",
    "note",
    "site",
)
#: The verdicts a row may give.
VERDICTS: tuple[str, ...] = ("confirmed", "rejected", "added")
#: Description prefix of a verdict kept as an MNE annotation.
REVIEW_PREFIX = "REVIEW:"

_KEPT = ("confirmed", "added")


@dataclass(frozen=True, slots=True)
class Verdict:
    """One reviewer's verdict on one twitch (seconds; ``confidence`` 0-1).

    Parameters
    ----------
    onset_s, offset_s : float
        The twitch as reviewed (a reviewer may have moved the detector's onset).
    channel : str
        Channel the twitch is largest on.
    verdict : str
        ``"confirmed"``, ``"rejected"`` or ``"added"``.
    reviewer : str
        Who gave the verdict.
    confidence : float or None
        The detector's confidence in the candidate, when it gave one.
    detector_version, reviewed_at, note, site : str
        Optional context ("" when absent).
    """

    onset_s: float
    offset_s: float
    channel: str
    verdict: str
    reviewer: str
    confidence: float | None = None
    detector_version: str = ""
    reviewed_at: str = ""
    note: str = ""
    site: str = ""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.onset_s) and self.onset_s >= 0):
            raise ConfigError(f"onset_s must be a finite time >= 0 s, got {self.onset_s!r}.")
        if not (math.isfinite(self.offset_s) and self.offset_s >= self.onset_s):
            raise ConfigError(
                f"offset_s must be finite and >= onset_s ({self.onset_s!r}), got {self.offset_s!r}."
            )
        if self.verdict not in VERDICTS:
            raise ConfigError(
                f"verdict must be one of {', '.join(VERDICTS)}, got {self.verdict!r}."
            )
        if not self.reviewer.strip():
            raise ConfigError("reviewer must be a non-empty name, got an empty one.")
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise ConfigError(f"confidence must lie in [0, 1], got {self.confidence!r}.")

    @property
    def kept(self) -> bool:
        """True for a reviewed twitch (``confirmed`` or ``added``)."""
        return self.verdict in _KEPT

    def row(self) -> dict[str, str]:
        """The verdict as CSV cells, every column of the file."""
        return {
            "onset_s": repr(float(self.onset_s)),
            "offset_s": repr(float(self.offset_s)),
            "channel": self.channel,
            "verdict": self.verdict,
            "reviewer": self.reviewer,
            "confidence": "" if self.confidence is None else repr(float(self.confidence)),
            "detector_version": self.detector_version,
            "reviewed_at": self.reviewed_at,
            "note": self.note,
            "site": self.site,
        }


# --------------------------------------------------------------------------------------
# where reviews live


def review_path(recording: str | os.PathLike[str]) -> Path:
    """The review sidecar of a recording: ``<stem>.review.csv`` next to it.

    Examples
    --------
    >>> review_path("/data/s01_raw.fif.gz").name
    's01_raw.review.csv'
    """
    return sibling_path(Path(recording), "review")


def reviewer_path(recording: str | os.PathLike[str], reviewer: str) -> Path:
    """A reviewer's own file: ``<stem>.review.<reviewer>.csv`` (name reduced to ``[\\w-]``).

    Examples
    --------
    >>> reviewer_path("s01.edf", "A. Lee").name
    's01.review.A-Lee.csv'
    """
    slug = re.sub(r"[^\w-]+", "-", reviewer.strip()).strip("-")
    if not slug:
        raise ConfigError(f"reviewer must contain a letter or digit, got {reviewer!r}.")
    return sibling_path(Path(recording), f"review.{slug}")


def review_files(recording: str | os.PathLike[str]) -> list[Path]:
    """Every review file of a recording that exists: the sidecar, then per-reviewer files."""
    main = review_path(recording)
    stem = main.name[: -len(".review.csv")]
    found = [main] if main.is_file() else []
    found += sorted(p for p in main.parent.glob(f"{_glob_escape(stem)}.review.*.csv") if p != main)
    return found


def _glob_escape(text: str) -> str:
    """``text`` with glob metacharacters escaped (``[``, ``*``, ``?``)."""
    return re.sub(r"([\[\]*?])", r"[\1]", text)


def is_review_file(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is a CSV whose header has a ``verdict`` column."""
    path = Path(path)
    if path.suffix.lower() != ".csv" or not path.is_file():
        return False
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            header = next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return "verdict" in (c.strip() for c in header)


# --------------------------------------------------------------------------------------
# reading and writing


def read_review(path: str | os.PathLike[str]) -> tuple[Verdict, ...]:
    """Read one review file, sorted by reviewer then onset.

    Raises
    ------
    FileFormatError
        Missing or unreadable file, a missing required column, or a bad cell (the
        message names the line and column and what was expected).
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"review file not found: {path}; expected an existing .csv file.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read {path.name}: {exc}; expected UTF-8 CSV text.") from None
    reader = csv.DictReader(text.splitlines(), skipinitialspace=True)
    if reader.fieldnames is None:
        raise FileFormatError(
            f"{path.name} is empty; expected a header row {','.join(REQUIRED_COLUMNS)}."
        )
    reader.fieldnames = [c.strip() for c in reader.fieldnames]
    missing = [c for c in REQUIRED_COLUMNS if c not in reader.fieldnames]
    if missing:
        raise FileFormatError(
            f"{path.name} lacks column(s) {', '.join(missing)}; expected a review file with "
            f"columns {','.join(REQUIRED_COLUMNS)} first."
        )
    out: list[Verdict] = []
    try:
        for row in reader:
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            out.append(_parse(path, reader.line_num, row))
    except csv.Error as exc:
        raise FileFormatError(f"cannot parse {path.name}: {exc}.") from None
    return tuple(sorted(out, key=lambda v: (v.reviewer, v.onset_s, v.channel)))


def _parse(path: Path, line: int, row: dict[str, Any]) -> Verdict:
    def cell(column: str) -> str:
        value = row.get(column)
        return value.strip() if isinstance(value, str) else ""

    def number(column: str, *, required: bool) -> float | None:
        text = cell(column)
        if not text and not required:
            return None
        try:
            value = float(text)
        except ValueError:
            shown = repr(text) if text else "an empty cell"
            raise FileFormatError(
                f"{path.name}: line {line}, column {column!r} holds {shown}; expected a number."
            ) from None
        if not math.isfinite(value):
            raise FileFormatError(
                f"{path.name}: line {line}, column {column!r} holds {text!r}; expected a "
                "finite number."
            )
        return value

    onset = number("onset_s", required=True)
    offset = number("offset_s", required=True)
    verdict = cell("verdict").lower()
    if verdict not in VERDICTS:
        raise FileFormatError(
            f"{path.name}: line {line}, column 'verdict' holds {cell('verdict')!r}; expected "
            f"one of {', '.join(VERDICTS)}."
        )
    for column in ("channel", "reviewer"):
        if not cell(column):
            raise FileFormatError(
                f"{path.name}: line {line}, column {column!r} is empty; expected a name."
            )
    try:
        return Verdict(
            onset_s=onset if onset is not None else 0.0,
            offset_s=offset if offset is not None else 0.0,
            channel=cell("channel"),
            verdict=verdict,
            reviewer=cell("reviewer"),
            confidence=number("confidence", required=False),
            detector_version=cell("detector_version"),
            reviewed_at=cell("reviewed_at"),
            note=cell("note"),
            site=cell("site"),
        )
    except ConfigError as exc:
        raise FileFormatError(f"{path.name}: line {line}: {exc}") from None


def write_review(path: str | os.PathLike[str], verdicts: Iterable[Verdict]) -> Path:
    """Write verdicts to ``path`` (replaced atomically); returns the path.

    Rows are sorted by reviewer and onset; the columns are :data:`REQUIRED_COLUMNS` then
    :data:`OPTIONAL_COLUMNS`.
    """
    path = Path(path)
    if path.suffix.lower() != ".csv":
        raise FileFormatError(f"{path.name}: a review is written as .csv, got {path.suffix!r}.")
    if not path.parent.is_dir():
        raise FileFormatError(
            f"cannot write {path.name}: directory {path.parent} does not exist; expected an "
            "existing directory."
        )
    rows = sorted(verdicts, key=lambda v: (v.reviewer, v.onset_s, v.channel))
    columns = (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            for v in rows:
                writer.writerow(v.row())
        os.replace(tmp, path)
    except OSError as exc:
        raise FileFormatError(f"cannot write {path}: {exc.strerror or exc}.") from None
    return path


def load_review(recording: str | os.PathLike[str]) -> tuple[Verdict, ...]:
    """Every verdict kept for a recording (all its review files; empty when none)."""
    out: list[Verdict] = []
    for path in review_files(recording):
        out.extend(read_review(path))
    return tuple(sorted(out, key=lambda v: (v.reviewer, v.onset_s, v.channel)))


# --------------------------------------------------------------------------------------
# selecting


def reviewers(verdicts: Iterable[Verdict]) -> list[str]:
    """The reviewers named in ``verdicts``, sorted."""
    return sorted({v.reviewer for v in verdicts})


def pick_reviewer(verdicts: Sequence[Verdict], reviewer: str | None = None) -> str:
    """The reviewer to use: ``reviewer`` if given (and present), else the only one.

    Raises
    ------
    ConfigError
        No verdicts, an unknown reviewer, or several reviewers and none chosen.
    """
    names = reviewers(verdicts)
    if not names:
        raise ConfigError("the review holds no verdicts; expected at least one row.")
    if reviewer is not None:
        if reviewer not in names:
            raise ConfigError(
                f"reviewer {reviewer!r} is not in the review; expected one of {', '.join(names)}."
            )
        return reviewer
    if len(names) > 1:
        raise ConfigError(
            f"the review holds several reviewers ({', '.join(names)}); choose one of them."
        )
    return names[0]


def reviewed_twitches(
    verdicts: Sequence[Verdict], reviewer: str | None = None
) -> tuple[Verdict, ...]:
    """A reviewer's reviewed twitches (``confirmed`` + ``added``), by onset.

    Examples
    --------
    >>> rows = [Verdict(1.0, 1.1, "A", "confirmed", "me"), Verdict(2.0, 2.1, "A", "rejected", "me"),
    ...         Verdict(3.0, 3.1, "A", "added", "me")]
    >>> [v.onset_s for v in reviewed_twitches(rows)]
    [1.0, 3.0]
    """
    who = pick_reviewer(verdicts, reviewer)
    return tuple(sorted((v for v in verdicts if v.reviewer == who and v.kept), key=_onset))


def _onset(v: Verdict) -> float:
    return v.onset_s


def replace_reviewer(
    verdicts: Iterable[Verdict], reviewer: str, new: Iterable[Verdict]
) -> tuple[Verdict, ...]:
    """``verdicts`` with every row of ``reviewer`` replaced by ``new`` (other reviewers kept)."""
    new = tuple(new)
    stray = sorted({v.reviewer for v in new} - {reviewer})
    if stray:
        raise ConfigError(f"new verdicts must all be by {reviewer!r}, got some by {stray}.")
    kept = [v for v in verdicts if v.reviewer != reviewer]
    return tuple(sorted([*kept, *new], key=lambda v: (v.reviewer, v.onset_s, v.channel)))


# --------------------------------------------------------------------------------------
# FIF: verdicts as annotations with extras


def verdict_annotations(verdicts: Iterable[Verdict]) -> mne.Annotations:
    """Verdicts as MNE annotations ``REVIEW:<verdict>`` on their channel, context in ``extras``.

    Onsets are seconds from the first sample (``orig_time=None``): add them to a Raw with
    ``raw.set_annotations(raw.annotations + verdict_annotations(...))``; FIF keeps the
    extras.
    """
    rows = list(verdicts)
    extras = []
    for v in rows:
        extra: dict[str, Any] = {"reviewer": v.reviewer}
        if v.confidence is not None:
            extra["confidence"] = float(v.confidence)
        for key in ("detector_version", "reviewed_at", "note", "site"):
            if getattr(v, key):
                extra[key] = getattr(v, key)
        extras.append(extra)
    return mne.Annotations(
        onset=[v.onset_s for v in rows],
        duration=[v.offset_s - v.onset_s for v in rows],
        description=[REVIEW_PREFIX + v.verdict for v in rows],
        ch_names=[(v.channel,) for v in rows],
        extras=extras,
    )


def verdicts_from_annotations(
    annotations: mne.Annotations, *, first_time: float = 0.0
) -> tuple[Verdict, ...]:
    """The verdicts kept as ``REVIEW:<verdict>`` annotations (others are ignored).

    Parameters
    ----------
    annotations : mne.Annotations
        A Raw's annotations.
    first_time : float
        ``raw.first_time``; onsets are returned relative to the first sample.

    Raises
    ------
    FileFormatError
        A review annotation with an unknown verdict, no channel or no reviewer.
    """
    extras_list = getattr(annotations, "extras", None) or [{}] * len(annotations)
    out: list[Verdict] = []
    for onset, duration, desc, chs, extras in zip(
        annotations.onset,
        annotations.duration,
        annotations.description,
        annotations.ch_names,
        extras_list,
        strict=True,
    ):
        desc = str(desc)
        if not desc.startswith(REVIEW_PREFIX):
            continue
        extras = dict(extras or {})
        onset = max(0.0, float(onset) - first_time)
        if not chs:
            raise FileFormatError(
                f"review annotation {desc!r} at {onset:.3f} s names no channel; expected one."
            )
        try:
            confidence = extras.get("confidence")
            out.append(
                Verdict(
                    onset_s=onset,
                    offset_s=onset + float(duration),
                    channel=str(chs[0]),
                    verdict=desc[len(REVIEW_PREFIX) :],
                    reviewer=str(extras.get("reviewer", "")),
                    confidence=None if confidence is None else float(confidence),
                    detector_version=str(extras.get("detector_version", "")),
                    reviewed_at=str(extras.get("reviewed_at", "")),
                    note=str(extras.get("note", "")),
                    site=str(extras.get("site", "")),
                )
            )
        except ConfigError as exc:
            raise FileFormatError(f"review annotation at {onset:.3f} s: {exc}") from None
    return tuple(sorted(out, key=lambda v: (v.reviewer, v.onset_s, v.channel)))


def annotate_review(raw: mne.io.BaseRaw, verdicts: Iterable[Verdict]) -> mne.io.BaseRaw:
    """Replace the ``REVIEW:*`` annotations of ``raw`` (in place) by ``verdicts``; returns it.

    Other annotations are kept. Written as FIF (``write_recording``), the verdicts and
    their extras survive a round trip; EDF+ keeps only onset, duration and description.
    """
    ann = raw.annotations
    drop = [k for k, d in enumerate(ann.description) if str(d).startswith(REVIEW_PREFIX)]
    kept = ann.copy()
    if drop:
        kept.delete(drop)
    new = verdict_annotations(verdicts)
    if raw.annotations.orig_time is not None:
        new = mne.Annotations(
            onset=new.onset + raw.first_time,
            duration=new.duration,
            description=new.description,
            ch_names=new.ch_names,
            extras=new.extras,
            orig_time=raw.annotations.orig_time,
        )
    raw.set_annotations(kept + new)
    return raw
