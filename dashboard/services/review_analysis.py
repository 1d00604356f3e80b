"""Whole-file analysis for the review page (no Streamlit): detection, traces, expert review.

:func:`analyse_recording` runs the detector over a recording and conditions its traces.
The rest is the expert review the page edits: a :class:`ReviewDraft` holds one
reviewer's verdict on each detected twitch (plus the twitches they added or promoted
from the rejected candidates), :func:`start_review` restores it from the recording's
review file, the ``set_*``/``add_*`` functions return a changed copy, and
:func:`save_review` writes it back (other reviewers' rows kept) with
:mod:`twitchscope.signal.review.sidecar`.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from twitchscope.dashboard.services.recordings import Recording, sample_recordings
from twitchscope.dashboard.services.stream_view import condition_array, display_mains
from twitchscope.signal.analysis.railed import railed_channels
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import RejectedCandidate, Twitch
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.run import array_blocks, chunk_samples, run_detector
from twitchscope.signal.review.profile import package_version
from twitchscope.signal.review.sidecar import (
    Verdict,
    load_review,
    read_review,
    replace_reviewer,
    review_path,
    write_review,
)
from twitchscope.signal.review.twitches import nearest_onset

__all__ = [
    "Analysis",
    "analyse_recording",
    "ENV_REVIEW_DIR",
    "review_location",
    "ReviewItem",
    "ReviewDraft",
    "start_review",
    "set_verdict",
    "set_span",
    "add_twitch",
    "promote",
    "save_review",
    "stored_review",
]

#: Environment variable naming the folder for reviews of recordings whose own folder
#: cannot take them (a bundled sample, a read-only drive). Default ``~/.twitchscope/reviews``.
ENV_REVIEW_DIR = "TWITCHSCOPE_REVIEW_DIR"


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


# --------------------------------------------------------------------------------------
# expert review


def review_location(recording: str | os.PathLike[str]) -> Path:
    """Where the review of ``recording`` is kept: its sidecar, or the review folder.

    The sidecar ``<stem>.review.csv`` next to the recording, unless that folder is the
    bundled samples' (part of the installed package) or not writable; then the same
    file name in ``$TWITCHSCOPE_REVIEW_DIR`` (default ``~/.twitchscope/reviews``).
    """
    side = review_path(recording)
    folder = side.parent.resolve()
    samples = {p.parent.resolve() for p in sample_recordings()}
    if folder not in samples and os.access(folder, os.W_OK):
        return side
    base = os.environ.get(ENV_REVIEW_DIR, "").strip()
    root = Path(base).expanduser() if base else Path.home() / ".twitchscope" / "reviews"
    return root / side.name


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """One twitch under review.

    Parameters
    ----------
    onset_s, offset_s : float
        As the reviewer left them (the detector's until adjusted).
    channel : str
    origin : str
        ``"detected"`` (a detector twitch), ``"added"`` (typed or promoted by the
        reviewer) or ``"kept"`` (a verdict of the review file on a twitch the detector no
        longer reports with these settings; kept so that saving loses nothing).
    verdict : str or None
        ``"confirmed"``, ``"rejected"``, ``"added"`` or None (not reviewed yet).
    note : str
    reviewed_at : str
        When the verdict was given (ISO 8601).
    confidence : float or None
        The detector's confidence in a detected twitch, when it gives one.
    """

    onset_s: float
    offset_s: float
    channel: str
    origin: str
    verdict: str | None = None
    note: str = ""
    reviewed_at: str = ""
    confidence: float | None = None


@dataclass(frozen=True, slots=True)
class ReviewDraft:
    """One reviewer's review of one recording, item by item (sorted by onset)."""

    reviewer: str
    items: tuple[ReviewItem, ...]

    @property
    def n_detected(self) -> int:
        """Detector twitches to review."""
        return sum(i.origin == "detected" for i in self.items)

    @property
    def n_reviewed(self) -> int:
        """Detector twitches with a verdict."""
        return sum(i.origin == "detected" and i.verdict is not None for i in self.items)

    @property
    def n_added(self) -> int:
        """Twitches the reviewer added."""
        return sum(i.verdict == "added" for i in self.items)

    def progress(self) -> str:
        """``"31 of 44 reviewed"`` (and ``", 2 added"`` when some were)."""
        extra = f", {self.n_added} added" if self.n_added else ""
        return f"{self.n_reviewed} of {self.n_detected} reviewed{extra}"

    def verdicts(self, *, detector_version: str | None = None) -> tuple[Verdict, ...]:
        """The items with a verdict, as sidecar rows."""
        version = package_version() if detector_version is None else detector_version
        return tuple(
            Verdict(
                onset_s=i.onset_s,
                offset_s=i.offset_s,
                channel=i.channel,
                verdict=i.verdict,
                reviewer=self.reviewer,
                detector_version=version if i.origin == "detected" else "",
                reviewed_at=i.reviewed_at,
                note=i.note,
                confidence=i.confidence,
            )
            for i in self.items
            if i.verdict is not None
        )


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def start_review(
    twitches: Sequence[Twitch], verdicts: Sequence[Verdict], *, reviewer: str
) -> ReviewDraft:
    """The draft of ``reviewer`` over the detected ``twitches``, restoring ``verdicts``.

    A verdict of that reviewer on the same channel within
    :data:`~twitchscope.signal.review.twitches.MATCH_TOLERANCE_S` of a detected onset is
    that twitch's (with the reviewer's onset and offset); ``added`` verdicts become added
    items; any other verdict is kept as it is (``origin="kept"``).
    """
    mine = [v for v in verdicts if v.reviewer == reviewer]
    used: set[int] = set()
    items: list[ReviewItem] = []
    for t in twitches:
        k = _match(t, mine, used)
        conf = getattr(t, "confidence", None)
        conf = float(conf) if isinstance(conf, int | float) and 0 <= conf <= 1 else None
        if k is None:
            items.append(ReviewItem(t.onset_s, t.offset_s, t.channel, "detected", confidence=conf))
            continue
        used.add(k)
        v = mine[k]
        items.append(
            ReviewItem(
                v.onset_s,
                v.offset_s,
                t.channel,
                "detected",
                v.verdict,
                v.note,
                v.reviewed_at,
                conf if conf is not None else v.confidence,
            )
        )
    for k, v in enumerate(mine):
        if k not in used:
            origin = "added" if v.verdict == "added" else "kept"
            items.append(
                ReviewItem(
                    v.onset_s,
                    v.offset_s,
                    v.channel,
                    origin,
                    v.verdict,
                    v.note,
                    v.reviewed_at,
                    v.confidence,
                )
            )
    return ReviewDraft(reviewer=reviewer, items=tuple(sorted(items, key=lambda i: i.onset_s)))


def _match(t: Twitch, verdicts: Sequence[Verdict], used: set[int]) -> int | None:
    return nearest_onset(
        t.onset_s,
        [v.onset_s for v in verdicts],
        eligible=lambda k: (
            k not in used and verdicts[k].verdict != "added" and verdicts[k].channel in t.channels
        ),
    )


def set_verdict(draft: ReviewDraft, index: int, verdict: str | None) -> ReviewDraft:
    """The draft with item ``index`` confirmed, rejected or back to not reviewed (None)."""
    item = draft.items[index]
    if item.origin == "added" and verdict == "confirmed":
        verdict = "added"
    new = replace(item, verdict=verdict, reviewed_at=_now() if verdict else "")
    return replace(draft, items=(*draft.items[:index], new, *draft.items[index + 1 :]))


def set_span(draft: ReviewDraft, index: int, onset_s: float, offset_s: float) -> ReviewDraft:
    """The draft with item ``index`` moved to ``[onset_s, offset_s]`` (which confirms it)."""
    if not 0 <= onset_s < offset_s:
        raise ConfigError(
            f"a twitch needs 0 <= onset < offset, got onset {onset_s!r} s, offset {offset_s!r} s."
        )
    item = draft.items[index]
    verdict = item.verdict if item.verdict not in (None, "rejected") else "confirmed"
    if item.origin == "added":
        verdict = "added"
    new = replace(item, onset_s=onset_s, offset_s=offset_s, verdict=verdict, reviewed_at=_now())
    items = sorted((*draft.items[:index], new, *draft.items[index + 1 :]), key=lambda i: i.onset_s)
    return replace(draft, items=tuple(items))


def add_twitch(
    draft: ReviewDraft,
    *,
    onset_s: float,
    offset_s: float,
    channel: str,
    duration_s: float,
    note: str = "",
) -> ReviewDraft:
    """The draft with a twitch the detector missed (verdict ``added``).

    Raises
    ------
    ConfigError
        Times outside the recording (``0 <= onset < offset <= duration_s``).
    """
    if not 0 <= onset_s < offset_s <= duration_s:
        raise ConfigError(
            f"an added twitch needs 0 <= onset < offset <= {duration_s:g} s (the recording), "
            f"got onset {onset_s!r} s and offset {offset_s!r} s."
        )
    item = ReviewItem(onset_s, offset_s, channel, "added", "added", note, _now())
    return replace(draft, items=tuple(sorted((*draft.items, item), key=lambda i: i.onset_s)))


def promote(draft: ReviewDraft, candidate: RejectedCandidate, *, duration_s: float) -> ReviewDraft:
    """The draft with a rejected candidate counted as a twitch (``added``, reason noted)."""
    reason = getattr(candidate.reason, "value", str(candidate.reason))
    return add_twitch(
        draft,
        onset_s=candidate.onset_s,
        offset_s=max(candidate.offset_s, candidate.onset_s + 1e-3),
        channel=candidate.channel,
        duration_s=duration_s,
        note=f"promoted from a candidate rejected as {reason}",
    )


def save_review(path: str | os.PathLike[str], draft: ReviewDraft) -> Path:
    """Write the draft's verdicts to ``path``, keeping every other reviewer's rows."""
    path = Path(path)
    others = read_review(path) if path.is_file() else ()
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_review(path, replace_reviewer(others, draft.reviewer, draft.verdicts()))


def stored_review(recording: str | os.PathLike[str]) -> tuple[Verdict, ...]:
    """Every verdict kept for ``recording``: its review files and its review-folder file."""
    found = list(load_review(recording))
    where = review_location(recording)
    if where != review_path(recording) and where.is_file():
        found += read_review(where)
    return tuple(found)
