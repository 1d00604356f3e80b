"""Figures: EMG traces with needle sites and twitches, the latest twitch, habituation.

Built for speed (see the ecosystem notes §3): traces are min–max decimated to about
``n_points`` points and sent as ``y`` with ``x0``/``dx`` (no x arrays), in SVG
``Scatter`` (software WebGL is slow); every shape and annotation (site spans, twitch
markers, rejected candidates) is built as one list of dicts and passed in ONE
``update_layout`` call (``add_vline`` in a loop is about 1000× slower).

A :class:`TraceView` holds what a trace figure shows, so the same view can be drawn
by Plotly on screen and by matplotlib as a PNG for export (kaleido, Plotly's static
image engine, needs a browser download that is not available offline).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import plotly.graph_objects as go
from numpy.typing import NDArray

from twitchscope.signal.analysis.decimate import decimate_minmax
from twitchscope.signal.core.model import NeedleSite, RejectedCandidate, Twitch
from twitchscope.signal.core.units import s_to_ms, volts_to_uv

__all__ = [
    "TraceView",
    "make_trace_view",
    "trace_figure",
    "TraceMark",
    "trace_mark",
    "twitch_figure",
    "habituation_figure",
    "view_png",
]

SITE_FILL = "rgba(46, 160, 67, 0.13)"
SITE_TEXT = "#1a7f37"
TWITCH_COLOR = "#d62728"
REJECT_COLOR = "rgba(120, 120, 120, 0.55)"
TRACE_COLOR = "#1f3b73"
MARK_COLOR = "#ff7f0e"


@dataclass(frozen=True, eq=False, slots=True)
class TraceView:
    """What one trace figure shows (µV, decimated).

    Parameters
    ----------
    data_uv : array, shape (n_channels, n_points)
        Decimated conditioned traces, µV.
    x0, dx : float
        Time of the first point and spacing, s.
    ch_names : tuple of str
        One per row.
    x_range : (float, float)
        Visible time range, s.
    sites : tuple of NeedleSite
        Needle spans overlapping the range.
    twitches : tuple of Twitch
        Twitches in the range.
    rejected : tuple of RejectedCandidate
        Rejected candidates to show dimmed (empty unless asked for).
    title : str
        Figure title.
    """

    data_uv: NDArray[np.float64]
    x0: float
    dx: float
    ch_names: tuple[str, ...]
    x_range: tuple[float, float]
    sites: tuple[NeedleSite, ...] = ()
    twitches: tuple[Twitch, ...] = ()
    rejected: tuple[RejectedCandidate, ...] = ()
    title: str = ""

    def times(self) -> NDArray[np.float64]:
        """Times of the points, s."""
        return np.asarray(self.x0 + self.dx * np.arange(self.data_uv.shape[1]), dtype=np.float64)


def make_trace_view(
    data_v: NDArray[np.float64],
    *,
    sfreq: float,
    t0: float,
    ch_names: Sequence[str],
    sites: Sequence[NeedleSite] = (),
    twitches: Sequence[Twitch] = (),
    rejected: Sequence[RejectedCandidate] = (),
    x_range: tuple[float, float] | None = None,
    n_points: int = 1500,
    title: str = "",
) -> TraceView:
    """Decimate conditioned traces (volts) and pick the events inside the visible range."""
    data_v = np.asarray(data_v, dtype=np.float64)
    if x_range is None:
        x_range = (t0, t0 + max(data_v.shape[1], 1) / sfreq)
    lo, hi = x_range
    if data_v.shape[1] >= 2:
        # decimate in volts, then scale only the few points drawn (min/max commute with it)
        dec = decimate_minmax(data_v, sfreq=sfreq, n_points=n_points, t0=t0)
        data_uv, x0, dx = volts_to_uv(dec.data), dec.x0, dec.dx
    else:
        data_uv, x0, dx = volts_to_uv(data_v), t0, 1.0 / sfreq
    return TraceView(
        data_uv=data_uv,
        x0=x0,
        dx=dx,
        ch_names=tuple(ch_names),
        x_range=(float(lo), float(hi)),
        sites=tuple(s for s in sites if s.offset_s >= lo and s.onset_s <= hi),
        twitches=tuple(t for t in twitches if t.offset_s >= lo and t.onset_s <= hi),
        rejected=tuple(r for r in rejected if r.offset_s >= lo and r.onset_s <= hi),
        title=title,
    )


def _axis(prefix: str, i: int) -> str:
    return prefix if i == 0 else f"{prefix}{i + 1}"


def _shapes(view: TraceView, *, label_twitches: bool = True) -> tuple[list[dict], list[dict]]:
    """Every shape and annotation of a trace figure, as plain dicts."""
    shapes: list[dict] = []
    notes: list[dict] = []
    row = {name: i for i, name in enumerate(view.ch_names)}
    lo, hi = view.x_range
    for s in view.sites:
        x0, x1 = max(s.onset_s, lo), min(s.offset_s, hi)
        shapes.append(
            dict(
                type="rect",
                xref="x",
                yref="paper",
                x0=x0,
                x1=x1,
                y0=0,
                y1=1,
                fillcolor=SITE_FILL,
                line=dict(width=0),
                layer="below",
            )
        )
        notes.append(
            dict(
                xref="x",
                yref="paper",
                x=x0,
                y=1.0,
                xanchor="left",
                yanchor="bottom",
                text=f"<b>{s.label}</b>",
                showarrow=False,
                font=dict(color=SITE_TEXT, size=12),
            )
        )
    for r in view.rejected:
        i = row.get(r.channel, 0)
        xa, ya = _axis("x", i), f"{_axis('y', i)} domain"
        shapes.append(
            dict(
                type="rect",
                xref=xa,
                yref=ya,
                x0=r.onset_s,
                x1=max(r.offset_s, r.onset_s + 0.01),
                y0=0,
                y1=1,
                fillcolor="rgba(150,150,150,0.15)",
                line=dict(color=REJECT_COLOR, width=1, dash="dot"),
            )
        )
        notes.append(
            dict(
                xref=xa,
                yref=ya,
                x=r.onset_s,
                y=0.02,
                xanchor="left",
                yanchor="bottom",
                text=f"✗ {r.reason.value}",
                showarrow=False,
                font=dict(color="rgb(110,110,110)", size=10),
                hovertext=r.detail or None,
            )
        )
    for t in view.twitches:
        i = row.get(t.channel, 0)
        xa, ya = _axis("x", i), f"{_axis('y', i)} domain"
        shapes.append(_row_shape(i, t.onset_s, line=dict(color=TWITCH_COLOR, width=2)))
        if not label_twitches:
            continue
        amp = "" if not math.isfinite(t.peak_v) else f"{volts_to_uv(t.peak_v):.0f} µV"
        notes.append(
            dict(
                xref=xa,
                yref=ya,
                x=t.onset_s,
                y=1.0,
                xanchor="left",
                yanchor="top",
                text=f"▲ {amp}",
                showarrow=False,
                font=dict(color=TWITCH_COLOR, size=11),
                bgcolor="rgba(255,255,255,0.7)",
            )
        )
    return shapes, notes


@dataclass(frozen=True, slots=True)
class TraceMark:
    """A time (click) or a span (drag) marked on one channel of a trace figure.

    Parameters
    ----------
    onset_s : float
        Marked time, or the start of the span, s.
    offset_s : float or None
        End of the span, s (None for a click).
    channel : str
        The channel whose row was marked.
    """

    onset_s: float
    offset_s: float | None
    channel: str

    def describe(self) -> str:
        """``"12.345 s on APB"`` or ``"12.345–12.425 s on APB"``."""
        span = f"{self.onset_s:.3f}"
        if self.offset_s is not None:
            span += f"–{self.offset_s:.3f}"
        return f"{span} s on {self.channel}"


def _row_of_axis(ref: object, n: int) -> int | None:
    """Row of an axis name (``"x"`` → 0, ``"x3"``/``"y3"`` → 2), None if not one of ``n``."""
    text = str(ref or "")
    if not text or text[0] not in "xy":
        return None
    digits = text[1:]
    if digits and not digits.isdigit():
        return None
    row = int(digits) - 1 if digits else 0
    return row if 0 <= row < n else None


def trace_mark(selection: Mapping[str, Any] | None, ch_names: Sequence[str]) -> TraceMark | None:
    """The mark a selection on a :func:`trace_figure` (``markable=True``) stands for.

    Parameters
    ----------
    selection : mapping or None
        ``st.plotly_chart(..., on_select="rerun").selection``: ``{"points": [...],
        "box": [...], ...}``, as Streamlit passes Plotly's ``plotly_selected`` event.
    ch_names : sequence of str
        The figure's channels, in row order.

    Returns
    -------
    TraceMark or None
        A drag (``box``) gives a span on the channel of its axes; otherwise the first
        clicked point of an invisible markers trace gives a time; None when the
        selection is empty or not on a channel.

    Examples
    --------
    >>> trace_mark({"points": [{"curve_number": 3, "x": 1.5}], "box": []}, ["A", "B"])
    TraceMark(onset_s=1.5, offset_s=None, channel='B')
    >>> trace_mark({"points": [], "box": [{"xref": "x2", "x": [2.4, 2.2]}]}, ["A", "B"])
    TraceMark(onset_s=2.2, offset_s=2.4, channel='B')
    """
    if not selection:
        return None
    n = len(ch_names)
    for box in selection.get("box") or ():
        xs = [float(x) for x in box.get("x") or () if isinstance(x, int | float)]
        row = _row_of_axis(box.get("xref"), n)
        if row is None:
            row = _row_of_axis(box.get("yref"), n)
        if len(xs) >= 2 and row is not None and max(xs) > min(xs):
            return TraceMark(min(xs), max(xs), ch_names[row])
    for point in selection.get("points") or ():
        curve, x = point.get("curve_number"), point.get("x")
        if isinstance(curve, int) and isinstance(x, int | float) and 0 <= curve < 2 * n:
            return TraceMark(float(x), None, ch_names[curve % n])
    return None


def _row_shape(row: int, x0: float, x1: float | None = None, **style: Any) -> dict:
    """A Plotly shape across the full height of channel row ``row``: a vertical line at
    ``x0``, or a band from ``x0`` to ``x1``."""
    return dict(
        type="line" if x1 is None else "rect",
        xref=_axis("x", row),
        yref=f"{_axis('y', row)} domain",
        x0=x0,
        x1=x0 if x1 is None else x1,
        y0=0,
        y1=1,
        **style,
    )


def _mark_shapes(mark: TraceMark, view: TraceView) -> list[dict]:
    """A dashed line (time) or band (span) on the marked channel's row."""
    i = view.ch_names.index(mark.channel) if mark.channel in view.ch_names else 0
    style = dict(color=MARK_COLOR, width=2, dash="dash")
    if mark.offset_s is None:
        return [_row_shape(i, mark.onset_s, line=style)]
    return [
        _row_shape(i, mark.onset_s, mark.offset_s, fillcolor="rgba(255,127,14,0.12)", line=style)
    ]


