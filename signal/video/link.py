"""The link between a recording and its video, kept in a sidecar next to the recording.

The link of ``<stem>.<ext>`` is the JSON file ``<stem>.video.json`` beside it
(:func:`link_path`)::

    {"version": 1, "video": "session1.mp4", "offset_s": 2.5,
     "roi": [40, 30, 200, 150], "scale_mm_per_px": 0.1}

``video`` is relative to the sidecar's folder when the video is on the same drive,
else absolute. ``offset_s`` maps the two clocks: video time = recording time -
offset. ``roi`` (x, y, w, h, px) and ``scale_mm_per_px`` may be ``null``. When the
offset was found automatically (``twitchscope video attach --sync auto``), the
optional ``"sync"`` object says how: ``{"event": "needle-in", "residual_s": 0.012,
"n_checked": 2}`` (the residual is how far the other matched events disagree with
the offset, null when there was none to check).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.io.formats import SUPPORTED_EXTENSIONS

__all__ = ["LINK_SUFFIX", "VideoLink", "link_path", "write_link", "read_link"]

#: What the sidecar's name ends with, after the recording's stem.
LINK_SUFFIX = ".video.json"
_VERSION = 1


@dataclass(frozen=True, slots=True)
class VideoLink:
    """A video attached to a recording.

    Parameters
    ----------
    video : Path
        The video file (absolute once read from a sidecar).
    offset_s : float
        Video time = recording time - ``offset_s``.
    roi : tuple of int or None
        Region of interest (x, y, w, h) in pixels, or None for the whole frame.
    scale_mm_per_px : float or None
        Millimetres per pixel, or None (speeds then in px/s).
    sync_event : str or None
        The event the offset was found from (``needle-in``, ``marker:LABEL``, ``emg``),
        or None when it was given.
    sync_residual_s : float or None
        How far the other matched events disagree with the offset (largest absolute
        difference), s; None when none could be checked.
    sync_n_checked : int
        How many other events were matched to check it.
    """

    video: Path
    offset_s: float = 0.0
    roi: tuple[int, int, int, int] | None = None
    scale_mm_per_px: float | None = None
    sync_event: str | None = None
    sync_residual_s: float | None = None
    sync_n_checked: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "video", Path(self.video))
        if not math.isfinite(self.offset_s):
            raise ConfigError(
                f"the video offset must be a finite number of s, got {self.offset_s}."
            )
        if self.roi is not None:
            roi = tuple(int(v) for v in self.roi)
            if len(roi) != 4 or roi[2] <= 0 or roi[3] <= 0 or min(roi[:2]) < 0:
                raise ConfigError(
                    f"the region of interest is X,Y,W,H with X,Y >= 0 and W,H > 0, got {self.roi!r}."
                )
            object.__setattr__(self, "roi", roi)
        scale = self.scale_mm_per_px
        if scale is not None and not (math.isfinite(scale) and scale > 0):
            raise ConfigError(
                f"the scale must be a positive number of mm per pixel, got {scale!r}."
            )

    def to_video_time(self, t_recording: float) -> float:
        """A recording time as video time, s."""
        return t_recording - self.offset_s

    def to_recording_time(self, t_video: float) -> float:
        """A video time as recording time, s."""
        return t_video + self.offset_s


def link_path(recording: str | Path) -> Path:
    """``<stem>.video.json`` next to ``recording`` (its extension, even ``.fif.gz``, dropped)."""
    recording = Path(recording)
    name = recording.name
    for ext in sorted(SUPPORTED_EXTENSIONS, key=len, reverse=True):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    else:
        name = recording.stem
    return recording.with_name(name + LINK_SUFFIX)


def write_link(recording: str | Path, link: VideoLink) -> Path:
    """Write the sidecar of ``recording``; returns its path."""
    path = link_path(recording)
    video = Path(os.path.abspath(link.video))
    try:
        stored = os.path.relpath(video, os.path.abspath(path.parent))
    except ValueError:  # another drive on Windows
        stored = str(video)
    data = {
        "version": _VERSION,
        "video": Path(stored).as_posix(),
        "offset_s": float(link.offset_s),
        "roi": list(link.roi) if link.roi is not None else None,
        "scale_mm_per_px": link.scale_mm_per_px,
    }
    if link.sync_event is not None:
        data["sync"] = {
            "event": link.sync_event,
            "residual_s": link.sync_residual_s,
            "n_checked": int(link.sync_n_checked),
        }
    try:
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise FileFormatError(f"cannot write {path}: {exc.strerror or exc}.") from None
    return path


def read_link(recording: str | Path) -> VideoLink:
    """Read the sidecar of ``recording``; the video path comes back absolute.

    Raises
    ------
    FileFormatError
        No sidecar, not JSON, or a field missing or of the wrong type.
    """
    path = link_path(recording)
    if not path.is_file():
        raise FileFormatError(
            f"{Path(recording).name} has no attached video (no {path.name}); "
            "attach one with `twitchscope video attach`."
        )
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FileFormatError(f"{path.name}: not a readable JSON video link ({exc}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("video"), str) or not data["video"]:
        raise FileFormatError(f'{path.name}: expected an object with a "video" path.')
    if data.get("version", _VERSION) != _VERSION:
        raise FileFormatError(
            f"{path.name}: video link version {data.get('version')!r}; this twitchscope reads {_VERSION}."
        )
    offset = data.get("offset_s", 0.0)
    roi = data.get("roi")
    scale = data.get("scale_mm_per_px")
    if not isinstance(offset, int | float) or isinstance(offset, bool):
        raise FileFormatError(f"{path.name}: offset_s must be a number, got {offset!r}.")
    if roi is not None and (
        not isinstance(roi, list) or len(roi) != 4 or not all(isinstance(v, int) for v in roi)
    ):
        raise FileFormatError(
            f"{path.name}: roi must be null or [x, y, w, h] integers, got {roi!r}."
        )
    if scale is not None and (not isinstance(scale, int | float) or isinstance(scale, bool)):
        raise FileFormatError(
            f"{path.name}: scale_mm_per_px must be null or a number, got {scale!r}."
        )
    sync = data.get("sync")
    if sync is not None and (
        not isinstance(sync, dict)
        or not isinstance(sync.get("event"), str)
        or not isinstance(sync.get("residual_s", None), int | float | type(None))
        or not isinstance(sync.get("n_checked", 0), int)
    ):
        raise FileFormatError(
            f'{path.name}: sync must be null or {{"event": str, "residual_s": number or null, '
            f'"n_checked": int}}, got {sync!r}.'
        )
    video = Path(data["video"])
    if not video.is_absolute():
        video = Path(os.path.abspath(path.parent / video))
    try:
        return VideoLink(
            video=video,
            offset_s=float(offset),
            roi=tuple(roi) if roi is not None else None,
            scale_mm_per_px=float(scale) if scale is not None else None,
            sync_event=sync["event"] if sync else None,
            sync_residual_s=(
                float(sync["residual_s"]) if sync and sync.get("residual_s") is not None else None
            ),
            sync_n_checked=int(sync.get("n_checked", 0)) if sync else 0,
        )
    except ConfigError as exc:
        raise FileFormatError(f"{path.name}: {exc}") from None
