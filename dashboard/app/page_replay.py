"""Replay page: a bundled sample recording or an uploaded file, played as if live.

A recording with an attached video (``<stem>.video.json``) shows the video beside the
trace (:mod:`twitchscope.dashboard.app.video.panel`): its cursor follows the play
position; stepping a frame or choosing a twitch (in the video panel or the event
table) pauses the replay and pins it there; the video's speed trace is drawn under
the EMG.
"""

from __future__ import annotations

import numpy as np
import streamlit as st
from numpy.typing import NDArray

from twitchscope.dashboard.app import panels
from twitchscope.dashboard.app.files import choose_recording, load_choice
from twitchscope.dashboard.app.state import REFRESH_S, TABLES_REFRESH_S, K, view_for
from twitchscope.dashboard.app.video.media import attached_video
from twitchscope.dashboard.app.video.panel import (
    motion_table_columns,
    seek_video,
    speed_panel,
    video_frame_panel,
)
from twitchscope.dashboard.services.replay import REPLAY_SPEEDS, ReplaySource
from twitchscope.dashboard.services.stream_view import condition_array, display_mains
from twitchscope.signal.core.model import Twitch

ss = st.session_state
st.title("Replay")
st.caption("Play a recording as if it were live (0.25×–8×), with detection running as it plays.")
panels.show_message()

path = choose_recording(key="replay")
if path is not None and str(path) != ss[K.REPLAY_NAME]:
    recording = load_choice(path)
    if recording is not None:
        ss[K.REPLAY] = ReplaySource(recording)
        ss[K.REPLAY_NAME] = str(path)
        ss[K.REPLAY_VIEW] = None
        ss[K.REPLAY_QUALITY] = {}
        ss[K.REPLAY_SUMMARY] = {}
        seek_video("replay", None)  # a new recording: its video follows its play position
        ss["replay_video_selected"] = None
        if ss[K.AUTOPLAY]:
            ss[K.AUTOPLAY] = False
            ss[K.REPLAY].play()

current: ReplaySource | None = ss[K.REPLAY]
if current is None:
    st.info("Choose a sample recording or upload one.")
    st.stop()
player: ReplaySource = current

ss[K.ACTIVE_STREAM] = "replay"
c = st.columns([1, 1, 2, 3])
# callbacks run before the script, so the buttons show the new state in the same run
if player.playing:
    c[0].button("Pause", key="replay_pause", icon=":material/pause:", on_click=player.pause)
else:
    c[0].button(
        "Play",
        key="replay_play",
        type="primary",
        icon=":material/play_arrow:",
        on_click=player.play,
    )
c[1].button(
    "Restart",
    key="replay_restart",
    icon=":material/skip_previous:",
    on_click=player.seek,
    args=(0.0,),
)
speed = c[2].select_slider(
    "Speed",
    options=list(REPLAY_SPEEDS),
    value=player.speed,
    key="replay_speed",
    format_func=lambda s: f"{s:g}×",
)
if speed != player.speed:
    player.set_speed(speed)
with c[3]:
    st.slider(
        "Jump to (s)",
        0.0,
        max(0.5, float(round(player.recording.duration_s, 1))),
        0.0,
        step=0.5,
        key="replay_seek_to",
    )
    st.button(
        "Jump",
        key="replay_seek",
        on_click=lambda: player.seek(float(ss["replay_seek_to"])),
    )

st.toggle("Click at each twitch", key=K.SOUND, help="A short click for each twitch flagged.")
with st.expander("Needle sites: label while it plays", expanded=False):
    panels.site_controls(player.sites, player.now_s(), key="replay_site")


attached, why_not = attached_video(ss[K.REPLAY_NAME])
has_video = attached is not None
if why_not:  # a video is attached but cannot be shown (no OpenCV, a missing file)
    st.caption(f"The attached video is not shown: {why_not}")


