"""Building blocks shared by the pages: the stream panel, site labelling, tables, quality.

Everything here runs in the script thread (Streamlit calls are never made from
another thread). The live/replay panel is the only part that reruns on a timer
(``st.fragment(run_every=…)``, in the pages).
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from numpy.typing import NDArray

from twitchscope.dashboard.app import plots
from twitchscope.dashboard.app.site_catalogue import MUSCLES, SIDES, points_for, site_label
from twitchscope.dashboard.app.state import K, advance
from twitchscope.dashboard.services.stream_source import StreamSource
from twitchscope.dashboard.services.stream_view import StreamView
from twitchscope.signal.analysis.quality import SignalQuality, assess_quality
from twitchscope.signal.analysis.stats import site_rows, summarize_sites
from twitchscope.signal.core.errors import TwitchscopeError
from twitchscope.signal.core.model import Gap, NeedleSite, RejectedCandidate, Twitch, site_at
from twitchscope.signal.core.sites import SiteLog
from twitchscope.signal.core.units import number_cell, volts_to_uv
from twitchscope.signal.io.events import rejected_row, twitch_row

__all__ = [
    "event_frame",
    "event_table",
    "event_table_with_zoom",
    "site_summary",
    "quality_panel",
    "site_controls",
    "stream_panel",
    "StreamStatus",
    "stream_status",
    "stream_counters",
    "big_counters",
    "click_sound",
    "explain_twitch",
    "show_message",
]


def show_message() -> None:
    """Show (once) the one-line message left by the last action."""
    msg = st.session_state.get(K.MESSAGE, "")
    if msg:
        st.error(msg, icon=":material/warning:")
        st.session_state[K.MESSAGE] = ""


# ------------------------------------------------------------------------------ tables


#: The columns of the twitch row (:func:`~twitchscope.signal.io.events.twitch_row`) that
#: the event table shows, in order, with the decimals shown (None: text).
EVENT_TABLE_DECIMALS: dict[str, int | None] = {
    "onset_s": 3,
    "site": None,
    "channel": None,
    "peak_uv": 1,
    "rms_uv": 1,
    "duration_ms": 0,
    "snr_db": 1,
    "confidence": 2,
    "latency_ms": 0,
}
#: The columns of the rejected-candidate row that the rejected table shows.
REJECTED_TABLE_DECIMALS: dict[str, int | None] = {
    "onset_s": 3,
    "channel": None,
    "reason": None,
    "peak_uv": 1,
    "detail": None,
}


#: Column headers shown on screen for export-row keys (the files keep the keys). The
#: twitch's ``latency_ms`` is the time since its needle span began (the press of
#: *Needle in*), not a stimulus-response latency: its header says so.
COLUMN_LABELS: dict[str, str] = {
    "onset_s": "onset (s)",
    "site": "needle site",
    "channel": "channel",
    "peak_uv": "peak (µV)",
    "rms_uv": "RMS (µV)",
    "duration_ms": "duration (ms)",
    "snr_db": "SNR (dB)",
    "latency_ms": "since needle in (ms)",
    "confidence": "confidence",
    "reason": "reason",
    "detail": "detail",
    "insertions": "insertions",
    "twitches": "twitches",
    "yield_per_insertion": "twitches per insertion",
    "time_to_first_ms": "first twitch after needle in (ms)",
    "peak_median_uv": "peak, median (µV)",
    "peak_iqr_uv": "peak, IQR (µV)",
    "rms_median_uv": "RMS, median (µV)",
    "rms_iqr_uv": "RMS, IQR (µV)",
    "duration_median_ms": "duration, median (ms)",
    "duration_iqr_ms": "duration, IQR (ms)",
    "habituation_uv_per_twitch": "habituation (µV per twitch)",
    "habituation_n": "twitches in the fit",
    "rest_before_rms_uv": "resting RMS before (µV)",
    "rest_after_rms_uv": "resting RMS after (µV)",
    "noise_uv_rms": "baseline noise (µV RMS)",
    "mains_uv_rms": "mains (µV RMS)",
    "clipped_pct": "clipped (%)",
    "ecg": "ECG",
    "heart_rate_bpm": "heart rate (bpm)",
}
#: Hover help of the headers that need more than a name.
COLUMN_HELP: dict[str, str] = {
    "confidence": "Probability (0-1) that the detection is a real twitch, from the "
    "detector's calibrated model (reliability table in bench/RESULTS.md).",
    "latency_ms": "Time from the start of the needle span (the press of Needle in) to the "
    "twitch onset; not a stimulus-response latency.",
    "insertions": "Each Needle in press (a span) is one insertion, or each 'insertion' marker "
    "annotated inside a span. Pressing Needle in again at the same site counts another.",
    "yield_per_insertion": "Twitches divided by insertions (see 'insertions').",
    "time_to_first_ms": "From the Needle in of the span the first twitch fell in.",
    "habituation_uv_per_twitch": "Least-squares slope of peak amplitude over the twitch index "
    "within the site (negative: habituating).",
}


def column_config(columns: Sequence[str]) -> dict[str, Any]:
    """Readable headers (and help) for the export-row keys among ``columns``."""
    out: dict[str, Any] = {}
    for c in columns:
        if c in COLUMN_LABELS:
            out[c] = st.column_config.Column(COLUMN_LABELS[c], help=COLUMN_HELP.get(c))
    return out


def _table_view(rows: Sequence[dict[str, Any]], decimals: dict[str, int | None]) -> pd.DataFrame:
    """Some columns of export rows, rounded for display (a missing text is shown as "")."""
    view = [
        {c: (row[c] or "") if nd is None else number_cell(row[c], nd) for c, nd in decimals.items()}
        for row in rows
    ]
    return pd.DataFrame(view, columns=list(decimals))


def event_frame(twitches: Sequence[Twitch]) -> pd.DataFrame:
    """One row per twitch: a display view of the export row (µV, ms)."""
    return _table_view([twitch_row(t) for t in twitches], EVENT_TABLE_DECIMALS)


def event_table(
    twitches: Sequence[Twitch],
    *,
    key: str,
    height: int = 240,
    extra: dict[str, list[Any]] | None = None,
) -> int | None:
    """Sortable event table (``extra``: more columns, a value per twitch); returns the
    index (into ``twitches``) of the selected row."""
    df = event_frame(twitches).assign(**(extra or {}))
    event = st.dataframe(
        df,
        key=key,
        hide_index=True,
        height=height,
        on_select="rerun",
        selection_mode="single-row",
        width="stretch",
        column_config={
            **column_config(df.columns),
            "onset_s": st.column_config.NumberColumn(COLUMN_LABELS["onset_s"], format="%.3f"),
            "site": st.column_config.TextColumn(COLUMN_LABELS["site"], width="medium"),
        },
    )
    rows = getattr(getattr(event, "selection", None), "rows", None) or []
    if rows and 0 <= rows[0] < len(twitches):
        return int(rows[0])
    return None


def event_table_with_zoom(
    twitches: Sequence[Twitch],
    *,
    key: str,
    zoom: Callable[[Twitch], tuple[NDArray[np.float64], float, float] | None],
    missing: str = "",
    extra: dict[str, list[Any]] | None = None,
) -> None:
    """The event table (with ``extra`` columns) and, under it, the selected twitch zoomed.

    ``zoom(twitch)`` returns ``(trace_v, sfreq, t0)`` of the twitch's channel around it,
    or None when those samples are gone (then ``missing`` is shown). Keys:
    ``<key>_events`` (the table) and ``<key>_pick_zoom`` (the figure).
    """
    picked = event_table(twitches, key=f"{key}_events", height=210, extra=extra)
    slot = st.empty()  # one element whatever it shows: a fixed structure
    if picked is None:
        slot.caption("Select a row to zoom on that twitch.")
        return
    twitch = twitches[picked]
    got = zoom(twitch)
    if got is None:
        slot.caption(missing)
        return
    trace, sfreq, t0 = got
    slot.plotly_chart(
        plots.twitch_figure(trace, sfreq=sfreq, t0=t0, twitch=twitch), key=f"{key}_pick_zoom"
    )


def rejected_frame(rejected: Sequence[RejectedCandidate]) -> pd.DataFrame:
    """One row per rejected candidate, with its reason."""
    return _table_view([rejected_row(r) for r in rejected], REJECTED_TABLE_DECIMALS)


def site_summary(
    twitches: Sequence[Twitch],
    sites: Sequence[NeedleSite],
    *,
    recording: np.ndarray | None = None,
    sfreq: float | None = None,
    ch_names: Sequence[str] | None = None,
    start_s: float = 0.0,
    insertion_markers_s: Sequence[float] = (),
    cache: dict[str, Any] | None = None,
    every_s: float = 2.0,
) -> None:
    """The per-site summary table (count, yield, latency, amplitudes, habituation, rest RMS).

    With a ``cache`` (live and replay panels), the summary is recomputed at most every
    ``every_s`` seconds, or at once when the twitches or sites change in number.
    """
    if not sites and not twitches:
        st.caption("No needle site and no twitch yet.")
        return
    now = time.monotonic()
    tag = (len(twitches), len(sites), sites[-1].duration_s if sites else 0.0)
    rows = None
    if (
        cache is not None
        and cache.get("tag", ())[:2] == tag[:2]
        and cache.get("t", -1e9) + every_s > now
    ):
        rows = cache.get("rows")
    if rows is None:
        try:
            summ = summarize_sites(
                twitches,
                sites,
                recording=recording,
                sfreq=sfreq,
                ch_names=ch_names,
                start_s=start_s,
                insertion_markers_s=insertion_markers_s,
            )
        except TwitchscopeError as exc:
            st.warning(f"Per-site summary unavailable: {exc}")
            return
        rows = site_rows(summ)
        if cache is not None:
            cache.update(t=now, tag=tag, rows=rows)
    frame = pd.DataFrame(rows)
    st.dataframe(
        frame, hide_index=True, width="stretch", column_config=column_config(frame.columns)
    )
    st.caption(
        "Insertions: each Needle in press (one needle span) counts as one, or each insertion "
        "marker annotated inside a span; press Needle in again at the same site for the next "
        "insertion. "
        "Habituation: least-squares slope of peak amplitude over the twitch index within the "
        "site. Resting RMS: 5 s before the first needle-in and 5 s starting 1 s after the last "
        "needle-out, band-passed, on the site's main channel."
    )


# ------------------------------------------------------------------------------ quality


def quality_panel(
    raw_v: np.ndarray,
    *,
    sfreq: float,
    ch_names: Sequence[str],
    gaps: Sequence[Gap] = (),
    mains: str = "auto",
    cache: dict[str, Any] | None = None,
    every_s: float = 3.0,
) -> SignalQuality | None:
    """Signal-quality figures of ``raw_v`` (recomputed at most every ``every_s`` when cached)."""
    if raw_v.shape[1] < 3 * sfreq:
        st.caption("Signal quality: waiting for 3 s of signal…")
        return None
    q: SignalQuality | None = None
    now = time.monotonic()
    if cache is not None and cache.get("t", -1e9) + every_s > now:
        q = cache.get("q")
    if q is None:
        try:
            mains_opt: Any = "auto" if mains == "auto" else int(mains)
            q = assess_quality(raw_v, sfreq=sfreq, ch_names=ch_names, mains=mains_opt, gaps=gaps)
        except TwitchscopeError as exc:
            st.warning(f"Signal quality unavailable: {exc}")
            return None
        if cache is not None:
            cache["q"], cache["t"] = q, now
    c = st.columns(5)
    noise_v = float(np.median([ch.noise_rms_v for ch in q.channels]))
    c[0].metric("Baseline noise", f"{volts_to_uv(noise_v):.1f} µV")
    c[1].metric(
        f"Mains ({q.mains_hz:g} Hz)",
        f"{volts_to_uv(max(ch.mains_rms_v for ch in q.channels)):.1f} µV",
    )
    hr = q.heart_rate_bpm
    c[2].metric("ECG", f"yes, {hr:.0f} bpm" if q.ecg_present and hr else "no")
    c[3].metric("Clipped", f"{100 * max(ch.clipped_fraction for ch in q.channels):.2f} %")
    c[4].metric("Samples lost", f"{q.n_lost} ({100 * q.lost_fraction:.2f} %)")
    bw = q.bandwidth
    low = " (below the 500 Hz surface-EMG band: detection only, no spectral metrics)"
    st.caption(
        f"Effective bandwidth: {bw.nyquist_hz:g} Hz (Nyquist at {bw.sfreq:g} Hz)"
        f"{low if bw.warning else ''}; detection band {bw.band_hz[0]:g}–{bw.band_hz[1]:g} Hz."
    )
    # the board's rate is said in the caption (nothing to fix on the page); the ECG advice
    # is not repeated to a session that already uses the trunk preset
    trunk = st.session_state[K.SETTINGS].preset == "trunk"
    for w in q.warnings:
        if w == bw.warning or (trunk and q.ecg_present and w.startswith("ECG present")):
            continue
        st.warning(w, icon=":material/warning:")
    rows = [
        {
            "channel": ch.channel,
            "noise_uv_rms": round(volts_to_uv(ch.noise_rms_v), 2),
            "mains_uv_rms": round(volts_to_uv(ch.mains_rms_v), 2),
            "clipped_pct": round(100 * ch.clipped_fraction, 3),
            "ecg": "yes" if ch.ecg.present else "no",
            "heart_rate_bpm": None
            if ch.ecg.heart_rate_bpm is None
            else round(ch.ecg.heart_rate_bpm),
        }
        for ch in q.channels
    ]
    with st.expander("Per channel"):
        frame = pd.DataFrame(rows)
        st.dataframe(
            frame, hide_index=True, width="stretch", column_config=column_config(frame.columns)
        )
    return q


# ------------------------------------------------------------------------------ needle sites


def _follow_site(sites: SiteLog, now_s: float, *, key: str) -> None:
    """Set the picker to the newest needle span once, when it first appears."""
    ss = st.session_state
    spans = sites.sites(now_s)
    if not spans:
        return
    site = spans[-1]
    tag = (site.label, site.onset_s)
    if ss.get(f"{key}_followed") == tag:
        return
    ss[f"{key}_followed"] = tag
    if site.muscle in MUSCLES and site.side in SIDES:
        points = points_for(site.muscle)
        ss[f"{key}_side"] = site.side
        ss[f"{key}_muscle"] = site.muscle
        fallback = "" if "" in points else points[0]
        ss[f"{key}_point"] = site.point_id if site.point_id in points else fallback
        ss[f"{key}_typed"] = ""
    else:  # not in the catalogue: its label, as if typed
        ss[f"{key}_typed"] = site.label


def site_controls(sites: SiteLog, now_s: float, *, key: str) -> None:
    """Pick or type a site and press "Needle in" / "Needle out" at stream time ``now_s``.

    The picker follows the session: when a new needle span appears (pressed here, by
    another session, or labelled by the simulated amplifier), it shows that site.
    """
    _follow_site(sites, now_s, key=key)
    cols = st.columns([1, 3, 2, 3])
    side = cols[0].selectbox("Side", SIDES, key=f"{key}_side", format_func=lambda s: s or "–")
    muscle = cols[1].selectbox("Muscle", MUSCLES, key=f"{key}_muscle")
    point = cols[2].selectbox(
        "Point / level", points_for(muscle), key=f"{key}_point", format_func=lambda s: s or "–"
    )
    typed = cols[3].text_input("…or type a label", key=f"{key}_typed", placeholder="e.g. R QL TrP2")
    label = typed.strip() or site_label(side, muscle, point)
    b = st.columns([1, 1, 4])
    if b[0].button(
        "Needle in",
        key=f"{key}_in",
        type="primary",
        icon=":material/location_on:",
        shortcut="I",
        help="Key I (not while typing in a field)",
    ):
        try:
            sites.needle_in(
                label,
                now_s,
                muscle="" if typed.strip() else muscle,
                side="" if typed.strip() else side,
                point_id=(point or None) if not typed.strip() else None,
            )
        except TwitchscopeError as exc:
            st.session_state[K.MESSAGE] = str(exc)
    if b[1].button(
        "Needle out",
        key=f"{key}_out",
        icon=":material/logout:",
        shortcut="O",
        help="Key O (not while typing in a field)",
    ):
        try:
            sites.needle_out(now_s)
        except TwitchscopeError as exc:
            st.session_state[K.MESSAGE] = str(exc)
    b[2].caption(
        f"Next label: **{html.escape(label)}**. Spans start and end at the stream time of the "
        "press and go into the recording as needle:<label> annotations."
    )


# ------------------------------------------------------------------------------ stream panel


def big_counters(n_twitches: int, active: str | None, n_site: int, last: Twitch | None) -> None:
    """Large counters for teaching mode."""
    last_txt = "–" if last is None else f"{volts_to_uv(last.peak_v):.0f} µV"
    cells = [("Twitches", str(n_twitches)), ("At this site", str(n_site)), ("Latest", last_txt)]
    body = "".join(
        f'<div class="ts-big"><div class="ts-big-n">{html.escape(v)}</div>'
        f'<div class="ts-big-l">{html.escape(k)}</div></div>'
        for k, v in cells
    )
    site = html.escape(active) if active else "needle out"
    st.html(
        "<style>.ts-row{display:flex;gap:1.2rem;flex-wrap:wrap}"
        ".ts-big{flex:1;min-width:10rem;background:#f4f7fb;border-radius:.8rem;padding:.8rem 1rem;"
        "text-align:center}.ts-big-n{font-size:4.2rem;font-weight:700;line-height:1.05;"
        "color:#1f3b73}.ts-big-l{font-size:1.1rem;color:#555}"
        ".ts-site{font-size:1.6rem;margin:.4rem 0;color:#1a7f37;font-weight:600}</style>"
        f'<div class="ts-site">Needle: {site}</div><div class="ts-row">{body}</div>'
    )


def click_sound(n_total: int, *, play: bool) -> None:
    """A tiny frame that clicks (Web Audio) when it loads with ``play``.

    Always rendered, so the fragment's element structure never changes (a changing
    structure leaves stale copies behind in fragment reruns); its content changes
    only with ``n_total``, so it reloads, and clicks, once per new twitch.
    """
    script = (
        """
        try {
          const C = window.AudioContext || window.webkitAudioContext;
          const ctx = new C();
          const o = ctx.createOscillator(), g = ctx.createGain();
          o.type = "square"; o.frequency.value = 1200;
          g.gain.setValueAtTime(0.25, ctx.currentTime);
          g.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.03);
          o.connect(g); g.connect(ctx.destination); o.start(); o.stop(ctx.currentTime + 0.04);
        } catch (e) {}
        """
        if play
        else ""
    )
    # browsers may block audio until the page was clicked; then nothing happens
    st.iframe(f"<!-- twitch {n_total} --><script>{script}</script>", height=1)


def explain_twitch(twitch: Twitch | None) -> str:
    """Why the frozen twitch is one: its features, as the detector measured them."""
    if twitch is None:
        return "No twitch yet."
    row = twitch_row(twitch)
    return (
        f"Last twitch at {twitch.onset_s:.2f} s on {twitch.channel}: peak {row['peak_uv']:.0f} µV, "
        f"{row['snr_db']:.1f} dB above the background (SNR), {row['duration_ms']:.0f} ms long: "
        "above the on-threshold for longer than the shortest twitch, and not rejected as a pop, "
        "ECG, mains or a slow artefact (switch on Show rejected candidates to see those)."
    )


@dataclass(frozen=True, slots=True)
class StreamStatus:
    """Where a stream stands for its panel: its sites, attributed twitches, needle site."""

    now_s: float
    sites: tuple[NeedleSite, ...]
    twitches: list[Twitch]
    active: str | None  # the needle site in, or the one the stream time is inside
    n_site: int  # twitches at ``active``

    @property
    def last(self) -> Twitch | None:
        """The latest twitch, if any."""
        return self.twitches[-1] if self.twitches else None


def stream_status(source: StreamSource, view: StreamView) -> StreamStatus:
    """Bring ``view`` up to date with ``source`` (this session's cursor) and say where it is."""
    advance(source, view)
    now = view.now_s
    sites = source.sites.sites(now)
    twitches = view.attributed(sites)
    here = site_at(sites, now)
    active = source.sites.active or (here.label if here is not None else None)
    n_site = sum(1 for t in twitches if active and t.site == active)
    return StreamStatus(now, sites, twitches, active, n_site)


def stream_counters(status: StreamStatus, *, teaching: bool = False) -> None:
    """The counters above a stream: large for the classroom, else one row of metrics."""
    if teaching:
        big_counters(len(status.twitches), status.active, status.n_site, status.last)
        return
    c = st.columns([1, 1, 1, 2])
    c[0].metric("Twitches", len(status.twitches))
    c[1].metric("At this site", status.n_site if status.active else "–")
    c[2].metric("Stream time", f"{status.now_s:.1f} s")
    c[3].metric("Needle", status.active or "out")


def stream_panel(
    source: StreamSource,
    view: StreamView,
    *,
    key: str,
    title: str,
    show_rejected: bool = False,
    sound: bool = False,
    freeze: bool = False,
) -> None:
    """Read new blocks with this session's cursor, detect, and draw the scrolling view.

    With ``sound``, a click sounds for each new twitch; with ``freeze``, detection goes
    on but the view stays where it was frozen, on the last twitch, with its features.
    """
    status = stream_status(source, view)
    twitches, last = status.twitches, status.last
    stream_counters(status)
    clicked = st.session_state.get(f"{key}_sounded", len(twitches))
    click_sound(len(twitches), play=sound and len(twitches) > clicked)
    st.session_state[f"{key}_sounded"] = len(twitches)
    t1 = max(status.now_s, view.window_s)
    x_range = (t1 - view.window_s, t1)
    data, t0 = view.trace, view.trace_start_s  # replaced, never changed, by each update
    snap = st.session_state.get(f"{key}_frozen") if freeze else None
    if freeze and snap is None:
        if last is not None and last.offset_s > view.trace_start_s:
            # end the view a little after the last twitch, within the trace held
            t1 = min(t1, max(last.offset_s + 0.3 * view.window_s, t0 + view.window_s))
            x_range = (t1 - view.window_s, t1)
        snap = (data, t0, x_range, last)
    st.session_state[f"{key}_frozen"] = snap
    if snap is not None:
        data, t0, x_range, shown = snap
        st.caption(f"Frozen (detection goes on). {explain_twitch(shown)}")
    else:
        st.caption(source.status())
    trace_view = plots.make_trace_view(
        data,
        sfreq=view.sfreq,
        t0=t0,
        ch_names=view.ch_names,
        sites=status.sites,
        twitches=twitches,
        rejected=view.rejected if show_rejected else (),
        x_range=x_range,
        n_points=800,
        title=title,
    )
    st.session_state[K.CURRENT_VIEW] = trace_view
    st.plotly_chart(
        plots.trace_figure(trace_view, height_per_channel=70 if len(view.ch_names) > 4 else 100),
        key=f"{key}_traces",
        config={"displayModeBar": False},
    )


# ------------------------------------------------------------------------------ tabs


def rejected_and_quality_tabs(
    rejected_tab: Any,
    quality_tab: Any,
    view: StreamView,
    *,
    gaps: Sequence[Gap],
    cache: dict[str, Any],
) -> None:
    """Fill the "Rejected" and "Signal quality" tabs of a live or replay view."""
    with rejected_tab:
        frame = rejected_frame(view.rejected)
        st.dataframe(
            frame, hide_index=True, width="stretch", column_config=column_config(frame.columns)
        )
    with quality_tab:
        quality_panel(
            view.raw_tail,
            sfreq=view.sfreq,
            ch_names=view.ch_names,
            gaps=gaps,
            mains=view.config.mains,
            cache=cache,
        )
