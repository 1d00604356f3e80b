"""Every session-state key of the dashboard, initialised in one place, and the shared resources.

Per-session state (``st.session_state``) holds plain objects without threads: the
applied detector settings, each stream's :class:`StreamView`, the replay player,
the review recording, what is on screen (for the PNG export). The one thing
shared by every session of the server process is the :class:`AcquisitionOwner`
(``st.cache_resource``), which owns the live source and its threads.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from twitchscope.dashboard.services.acquisition_owner import AcquisitionOwner
from twitchscope.dashboard.services.live import LiveSpec, suggested_preset
from twitchscope.dashboard.services.recordings import Recording, load_recording
from twitchscope.dashboard.services.review_analysis import Analysis, analyse_recording
from twitchscope.dashboard.services.stream_source import (
    ENV_PROTOCOL,
    ENV_SOURCE,
    SIMULATED,
    StreamSource,
)
from twitchscope.dashboard.services.stream_view import StreamView, ViewDonors
from twitchscope.signal.core.errors import TwitchscopeError
from twitchscope.signal.detect.config import DetectorConfig, preset
from twitchscope.signal.review.profile import read_profile

#: Environment variable of the ``--profile`` of ``twitchscope dashboard`` (a path).
ENV_PROFILE = "TWITCHSCOPE_PROFILE"

__all__ = [
    "REFRESH_S",
    "TABLES_REFRESH_S",
    "ENV_SOURCE",
    "ENV_PROTOCOL",
    "ENV_PROFILE",
    "K",
    "Settings",
    "init_state",
    "profile_settings",
    "acquisition_owner",
    "cached_recording",
    "detector_config",
    "cli_source",
    "cli_protocol",
    "autostart_live_source",
    "view_for",
    "advance",
    "sync_streams",
]


#: Period of the live/replay panel's reruns, s: a 5 Hz cap, so that the browser reaches
#: >= 4 updates per second after its own drawing time (bench/bench_dashboard.py).
REFRESH_S = 0.2
#: Period of the tables under it (events, per site, quality), s. 2, measured in Chromium
#: (bench/bench_dashboard.py): redrawn every second, the four tables took a fifth of the
#: browser's main thread (67 % busy against 47 % without them or every 2 s), and the
#: scope drew at 20 frames a second instead of 25.
TABLES_REFRESH_S = 2.0


class K:
    """Session-state keys (use these names, never string literals elsewhere)."""

    SETTINGS = "settings"  # Settings applied to every detector of this session
    SETTINGS_VERSION = "settings_version"  # bumped on apply: views rebuild
    LIVE_VIEW = "live_view"  # StreamView of the live source, or None
    LIVE_VIEW_KEY = "live_view_key"  # (id of the source, settings version) it was made for
    LIVE_CLICKS = "live_clicks"  # twitches already sounded in teaching mode
    REPLAY = "replay"  # ReplaySource of this session, or None
    REPLAY_VIEW = "replay_view"  # its StreamView
    REPLAY_VIEW_KEY = "replay_view_key"
    REPLAY_NAME = "replay_name"  # file shown in replay
    REVIEW = "review"  # Recording under review, or None
    REVIEW_NAME = "review_name"
    REVIEW_SELECTED = "review_selected"  # index of the twitch zoomed in review
    SHOW_REJECTED = "show_rejected"  # draw rejected candidates dimmed, with reasons
    ACTIVE_STREAM = "active_stream"  # "live" or "replay": what teaching/export use
    CURRENT_VIEW = "current_view"  # TraceView last drawn (PNG export)
    UPLOADS = "uploads"  # {file name: path} of files uploaded in this session
    READ_OPTIONS = "read_options"  # {path: (sfreq, volts per unit)} told for uploaded files
    CLI_SOURCE_DONE = "cli_source_done"  # the --source FILE was opened already
    MESSAGE = "message"  # a one-line error or notice to show once
    LIVE_QUALITY = "live_quality"  # cached quality figures of the live panel {"t", "q"}
    REPLAY_QUALITY = "replay_quality"  # same for replay
    LIVE_SUMMARY = "live_summary"  # cached per-site summary rows of the live panel
    LIVE_RECORDING = "live_recording"  # the live buffer as an array, refreshed every 5 s
    REPLAY_SUMMARY = "replay_summary"  # cached per-site summary rows of the replay panel
    EXPORT_FILE = "export_file"  # (bytes, file name) of the prepared recording export
    AUTOPLAY = "autoplay"  # play the replay as soon as it is loaded (--source FILE)
    WORKED_ON = "worked_on"  # "Live", "Replay" or "Review": the last of those pages shown
    SOUND = "sound"  # click at each flagged twitch on the live/replay page
    FREEZE = "freeze"  # the live view stays on the last twitch (detection goes on)
    PAGE = "page"  # title of the page the last full run showed
    PAGE_ENTERED = "page_entered"  # that run opened the page (the run before showed another)
    DEFER_TABLES = "defer_tables"  # the live tables wait for their first tick (scope first)


@dataclass(frozen=True, slots=True)
class Settings:
    """The detector settings a user can change (the rest come from the preset, or from the
    profile of ``twitchscope dashboard --profile`` when ``profile`` is set)."""

    preset: str = "limb"
    mains: str = "auto"
    k_on: float | None = None
    k_off: float | None = None
    min_duration_s: float | None = None
    max_duration_s: float | None = None
    profile: str | None = None

    def config(self) -> DetectorConfig:
        """The detector configuration: the preset (or the profile) with the changed
        thresholds."""
        changes: dict[str, Any] = {"mains": self.mains}
        for name in ("k_on", "k_off", "min_duration_s", "max_duration_s"):
            value = getattr(self, name)
            if value is not None:
                changes[name] = float(value)
        if self.profile:
            return read_profile(self.profile).config(**changes)
        return preset(self.preset, **changes)


_DEFAULTS: dict[str, Any] = {
    K.SETTINGS: Settings(),
    K.SETTINGS_VERSION: 0,
    K.LIVE_VIEW: None,
    K.LIVE_VIEW_KEY: None,
    K.LIVE_CLICKS: 0,
    K.REPLAY: None,
    K.REPLAY_VIEW: None,
    K.REPLAY_VIEW_KEY: None,
    K.REPLAY_NAME: "",
    K.REVIEW: None,
    K.REVIEW_NAME: "",
    K.REVIEW_SELECTED: None,
    K.SHOW_REJECTED: False,
    K.ACTIVE_STREAM: "live",
    K.CURRENT_VIEW: None,
    K.UPLOADS: {},
    K.READ_OPTIONS: {},
    K.CLI_SOURCE_DONE: False,
    K.MESSAGE: "",
    K.LIVE_QUALITY: {},
    K.REPLAY_QUALITY: {},
    K.LIVE_SUMMARY: {},
    K.LIVE_RECORDING: {},
    K.REPLAY_SUMMARY: {},
    K.EXPORT_FILE: None,
    K.AUTOPLAY: False,
    K.WORKED_ON: "",
    K.SOUND: False,
    K.FREEZE: False,
    K.PAGE: "",
    K.PAGE_ENTERED: True,
    K.DEFER_TABLES: False,
}


class OncePerProcess(logging.Filter):
    """Let each distinct message of a logger through once per process.

    The detector's design logs the low-rate note (``sfreq 250 Hz: detection-only
    mode…``) each time a detector is built: every session's stream view, every
    settings change, the LSL relay. The server log needs it once.
    """

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        with self._lock:
            if message in self._seen:
                return False
            self._seen.add(message)
            return True


#: Loggers whose repeated messages the dashboard's server log shows once.
ONCE_LOGGERS: tuple[str, ...] = ("twitchscope.signal.detect.design",)


def log_once() -> None:
    """Attach :class:`OncePerProcess` to :data:`ONCE_LOGGERS` (idempotent)."""
    for name in ONCE_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, OncePerProcess) for f in logger.filters):
            logger.addFilter(OncePerProcess())


def init_state() -> None:
    """Create every missing session-state key with its default (call at the top of app.py).

    With ``twitchscope dashboard --profile`` the session's detector starts from the
    profile (every page: Live, Replay, Review)."""
    log_once()
    ss = st.session_state
    for key, value in _DEFAULTS.items():
        if key not in ss:
            ss[key] = dict(value) if isinstance(value, dict) else value
            if key == K.SETTINGS:
                ss[key] = profile_settings()


def profile_settings() -> Settings:
    """The default settings: the ``--profile``'s when the dashboard has one."""
    path = os.environ.get(ENV_PROFILE, "").strip()
    if not path:
        return Settings()
    return Settings(preset=read_profile(path).preset, profile=path)


