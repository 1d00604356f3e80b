"""Live page: a board on a serial port, or the simulated amplifier through the real serial path."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import streamlit as st
from numpy.typing import NDArray

from twitchscope.acquisition.boards.registry import BOARDS
from twitchscope.dashboard.app import panels
from twitchscope.dashboard.app.camera import camera_panel
from twitchscope.dashboard.app.scope.panel import (
    ScopeOptions,
    first_trace_token,
    refresh_s,
    scope_panel,
)
from twitchscope.dashboard.app.state import (
    TABLES_REFRESH_S,
    K,
    acquisition_owner,
    adopt_suggested_preset,
    detector_config,
    view_for,
)
from twitchscope.dashboard.app.video.live import simulated_video
from twitchscope.dashboard.services import exporting
from twitchscope.dashboard.services.live import (
    LiveSource,
    LiveSpec,
    default_scenario,
    parse_channel_names,
)
from twitchscope.dashboard.services.session_files import summary_line
from twitchscope.dashboard.services.stream_source import SIMULATED
from twitchscope.signal.core.errors import TwitchscopeError
from twitchscope.signal.core.model import Twitch

ss = st.session_state
#: Where the Record button writes, unless the page is told another folder.
DEFAULT_RECORDINGS_DIR = Path("~/twitchscope/recordings")
LAST_RECORDING = "live_last_recording"  # the StreamRecording last started (camera offset)
RECORDING_MESSAGE = "live_recording_message"  # what the last Record/Stop press gave
#: The opening of a visit while streaming: "scope" while the page's first run draws the
#: scope alone, "drawn" once it has (until the browser has drawn its first trace), "rest"
#: for the run that then draws everything else.
OPENING = "live_opening"
#: The scope's first-trace token when the opening run sent it, and when (monotonic s).
OPENING_SENT = "live_opening_sent"
#: The rest of the page follows the browser's first trace, or this many seconds after
#: the opening run when the browser has not said so (a scope scrolled out of view).
OPENING_WAIT_S = 2.0
#: Seconds between the frames of the simulated ultrasound video under the scope.
SIM_VIDEO_REFRESH_S = 0.5

st.title("Live")
with st.container():  # a fixed place: the scope below keeps its place with or without it
    panels.show_message()
owner = acquisition_owner()
source: LiveSource | None = owner.source
running = source is not None and source.running


def _port_options() -> dict[str, str]:
    """Serial ports of this machine, labelled with what they probably are."""
    try:
        from twitchscope.acquisition.transport.ports import list_ports

        ports = list_ports()
    except (TwitchscopeError, OSError, ImportError):
        return {}
    return {f"{p.device} {('– ' + p.guess) if p.guess else ''}".strip(): p.device for p in ports}


def _recording_controls(src: LiveSource) -> None:
    """Record the stream to a file from now on (crash-safe), then write it with its twitches.

    The same elements in every state (a label changes, nothing comes or goes), so the scope
    below keeps its place in the page.
    """
    rec = src.recording
    cols = st.columns([3, 1.4, 3], vertical_alignment="bottom")
    folder = cols[0].text_input(
        "Save recordings in",
        value=str(DEFAULT_RECORDINGS_DIR),
        key="live_rec_dir",
        disabled=rec is not None,
        help="A crash-safe partial folder is written as you record; Stop recording writes "
        "the FIF file with its needle sites and twitches.",
    )
    if cols[1].button(
        "Stop recording" if rec is not None else "Record",
        key="live_rec",
        icon=":material/stop_circle:" if rec is not None else ":material/radio_button_checked:",
        type="primary" if rec is not None else "secondary",
    ):
        try:
            if rec is None:
                out = Path(folder).expanduser() / time.strftime("live-%Y%m%d-%H%M%S.fif")
                out.parent.mkdir(parents=True, exist_ok=True)
                ss[LAST_RECORDING] = src.start_recording(out)
                ss[RECORDING_MESSAGE] = ""
            else:
                summary = src.stop_recording(detector=detector_config())
                ss[RECORDING_MESSAGE] = f"Recorded {summary_line(summary)}"
        except (TwitchscopeError, OSError) as exc:
            ss[RECORDING_MESSAGE] = f"Recording: {exc}"
        st.rerun()
    rec = src.recording
    if rec is not None:
        cols[2].markdown(f":red[**● Recording**] {rec.duration_s:.0f} s to `{rec.target.name}`")
    else:
        cols[2].caption(ss.get(RECORDING_MESSAGE) or "Not recording.")


def _start_form() -> None:
    """Choose a source (the simulated amplifier or a serial port) and start it."""
    if source is not None and not source.running:
        st.warning(f"The live source stopped: {source.status()}")
    if owner.last_error:
        st.error(owner.last_error, icon=":material/warning:")
    kind = st.radio(
        "Source", ["Simulated amplifier", "Serial port"], horizontal=True, key="live_kind"
    )
    if kind == "Simulated amplifier":
        from twitchscope.signal.simulate import PRESETS as SIM_PRESETS

        sc = st.columns(3)
        protocol = sc[0].selectbox("Board", tuple(BOARDS), key="live_sim_protocol")
        scenario = sc[1].selectbox(
            "Scenario",
            SIM_PRESETS,
            index=SIM_PRESETS.index(default_scenario(protocol)),
            key=f"live_sim_scenario_{protocol}",
        )
        auto = sc[2].checkbox(
            "Label the scenario's needle sites",
            value=True,
            key="live_sim_label",
            help="As if the clinician pressed Needle in / Needle out at the simulated sites.",
        )
        spec = LiveSpec(
            port=SIMULATED, protocol=protocol, sim_preset=scenario, label_sim_sites=auto
        )
        st.caption(
            "The simulated amplifier plays the board on a pseudo-terminal; the dashboard reads "
            "it through the same serial reader as a real board."
        )
    else:
        options = _port_options()
        pc = st.columns([3, 2, 1])
        picked = pc[0].selectbox("Port", ["(type a path)", *options], key="live_port_pick")
        typed = pc[0].text_input("Port path or pyserial URL", key="live_port_typed")
        port = typed.strip() or options.get(picked, "")
        protocol = pc[1].selectbox("Protocol", tuple(BOARDS), key="live_protocol")
        spec = LiveSpec(port=port or "", protocol=protocol)
    typed_names = st.text_input(
        "Channel names (optional)",
        key="live_names",
        placeholder="comma-separated, one per channel: e.g. R-UpTrap,R-LevScap,…",
        help="Names of the EMG channels, in the board's order; empty: the board's own "
        "(ch1, ch2, …) or the simulated scenario's muscles.",
    )
    lsl = st.checkbox(
        "Publish on LSL",
        key="live_lsl",
        help="Also send the EMG (µV), twitch markers and needle markers on Lab Streaming Layer "
        "as 'twitchscope' / 'twitchscope-markers', for LabRecorder (needs pylsl).",
    )
    if lsl:
        spec = replace(spec, lsl=True, lsl_detector=detector_config())
    if st.button("Start", key="live_start", type="primary", icon=":material/play_arrow:"):
        if not spec.port:
            st.error("Choose or type a serial port first.")
        else:
            with st.spinner(f"Connecting to {spec.describe()}…"):
                try:
                    if typed_names.strip():
                        spec = replace(spec, ch_names=parse_channel_names(typed_names))
                    owner.start(spec)
                except TwitchscopeError as exc:
                    st.error(str(exc), icon=":material/warning:")
                else:
                    adopt_suggested_preset(spec)
                    ss[K.LIVE_VIEW] = None
                    st.rerun()


def _stream_controls(source: LiveSource) -> None:
    """What the trainer presses while streaming: sound, freeze, stop, the channel heard,
    the needle site and recording."""
    # a fixed structure above the live panel: an element that comes and goes would move
    # the scope in the page, and the browser would mount it anew (losing its buffer)
    rc = st.columns([2.6, 2, 2, 1.4, 1.1])
    rc[0].caption(f"Streaming from the {source.name}.")
    lsl_slot = st.empty()
    if source.lsl_error:
        lsl_slot.warning(source.lsl_error, icon=":material/warning:")
    rc[1].toggle(
        "Click at each twitch",
        key=K.SOUND,
        help="A short click when each flagged twitch's marker shows (click the page once "
        "first: browsers allow sound only after a click).",
    )
    rc[2].toggle(
        "EMG audio monitor",
        key="live_audio",
        help="Listen to one channel, as Spike Recorder plays it: band-passed from about "
        "100 Hz to just under half the sampling rate, at a fixed safe level with a limiter.",
    )
    rc[3].button(
        "Go on" if ss[K.FREEZE] else "Freeze",
        key="live_freeze",
        shortcut="F",
        icon=":material/play_arrow:" if ss[K.FREEZE] else ":material/pause:",
        help="Keep the view on the last twitch, with its features; detection goes on (key F).",
        on_click=lambda: ss.update({K.FREEZE: not ss[K.FREEZE]}),
    )
    if rc[4].button("Stop", key="live_stop", icon=":material/stop:"):
        owner.stop()
        ss[K.LIVE_VIEW] = None
        st.rerun()
    st.selectbox(
        "Channel heard",
        source.ch_names,
        key="live_audio_ch",
        width=300,
        disabled=not ss.get("live_audio"),
        help="The channel the EMG audio monitor plays.",
    )
    with st.container(border=True):
        st.markdown("**Needle site**")
        panels.site_controls(source.sites, source.now_s(), key="live_site")
    with st.container(border=True):
        _recording_controls(source)


def _opening() -> bool:
    """Whether this is a run that opens the page (the scope alone, until its first trace)."""
    return ss.get(OPENING) in ("scope", "drawn")


@st.fragment(run_every=refresh_s("live") if running else None)
def live_panel() -> None:
    """Counters and the scope (new samples only, drawn by the browser); reruns on its own
    while streaming (more rarely once the scope receives its own line)."""
    src = owner.source
    if src is None or not src.running:
        st.info("Start a source to see the live traces.")
        return
    opening = ss.get(OPENING)
    lean = _opening()
    end = int(round(src.now_s() * src.sfreq))
    start = max(src.start_sample(), end - int(10 * src.sfreq))
    view = view_for(src, view_key=K.LIVE_VIEW, tag_key=K.LIVE_VIEW_KEY, start_sample=start)
    heard = ss.get("live_audio_ch") if ss.get("live_audio") else None
    options = ScopeOptions(
        click=ss[K.SOUND],
        audio_channel=view.ch_names.index(heard) if heard in view.ch_names else None,
        show_rejected=ss[K.SHOW_REJECTED],
        freeze=ss[K.FREEZE],
    )
    scope_panel(src, view, key="live", options=options, lean=lean)
    if opening == "scope":
        ss[OPENING] = "drawn"
        ss[OPENING_SENT] = (first_trace_token("live"), time.monotonic())
    elif opening == "drawn":
        # the rest of the page once the browser has drawn the first trace (it says so
        # with a new token, which reruns this panel): before, the rest's code and layout
        # would take the browser's main thread while the scope's first frame waits
        sent, since = ss[OPENING_SENT]
        if first_trace_token("live") != sent or time.monotonic() - since > OPENING_WAIT_S:
            ss[OPENING] = "rest"
            st.rerun(scope="app")


@st.fragment(run_every=SIM_VIDEO_REFRESH_S if running else None)
def live_video() -> None:
    """The simulator's ultrasound-like video at the stream time, when simulated: twice a
    second, in a fragment of its own (the counters above run once a second while the
    scope has its line); not in the runs that open the page."""
    if not _opening():
        simulated_video(owner.source, key="live")


@st.fragment(run_every=TABLES_REFRESH_S if running else None)
def live_tables() -> None:
    """Events, per-site summary, rejected candidates and quality; refreshed every 2 s.

    Not in the run that opens the page: the browser then mounts the scope without also
    building the tables (the events table is the page's heaviest element to draw); they
    come at the fragment's first tick, 2 s later."""
    if ss[K.DEFER_TABLES]:
        ss[K.DEFER_TABLES] = False
        return
    src = owner.source
    view = ss[K.LIVE_VIEW]
    if src is None or not src.running or view is None:
        return
    sites = src.sites.sites(view.now_s)
    twitches = view.attributed(sites)
    tabs = st.tabs(["Events", "Per site", "Rejected", "Signal quality"])
    with tabs[0]:

        def zoom(t: Twitch) -> tuple[NDArray[np.float64], float, float] | None:
            seg, s0 = view.segment(t.onset_s - 0.3, t.offset_s + 0.3)
            if not seg.shape[1]:
                return None
            i = view.ch_names.index(t.channel) if t.channel in view.ch_names else 0
            return seg[i], view.sfreq, s0

        panels.event_table_with_zoom(
            twitches,
            key="live",
            zoom=zoom,
            missing="That twitch has scrolled out of the live window (see Review).",
        )
    with tabs[1]:
        # the buffer as an array, for the resting RMS (5 s before the first needle-in, 5 s
        # from 1 s after the last needle-out): copied when a site closes, and every 5 s
        # at most until the copy holds those 6 s after the last needle-out
        rec = ss[K.LIVE_RECORDING]
        closed = src.sites.sites()
        need_s = closed[-1].offset_s + 6.0 if closed else 0.0
        now = time.monotonic()
        stale = rec.get("n") != len(closed) or (
            rec.get("end_s", -1.0) < need_s and rec.get("t", -1e9) + 5.0 < now
        )
        if sites and stale:
            blocks, _ = src.read_since(src.start_sample())
            data, first, _gaps = exporting.blocks_to_array(blocks, n_channels=len(src.ch_names))
            start_s = first / src.sfreq
            rec.update(
                t=now,
                n=len(closed),
                data=data,
                start_s=start_s,
                end_s=start_s + data.shape[1] / src.sfreq,
            )
        panels.site_summary(
            twitches,
            sites,
            recording=rec.get("data"),
            sfreq=src.sfreq,
            ch_names=src.ch_names,
            start_s=rec.get("start_s", 0.0),
            cache=ss[K.LIVE_SUMMARY],
        )
    panels.rejected_and_quality_tabs(
        tabs[2], tabs[3], view, gaps=src.gaps(), cache=ss[K.LIVE_QUALITY]
    )


if not running:
    _start_form()
    live_panel()
else:
    assert source is not None
    ss[K.ACTIVE_STREAM] = "live"
    # The first run of a visit draws the scope alone (in its place under the controls,
    # which stay empty): the browser then fetches only the scope's code before it draws
    # the first trace, instead of waiting behind the code of every control, counter and
    # table. Once the browser has drawn the first trace (it tells the panel), the panel
    # asks for a run of the whole page, which draws the rest around the scope (its place
    # unchanged: the same element, not mounted again). The tables wait for their own
    # first tick after that.
    follow_up = ss.get(OPENING) == "rest"
    ss[OPENING] = "scope" if ss[K.PAGE_ENTERED] else None
    controls = st.container()
    live_panel()
    live_video()
    if ss[OPENING] is None:
        with controls:
            _stream_controls(source)
    ss[K.DEFER_TABLES] = ss[K.PAGE_ENTERED] or follow_up
live_tables()

if running and ss.get(OPENING) is None:
    assert source is not None
    with st.expander("Camera (saved with the recording)", icon=":material/videocam:"):
        last = ss.get(LAST_RECORDING)
        camera_panel(
            source.recording.target if source.recording is not None else None,
            clock=source.now_s,
            recording_start_s=lambda: None if last is None else last.start_s,
            key="live_camera",
        )
