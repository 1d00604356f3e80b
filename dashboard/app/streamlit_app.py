"""The twitchscope dashboard: ``streamlit run`` entry point (``twitchscope dashboard``).

A router and a shared frame: page config, session state, the sidebar (status and
the "show rejected candidates" switch, which persist across pages) and
``st.navigation`` over the pages. The ``--source`` of ``twitchscope dashboard``
arrives in the environment: the simulated amplifier or a serial port is started
once per server process (by the command's server before it serves, else here); a file is
opened in Replay and played.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from twitchscope.dashboard.app.state import (
    K,
    acquisition_owner,
    adopt_suggested_preset,
    autostart_live_source,
    cli_source_kind,
    init_state,
    sync_streams,
)

HERE = Path(__file__).parent

st.set_page_config(page_title="twitchscope", page_icon="⚡", layout="wide")
init_state()
ss = st.session_state
st.html(
    "<style>.block-container{padding-top:2.2rem;padding-bottom:1rem}h1{padding-top:0.2rem}</style>"
)
owner = acquisition_owner()

kind = cli_source_kind()
# the command's server has started it already; a failure is the owner's last_error, which
# the Live page shows (said once)
autostart_live_source()
live_source = owner.source
if live_source is not None and live_source.running:
    adopt_suggested_preset(live_source.spec)
if kind == "replay" and not ss[K.CLI_SOURCE_DONE]:
    ss[K.CLI_SOURCE_DONE] = True
    ss[K.AUTOPLAY] = True

pages = {
    "Session": [
        st.Page(
            HERE / "page_live.py", title="Live", icon=":material/sensors:", default=kind != "replay"
        ),
        st.Page(
            HERE / "page_replay.py",
            title="Replay",
            icon=":material/replay:",
            default=kind == "replay",
        ),
        st.Page(HERE / "page_review.py", title="Review", icon=":material/search:"),
        st.Page(HERE / "page_teaching.py", title="Teaching mode", icon=":material/school:"),
    ],
    "Tools": [
        st.Page(HERE / "page_settings.py", title="Settings", icon=":material/tune:"),
        st.Page(HERE / "page_export.py", title="Export", icon=":material/download:"),
    ],
}
nav = st.navigation(pages)
title = getattr(nav, "title", "")  # a bare run (no Streamlit server) has no page title
if title in ("Live", "Replay", "Review"):
    ss[K.WORKED_ON] = title  # what Export offers first
ss[K.PAGE_ENTERED] = ss[K.PAGE] != title
ss[K.PAGE] = title
# the streams belong to the session, not to a page: catch their views up on every run
sync_streams()

with st.sidebar:
    st.markdown("### ⚡ twitchscope")
    st.caption("Local twitch responses in surface EMG during dry needling.")
    src = owner.source
    if src is not None and src.running:
        st.success(f"Live: {src.name}", icon=":material/sensors:")
    else:
        st.caption("Live source: stopped")
    st.toggle(
        "Show rejected candidates",
        key=K.SHOW_REJECTED,
        help="Dim the candidates the detector did not count, with the reason (pop, ECG, "
        "sustained, low-frequency artifact, mains): what is not a twitch.",
    )
    s = ss[K.SETTINGS]
    st.caption(f"Detector: {s.preset} preset, mains {s.mains}.")

nav.run()