def adopt_suggested_preset(spec: LiveSpec) -> None:
    """Use the detector preset that suits ``spec`` in a session whose settings were never
    changed (the default demo: the trunk preset for the Cyton scenario's infraspinatus,
    which picks up ECG). A session that applied settings keeps them."""
    ss = st.session_state
    name = suggested_preset(spec)
    if name is None or ss[K.SETTINGS_VERSION] != 0 or ss[K.SETTINGS] != Settings():
        return  # settings applied, or a --profile
    if name != ss[K.SETTINGS].preset:
        ss[K.SETTINGS] = Settings(preset=name)
        ss[K.SETTINGS_VERSION] += 1


def detector_config() -> DetectorConfig:
    """The detector configuration of this session."""
    return st.session_state[K.SETTINGS].config()


@st.cache_resource(show_spinner=False)
def acquisition_owner() -> AcquisitionOwner:
    """The one acquisition owner of this server process (shared by every session).

    Its live source is stopped explicitly (Stop button), and at the latest when the
    server process exits, so a real board gets its stop command.
    """
    owner = AcquisitionOwner()
    atexit.register(owner.stop)
    return owner


@st.cache_data(max_entries=4, show_spinner="Reading the recording…")
def cached_recording(
    path: str, mtime_ns: int, sfreq: float | None = None, scale: float | None = None
) -> Recording:
    """A recording file read once per (path, modification time, rate and scale told)."""
    return load_recording(path, sfreq=sfreq, scale=scale)