def trace_figure(
    view: TraceView,
    *,
    height_per_channel: int = 105,
    keep_zoom: bool = False,
    label_twitches: bool = True,
    markable: bool = False,
    mark: TraceMark | None = None,
) -> go.Figure:
    """One subplot per channel, shared time axis, sites shaded, twitches marked.

    Parameters
    ----------
    view : TraceView
        What to draw.
    height_per_channel : int
        Pixels per channel row.
    keep_zoom : bool
        Keep the user's zoom across reruns (review); scrolling views leave it off.
    label_twitches : bool
        Write each twitch's amplitude next to its marker (off for crowded overviews).
    markable : bool
        Let a click on a channel's row mark a time, and a drag with the box-select tool
        mark a span (read back with :func:`trace_mark` from
        ``st.plotly_chart(on_select="rerun", selection_mode=("points", "box"))``).
        Plotly selects only traces with markers, so each channel gets a second,
        invisible markers trace over its line (curve ``n_channels + i`` for channel
        ``i``); hover is by time (``hovermode="x"``), so a click anywhere in a channel's
        row picks the time under the pointer. A plain drag still zooms (Streamlit turns
        click selection off while the box tool is the drag mode).
    mark : TraceMark, optional
        A mark to draw (dashed), e.g. the one the reviewer just made.
    """
    n = max(1, len(view.ch_names))
    gap = 0.012
    h = (1.0 - gap * (n - 1)) / n
    traces: list[dict] = []
    layout: dict = {}
    for i, name in enumerate(view.ch_names):
        top = 1.0 - i * (h + gap)
        xa, ya = _axis("x", i), _axis("y", i)
        traces.append(
            dict(
                type="scatter",
                y=view.data_uv[i].astype(np.float32),
                x0=view.x0,
                dx=view.dx,
                mode="lines",
                line=dict(width=1, color=TRACE_COLOR),
                name=name,
                hovertemplate="%{x:.3f} s, %{y:.1f} µV<extra>" + name + "</extra>",
                xaxis=xa,
                yaxis=ya,
            )
        )
        layout[f"xaxis{'' if i == 0 else i + 1}"] = dict(
            anchor=ya,
            domain=[0.0, 1.0],
            matches=None if i == 0 else "x",
            range=list(view.x_range),
            showgrid=True,
            gridcolor="#eee",
            showticklabels=i == n - 1,
            title=dict(text="time (s)") if i == n - 1 else None,
        )
        layout[f"yaxis{'' if i == 0 else i + 1}"] = dict(
            anchor=xa,
            domain=[max(0.0, top - h), min(1.0, top)],
            title=dict(text=f"{name}<br>µV", font=dict(size=11)),
            zeroline=False,
            showgrid=True,
            gridcolor="#eee",
            fixedrange=not keep_zoom,
        )
    if markable:
        for i, name in enumerate(view.ch_names):
            traces.append(
                dict(
                    type="scatter",
                    y=view.data_uv[i].astype(np.float32),
                    x0=view.x0,
                    dx=view.dx,
                    mode="markers",
                    marker=dict(size=6, opacity=0.0, color=TRACE_COLOR),
                    selected=dict(marker=dict(opacity=0.0)),
                    unselected=dict(marker=dict(opacity=0.0)),
                    name=f"{name} (click to mark)",
                    hoverinfo="none",
                    showlegend=False,
                    xaxis=_axis("x", i),
                    yaxis=_axis("y", i),
                )
            )
        layout.update(hovermode="x", clickmode="event+select", dragmode="zoom")
    shapes, notes = _shapes(view, label_twitches=label_twitches)
    if mark is not None:
        shapes += _mark_shapes(mark, view)
    # one constructor call: no make_subplots/add_trace/update_* round trips (about 10x faster)
    return go.Figure(
        data=traces,
        layout=dict(
            shapes=shapes,
            annotations=notes,
            height=40 + height_per_channel * n + (30 if view.title else 0),
            margin=dict(l=70, r=15, t=40 if view.title else 24, b=30),
            showlegend=False,
            template="plotly_white",
            title=dict(text=view.title, font=dict(size=14)) if view.title else None,
            uirevision="keep" if keep_zoom else None,
            **layout,
        ),
    )


