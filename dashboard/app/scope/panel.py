"""The live panel around the scope: counters, the scope itself, freeze and sound.

:func:`scope_panel` is what the Live page and the classroom view (Teaching mode)
run in their timed fragment: it brings the session's stream view up to date, writes
the counters, pushes what is new through the scope's :class:`~.feed.ScopeFeed` and
hands the component one small message (:func:`scope_message`). The feeds live on
the stream view (:attr:`StreamView.feeds
<twitchscope.dashboard.services.stream_view.StreamView.feeds>`), one per scope key:
a new view (new source, new settings, a seek) starts the scope afresh.

**The line.** Each scope also gets a line of :mod:`.channel` (Server-Sent Events on
loopback): a :class:`ScopeLink` makes the same messages from the same feed about 25
times a second in the channel's thread, so the scope scrolls and shows markers
without waiting for the page's runs. Once the browser receives its line, the panel
runs every :data:`SERVED_REFRESH_S` instead of every ``REFRESH_S`` (one full run of
the page to change the fragment's timer), for the counters and captions only; when
the line is lost, back to ``REFRESH_S``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from twitchscope.dashboard.app import panels, plots
from twitchscope.dashboard.app.scope.channel import scope_channel
from twitchscope.dashboard.app.scope.component import render_scope
from twitchscope.dashboard.app.scope.feed import ScopeFeed
from twitchscope.dashboard.app.state import REFRESH_S, K
from twitchscope.dashboard.services.stream_source import StreamSource
from twitchscope.dashboard.services.stream_view import StreamView
from twitchscope.signal.core.model import NeedleSite, RejectedCandidate, Twitch
from twitchscope.signal.core.units import volts_to_uv

__all__ = [
    "SERVED_REFRESH_S",
    "ScopeLink",
    "ScopeOptions",
    "feed_for",
    "first_trace_token",
    "refresh_s",
    "scope_message",
    "scope_panel",
]

#: Seconds of markers (twitches, sites, rejected) sent with each message: what the
#: browser's ring buffer can show, frozen or not.
MARK_S = 60.0
#: Seconds between the runs of a panel whose scope receives its line (counters and
#: captions only: the line brings the traces and markers). Each run costs the browser's
#: main thread Streamlit's own work for every element of the panel (~50-90 ms on a
#: small machine): once a second instead of twice took its script time from 19-23 % to
#: 14-15 % while the Live page streams.
SERVED_REFRESH_S = 1.0


def _served_key(key: str) -> str:
    return f"scope_served_{key}"


def _drawn_key(key: str) -> str:
    return f"scope_drawn_{key}"


def first_trace_token(key: str) -> str | None:
    """The token the browser's scope ``key`` sent when it drew its first trace (a new one
    each time it is mounted); None before it has said so."""
    value = st.session_state.get(_drawn_key(key))
    return None if value is None else str(value)


def refresh_s(key: str, *, served_s: float = SERVED_REFRESH_S) -> float:
    """Seconds between the timed runs of the panel of scope ``key``: ``served_s`` while
    its browser receives the scope's line, else ``REFRESH_S``."""
    return served_s if st.session_state.get(_served_key(key)) else REFRESH_S


@dataclass(frozen=True, slots=True)
class ScopeOptions:
    """What one scope shows and plays.

    Parameters
    ----------
    channels : tuple of int
        Rows of the stream drawn, top to bottom (empty: all).
    lane_px : int
        Height of one channel's lane, CSS pixels (0: 70 with more than four
        channels, else 100).
    click : bool
        A click when each flagged twitch's marker first shows.
    audio_channel : int or None
        Row played by the EMG audio monitor (None: the monitor is off).
    show_rejected : bool
        Draw rejected candidates, dimmed, with their reason.
    freeze : bool
        Hold the view on the last twitch (detection goes on).
    """

    channels: tuple[int, ...] = ()
    lane_px: int = 0
    click: bool = False
    audio_channel: int | None = None
    show_rejected: bool = False
    freeze: bool = False


def feed_for(view: StreamView, key: str, channels: Sequence[int]) -> ScopeFeed:
    """The scope feed ``key`` of ``view`` (made anew when the channels shown change)."""
    feed = view.feeds.get(key)
    if not isinstance(feed, ScopeFeed) or feed.channels != tuple(channels):
        feed = ScopeFeed(view.sfreq, channels=channels, window_s=view.window_s)
        view.feeds[key] = feed
    return feed


