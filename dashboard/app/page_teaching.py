"""Teaching mode: large counters, the latest twitch zoomed, a click for each twitch."""

from __future__ import annotations

import streamlit as st

from twitchscope.dashboard.app import panels
from twitchscope.dashboard.app.state import REFRESH_S, K, acquisition_owner, view_for
from twitchscope.dashboard.services.live import LiveSource
from twitchscope.dashboard.services.replay import ReplaySource

ss = st.session_state
st.title("Teaching mode")
live: LiveSource | None = acquisition_owner().source
player: ReplaySource | None = ss[K.REPLAY]
if live is not None and live.running and (ss[K.ACTIVE_STREAM] == "live" or player is None):
    source: LiveSource | ReplaySource = live
    view_key, tag_key = K.LIVE_VIEW, K.LIVE_VIEW_KEY
    run_every: float | None = REFRESH_S
elif player is not None:
    source = player
    view_key, tag_key = K.REPLAY_VIEW, K.REPLAY_VIEW_KEY
    run_every = REFRESH_S if player.playing else None
    c = st.columns([1, 6])
    if player.playing:
        if c[0].button("Pause", key="teach_pause", icon=":material/pause:"):
            player.pause()
            st.rerun()
    elif c[0].button("Play", key="teach_play", type="primary", icon=":material/play_arrow:"):
        player.play()
        st.rerun()
else:
    st.info("Start the live view or load a replay first; this page shows whichever is running.")
    st.stop()

st.caption(
    "A click sounds for each detected twitch where the browser allows audio (click anywhere "
    "on the page once to enable it)."
)


@st.fragment(run_every=run_every)
def teaching_panel() -> None:
    """Big counters and the latest twitch; reruns on its own while streaming."""
    if isinstance(source, LiveSource):
        end = int(round(source.now_s() * source.sfreq))
        start = max(source.start_sample(), end - int(10 * source.sfreq))
    else:
        start = int(round(source.now_s() * source.sfreq)) if source.generation else 0
    view = view_for(source, view_key=view_key, tag_key=tag_key, start_sample=start)
    panels.stream_panel(
        source, view, key="teach", title="", teaching=True, show_rejected=ss[K.SHOW_REJECTED]
    )


teaching_panel()
