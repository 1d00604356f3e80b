"""Review page: a whole file at once, with a decimated overview, zoom, re-run detection and
expert review (confirm/reject/add twitches, saved with the recording; see review_panel)."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from twitchscope.dashboard.app import panels, plots
from twitchscope.dashboard.app.files import choose_recording, load_choice
from twitchscope.dashboard.app.review_panel import (
    current_draft,
    marking_chart,
    review_outputs,
    review_panel,
    reviewed_twitches,
)
from twitchscope.dashboard.app.state import K, analysed
from twitchscope.dashboard.app.video.attach import attach_panel
from twitchscope.dashboard.app.video.panel import motion_table_columns, video_beside_trace
from twitchscope.dashboard.services.recordings import Recording
from twitchscope.signal.core.errors import TwitchscopeError
from twitchscope.signal.review.profile import read_profile

ss = st.session_state
st.title("Review")
st.caption(
    "A whole recording: overview, zoom, events, per-site summary and signal quality; "
    "confirm or reject each twitch and add missed ones (click on the zoomed trace). "
    "Detection re-runs when the settings change."
)
panels.show_message()


path = choose_recording(key="review")
if path is not None and str(path) != ss[K.REVIEW_NAME]:
    rec = load_choice(path)
    if rec is not None:
        ss[K.REVIEW] = rec
        ss[K.REVIEW_NAME] = str(path)
        ss[K.REVIEW_SELECTED] = None

recording: Recording | None = ss[K.REVIEW]
if recording is None:
    st.info("Choose a sample recording or upload one.")
    st.stop()

try:
    result = analysed((ss[K.REVIEW_NAME], id(recording)), recording, ss[K.SETTINGS])
    if ss[K.SETTINGS].profile:
        profile = read_profile(ss[K.SETTINGS].profile)
        st.caption(
            f"Detector profile: {profile.label()} (from --profile; thresholds changed on the "
            "Settings page apply on top of it)."
        )
except TwitchscopeError as exc:
    st.error(f"Detection failed: {exc}", icon=":material/warning:")
    st.stop()

if result.railed:
    st.caption(
        f"Left out of detection: {', '.join(result.railed)} (stuck at a rail: not connected)."
    )
sites = recording.events.sites
twitches = list(result.twitches)
draft = current_draft(result, Path(ss[K.REVIEW_NAME]))
reviewed = reviewed_twitches(draft, result, recording)
c = st.columns(7)
c[0].metric("Duration", f"{recording.duration_s:.1f} s")
c[1].metric("Channels", len(recording.ch_names))
c[2].metric("Rate", f"{recording.sfreq:g} Hz")
c[3].metric("Needle sites", len(sites))
c[4].metric("Twitches", len(twitches))
c[5].metric("Rejected", len(result.rejected))
c[6].metric("Reviewed twitches", "–" if reviewed is None else len(reviewed))

show_rej = ss[K.SHOW_REJECTED]
overview = plots.make_trace_view(
    result.conditioned,
    sfreq=recording.sfreq,
    t0=0.0,
    ch_names=recording.ch_names,
    sites=sites,
    twitches=twitches,
    rejected=result.rejected if show_rej else (),
    n_points=2000,
    title=f"{recording.name}: whole session",
)
st.plotly_chart(
    plots.trace_figure(overview, height_per_channel=55, keep_zoom=True, label_twitches=False),
    key="review_overview",
    config={"displayModeBar": False},
)

st.subheader("Zoom")
dur = float(recording.duration_s)
sel = ss[K.REVIEW_SELECTED]
if sel is not None and sel < len(twitches):
    t = twitches[sel]
    default = (max(0.0, t.onset_s - 2.0), min(dur, t.onset_s + 3.0))
else:
    default = (0.0, min(dur, 10.0))
lo, hi = st.slider(
    "Window (s)", 0.0, dur, default, step=0.1, key=f"review_window_{sel}", format="%.1f"
)
if hi - lo < 0.05:
    hi = min(dur, lo + 0.05)
a, b = int(lo * recording.sfreq), max(int(lo * recording.sfreq) + 2, int(hi * recording.sfreq))
zoom = plots.make_trace_view(
    result.conditioned[:, a:b],
    sfreq=recording.sfreq,
    t0=a / recording.sfreq,
    ch_names=recording.ch_names,
    sites=sites,
    twitches=twitches,
    rejected=result.rejected if show_rej else (),
    x_range=(lo, hi),
    n_points=2000,
    title=f"{recording.name}: {lo:.1f}–{hi:.1f} s",
)
ss[K.CURRENT_VIEW] = zoom
if draft is None:
    st.plotly_chart(
        plots.trace_figure(zoom, keep_zoom=True),
        key="review_zoom",
        config={"displayModeBar": False},
    )
else:  # reviewing: a click on a channel's row marks a missed twitch
    marking_chart(zoom, recording)
# the attached video (if any) at the selected twitch, frame by frame, its speed trace beside
video_beside_trace(ss[K.REVIEW_NAME], key="review", twitches=twitches, selected=sel)
attach_panel(
    ss[K.REVIEW_NAME],
    key="review",
    events=recording.events,
    twitches=twitches,
    rejected=result.rejected,
)

draft = review_panel(recording, result, Path(ss[K.REVIEW_NAME]))
counted = list(reviewed) if reviewed is not None else twitches
source = (
    f"reviewed twitches of {draft.reviewer} (confirmed + added)"
    if reviewed is not None and draft is not None
    else "the detector's twitches (not reviewed)"
)

tabs = st.tabs(["Events", "Per site", "Rejected", "Signal quality", "Review agreement"])
with tabs[0]:
    cols = st.columns([3, 2])
    with cols[0]:
        picked = panels.event_table(
            twitches,
            key="review_events",
            height=320,
            extra=motion_table_columns(ss[K.REVIEW_NAME], twitches, sites),
        )
    if picked is not None and picked != sel:
        ss[K.REVIEW_SELECTED] = picked
        st.rerun()
    with cols[1]:
        if sel is not None and sel < len(twitches):
            t = twitches[sel]
            i = recording.ch_names.index(t.channel) if t.channel in recording.ch_names else 0
            a0 = max(0, int((t.onset_s - 0.3) * recording.sfreq))
            b0 = min(recording.n_samples, int((t.offset_s + 0.3) * recording.sfreq))
            st.plotly_chart(
                plots.twitch_figure(
                    result.conditioned[i, a0:b0],
                    sfreq=recording.sfreq,
                    t0=a0 / recording.sfreq,
                    twitch=t,
                ),
                key="review_twitch",
                config={"displayModeBar": False},
            )
        else:
            st.caption("Select a row to zoom on that twitch.")
with tabs[1]:
    st.caption(f"Counted: {source}.")
    markers = [o for o, _d, desc in recording.events.other if desc.lower() == "insertion"]
    panels.site_summary(
        counted,
        sites,
        recording=recording.data,
        sfreq=recording.sfreq,
        ch_names=recording.ch_names,
        insertion_markers_s=markers,
    )
    if counted:
        st.plotly_chart(plots.habituation_figure(counted), key="review_habituation")
with tabs[2]:
    frame = panels.rejected_frame(result.rejected)
    st.dataframe(
        frame, hide_index=True, width="stretch", column_config=panels.column_config(frame.columns)
    )
with tabs[3]:
    n = min(recording.n_samples, int(120 * recording.sfreq))
    st.caption(f"Computed on the first {n / recording.sfreq:.0f} s.")
    panels.quality_panel(
        recording.data[:, :n],
        sfreq=recording.sfreq,
        ch_names=recording.ch_names,
        gaps=[g for g in recording.events.gaps if g.onset_s < n / recording.sfreq],
        mains=str(int(result.mains_hz)),
    )
with tabs[4]:
    if draft is None:
        st.caption("Give your name under Expert review to start.")
    else:
        review_outputs(
            draft, reviewed, result, Path(ss[K.REVIEW_NAME]), sites=[s.label for s in sites]
        )
