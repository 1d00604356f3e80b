"""The clock offset between a recording and its video, found from an event seen in both.

Video side (:func:`video_events`)
    In the region of interest (the whole frame by default), two kinds of step:
    a change of brightness (an LED flash, a light switched on) and a movement (a tap
    on the probe or the limb, a twitch). Brightness: the mean grey level of the
    region, frame by frame; a step is a frame-to-frame change above
    ``max(median + k * 1.4826 * MAD, min_brightness_step)`` of those changes, stamped
    half-way between the last frame without it and the first that shows it (within
    half a frame of the truth). Movement: the optical-flow movements of
    :func:`~twitchscope.signal.video.motion.measure_motion` (slow movement removed),
    stamped at their onset. Steps closer than ``merge_s`` are one event (an LED
    going on then off, a tap and its rebound), at the earliest.

EMG side (:func:`emg_events`)
    ``needle-in``: the onsets of the needle sites; ``marker:LABEL``: the onsets of the
    annotations named ``LABEL``; ``emg``: the onsets of the detector's events
    twitches, and of the rejected candidates at least as large as the smallest twitch
    (a tap on the electrode is rejected as an artefact), events closer than 0.2 s
    being one.

Matching (:func:`find_offset`)
    An EMG-side event (the anchor) is matched to a video event: offset = anchor time -
    video time (video time = recording time - offset). Every pair is tried; the
    offset that lines up the most EMG events with a video event within
    ``tolerance_s`` wins, ties going to the earliest anchor, then the earliest video
    event. When the events agree this is the plain "first matches first"; a spurious
    step in the video, or an EMG event the camera did not see, does not throw it off.
    The residual is the largest disagreement among the other matched events: how far
    to nudge with ``--offset`` if it is large.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import RecordingEvents, RejectedCandidate, Twitch
from twitchscope.signal.video.backend import check_roi, open_video, require_cv2
from twitchscope.signal.video.motion import MotionConfig, measure_motion

__all__ = [
    "SYNC_KINDS",
    "SyncConfig",
    "SyncResult",
    "brightness_steps",
    "video_events",
    "emg_events",
    "find_offset",
    "parse_sync_event",
    "sync_video",
    "residual_text",
]

#: What the video side looks for: brightness steps, movements, or both.
SYNC_KINDS: tuple[str, ...] = ("auto", "brightness", "motion")
_MAD_TO_SIGMA = 1.4826
#: EMG-side events closer than this are one (a twitch and its rejected twin), s.
_SAME_EVENT_S = 0.2


@dataclass(frozen=True, slots=True)
class SyncConfig:
    """Settings of automatic sync (see the module docstring).

    Parameters
    ----------
    kind : str
        ``auto`` (brightness steps and movements), ``brightness`` or ``motion``.
    k : float
        Brightness step threshold in robust standard deviations of frame-to-frame change.
    min_brightness_step : float
        Smallest brightness step counted, grey levels (0-255).
    merge_s : float
        Steps closer than this are one event, s.
    tolerance_s : float
        Largest disagreement of two events still matched, s.
    """

    kind: str = "auto"
    k: float = 8.0
    min_brightness_step: float = 4.0
    merge_s: float = 0.5
    tolerance_s: float = 0.5

    def __post_init__(self) -> None:
        if self.kind not in SYNC_KINDS:
            raise ConfigError(
                f"sync kind must be one of {', '.join(SYNC_KINDS)}, got {self.kind!r}."
            )
        for name in ("k", "min_brightness_step", "merge_s", "tolerance_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number, got {value!r}.")


@dataclass(frozen=True, slots=True)
class SyncResult:
    """An offset found automatically.

    Parameters
    ----------
    offset_s : float
        Video time = recording time - ``offset_s``.
    anchor_recording_s, anchor_video_s : float
        The matched pair of events, in recording and video time.
    residual_s : float or None
        Largest disagreement among the other matched events, s (None if none matched).
    n_checked : int
        Other EMG events matched to a video event.
    n_emg, n_video : int
        Events found on each side.
    """

    offset_s: float
    anchor_recording_s: float
    anchor_video_s: float
    residual_s: float | None
    n_checked: int
    n_emg: int
    n_video: int

    def residual_text(self) -> str:
        """How well the other events agree with the offset, in words."""
        return residual_text(self.residual_s, self.n_checked)


def residual_text(residual_s: float | None, n_checked: int) -> str:
    """A sync's residual in words (``residual 13 ms over 2 other matched events``)."""
    if residual_s is None:
        return "no other event to check it against"
    return (
        f"residual {residual_s * 1000:.0f} ms over {n_checked} other matched "
        f"event{'s' if n_checked != 1 else ''}"
    )


def parse_sync_event(text: str) -> tuple[str, str | None]:
    """``needle-in``, ``marker:LABEL`` or ``emg`` as (kind, label)."""
    text = str(text).strip()
    if text in ("needle-in", "emg"):
        return text, None
    if text.startswith("marker:") and text[len("marker:") :].strip():
        return "marker", text[len("marker:") :].strip()
    raise ConfigError(f"the sync event is needle-in, marker:LABEL or emg, got {text!r}.")


def _merge(times: Sequence[float], merge_s: float) -> list[float]:
    out: list[float] = []
    for t in sorted(times):
        if not out or t - out[-1] > merge_s:
            out.append(float(t))
    return out


