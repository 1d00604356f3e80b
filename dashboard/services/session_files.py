"""Turn a partial recording (the recorder's crash-safe folder) into a FIF or EDF+ file.

This is where acquisition meets MNE: :func:`finalize` reads the partial folder
with :func:`twitchscope.acquisition.recording.partial.load_partial`, builds an MNE Raw
with :func:`twitchscope.signal.core.annotations.make_raw` (EMG channels first in board
order as ``emg``, aux channels after them as ``misc``, volts) annotated with the
needle sites, the acquisition gaps (``BAD_ACQ_SKIP``, over zero-filled stretches)
and any twitches given, and writes it with
:func:`twitchscope.signal.io.writers.write_recording`.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import mne

from twitchscope.acquisition.recording.partial import PartialRecording, load_partial
from twitchscope.signal.core.annotations import make_raw, recording_events, set_recording_events
from twitchscope.signal.core.errors import FileFormatError, TwitchscopeError
from twitchscope.signal.core.model import SITE_PREFIX, NeedleSite, Twitch
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.run import detect_raw
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.io.writers import write_recording

__all__ = ["FinalizeSummary", "partial_to_raw", "finalize", "summary_line"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FinalizeSummary:
    """What :func:`finalize` wrote.

    Parameters
    ----------
    out_path : Path
        The file written.
    n_samples : int
        Samples per channel in it (zero-filled lost samples included).
    sfreq : float
        Sampling rate, Hz.
    n_channels : int
        Channels (EMG and aux).
    n_gaps, n_lost : int
        Number of gaps and of samples lost in them.
    n_sites, n_twitches : int
        Needle sites and twitches annotated.
    n_bytes_ignored : int
        Bytes of a torn tail left out of the partial file (0 after a clean stop).
    """

    out_path: Path
    n_samples: int
    sfreq: float
    n_channels: int
    n_gaps: int
    n_lost: int
    n_sites: int
    n_twitches: int
    n_bytes_ignored: int = 0

    @property
    def duration_s(self) -> float:
        """Length of the recording, s."""
        return self.n_samples / self.sfreq


def partial_to_raw(
    partial_path: str | os.PathLike[str], *, twitches: Sequence[Twitch] = ()
) -> tuple[mne.io.RawArray, PartialRecording]:
    """Build an MNE Raw from a partial recording; return it and what was loaded.

    Parameters
    ----------
    partial_path : path-like
        The ``<name>.partial`` folder.
    twitches : sequence of Twitch
        Twitches to annotate (``LTR``), onsets in seconds from the first sample.

    Raises
    ------
    FileFormatError
        If the partial folder is unreadable or holds no samples.
    """
    rec = load_partial(partial_path)
    if rec.data.shape[1] == 0:
        raise FileFormatError(
            f"partial recording {str(partial_path)!r} holds no samples yet; nothing to write."
        )
    end_s = rec.data.shape[1] / rec.sfreq
    events = replace(
        rec.events,
        sites=_clip_sites(rec.events.sites, end_s),
        twitches=tuple(sorted(twitches, key=lambda t: t.onset_s)),
    )
    raw = make_raw(
        rec.data,
        sfreq=rec.sfreq,
        ch_names=rec.ch_names,
        ch_types=list(rec.ch_types),
        events=events,
        meas_date=rec.meta.get("start_time"),
    )
    return raw, rec


def finalize(
    partial_path: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    *,
    twitches: Sequence[Twitch] = (),
    detector: DetectorConfig | None = None,
    overwrite: bool = False,
    remove_partial: bool = False,
) -> FinalizeSummary:
    """Write a partial recording out as FIF or EDF+ (chosen by the extension of ``out_path``).

    Parameters
    ----------
    partial_path : path-like
        The ``<name>.partial`` folder written by the recorder.
    out_path : path-like
        ``.fif`` or ``.edf`` file to write.
    twitches : sequence of Twitch
        Twitches to annotate as ``LTR``.
    detector : DetectorConfig or None
        If given, run the twitch detector over the EMG channels of the recording
        and annotate what it finds as ``LTR`` (in addition to ``twitches``).
    overwrite : bool
        Replace ``out_path`` if it exists.
    remove_partial : bool
        Delete the partial folder once the file is written and reads back with
        every sample (the partial is kept otherwise, and always on error).

    Returns
    -------
    summary : FinalizeSummary
    """
    raw, rec = partial_to_raw(partial_path, twitches=twitches)
    if detector is not None:
        found, _ = detect_raw(raw.copy().pick("emg"), detector)
        twitches = sorted([*twitches, *found], key=lambda t: t.onset_s)
        set_recording_events(raw, replace(recording_events(raw), twitches=tuple(twitches)))
    out = Path(out_path)
    write_recording(raw, out, overwrite=overwrite)
    gaps = rec.events.gaps
    summary = FinalizeSummary(
        out_path=out,
        n_samples=int(raw.n_times),
        sfreq=float(raw.info["sfreq"]),
        n_channels=len(raw.ch_names),
        n_gaps=len(gaps),
        n_lost=sum(g.n_samples for g in gaps),
        n_sites=sum(1 for d in raw.annotations.description if d.startswith(SITE_PREFIX)),
        n_twitches=len(twitches),
        n_bytes_ignored=int(rec.meta.get("n_bytes_ignored", 0)),
    )
    if remove_partial:
        _remove_partial_if_written(Path(partial_path), out, summary.n_samples)
    log.info("finalized %s -> %s", partial_path, out)
    return summary


def _clip_sites(sites: Sequence[NeedleSite], end_s: float) -> tuple[NeedleSite, ...]:
    """End sites at the end of the data; leave out (and log) any that start after it."""
    out = []
    for site in sites:
        if site.onset_s >= end_s:
            log.warning(
                "needle site %r starts at %.3f s, after the data ends (%.3f s); left out",
                site.label,
                site.onset_s,
                end_s,
            )
        elif site.offset_s > end_s:
            out.append(replace(site, duration_s=end_s - site.onset_s))
        else:
            out.append(site)
    return tuple(out)


def summary_line(summary: FinalizeSummary) -> str:
    """One line for the command line: samples, duration, gaps and where it went."""
    lost = f", {summary.n_lost} samples lost" if summary.n_gaps else ""
    sites = f", {summary.n_sites} needle sites" if summary.n_sites else ""
    sites += f", {summary.n_twitches} twitches" if summary.n_twitches else ""
    torn = (
        f", {summary.n_bytes_ignored} bytes of a torn tail ignored"
        if summary.n_bytes_ignored
        else ""
    )
    return (
        f"{summary.n_samples} samples ({summary.duration_s:.2f} s at {summary.sfreq:g} Hz, "
        f"{summary.n_channels} channels), {summary.n_gaps} gaps{lost}{sites}{torn} "
        f"-> {summary.out_path}"
    )


def _remove_partial_if_written(partial: Path, out: Path, n_samples: int) -> None:
    try:
        back = read_recording(out, preload=False)
    except (TwitchscopeError, OSError, ValueError) as exc:  # keep the partial
        log.warning("kept %s: %s did not read back (%s)", partial, out, exc)
        return
    if back.n_times != n_samples:
        log.warning(
            "kept %s: %s reads back %d samples, expected %d", partial, out, back.n_times, n_samples
        )
        return
    shutil.rmtree(partial)