@st.fragment(run_every=REFRESH_S if player.playing else None)
def replay_panel() -> None:
    """The scrolling view (and the video beside it); reruns on its own while playing."""
    start = int(round(player.now_s() * player.sfreq)) if player.generation else 0
    view = view_for(player, view_key=K.REPLAY_VIEW, tag_key=K.REPLAY_VIEW_KEY, start_sample=start)
    left, right = st.columns([3, 2]) if has_video else (st.container(), None)
    with left:
        panels.stream_panel(
            player,
            view,
            key="replay",
            title=player.name,
            show_rejected=ss[K.SHOW_REJECTED],
            sound=ss[K.SOUND],
        )
    if right is None:
        return
    if player.playing:
        seek_video("replay", None)  # playing: the video follows the play position
    twitches = view.attributed(player.sites.sites(view.now_s))
    with right:
        cursor = video_frame_panel(
            ss[K.REPLAY_NAME],
            key="replay",
            now_s=player.now_s(),
            twitches=twitches,
            on_step=player.pause,
        )
    if cursor is not None:
        with left:
            # under the EMG: its time range, or centred on a cursor pinned outside it
            t1 = max(view.now_s, view.window_s)
            x_range = (t1 - view.window_s, t1)
            if not x_range[0] <= cursor <= x_range[1]:
                x_range = (cursor - view.window_s / 2, cursor + view.window_s / 2)
            speed_panel(
                ss[K.REPLAY_NAME], key="replay", cursor_s=cursor, x_range=x_range, twitches=twitches
            )


def _follow_table_pick(twitches: list[Twitch]) -> None:
    """A twitch picked in the event table: pause and pin the video on it (whole-page rerun)."""
    state = ss.get("replay_events") or {}
    rows = list((state.get("selection") or {}).get("rows") or [])
    picked = rows[0] if rows and 0 <= rows[0] < len(twitches) else None
    if picked is None or ss.get("replay_video_selected") == picked:
        ss["replay_video_selected"] = picked  # a row picked again after a clear counts
        return
    ss["replay_video_selected"] = picked
    player.pause()
    seek_video("replay", twitches[picked].onset_s)
    st.rerun()


@st.fragment(run_every=TABLES_REFRESH_S if player.playing else None)
def replay_tables() -> None:
    """Events, per-site summary, rejected candidates and quality; refreshed every 2 s."""
    view = ss[K.REPLAY_VIEW]
    if view is None:
        return
    sites = player.sites.sites(view.now_s)
    twitches = view.attributed(sites)
    tabs = st.tabs(["Events", "Per site", "Rejected", "Signal quality"])
    with tabs[0]:

        def zoom(t: Twitch) -> tuple[NDArray[np.float64], float, float]:
            rec = player.recording
            # condition from 1 s earlier so the causal filter has settled at the twitch
            a = max(0, int((t.onset_s - 1.3) * rec.sfreq))
            b = min(rec.n_samples, int((t.offset_s + 0.3) * rec.sfreq))
            mains = display_mains(view.config, view.mains_hz)
            seg = condition_array(
                rec.data[:, a:b], sfreq=rec.sfreq, config=view.config, mains_hz=mains
            )
            i = rec.ch_names.index(t.channel) if t.channel in rec.ch_names else 0
            skip = min(seg.shape[1], int(1.0 * rec.sfreq))
            return seg[i, skip:], rec.sfreq, (a + skip) / rec.sfreq

        extra = motion_table_columns(ss[K.REPLAY_NAME], twitches, sites) if has_video else None
        panels.event_table_with_zoom(twitches, key="replay", zoom=zoom, extra=extra)
        if has_video:
            _follow_table_pick(twitches)
    with tabs[1]:
        rec = player.recording
        panels.site_summary(
            twitches,
            sites,
            recording=rec.data,
            sfreq=rec.sfreq,
            ch_names=rec.ch_names,
            cache=ss[K.REPLAY_SUMMARY],
        )
    panels.rejected_and_quality_tabs(
        tabs[2], tabs[3], view, gaps=player.gaps(), cache=ss[K.REPLAY_QUALITY]
    )


replay_panel()
replay_tables()