def brightness_steps(
    path: str | Path,
    *,
    roi: tuple[int, int, int, int] | None = None,
    config: SyncConfig | None = None,
) -> list[float]:
    """Video times (s) of the brightness steps in ``roi`` (see the module docstring)."""
    config = config or SyncConfig()
    cv2 = require_cv2()
    cap, info = open_video(path)
    levels: list[float] = []
    try:
        if roi is None:
            roi = (0, 0, info.width, info.height)
        check_roi(roi, info.width, info.height)
        x, y, w, h = roi
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            part = frame[y : y + h, x : x + w]
            if part.ndim == 3:
                part = cv2.cvtColor(part, cv2.COLOR_BGR2GRAY)
            levels.append(float(np.mean(part)))
    finally:
        cap.release()
    if len(levels) < 3:
        raise FileFormatError(f"{Path(path).name}: {len(levels)} frames; sync needs at least 3.")
    change = np.abs(np.diff(np.asarray(levels)))
    median = float(np.median(change))
    sigma = _MAD_TO_SIGMA * float(np.median(np.abs(change - median)))
    threshold = max(median + config.k * sigma, config.min_brightness_step)
    # change[i] is between frames i and i + 1: it happened between their times, so it is
    # stamped half-way (within half a frame of the truth)
    steps = (np.flatnonzero(change > threshold) + 0.5) / info.fps
    return _merge(steps.tolist(), config.merge_s)


def video_events(
    path: str | Path,
    *,
    roi: tuple[int, int, int, int] | None = None,
    config: SyncConfig | None = None,
    motion: MotionConfig | None = None,
) -> list[float]:
    """Video times (s) of the sync candidates: brightness steps and/or movements."""
    config = config or SyncConfig()
    times: list[float] = []
    if config.kind in ("auto", "brightness"):
        times += brightness_steps(path, roi=roi, config=config)
    if config.kind in ("auto", "motion"):
        result = measure_motion(path, roi=roi, config=motion)
        times += [m.onset_s for m in result.movements]
    return _merge(times, config.merge_s)


def emg_events(
    events: RecordingEvents,
    kind: str,
    label: str | None = None,
    *,
    twitches: Sequence[Twitch] = (),
    rejected: Sequence[RejectedCandidate] = (),
) -> list[float]:
    """Recording times (s) of the EMG-side events of ``kind`` (see the module docstring).

    ``twitches`` and ``rejected`` (the detector's output) are used by ``emg`` only.
    """
    if kind == "needle-in":
        return sorted(s.onset_s for s in events.sites)
    if kind == "marker":
        return sorted(onset for onset, _dur, desc in events.other if desc == label)
    if kind == "emg":
        found = [(t.onset_s, t.peak_v) for t in twitches if math.isfinite(t.peak_v)]
        found += [(r.onset_s, r.peak_v) for r in rejected if math.isfinite(r.peak_v)]
        twitch_peaks = [p for _t, p in found[: len(twitches)]]
        floor = min(twitch_peaks) if twitch_peaks else 0.0
        return _merge([t for t, p in found if p >= floor], _SAME_EVENT_S)
    raise ConfigError(f"the sync event is needle-in, marker:LABEL or emg, got {kind!r}.")


def find_offset(
    emg_times: Sequence[float],
    video_times: Sequence[float],
    *,
    tolerance_s: float = 0.5,
    what: str = "the sync event",
) -> SyncResult:
    """Match an EMG-side event to a video event (see the module docstring).

    Raises
    ------
    ConfigError
        No event on one side (the message says which and what to try).
    """
    emg = sorted(float(t) for t in emg_times)
    video = sorted(float(t) for t in video_times)
    if not emg:
        raise ConfigError(
            f"the recording has no {what}; choose another --sync-event or give --offset."
        )
    if not video:
        raise ConfigError(
            "no brightness or motion step found in the video's region; choose the region "
            "of the LED or the tap with --roi, or give --offset."
        )
    e, vids = np.asarray(emg), np.asarray(video)
    best: tuple[int, int, int] | None = None  # (-matched, i, j): smallest is best
    for i, anchor in enumerate(emg):
        for j, v in enumerate(video):
            moved = vids + (anchor - v)  # video events in recording time
            nearest = np.min(np.abs(e[:, None] - moved[None, :]), axis=1)
            key = (-int(np.sum(nearest <= tolerance_s)), i, j)
            if best is None or key < best:
                best = key
    assert best is not None
    _, i, j = best
    anchor, offset = emg[i], emg[i] - video[j]
    nearest = np.min(np.abs(e[:, None] - (vids + offset)[None, :]), axis=1)
    others = np.delete(nearest, i)
    good = others[others <= tolerance_s]
    n = int(good.size)
    return SyncResult(
        offset_s=offset,
        anchor_recording_s=anchor,
        anchor_video_s=video[j],
        residual_s=float(np.max(good)) if n else None,
        n_checked=n,
        n_emg=len(emg),
        n_video=len(video),
    )


def sync_video(
    events: RecordingEvents,
    video: str | Path,
    *,
    sync_event: str,
    roi: tuple[int, int, int, int] | None = None,
    config: SyncConfig | None = None,
    twitches: Sequence[Twitch] = (),
    rejected: Sequence[RejectedCandidate] = (),
) -> SyncResult:
    """Find a video's offset from a sync event seen in both (what ``video attach --sync
    auto`` and the dashboard's attach panel do).

    ``sync_event`` is ``needle-in``, ``marker:LABEL`` or ``emg`` (then ``twitches`` and
    ``rejected`` are the detector's output on the recording). The recording side is
    checked first, so a recording without the event is said before the video is read.
    """
    config = config or SyncConfig()
    kind, label = parse_sync_event(sync_event)
    emg = emg_events(events, kind, label, twitches=twitches, rejected=rejected)
    what = {"needle-in": "needle-in annotation", "emg": "large EMG artefact or twitch"}.get(
        kind, f"annotation {label!r}"
    )
    if not emg:
        find_offset(emg, [], what=what)  # raises: says what the recording lacks
    found = video_events(video, roi=roi, config=config)
    return find_offset(emg, found, tolerance_s=config.tolerance_s, what=what)