def read_cached(path: str | Path) -> Recording:
    """:func:`cached_recording` keyed by the file's current modification time, with the
    rate and scale the user told for it (:data:`K.READ_OPTIONS`), if any."""
    p = Path(path)
    sfreq, scale = st.session_state.get(K.READ_OPTIONS, {}).get(str(p), (None, None))
    return cached_recording(str(p), p.stat().st_mtime_ns if p.exists() else 0, sfreq, scale)


@st.cache_resource(max_entries=3, show_spinner="Detecting twitches…")
def analysed(key: tuple[str, int], _recording: Recording, settings: Settings) -> Analysis:
    """Detection over a whole recording per (file, settings); arrays are read-only and shared."""
    return analyse_recording(_recording, settings.config())


def cli_source() -> str:
    """The ``--source`` of ``twitchscope dashboard`` (empty when not started by it)."""
    return os.environ.get(ENV_SOURCE, "").strip()


def cli_protocol() -> str:
    """The ``--protocol`` of ``twitchscope dashboard`` (default cyton)."""
    return os.environ.get(ENV_PROTOCOL, "").strip() or "cyton"


def cli_source_kind() -> str:
    """``"live"`` (simulated or a serial port), ``"replay"`` (a file) or ``""``."""
    src = cli_source()
    if not src:
        return ""
    if src == SIMULATED or src.startswith(("/dev/", "COM", "loop://", "socket://", "spy://")):
        return "live"
    return "replay"


def autostart_live_source() -> str:
    """Start the live ``--source`` of ``twitchscope dashboard`` once per server process.

    The simulated amplifier or a serial port (a file is played by the Replay page). The
    command's server calls it before it serves (the first visitor finds the stream
    running), the app's first run otherwise (``streamlit run``, ``AppTest``). Once only:
    a source the user stopped is not restarted behind them.

    Returns
    -------
    str
        Why the source could not start ('' when it started, or there was none to start);
        also kept in the owner's ``last_error``, which the Live page shows.
    """
    owner = acquisition_owner()
    if cli_source_kind() != "live" or owner.autostarted:
        return ""
    owner.autostarted = True
    try:
        owner.start(LiveSpec(port=cli_source(), protocol=cli_protocol()))
    except TwitchscopeError as exc:
        return str(exc)
    return ""


# ------------------------------------------------------------------------------ stream views


#: The process's stream views a new session starts from (a second viewer of the live
#: stream copies one instead of detecting its last 10 s again).
VIEW_DONORS = ViewDonors()


def view_for(source: StreamSource, *, view_key: str, tag_key: str, start_sample: int) -> StreamView:
    """This session's :class:`StreamView` of ``source``, made anew when the source or settings
    change (a copy of another session's view of the same source and settings when one has
    got there: :class:`ViewDonors`), restarted at ``start_sample`` when a replay was sought."""
    ss = st.session_state
    tag = (id(source), ss[K.SETTINGS_VERSION])
    generation = getattr(source, "generation", 0)
    view = ss.get(view_key)
    if view is None or ss.get(tag_key) != tag:
        config = detector_config()
        view = VIEW_DONORS.take(
            source, config, start_sample=start_sample, generation=generation
        ) or StreamView(
            config,
            sfreq=source.sfreq,
            ch_names=source.ch_names,
            start_sample=start_sample,
        )
        view.generation = generation
        VIEW_DONORS.add(source, view)
        ss[view_key] = view
        ss[tag_key] = tag
    elif view.generation != generation:  # the replay was sought: restart detection there
        view.restart(start_sample)
        view.generation = generation
    return view


def advance(source: StreamSource, view: StreamView) -> None:
    """Bring ``view`` up to where ``source`` has got; a replay played to its end is flushed,
    so its last twitch is not left pending."""
    view.update(source)
    end = int(round(source.now_s() * source.sfreq))
    if getattr(source, "at_end", False) and view.cursor >= end:
        view.finish()


def sync_streams() -> None:
    """Bring this session's live and replay views up to date, whichever page is shown.

    Called by the router on every full run: the streams belong to the session, not to a
    page. A replay keeps playing (against the clock) while another page is shown and
    its view catches up here, so Export, Teaching mode and the Replay page all show
    every twitch played so far.
    """
    ss = st.session_state
    player = ss.get(K.REPLAY)
    if player is not None and ss.get(K.REPLAY_VIEW) is not None:
        start = int(round(player.now_s() * player.sfreq)) if player.generation else 0
        view = view_for(
            player, view_key=K.REPLAY_VIEW, tag_key=K.REPLAY_VIEW_KEY, start_sample=start
        )
        advance(player, view)
    live = acquisition_owner().source
    live_view = ss.get(K.LIVE_VIEW)
    tag = (id(live), ss.get(K.SETTINGS_VERSION))
    if live is not None and live.running and live_view is not None:
        if ss.get(K.LIVE_VIEW_KEY) == tag:
            advance(live, live_view)
