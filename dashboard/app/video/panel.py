"""The video beside the trace (Replay and Review): the frame at the cursor, stepping, the speed trace.

One cursor per panel ``key``, in recording time: while it is not pinned it follows
the time the page gives (the replay's play position); stepping a frame (◀ ▶),
choosing a twitch (here or in the page's event table, through :func:`seek_video`)
pins it. The frame on screen at the cursor is decoded with OpenCV and shown with
``st.image``; the video's optical-flow speed (measured once per video and cached)
is drawn as a small Plotly figure with the same cursor, the movements shaded and
the EMG twitches ticked.

Session-state keys of a panel ``key``: ``<key>_video_t`` (the pinned cursor, s, or
None), ``<key>_video_frame`` (index of the frame shown, None outside the video),
``<key>_video_selected`` (the twitch last sought), and the widgets
``<key>_video_prev``, ``<key>_video_next``, ``<key>_video_follow``,
``<key>_video_twitch`` and ``<key>_video_speed``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import streamlit as st

from twitchscope.dashboard.app.video.media import (
    AttachedVideo,
    attached_video,
    frame_at,
    motion_columns,
    speed_figure,
)
from twitchscope.signal.core.errors import TwitchscopeError
from twitchscope.signal.core.model import NeedleSite, Twitch
from twitchscope.signal.video.attached import VideoFusion, fuse_linked
from twitchscope.signal.video.link import link_path
from twitchscope.signal.video.motion import MotionResult, measure_motion

__all__ = [
    "seek_video",
    "video_cursor",
    "video_frame_panel",
    "speed_panel",
    "video_beside_trace",
    "video_motion",
    "motion_table_columns",
]

#: Alternative text of the frame image (what a browser test looks for).
FRAME_ALT = "video frame at the cursor"


def _t_key(key: str) -> str:
    return f"{key}_video_t"


def seek_video(key: str, t_s: float | None) -> None:
    """Pin the cursor of panel ``key`` at recording time ``t_s`` (None: follow the page)."""
    st.session_state[_t_key(key)] = None if t_s is None else float(t_s)


def video_cursor(key: str, now_s: float | None, video: AttachedVideo | None = None) -> float:
    """The cursor of panel ``key``: pinned, else ``now_s``, else the video's first frame."""
    pinned = st.session_state.get(_t_key(key))
    if pinned is not None:
        return float(pinned)
    if now_s is not None:
        return float(now_s)
    return video.span_s[0] if video is not None else 0.0


@st.cache_data(show_spinner="Measuring the video's motion…", max_entries=8)
def _motion(
    path: str, mtime: float, roi: tuple[int, int, int, int] | None, scale: float | None
) -> MotionResult:
    """The speed trace and movements of a video (cached per file version and region)."""
    return measure_motion(path, roi=roi, scale=scale)


def _step(
    key: str, video: AttachedVideo, cursor: float, frames: int, on_step: Callable[[], None] | None
) -> None:
    if on_step is not None:
        on_step()
    seek_video(key, video.time_of(video.index_at(cursor) + frames))


def _pick(key: str, twitches: Sequence[Twitch], on_step: Callable[[], None] | None) -> None:
    label = st.session_state.get(f"{key}_video_twitch")
    labels = _twitch_labels(twitches)
    if label in labels:
        if on_step is not None:
            on_step()
        seek_video(key, twitches[labels.index(label)].onset_s)


def _twitch_labels(twitches: Sequence[Twitch]) -> list[str]:
    return [f"{i}: {t.onset_s:.2f} s on {t.channel}" for i, t in enumerate(twitches, 1)]