def _marks(
    view: StreamView,
    feed: ScopeFeed,
    twitches: Sequence[Twitch],
    sites: Sequence[NeedleSite],
    rejected: Sequence[RejectedCandidate],
    *,
    now_s: float,
    host_t: float,
    src_now: float,
) -> dict[str, Any]:
    """Twitches, needle spans and rejected candidates of the last :data:`MARK_S` seconds,
    and the pending candidate (open, already looking like a twitch), with each
    channel's lane (-1: a channel not shown)."""
    lane = {view.ch_names[c]: i for i, c in enumerate(feed.channels)}
    since = now_s - MARK_S
    tw = []
    for t in twitches:
        if t.offset_s < since:
            continue
        amp = "" if not math.isfinite(t.peak_v) else f"{volts_to_uv(t.peak_v):.0f} µV"
        # when the onset sample reached the host, from the source's clock at this moment
        onset_host = host_t - (src_now - t.onset_s)
        ident = f"{t.onset_s:.4f}:{t.channel}"
        tw.append(
            [t.onset_s, t.offset_s, lane.get(t.channel, -1), amp, ident, round(onset_host, 4)]
        )
    st_sites = [
        [s.onset_s, None if s.offset_s >= now_s else s.offset_s, s.label]
        for s in sites
        if s.offset_s >= since
    ]
    rej = [
        [r.onset_s, max(r.offset_s, r.onset_s + 0.01), lane.get(r.channel, -1), r.reason.value]
        for r in rejected
        if r.offset_s >= since
    ]
    pending = []
    if view.pending is not None:  # a candidate that already looks like a twitch
        on = view.pending.onset_sample / view.sfreq
        ident = f"{view.pending.onset_sample}:{view.pending.channel}"
        onset_host = host_t - (src_now - on)
        pending.append([on, lane.get(view.pending.channel, -1), ident, round(onset_host, 4)])
    return {"twitches": tw, "sites": st_sites, "rejected": rej, "pending": pending}


def scope_message(
    view: StreamView,
    feed: ScopeFeed,
    *,
    twitches: Sequence[Twitch],
    sites: Sequence[NeedleSite],
    options: ScopeOptions,
    src_now: float,
) -> dict[str, Any]:
    """The component's data for this run: the new chunks (and the last few again), the
    markers, the frozen range and the switches. Small: no samples already sent."""
    names = [view.ch_names[c] for c in feed.channels]
    n = len(names)
    lane_px = options.lane_px or (70 if n > 4 else 100)
    audio = feed.audio
    return {
        # a new stream (view, seek, channels): the browser starts its buffer again
        "stream": f"{id(view)}:{view.generation}:{id(feed)}",
        "mseq": feed.next_message(),  # the browser keeps the markers of the newest
        "sfreq": view.sfreq,
        "spb": feed.spb,
        "window": view.window_s,
        "names": names,
        "lane_h": lane_px,
        "chunks": feed.chunks_payload(),
        "now": view.now_s,
        "frozen": None if feed.frozen is None else [feed.frozen[0], feed.frozen[1]],
        "click": bool(options.click),
        "audio": audio is not None,
        "audio_rate": None if audio is None else audio.rate,
        **_marks(
            view,
            feed,
            twitches,
            sites,
            view.rejected if options.show_rejected else (),
            now_s=view.now_s,
            host_t=time.time(),
            src_now=src_now,
        ),
    }


class ScopeLink:
    """What a scope's line sends: the next message of ``feed``, made in the channel's thread.

    The page's runs set :attr:`options` (the switches of the latest run); the line reads
    the session's stream with the view's own cursor and lock (the same reads a run
    does), pushes the feed under its lock and makes the message a run would make. No
    Streamlit call.
    """

    def __init__(
        self, source: StreamSource, view: StreamView, feed: ScopeFeed, options: ScopeOptions
    ) -> None:
        self.source = source
        self.view = view
        self.feed = feed
        self.options = options

    def message(self) -> dict[str, Any] | None:
        """The scope's next message, or None when no new bin is complete."""
        status = panels.stream_status(self.source, self.view)
        trace, end = self.view.tail()
        if self.feed.push(trace, end) is None:
            return None
        return scope_message(
            self.view,
            self.feed,
            twitches=status.twitches,
            sites=status.sites,
            options=self.options,
            src_now=self.source.now_s(),
        )


