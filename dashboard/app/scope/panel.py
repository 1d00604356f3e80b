"""The live panel around the scope: counters, the scope itself, freeze and sound.

:func:`scope_panel` is what the Live page and the classroom view (Teaching mode)
run in their timed fragment: it brings the session's stream view up to date, writes
the counters, pushes what is new through the scope's :class:`~.feed.ScopeFeed` and
hands the component one small message (:func:`scope_message`). The feeds live on
the stream view (:attr:`StreamView.feeds
<twitchscope.dashboard.services.stream_view.StreamView.feeds>`), one per scope key:
a new view (new source, new settings, a seek) starts the scope afresh.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from twitchscope.dashboard.app import panels, plots
from twitchscope.dashboard.app.scope.component import render_scope
from twitchscope.dashboard.app.scope.feed import ScopeFeed
from twitchscope.dashboard.app.state import K
from twitchscope.dashboard.services.stream_source import StreamSource
from twitchscope.dashboard.services.stream_view import StreamView
from twitchscope.signal.core.model import NeedleSite, RejectedCandidate, Twitch
from twitchscope.signal.core.units import volts_to_uv

__all__ = ["ScopeOptions", "feed_for", "scope_message", "scope_panel"]

#: Seconds of markers (twitches, sites, rejected) sent with each message: what the
#: browser's ring buffer can show, frozen or not.
MARK_S = 60.0


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
) -> list[Twitch]:
    """Read what is new, detect, write the counters and update the scope ``key``.

    Returns
    -------
    list of Twitch
        The session's twitches with their sites (for the caller's other panels).
    """
    status = panels.stream_status(source, view)
    twitches, sites, last = status.twitches, status.sites, status.last
    panels.stream_counters(status, teaching=teaching)
    channels = options.channels or tuple(range(len(view.ch_names)))
    feed = feed_for(view, key, channels)
    feed.set_audio(options.audio_channel)
    feed.push(view.trace, view.trace_end)
    _freeze(feed, view, last, options.freeze)
    if feed.frozen is not None:
        st.caption(f"Frozen (detection goes on). {panels.explain_twitch(feed.frozen[2])}")
    else:
        st.caption(source.status())
    message = scope_message(
        view, feed, twitches=twitches, sites=sites, options=options, src_now=source.now_s()
    )
    refill = render_scope(message, key=f"{key}_scope")
    if refill is not None and refill != feed.refill_token:
        feed.refill(refill)  # the next run sends the whole tail again
    _picture(feed, view, twitches=twitches, sites=sites, options=options)
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