def twitch_figure(
    segment_v: NDArray[np.float64], *, sfreq: float, t0: float, twitch: Twitch, height: int = 260
) -> go.Figure:
    """One twitch, zoomed: its main channel from about 0.3 s before to 0.3 s after."""
    y = volts_to_uv(np.asarray(segment_v, dtype=np.float64))
    fig = go.Figure(
        go.Scatter(
            y=y.astype(np.float32),
            x0=t0,
            dx=1.0 / sfreq,
            mode="lines",
            line=dict(width=1.3, color=TRACE_COLOR),
            name=twitch.channel,
        )
    )
    amp = f"{volts_to_uv(twitch.peak_v):.0f} µV peak" if math.isfinite(twitch.peak_v) else ""
    where = f" at {twitch.site}" if twitch.site else ""
    fig.update_layout(
        shapes=[
            dict(
                type="rect",
                xref="x",
                yref="paper",
                x0=twitch.onset_s,
                x1=twitch.offset_s,
                y0=0,
                y1=1,
                fillcolor="rgba(214,39,40,0.12)",
                line=dict(width=0),
                layer="below",
            )
        ],
        height=height,
        margin=dict(l=60, r=10, t=36, b=30),
        template="plotly_white",
        title=dict(
            text=f"{twitch.channel}: {amp}, {s_to_ms(twitch.duration_s):.0f} ms{where}",
            font=dict(size=13),
        ),
        xaxis=dict(title="time (s)"),
        yaxis=dict(title="µV"),
        showlegend=False,
    )
    return fig


