"""Export what the dashboard shows: events, rejected candidates, the recording, a PNG.

Files are written with the project's own writers (:mod:`twitchscope.signal.io.events`,
:mod:`twitchscope.signal.io.writers`) into a temporary folder and returned as bytes
for a download button. No Streamlit here.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.checks import check_option
from twitchscope.signal.core.model import (
    Gap,
    NeedleSite,
    RecordingEvents,
    RejectedCandidate,
    SampleBlock,
    Twitch,
)
from twitchscope.signal.io.events import write_events, write_rejected
from twitchscope.signal.io.writers import write_recording
from twitchscope.signal.review.sidecar import Verdict, annotate_review, write_review

__all__ = [
    "EXPORT_KINDS",
    "events_bytes",
    "rejected_bytes",
    "review_bytes",
    "recording_bytes",
    "blocks_to_array",
    "shift_events",
]

#: Recording formats offered for export.
EXPORT_KINDS: tuple[str, ...] = ("fif", "edf")


def _written(name: str, write: Callable[[Path], object]) -> bytes:
    with tempfile.TemporaryDirectory(prefix="twitchscope-export-") as tmp:
        path = Path(tmp) / name
        write(path)
        return path.read_bytes()


def events_bytes(twitches: Sequence[Twitch], kind: str) -> bytes:
    """Twitches as a CSV or JSON file (µV columns), as bytes."""
    check_option("kind", kind, ("csv", "json"))
    return _written(f"events.{kind}", lambda p: write_events(p, twitches))


def rejected_bytes(rejected: Sequence[RejectedCandidate], kind: str) -> bytes:
    """Rejected candidates as a CSV or JSON file, as bytes."""
    check_option("kind", kind, ("csv", "json"))
    return _written(f"rejected.{kind}", lambda p: write_rejected(p, rejected))


def review_bytes(verdicts: Sequence[Verdict]) -> bytes:
    """Verdicts as a review CSV (the ``<stem>.review.csv`` sidecar format), as bytes.

    Events exported from a reviewed recording are its reviewed twitches (confirmed +
    added): pass those to :func:`events_bytes`, and name the file so (the Review page
    writes ``<stem>.reviewed-events.csv``).
    """
    return _written("export.review.csv", lambda p: write_review(p, verdicts))


def recording_bytes(
    data: NDArray[np.float64],
    *,
    sfreq: float,
    ch_names: Sequence[str],
    events: RecordingEvents,
    kind: str,
    meas_date: dt.datetime | None = None,
    verdicts: Sequence[Verdict] = (),
) -> bytes:
    """The recording with its sites, twitches and gaps as annotations, as a FIF or EDF+ file.

    ``verdicts`` (a review) become ``REVIEW:<verdict>`` annotations with their extras
    (reviewer, confidence, note...), which FIF keeps whole and EDF+ as descriptions only.
    """
    check_option("kind", kind, EXPORT_KINDS)
    raw = make_raw(
        data,
        sfreq=sfreq,
        ch_names=ch_names,
        events=events,
        meas_date=meas_date or dt.datetime.now(dt.UTC).replace(microsecond=0),
    )
    if verdicts:
        annotate_review(raw, verdicts)
    suffix = "_raw.fif" if kind == "fif" else ".edf"
    return _written(f"recording{suffix}", lambda p: write_recording(raw, p))


def blocks_to_array(
    blocks: Sequence[SampleBlock], *, n_channels: int
) -> tuple[NDArray[np.float64], int, list[Gap]]:
    """Join consecutive blocks into one array; lost stretches are zero-filled and listed.

    Returns
    -------
    data : array, shape (n_channels, n_samples)
        The samples, with zeros where samples were lost (covered by the gaps).
    first_sample : int
        Absolute index of the first column.
    gaps : list of Gap
        Lost stretches, onsets relative to the first column.
    """
    if not blocks:
        return np.zeros((n_channels, 0)), 0, []
    first = blocks[0].first_sample
    end = blocks[-1].end_sample
    out = np.zeros((n_channels, end - first))
    gaps: list[Gap] = []
    expected = first
    for b in blocks:
        if b.first_sample > expected:
            gaps.append(
                Gap(
                    onset_s=(expected - first) / b.sfreq,
                    n_samples=b.first_sample - expected,
                    sfreq=b.sfreq,
                )
            )
        out[:, b.first_sample - first : b.end_sample - first] = b.data
        expected = b.end_sample
    return out, first, gaps


def shift_events(
    sites: Sequence[NeedleSite], twitches: Sequence[Twitch], *, t0: float, duration_s: float
) -> tuple[tuple[NeedleSite, ...], tuple[Twitch, ...]]:
    """Sites and twitches moved so ``t0`` becomes 0, clipped to ``[0, duration_s]``."""
    out_sites = []
    for s in sites:
        a, b = max(0.0, s.onset_s - t0), min(duration_s, s.offset_s - t0)
        if b > a or (b == a and 0 <= a < duration_s):
            out_sites.append(replace(s, onset_s=a, duration_s=max(0.0, b - a)))
    out_tw = [
        replace(t, onset_s=t.onset_s - t0, offset_s=t.offset_s - t0)
        for t in twitches
        if t.onset_s >= t0 and t.offset_s - t0 <= duration_s
    ]
    return tuple(out_sites), tuple(out_tw)