def video_frame_panel(
    recording: str | Path,
    *,
    key: str,
    now_s: float | None = None,
    twitches: Sequence[Twitch] = (),
    on_step: Callable[[], None] | None = None,
) -> float | None:
    """The frame at the cursor with ◀ ▶ stepping and a twitch chooser; returns the cursor
    (recording time, s), or None when the recording has no usable video.

    ``on_step`` is called before the cursor is pinned by a step or a choice (the Replay
    page pauses its player there).
    """
    video, why = attached_video(recording)
    if video is None:
        st.caption(why or "No video attached to this recording (`twitchscope video attach`).")
        return None
    ss = st.session_state
    cursor = video_cursor(key, now_s, video)
    labels = _twitch_labels(twitches)
    st.selectbox(
        "Go to twitch",
        labels,
        index=None,
        placeholder="choose a twitch to see it",
        key=f"{key}_video_twitch",
        on_change=_pick,
        args=(key, list(twitches), on_step),
    )
    c = st.columns([1, 1, 2])
    c[0].button(
        "◀",
        key=f"{key}_video_prev",
        help="One frame back",
        on_click=_step,
        args=(key, video, cursor, -1, on_step),
    )
    c[1].button(
        "▶",
        key=f"{key}_video_next",
        help="One frame on",
        on_click=_step,
        args=(key, video, cursor, 1, on_step),
    )
    c[2].button(
        "Follow",
        key=f"{key}_video_follow",
        help="Let the video follow the replay again",
        disabled=now_s is None or ss.get(_t_key(key)) is None,
        on_click=seek_video,
        args=(key, None),
    )
    slot = st.empty()  # one element whatever it shows: a fixed structure
    try:
        frame, index = frame_at(video, cursor)
    except TwitchscopeError as exc:
        slot.caption(str(exc))
        return cursor
    lo, hi = video.span_s
    if frame is None:
        ss[f"{key}_video_frame"] = None
        slot.info(f"No video at {cursor:.2f} s: the video covers {lo:.2f}–{hi:.2f} s.")
        return cursor
    ss[f"{key}_video_frame"] = index
    slot.image(
        frame,
        caption=f"{video.link.video.name}: frame {index + 1} of {video.info.n_frames}, "
        f"video {video.link.to_video_time(cursor):.3f} s = recording {cursor:.3f} s",
        alt=FRAME_ALT,
        width="stretch",
    )
    return cursor


def speed_panel(
    recording: str | Path,
    *,
    key: str,
    cursor_s: float,
    x_range: tuple[float, float] | None = None,
    twitches: Sequence[Twitch] = (),
) -> None:
    """The video's speed trace (recording time) around the cursor, as a small Plotly figure."""
    video, _why = attached_video(recording)
    if video is None:
        return
    link = video.link
    path = Path(link.video)
    try:
        result = _motion(str(path), path.stat().st_mtime, link.roi, link.scale_mm_per_px)
    except (TwitchscopeError, OSError) as exc:
        st.caption(f"No motion trace: {exc}")
        return
    if x_range is None:
        x_range = (cursor_s - 5.0, cursor_s + 5.0)
    st.plotly_chart(
        speed_figure(
            result.trace,
            result.movements,
            link=link,
            cursor_s=cursor_s,
            x_range=x_range,
            twitches=twitches,
        ),
        key=f"{key}_video_speed",
        config={"displayModeBar": False},
    )


def video_beside_trace(
    recording: str | Path,
    *,
    key: str,
    twitches: Sequence[Twitch] = (),
    selected: int | None = None,
    now_s: float | None = None,
) -> None:
    """The video panel in one call: the frame (left) and the speed trace (right).

    ``selected`` is the index (into ``twitches``) of the twitch chosen in the page's
    event table: when it changes, the video seeks to that twitch's onset. A recording
    without a video link draws nothing; a link that cannot be used says why.
    """
    ss = st.session_state
    if not link_path(recording).is_file():
        return
    if selected is not None and ss.get(f"{key}_video_selected") != selected:
        ss[f"{key}_video_selected"] = selected
        if 0 <= selected < len(twitches):
            seek_video(key, twitches[selected].onset_s)
    cols = st.columns([2, 3])
    with cols[0]:
        cursor = video_frame_panel(recording, key=key, now_s=now_s, twitches=twitches)
    if cursor is not None:
        with cols[1]:
            speed_panel(recording, key=key, cursor_s=cursor, twitches=twitches)


def video_motion(
    recording: str | Path, twitches: Sequence[Twitch], sites: Sequence[NeedleSite] = ()
) -> VideoFusion | None:
    """``twitches`` fused with the movements of the recording's video (the motion is
    measured once per video and cached), or None without a usable video."""
    video, _why = attached_video(recording)
    if video is None:
        return None
    link = video.link
    path = Path(link.video)
    try:
        motion = _motion(str(path), path.stat().st_mtime, link.roi, link.scale_mm_per_px)
        return fuse_linked(link, video.info.duration_s, twitches, sites=sites, motion=motion)
    except (TwitchscopeError, OSError):
        return None  # the video panel says why


def motion_table_columns(
    recording: str | Path | None, twitches: Sequence[Twitch], sites: Sequence[NeedleSite] = ()
) -> dict[str, list[object]] | None:
    """The event table's movement columns for ``twitches``, or None without a video."""
    if recording is None or not link_path(recording).is_file():
        return None
    fused = video_motion(recording, twitches, sites)
    return None if fused is None else motion_columns(fused, twitches)