def habituation_figure(twitches: Sequence[Twitch], *, height: int = 280) -> go.Figure:
    """Peak amplitude against twitch index within each site, with its least-squares line."""
    fig = go.Figure()
    by_site: dict[str, list[Twitch]] = {}
    for t in sorted(twitches, key=lambda t: t.onset_s):
        by_site.setdefault(t.site or "(no site)", []).append(t)
    for site, tws in by_site.items():
        amps = np.array([volts_to_uv(t.peak_v) for t in tws])
        idx = np.arange(1, amps.size + 1)
        fig.add_trace(
            go.Scatter(x=idx, y=amps, mode="markers+lines", name=site, line=dict(width=1))
        )
        if amps.size >= 2:
            slope, icpt = np.polyfit(idx, amps, 1)
            fig.add_trace(
                go.Scatter(
                    x=idx,
                    y=icpt + slope * idx,
                    mode="lines",
                    line=dict(dash="dash", width=1),
                    showlegend=False,
                    name=f"{site} fit ({slope:+.1f} µV/twitch)",
                )
            )
    fig.update_layout(
        height=height,
        template="plotly_white",
        margin=dict(l=60, r=10, t=30, b=40),
        xaxis=dict(title="twitch index within site", dtick=1),
        yaxis=dict(title="peak amplitude (µV)"),
        title=dict(text="Habituation", font=dict(size=13)),
    )
    return fig


