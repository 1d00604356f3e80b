"""A camera capture written next to a live recording and linked to it.

:class:`CameraCapture` receives the camera's frames (from the WebRTC thread of
:mod:`twitchscope.dashboard.app.camera.panel`, or from a test), stamps them on the
stream clock (:mod:`twitchscope.dashboard.app.camera.timing`) and writes them as a
constant-rate MP4 (``mp4v``, as OpenCV writes and reads it) named after the recording:
``<stem>.mp4`` beside ``<stem>.fif`` (``<stem>-2.mp4``, ``-3``, … when that name is
taken, so an earlier capture is never overwritten). :meth:`CameraCapture.finish`
closes the file and links it to the recording in ``<stem>.video.json``
(:mod:`twitchscope.signal.video.link`, the format of ``twitchscope video attach``),
with the offset from the stream clock: video time = recording time - offset.

No Streamlit here; OpenCV (the extra ``twitchscope[video]``) is needed to write.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from twitchscope.dashboard.app.camera.timing import (
    FrameTimeline,
    place_frame,
    stamp_frame,
    video_offset_s,
)
from twitchscope.signal.core.errors import ConfigError, FileFormatError, TwitchscopeError
from twitchscope.signal.video.backend import require_cv2
from twitchscope.signal.video.link import LINK_SUFFIX, VideoLink, link_path, write_link

__all__ = ["VIDEO_SUFFIX", "CaptureResult", "CameraCapture", "video_path_for"]

log = logging.getLogger(__name__)

#: The container of captured videos.
VIDEO_SUFFIX = ".mp4"

#: The stream time of a recording's first sample, s: a number, or a callable asked when
#: the capture is saved (None: the recording has not started yet).
RecordingStart = float | Callable[[], float | None]


@dataclass(frozen=True, slots=True)
class CaptureResult:
    """A saved capture.

    Parameters
    ----------
    video : Path
        The video file written.
    link : Path or None
        The ``<stem>.video.json`` written, or None when the video could not be linked.
    offset_s : float
        Video time = recording time - ``offset_s`` (NaN when not linked).
    capture_start_s : float
        Stream time of the first frame, s.
    n_frames_received, n_frames_written : int
        Frames the camera sent, and frames in the file (gaps filled, extras dropped).
    fps : float
        Frame rate of the file.
    width, height : int
        Frame size, pixels.
    message : str
        Why the video is not linked (empty when it is).
    """

    video: Path
    link: Path | None
    offset_s: float
    capture_start_s: float
    n_frames_received: int
    n_frames_written: int
    fps: float
    width: int
    height: int
    message: str = ""

    @property
    def duration_s(self) -> float:
        """Length of the video file, s."""
        return self.n_frames_written / self.fps

    def describe(self) -> str:
        """One line for the page."""
        size = f"{self.width}x{self.height}, {self.duration_s:.1f} s at {self.fps:g} fps"
        if self.link is None:
            return f"Saved {self.video.name} ({size}). {self.message}"
        return (
            f"Saved {self.video.name} ({size}) and linked it in {self.link.name}: "
            f"the video starts {self.offset_s:+.3f} s from the recording's start."
        )


def video_path_for(recording: str | Path, *, suffix: str = VIDEO_SUFFIX) -> Path:
    """``<stem><suffix>`` beside ``recording``, or ``<stem>-2<suffix>``, … if that exists."""
    link = link_path(recording)
    stem = link.name[: -len(LINK_SUFFIX)]
    path = link.with_name(stem + suffix)
    n = 2
    while path.exists():
        path = link.with_name(f"{stem}-{n}{suffix}")
        n += 1
    return path


class CameraCapture:
    """Frames of one camera capture, written beside ``recording`` and linked to it.

    Parameters
    ----------
    recording : path-like
        The file the live recording goes to (e.g. ``session.fif``; it need not exist
        yet): the video and the link are named after it.
    recording_start_s : float or callable
        Stream time of the recording's first sample, s, or a callable returning it
        when the capture is saved (None: not known; the video is then saved unlinked).
    fps : float
        Frame rate of the file.

    Notes
    -----
    Thread-safe: :meth:`add_frame` is called from the thread that receives the frames,
    :meth:`finish` from any thread, any number of times (frames after it are ignored).
    The file is created with the first frame; a capture without frames writes nothing.
    A frame that cannot be written stops the capture (:attr:`error` says why); what
    was written before it is kept.
    """

    def __init__(
        self, recording: str | Path, *, recording_start_s: RecordingStart, fps: float = 30.0
    ) -> None:
        if not (math.isfinite(fps) and 1.0 <= fps <= 120.0):
            raise ConfigError(f"the capture frame rate must be 1-120 frames/s, got {fps!r}.")
        self.recording = Path(recording)
        self.fps = float(fps)
        self._recording_start = recording_start_s
        self._lock = threading.Lock()
        self._timeline = FrameTimeline()
        self._writer: Any = None
        self._video: Path | None = None
        self._size: tuple[int, int] = (0, 0)
        self._previous: NDArray[np.uint8] | None = None
        self._n_written = 0
        self._closed = False
        self._result: CaptureResult | None = None
        self.error = ""

    # -- state ----------------------------------------------------------------------------

    @property
    def n_frames(self) -> int:
        """Frames received so far."""
        return self._timeline.n_frames

    @property
    def n_frames_written(self) -> int:
        """Frames in the file so far."""
        return self._n_written

    @property
    def duration_s(self) -> float:
        """Time from the first frame to the last, s."""
        return self._timeline.duration_s

    @property
    def timeline(self) -> FrameTimeline:
        """The timing state (see :mod:`twitchscope.dashboard.app.camera.timing`)."""
        return self._timeline

    @property
    def video(self) -> Path | None:
        """The video file, once the first frame has arrived."""
        return self._video

    @property
    def closed(self) -> bool:
        """Whether :meth:`finish` was called."""
        return self._closed

    @property
    def result(self) -> CaptureResult | None:
        """What :meth:`finish` saved (None before, or when nothing was saved)."""
        return self._result

    # -- writing --------------------------------------------------------------------------

    def add_frame(
        self, image: NDArray[np.uint8], media_s: float | None, arrival_s: float, stream_s: float
    ) -> None:
        """Write one frame.

        Parameters
        ----------
        image : ndarray of uint8, shape (height, width, 3)
            The frame, BGR (OpenCV's order). Frames of another size than the first are
            resized to it.
        media_s : float or None
            The frame's media time, s (see :func:`~twitchscope.dashboard.app.camera.timing.stamp_frame`).
        arrival_s : float
            When it arrived, s on a monotonic clock (``time.monotonic()``).
        stream_s : float
            The stream clock read at that moment, s.
        """
        with self._lock:
            if self._closed or self.error:
                return
            try:
                self._add(image, media_s, arrival_s, stream_s)
            except (TwitchscopeError, OSError) as exc:  # keep what was written until then
                self.error = str(exc)
                log.error("camera capture stopped: %s", exc)
                self._close_writer()

    def _add(
        self, image: NDArray[np.uint8], media_s: float | None, arrival_s: float, stream_s: float
    ) -> None:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ConfigError(
                f"a camera frame must be a (height, width, 3) uint8 BGR image, "
                f"got shape {image.shape} of {image.dtype}."
            )
        t_s, timeline = stamp_frame(self._timeline, media_s, arrival_s, stream_s)
        if self._writer is None:
            self._open(image.shape[1], image.shape[0])
        self._timeline = timeline
        cv2 = require_cv2()
        if (image.shape[1], image.shape[0]) != self._size:
            image = cv2.resize(image, self._size, interpolation=cv2.INTER_AREA)
        n_repeat, write = place_frame(t_s, self._n_written, self.fps)
        for _ in range(n_repeat):
            self._writer.write(self._previous)
            self._n_written += 1
        if write:
            self._writer.write(np.ascontiguousarray(image))
            self._n_written += 1
            self._previous = image

    def _open(self, width: int, height: int) -> None:
        cv2 = require_cv2()
        video = video_path_for(self.recording)
        video.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(
            str(video), cv2.VideoWriter_fourcc(*"mp4v"), self.fps, (width, height)
        )
        if not writer.isOpened():
            writer.release()
            raise FileFormatError(f"{video}: OpenCV cannot write an MP4 video there.")
        self._writer, self._video, self._size = writer, video, (width, height)
        log.info("camera capture to %s (%dx%d at %g fps)", video, width, height, self.fps)

    def _close_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.release()

    def finish(self) -> CaptureResult | None:
        """Close the video and link it to the recording (once; later calls return the same).

        Returns
        -------
        CaptureResult or None
            None when no frame was written (nothing is saved). After an error
            (:attr:`error`), what was written until then is saved and linked.
        """
        with self._lock:
            if self._closed:
                return self._result
            self._closed = True
            self._close_writer()
            if self._video is None or self._n_written == 0:
                return None
            self._result = self._link()
            return self._result

    def _link(self) -> CaptureResult:
        assert self._video is not None
        timeline = self._timeline
        start = (
            self._recording_start() if callable(self._recording_start) else self._recording_start
        )
        link: Path | None = None
        offset, message = math.nan, ""
        if start is None:
            message = (
                "The recording had not started, so the video is not linked; attach it with "
                "`twitchscope video attach`."
            )
        else:
            try:
                offset = video_offset_s(timeline.capture_start_s, float(start))
                link = write_link(self.recording, VideoLink(video=self._video, offset_s=offset))
            except TwitchscopeError as exc:
                offset, message = math.nan, f"The video is not linked: {exc}"
        result = CaptureResult(
            video=self._video,
            link=link,
            offset_s=offset,
            capture_start_s=timeline.capture_start_s,
            n_frames_received=timeline.n_frames,
            n_frames_written=self._n_written,
            fps=self.fps,
            width=self._size[0],
            height=self._size[1],
            message=message,
        )
        log.info("%s", result.describe())
        return result
