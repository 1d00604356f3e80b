"""OpenCV, the optional dependency of the video features, and opening a video with it.

OpenCV comes with the extra ``twitchscope[video]``. Without it every video feature
raises :class:`~twitchscope.signal.core.errors.ConfigError` with one line saying what
to install (:func:`require_cv2`); the rest of twitchscope does not need it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twitchscope.signal.core.errors import ConfigError, FileFormatError

__all__ = [
    "INSTALL_HINT",
    "VideoInfo",
    "FrameReader",
    "require_cv2",
    "open_video",
    "video_info",
    "check_roi",
]

#: What to install for the video features (the message without OpenCV).
INSTALL_HINT = (
    "video features need OpenCV: install them with `pip install 'twitchscope[video]'` "
    "(or `pip install opencv-python-headless`)."
)


def require_cv2() -> Any:
    """The ``cv2`` module, or :class:`ConfigError` saying what to install."""
    try:
        import cv2
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    return cv2


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What a video file says about itself.

    Parameters
    ----------
    fps : float
        Frame rate declared by the file, frames per second.
    n_frames : int
        Frame count declared by the file (containers may be off by a frame or two).
    width, height : int
        Frame size in pixels.
    """

    fps: float
    n_frames: int
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        """Declared duration, s."""
        return self.n_frames / self.fps


def open_video(path: str | Path) -> tuple[Any, VideoInfo]:
    """Open ``path`` for reading; returns the ``cv2.VideoCapture`` and its :class:`VideoInfo`.

    Raises
    ------
    ConfigError
        OpenCV is not installed.
    FileFormatError
        The file is missing, cannot be decoded, or declares no usable frame rate.
    """
    cv2 = require_cv2()
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"{path}: no such video file.")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        cap.release()
        raise FileFormatError(
            f"{path.name}: OpenCV cannot decode this video (expected MP4, MOV, AVI or WebM)."
        )
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    info = VideoInfo(
        fps=fps,
        n_frames=int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
        width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
        height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
    )
    if not math.isfinite(fps) or fps <= 0:
        cap.release()
        raise FileFormatError(
            f"{path.name}: the video declares no frame rate (got {fps!r}); "
            "re-encode it with a fixed frame rate."
        )
    if info.width <= 0 or info.height <= 0:
        cap.release()
        raise FileFormatError(f"{path.name}: the video has no frames of known size.")
    return cap, info


def video_info(path: str | Path) -> VideoInfo:
    """The :class:`VideoInfo` of ``path`` (see :func:`open_video` for the errors)."""
    cap, info = open_video(path)
    cap.release()
    return info


def check_roi(roi: tuple[int, int, int, int], width: int, height: int) -> None:
    """Raise :class:`ConfigError` unless ``roi`` = (x, y, w, h) lies inside a width x height frame."""
    if len(roi) != 4:
        raise ConfigError(f"a region of interest is X,Y,W,H (4 integers), got {roi!r}.")
    x, y, w, h = roi
    if w < 8 or h < 8:
        raise ConfigError(f"the region of interest must be at least 8x8 pixels, got {w}x{h}.")
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise ConfigError(
            f"the region of interest {x},{y},{w},{h} does not fit in the {width}x{height} frame."
        )


class FrameReader:
    """Frames of a video by index or by time, for stepping and for clips.

    Frame ``k`` shows video time ``k / fps``; :meth:`index_at` gives the frame on
    screen at a time. Reading forward a little is done by decoding on (exact); a jump
    seeks with OpenCV's ``CAP_PROP_POS_FRAMES``. Use it as a context manager, or
    call :meth:`close`.

    Parameters
    ----------
    path : str or Path
        The video (see :func:`open_video` for the errors).
    """

    #: Frames decoded on rather than seeking, when the wanted one is this close ahead.
    READ_AHEAD = 30

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cap, self.info = open_video(path)
        self._cv2 = require_cv2()
        self._next = 0

    def __enter__(self) -> FrameReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the decoder."""
        self._cap.release()

    def index_at(self, t_video_s: float) -> int:
        """The frame on screen at video time ``t_video_s`` (may be outside the video)."""
        return int(math.floor(t_video_s * self.info.fps + 1e-6))

    def frame(self, index: int) -> Any:
        """Frame ``index`` as a BGR ``uint8`` array (height, width, 3), or None outside
        the video."""
        if index < 0 or (self.info.n_frames > 0 and index >= self.info.n_frames):
            return None
        ahead = index - self._next
        if not 0 <= ahead <= self.READ_AHEAD:
            self._cap.set(self._cv2.CAP_PROP_POS_FRAMES, index)
            ahead = 0
        for _ in range(ahead):
            if not self._cap.grab():
                self._next = -1  # unknown position: seek next time
                return None
        ok, frame = self._cap.read()
        if not ok:
            self._next = -1
            return None
        self._next = index + 1
        if frame.ndim == 2:
            frame = self._cv2.cvtColor(frame, self._cv2.COLOR_GRAY2BGR)
        return frame

    def frame_at(self, t_video_s: float) -> Any:
        """The frame on screen at video time ``t_video_s``, or None outside the video."""
        return self.frame(self.index_at(t_video_s))
