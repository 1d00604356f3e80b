"""What the video panels show, without Streamlit: the attached video, its frames, the speed figure.

Times are recording times unless named otherwise; the link's offset turns them into
video times (video time = recording time - offset).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray

from twitchscope.signal.core.errors import TwitchscopeError
from twitchscope.signal.core.model import Twitch
from twitchscope.signal.video.attached import VideoFusion
from twitchscope.signal.video.backend import FrameReader, VideoInfo, require_cv2, video_info
from twitchscope.signal.video.link import VideoLink, link_path, read_link
from twitchscope.signal.video.motion import Movement, SpeedTrace
from twitchscope.signal.video.tables import MATCHED, OUTSIDE_VIDEO, TWITCH_ONLY

__all__ = ["AttachedVideo", "attached_video", "frame_at", "speed_figure", "motion_columns"]

#: Width the frame is shown at, px (small videos are scaled up, large ones down).
DISPLAY_WIDTH = 480


@dataclass(frozen=True, slots=True)
class AttachedVideo:
    """A recording's video: its link and what the file says about itself."""

    link: VideoLink
    info: VideoInfo

    @property
    def frame_s(self) -> float:
        """One frame, s."""
        return 1.0 / self.info.fps

    @property
    def span_s(self) -> tuple[float, float]:
        """The recording times the video covers, s."""
        return (
            self.link.to_recording_time(0.0),
            self.link.to_recording_time(self.info.duration_s),
        )

    def index_at(self, t_recording: float) -> int:
        """The frame on screen at a recording time (may be outside the video)."""
        return int(math.floor(self.link.to_video_time(t_recording) * self.info.fps + 1e-6))

    def time_of(self, index: int) -> float:
        """Recording time at which frame ``index`` comes on screen, s."""
        return self.link.to_recording_time(index / self.info.fps)


def attached_video(recording: str | Path) -> tuple[AttachedVideo | None, str]:
    """The video attached to ``recording`` and ``""``, or None and why there is none
    (no sidecar, no OpenCV, a video that cannot be read) in one line."""
    if not link_path(recording).is_file():
        return None, ""
    try:
        link = read_link(recording)
        return AttachedVideo(link=link, info=video_info(link.video)), ""
    except TwitchscopeError as exc:
        return None, str(exc)


def frame_at(video: AttachedVideo, t_recording: float) -> tuple[NDArray[np.uint8] | None, int]:
    """The RGB frame on screen at a recording time, scaled to :data:`DISPLAY_WIDTH`, and
    its index (the frame is None outside the video)."""
    cv2 = require_cv2()
    index = video.index_at(t_recording)
    with FrameReader(video.link.video) as reader:
        frame = reader.frame(index)
    if frame is None:
        return None, index
    h, w = frame.shape[:2]
    size = (DISPLAY_WIDTH, max(2, int(round(h * DISPLAY_WIDTH / w))))
    frame = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)), index


def speed_figure(
    trace: SpeedTrace,
    movements: Sequence[Movement],
    *,
    link: VideoLink,
    cursor_s: float,
    x_range: tuple[float, float],
    twitches: Sequence[Twitch] = (),
    height: int = 170,
) -> go.Figure:
    """The video's speed trace in recording time over ``x_range``: movements shaded,
    EMG twitch onsets as ticks, the cursor as a line."""
    t = np.asarray(trace.times_s) + link.offset_s
    lo, hi = x_range
    keep = (t >= lo - 1.0) & (t <= hi + 1.0)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=t[keep],
            y=np.asarray(trace.speed)[keep],
            mode="lines",
            line={"width": 1.2, "color": "#1f77b4"},
            name=f"speed ({trace.unit})",
            hovertemplate="%{x:.3f} s: %{y:.1f}<extra></extra>",
        )
    )
    for m in movements:
        a, b = link.to_recording_time(m.onset_s), link.to_recording_time(m.offset_s)
        if b >= lo and a <= hi:
            fig.add_vrect(x0=a, x1=b, fillcolor="#ff7f0e", opacity=0.25, line_width=0)
    onsets = [tw.onset_s for tw in twitches if lo <= tw.onset_s <= hi]
    if onsets:
        top = float(np.max(trace.speed[keep])) if np.any(keep) else 1.0
        fig.add_trace(
            go.Scatter(
                x=onsets,
                y=[top * 1.05] * len(onsets),
                mode="markers",
                marker={"symbol": "triangle-down", "size": 9, "color": "#d62728"},
                name="EMG twitch",
                hovertemplate="EMG twitch at %{x:.3f} s<extra></extra>",
            )
        )
    fig.add_vline(x=cursor_s, line={"color": "#2ca02c", "width": 2})
    fig.update_layout(
        height=height,
        margin={"l": 50, "r": 10, "t": 24, "b": 30},
        showlegend=False,
        title={
            "text": f"Video motion ({trace.unit}); orange: movements, ▼ EMG twitches",
            "font": {"size": 12},
        },
        xaxis={"range": [lo, hi], "title": None},
        yaxis={"title": None, "rangemode": "tozero"},
    )
    return fig


def motion_columns(fused: VideoFusion, twitches: Sequence[Twitch]) -> dict[str, list[object]]:
    """The event table's movement columns, one value per twitch of ``twitches`` (in order):
    whether it moved (``matched``, ``twitch only``, ``outside video``), the lag from its
    onset to the movement's (ms), the movement's peak speed and grade."""
    cols: dict[str, list[object]] = {
        "movement": [],
        "lag (ms)": [],
        f"peak speed ({fused.unit})": [],
        "grade": [],
    }
    for t in twitches:
        m = fused.match_of(t)
        mv = None if m is None else m.movement
        cols["movement"].append(
            OUTSIDE_VIDEO if m is None else MATCHED if mv is not None else TWITCH_ONLY
        )
        lag = None if m is None or m.lag_s is None else round(m.lag_s * 1e3)
        cols["lag (ms)"].append(lag)
        cols[f"peak speed ({fused.unit})"].append(None if mv is None else round(mv.peak_speed, 1))
        cols["grade"].append(None if mv is None else mv.grade)
    return cols
