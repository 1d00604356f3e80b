"""Teaching clips: a twitch as a short MP4 or GIF, the video and the EMG trace side by side.

Each frame of a clip is the video frame on screen at that moment (left, scaled to the
clip's height) and a panel with the twitch's channel (right): the EMG band-passed for
display (20 Hz to min(450 Hz, 0.45 x sfreq), zero-phase), the twitch's span shaded,
its onset as a dashed line and a cursor at the frame's time. While the twitch is
on (from its onset for at least :attr:`ClipConfig.mark_min_s`, so that a 40 ms twitch
is seen) the video is framed in :data:`MARK_BGR` and labelled ``TWITCH``.

Clip frame ``k`` shows recording time ``onset - before_s + k / fps`` (``fps`` the
video's); the video frame for it comes from the link's offset (video time =
recording time - offset). Moments outside the video show a grey frame saying so.
MP4 is written by OpenCV (``mp4v``), GIF by Pillow (looping, one 64-colour palette).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy import signal as sps

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import Twitch
from twitchscope.signal.core.units import volts_to_uv
from twitchscope.signal.video.backend import FrameReader, require_cv2
from twitchscope.signal.video.link import VideoLink

__all__ = [
    "CLIP_FORMATS",
    "MARK_BGR",
    "ClipConfig",
    "ClipResult",
    "clip_frames",
    "write_clip",
    "export_twitch_clip",
]

#: Formats a clip is written in.
CLIP_FORMATS: tuple[str, ...] = ("mp4", "gif")
#: Colour (blue, green, red) of the frame around the video while the twitch is on.
MARK_BGR: tuple[int, int, int] = (40, 40, 230)
_TRACE_BGR = (230, 230, 230)
_SPAN_BGR = (60, 60, 140)
_CURSOR_BGR = (80, 220, 255)
_GRID_BGR = (70, 70, 70)
_BACKGROUND = 24


@dataclass(frozen=True, slots=True)
class ClipConfig:
    """How a clip is cut and drawn.

    Parameters
    ----------
    before_s, after_s : float
        Seconds shown before and after the twitch's onset.
    height : int
        Height of the clip, px (the video frame is scaled to it).
    trace_width : int
        Width of the trace panel, px.
    mark_min_s : float
        The twitch is marked from its onset for at least this long.
    border_px : int
        Thickness of the mark around the video.
    """

    before_s: float = 1.0
    after_s: float = 1.5
    height: int = 240
    trace_width: int = 360
    mark_min_s: float = 0.3
    border_px: int = 6

    def __post_init__(self) -> None:
        for name in ("before_s", "after_s", "mark_min_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be zero or a positive number of s, got {value!r}.")
        if self.before_s + self.after_s <= 0:
            raise ConfigError("a clip needs before_s + after_s > 0 s.")
        if self.height < 64 or self.trace_width < 96:
            raise ConfigError(
                f"a clip needs height >= 64 and trace_width >= 96 px, got {self.height} and "
                f"{self.trace_width}."
            )
        if not 1 <= self.border_px <= self.height // 8:
            raise ConfigError(f"border_px must be 1..{self.height // 8}, got {self.border_px}.")


@dataclass(frozen=True, slots=True)
class ClipResult:
    """A written clip.

    Parameters
    ----------
    path : Path
        The file.
    n_frames : int
        Frames written.
    width, height : int
        Frame size, px.
    fps : float
        Frame rate.
    marked : tuple of int
        Indices of the frames with the twitch marked.
    """

    path: Path
    n_frames: int
    width: int
    height: int
    fps: float
    marked: tuple[int, ...]


def _display_trace(trace_v: NDArray[np.float64], sfreq: float) -> NDArray[np.float64]:
    """Band-pass for display, zero-phase (the shape of the burst, not the detector's view)."""
    high = min(450.0, 0.45 * sfreq)
    if trace_v.size < 64 or high <= 20.0:
        return trace_v - np.median(trace_v) if trace_v.size else trace_v
    sos = sps.butter(4, (20.0, high), btype="bandpass", fs=sfreq, output="sos")
    return np.asarray(sps.sosfiltfilt(sos, trace_v))


def _trace_panel(
    trace_uv: NDArray[np.float64],
    times: NDArray[np.float64],
    *,
    span: tuple[float, float],
    twitch: Twitch,
    size: tuple[int, int],
    title: str,
) -> tuple[NDArray[np.uint8], float, float]:
    """The static part of the trace panel, with its time-to-x scale (x = a + b * t)."""
    cv2 = require_cv2()
    w, h = size
    panel = np.full((h, w, 3), _BACKGROUND, np.uint8)
    t_lo, t_hi = span
    b = (w - 1) / (t_hi - t_lo)
    a = -t_lo * b
    top, bottom = 24, h - 20
    mid = (top + bottom) / 2
    x0, x1 = int(round(a + b * twitch.onset_s)), int(round(a + b * twitch.offset_s))
    cv2.rectangle(panel, (x0, top), (max(x1, x0 + 1), bottom), _SPAN_BGR, -1)
    cv2.line(panel, (0, int(mid)), (w - 1, int(mid)), _GRID_BGR, 1)
    step = 0.5 if t_hi - t_lo <= 4 else 1.0
    k = math.ceil((t_lo - twitch.onset_s) / step)
    while twitch.onset_s + k * step <= t_hi:
        t = twitch.onset_s + k * step
        x = int(round(a + b * t))
        cv2.line(panel, (x, bottom), (x, bottom + 4), _GRID_BGR, 1)
        label = "0" if k == 0 else f"{k * step:+g} s"
        cv2.putText(
            panel,
            label,
            (min(max(0, x - 12), w - 36), h - 5),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.35,
            _TRACE_BGR,
            1,
        )
        k += 1
    if trace_uv.size:
        scale = max(float(np.max(np.abs(trace_uv))), 1e-9) * 1.1
        cols = np.clip(np.round(a + b * times).astype(int), 0, w - 1)
        ys = mid - (trace_uv / scale) * (bottom - top) / 2
        lo = np.full(w, np.inf)
        hi = np.full(w, -np.inf)
        np.minimum.at(lo, cols, ys)
        np.maximum.at(hi, cols, ys)
        have = np.flatnonzero(np.isfinite(lo))
        pts = np.empty((2 * have.size, 2), np.int32)
        pts[0::2, 0] = have
        pts[1::2, 0] = have
        pts[0::2, 1] = np.round(lo[have])
        pts[1::2, 1] = np.round(hi[have])
        cv2.polylines(panel, [pts.reshape(-1, 1, 2)], False, _TRACE_BGR, 1, cv2.LINE_AA)
        cv2.putText(
            panel,
            f"+/-{scale:.0f} uV",
            (w - 92, top + 12),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.35,
            _TRACE_BGR,
            1,
        )
    cv2.putText(panel, title, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.42, _TRACE_BGR, 1)
    return panel, a, b


def clip_frames(
    video: VideoLink,
    trace_v: NDArray[np.float64],
    *,
    sfreq: float,
    twitch: Twitch,
    label: str = "",
    config: ClipConfig | None = None,
) -> Iterator[tuple[NDArray[np.uint8], bool]]:
    """The frames of a twitch's clip, each with whether the twitch is marked on it.

    Parameters
    ----------
    video : VideoLink
        The video and its clock offset.
    trace_v : ndarray, shape (n_samples,)
        The twitch's channel over the whole recording, volts (sample 0 at time 0).
    sfreq : float
        Sampling rate of ``trace_v``, Hz.
    twitch : Twitch
        The twitch (recording time).
    label : str
        Title of the trace panel (default: the channel and the onset).
    config : ClipConfig or None
        Cut and drawing (defaults if None).
    """
    config = config or ClipConfig()
    cv2 = require_cv2()
    if not (math.isfinite(sfreq) and sfreq > 0):
        raise ConfigError(f"sfreq must be a positive number of Hz, got {sfreq!r}.")
    trace_v = np.asarray(trace_v, dtype=float)
    if trace_v.ndim != 1:
        raise ConfigError(f"the trace must be one channel (n_samples,), got {trace_v.shape}.")
    t_lo, t_hi = twitch.onset_s - config.before_s, twitch.onset_s + config.after_s
    pad = 0.5
    i0 = max(0, int(math.floor((t_lo - pad) * sfreq)))
    i1 = min(trace_v.size, int(math.ceil((t_hi + pad) * sfreq)) + 1)
    shown = _display_trace(trace_v[i0:i1], sfreq) if i1 > i0 else np.zeros(0)
    times = (i0 + np.arange(shown.size)) / sfreq
    keep = (times >= t_lo) & (times <= t_hi)
    title = label or f"{twitch.channel} twitch at {twitch.onset_s:.2f} s"
    with FrameReader(video.video) as reader:
        info = reader.info
        vw = max(2, int(round(info.width * config.height / info.height)))
        panel, a, b = _trace_panel(
            volts_to_uv(shown[keep]),
            times[keep],
            span=(t_lo, t_hi),
            twitch=twitch,
            size=(config.trace_width, config.height),
            title=title,
        )
        mark_end = max(twitch.offset_s, twitch.onset_s + config.mark_min_s)
        n = max(1, int(round((t_hi - t_lo) * info.fps)))
        for k in range(n):
            t = t_lo + k / info.fps
            frame = reader.frame_at(video.to_video_time(t))
            if frame is None:
                left = np.full((config.height, vw, 3), 90, np.uint8)
                cv2.putText(
                    left,
                    "outside the video",
                    (6, config.height // 2),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.4,
                    (220, 220, 220),
                    1,
                )
            else:
                left = cv2.resize(frame, (vw, config.height), interpolation=cv2.INTER_LINEAR)
            marked = twitch.onset_s <= t < mark_end
            if marked:
                bp = config.border_px
                cv2.rectangle(left, (0, 0), (vw - 1, config.height - 1), MARK_BGR, 2 * bp)
                cv2.putText(
                    left,
                    "TWITCH",
                    (2 * bp + 4, 2 * bp + 16),
                    cv2.FONT_HERSHEY_SIMPLEX,
                    0.55,
                    MARK_BGR,
                    2,
                )
            right = panel.copy()
            x = int(round(a + b * t))
            cv2.line(right, (x, 20), (x, config.height - 20), _CURSOR_BGR, 1)
            cv2.putText(
                right,
                f"{t - twitch.onset_s:+.2f} s",
                (config.trace_width - 70, config.height - 28),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.38,
                _CURSOR_BGR,
                1,
            )
            yield np.ascontiguousarray(np.hstack([left, right])), marked


def write_clip(
    path: str | Path,
    frames: Iterator[tuple[NDArray[np.uint8], bool]],
    *,
    fps: float,
    fmt: str | None = None,
) -> ClipResult:
    """Write BGR frames as an MP4 (OpenCV, ``mp4v``) or a looping GIF (Pillow).

    ``fmt`` is ``"mp4"`` or ``"gif"``; None takes it from the file's extension.

    Raises
    ------
    FileFormatError
        An unknown format, a format that does not match the extension, no frame, or
        a file that cannot be written.
    """
    path = Path(path)
    ext = path.suffix.lower().lstrip(".")
    fmt = (fmt or ext).lower()
    if fmt not in CLIP_FORMATS or ext != fmt:
        raise FileFormatError(
            f"{path.name}: clips are written as .mp4 or .gif (the extension matching the "
            f"format), got format {fmt!r}."
        )
    cv2 = require_cv2()
    marked: list[int] = []
    size: tuple[int, int] | None = None
    n = 0
    if fmt == "mp4":
        writer = None
        try:
            for k, (frame, mark) in enumerate(frames):
                if writer is None:
                    size = (frame.shape[1], frame.shape[0])
                    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
                    if not writer.isOpened():
                        raise FileFormatError(f"{path}: cannot open an MP4 writer there.")
                writer.write(frame)
                n += 1
                if mark:
                    marked.append(k)
        finally:
            if writer is not None:
                writer.release()
    else:
        from PIL import Image

        images = []
        for k, (frame, mark) in enumerate(frames):
            images.append(Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)))
            if mark:
                marked.append(k)
        n = len(images)
        if images:
            size = images[0].size
            # one 64-colour palette for every frame, from a frame with the mark on it:
            # smaller and faster than a palette per frame, and the mark keeps its colour
            source = images[marked[0]] if marked else images[n // 2]
            palette = source.quantize(colors=64)
            images = [im.quantize(palette=palette, dither=Image.Dither.NONE) for im in images]
            try:
                images[0].save(
                    path,
                    save_all=True,
                    append_images=images[1:],
                    duration=int(round(1000 / fps)),
                    loop=0,
                )
            except OSError as exc:
                raise FileFormatError(f"cannot write {path}: {exc}.") from None
    if size is None or n == 0:
        raise FileFormatError(f"{path.name}: the clip has no frame.")
    return ClipResult(
        path=path, n_frames=n, width=size[0], height=size[1], fps=fps, marked=tuple(marked)
    )


def export_twitch_clip(
    path: str | Path,
    *,
    video: VideoLink,
    trace_v: NDArray[np.float64],
    sfreq: float,
    twitch: Twitch,
    label: str = "",
    fmt: str | None = None,
    config: ClipConfig | None = None,
) -> ClipResult:
    """Write the clip of one twitch (:func:`clip_frames` then :func:`write_clip`)."""
    with FrameReader(video.video) as reader:
        fps = reader.info.fps
    frames = clip_frames(video, trace_v, sfreq=sfreq, twitch=twitch, label=label, config=config)
    return write_clip(path, frames, fps=fps, fmt=fmt)
