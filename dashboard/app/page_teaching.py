"""Teaching mode, the classroom view: large counters, one channel large, the latest twitch
zoomed, a click for each twitch and, on demand, the EMG as sound."""

from __future__ import annotations

import streamlit as st

from twitchscope.dashboard.app import plots
from twitchscope.dashboard.app.scope.panel import ScopeOptions, refresh_s, scope_panel
from twitchscope.dashboard.app.state import K, acquisition_owner, view_for
from twitchscope.dashboard.services.live import LiveSource
from twitchscope.dashboard.services.replay import ReplaySource

ss = st.session_state
#: Seconds between the runs of the classroom's big counters while the scope has its
#: line: twice a second, so the count keeps up with the twitches the class sees.
COUNTERS_REFRESH_S = 0.5

st.title("Teaching mode")
live: LiveSource | None = acquisition_owner().source
player: ReplaySource | None = ss[K.REPLAY]
if live is not None and live.running and (ss[K.ACTIVE_STREAM] == "live" or player is None):
    source: LiveSource | ReplaySource = live
    view_key, tag_key = K.LIVE_VIEW, K.LIVE_VIEW_KEY
    run_every: float | None = refresh_s("teach", served_s=COUNTERS_REFRESH_S)
elif player is not None:
    source = player
    view_key, tag_key = K.REPLAY_VIEW, K.REPLAY_VIEW_KEY
    run_every = refresh_s("teach", served_s=COUNTERS_REFRESH_S) if player.playing else None
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

cc = st.columns([2, 2, 3])
shown = cc[0].selectbox("Channel shown large", source.ch_names, key="teach_channel")
listen = cc[1].toggle(
    "EMG audio monitor",
    key="teach_audio",
    help="Hear the channel shown: band-passed from about 100 Hz to just under half the "
    "sampling rate, at a fixed safe level with a limiter.",
)
cc[2].caption(
    "A click sounds when each detected twitch's marker shows, where the browser allows "
    "audio (click anywhere on the page once to enable it)."
)


@st.fragment(run_every=run_every)
def teaching_panel() -> None:
    """Big counters, one channel large and the latest twitch; reruns on its own while
    streaming."""
    if isinstance(source, LiveSource):
        end = int(round(source.now_s() * source.sfreq))
        start = max(source.start_sample(), end - int(10 * source.sfreq))
    else:
        start = int(round(source.now_s() * source.sfreq)) if source.generation else 0
    view = view_for(source, view_key=view_key, tag_key=tag_key, start_sample=start)
    row = view.ch_names.index(shown) if shown in view.ch_names else 0
    options = ScopeOptions(
        channels=(row,),
        lane_px=420,
        click=True,
        audio_channel=row if listen else None,
        show_rejected=ss[K.SHOW_REJECTED],
    )
    twitches = scope_panel(source, view, key="teach", options=options, teaching=True)
    ss[K.LIVE_CLICKS] = len(twitches)
    last = twitches[-1] if twitches else None
    slot = st.empty()  # one element whatever it shows: a fixed structure
    seg, s0 = view.segment(last.onset_s - 0.3, last.offset_s + 0.3) if last else (None, 0.0)
    if last is not None and seg is not None and seg.shape[1]:
        i = view.ch_names.index(last.channel) if last.channel in view.ch_names else 0
        slot.plotly_chart(
            plots.twitch_figure(seg[i], sfreq=view.sfreq, t0=s0, twitch=last, height=330),
            key="teach_latest",
            config={"displayModeBar": False},
        )
    else:
        slot.info("The latest twitch will appear here, zoomed.")


teaching_panel()