def view_png(view: TraceView, *, width_in: float = 12.0, dpi: int = 110) -> bytes:
    """Render a :class:`TraceView` as PNG with matplotlib (same content as on screen)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    n = max(1, len(view.ch_names))
    fig = Figure(figsize=(width_in, 0.6 + 1.25 * n), dpi=dpi)
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    t = view.times()
    row = {name: i for i, name in enumerate(view.ch_names)}
    for i, ax in enumerate(axes):
        ax.plot(t, view.data_uv[i], color=TRACE_COLOR, linewidth=0.7)
        ax.set_ylabel(f"{view.ch_names[i]}\nµV", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.grid(True, color="#eee")
        for s in view.sites:
            ax.axvspan(s.onset_s, s.offset_s, color=(0.18, 0.63, 0.26, 0.13), linewidth=0)
    for s in view.sites:
        axes[0].annotate(
            s.label,
            (max(s.onset_s, view.x_range[0]), 1.0),
            xycoords=("data", "axes fraction"),
            va="bottom",
            fontsize=8,
            color=SITE_TEXT,
            fontweight="bold",
        )
    for r in view.rejected:
        ax = axes[row.get(r.channel, 0)]
        ax.axvspan(
            r.onset_s, max(r.offset_s, r.onset_s + 0.01), color=(0.5, 0.5, 0.5, 0.15), linewidth=0
        )
        ax.annotate(
            f"x {r.reason.value}",
            (r.onset_s, 0.03),
            xycoords=("data", "axes fraction"),
            fontsize=7,
            color="0.4",
        )
    for tw in view.twitches:
        ax = axes[row.get(tw.channel, 0)]
        ax.axvline(tw.onset_s, color=TWITCH_COLOR, linewidth=1.2)
        if math.isfinite(tw.peak_v):
            ax.annotate(
                f"{volts_to_uv(tw.peak_v):.0f} µV",
                (tw.onset_s, 0.97),
                xycoords=("data", "axes fraction"),
                va="top",
                fontsize=7,
                color=TWITCH_COLOR,
            )
    axes[-1].set_xlim(*view.x_range)
    axes[-1].set_xlabel("time (s)", fontsize=8)
    if view.title:
        fig.suptitle(view.title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