def _line(
    source: StreamSource, view: StreamView, feed: ScopeFeed, key: str, options: ScopeOptions
) -> tuple[str | None, bool]:
    """The address of the line of scope ``key`` (opened for this feed on first use; None
    without a channel) and whether its browser receives it now."""
    channel = scope_channel()
    if channel is None:
        return None, False
    held = st.session_state.get(f"scope_line_{key}")
    if held is None or held[0] is not feed or not channel.touch(held[1]):
        ctx = get_script_run_ctx()
        owner = f"{ctx.session_id if ctx is not None else id(st.session_state)}:{key}"
        link = ScopeLink(source, view, feed, options)
        held = (feed, channel.open(owner, link.message), link)
        st.session_state[f"scope_line_{key}"] = held
    held[2].options = options
    return channel.url(held[1]), channel.served(held[1])


def _freeze(feed: ScopeFeed, view: StreamView, last: Twitch | None, freeze: bool) -> None:
    """Hold (or release) the view: on the last twitch when it is still in the tail."""
    if not freeze:
        feed.frozen = None
        return
    if feed.frozen is not None:
        return
    w = view.window_s
    t1 = max(view.now_s, w)
    t0 = view.trace_start_s
    if last is not None and last.offset_s > t0:
        # end the view a little after the last twitch, within the trace held
        t1 = min(t1, max(last.offset_s + 0.3 * w, t0 + w))
    feed.frozen = (t1 - w, t1, last)


def scope_panel(
    source: StreamSource,
    view: StreamView,
    *,
    key: str,
    options: ScopeOptions,
    teaching: bool = False,
    lean: bool = False,
) -> list[Twitch]:
    """Read what is new, detect, write the counters and update the scope ``key``.

    The counters and the caption sit above the scope but are sent after it: a browser
    opening the page fetches the scope's code first (the counters need more of it).
    With ``lean``, only the scope (the run that opens a page, see the Live page): the
    counters' place is kept, empty, so that the scope stays where it is when the next
    run fills it.

    Returns
    -------
    list of Twitch
        The session's twitches with their sites (for the caller's other panels).
    """
    status = panels.stream_status(source, view)
    twitches, sites, last = status.twitches, status.sites, status.last
    above = st.container()
    channels = options.channels or tuple(range(len(view.ch_names)))
    feed = feed_for(view, key, channels)
    feed.set_audio(options.audio_channel)
    feed.push(*view.tail())
    _freeze(feed, view, last, options.freeze)
    message = scope_message(
        view, feed, twitches=twitches, sites=sites, options=options, src_now=source.now_s()
    )
    message["line"], served = _line(source, view, feed, key, options)
    reply = render_scope(message, key=f"{key}_scope")
    st.session_state[_drawn_key(key)] = reply.drawn
    refill = reply.refill
    if not lean:
        with above:
            panels.stream_counters(status, teaching=teaching)
            if feed.frozen is not None:
                st.caption(f"Frozen (detection goes on). {panels.explain_twitch(feed.frozen[2])}")
            else:
                st.caption(source.status())
    if refill is not None and refill != feed.refill_token:
        feed.refill(refill)  # the next push sends the whole tail again
    _picture(feed, view, twitches=twitches, sites=sites, options=options)
    if served != bool(st.session_state.get(_served_key(key))):
        # the line began (or stopped) reaching the browser: the panel's timer changes,
        # which takes one run of the whole page
        st.session_state[_served_key(key)] = served
        st.rerun(scope="app")
    return twitches


def _picture(
    feed: ScopeFeed,
    view: StreamView,
    *,
    twitches: Sequence[Twitch],
    sites: Sequence[NeedleSite],
    options: ScopeOptions,
) -> None:
    """The view on screen for Export's PNG (:data:`K.CURRENT_VIEW`), made once a second
    at most, and once when the view freezes: the scope itself sends no figure."""
    now = time.monotonic()
    frozen = feed.frozen is not None
    if frozen == feed.picture_frozen and (frozen or now - feed.picture_t < 1.0):
        return  # a frozen view is pictured once, when it freezes
    feed.picture_t, feed.picture_frozen = now, frozen
    w = view.window_s
    x_range = (
        (feed.frozen[0], feed.frozen[1])
        if feed.frozen
        else (max(view.now_s, w) - w, max(view.now_s, w))
    )
    st.session_state[K.CURRENT_VIEW] = plots.make_trace_view(
        view.trace[list(feed.channels)],
        sfreq=view.sfreq,
        t0=view.trace_start_s,
        ch_names=[view.ch_names[c] for c in feed.channels],
        sites=sites,
        twitches=twitches,
        rejected=view.rejected if options.show_rejected else (),
        x_range=x_range,
        n_points=800,
    )
