"""Static figures of a session for reports (matplotlib, no pyplot state).

Every function returns a :class:`matplotlib.figure.Figure` built directly (not
through ``pyplot``), so nothing is registered in pyplot's global figure list and
nothing needs closing; render it with ``fig.savefig(...)`` (PNG, SVG or a PDF page)
or :func:`figure_png`. Traces are in µV here (the display edge); inputs are volts.

Figures
-------
:func:`overview_figure`
    The whole session: min–max decimated traces, one row per channel, needle-site
    spans shaded and labelled, each twitch marked on its main channel.
:func:`gallery_figure`
    The twitches overlaid and aligned at onset, one panel per needle site, from the
    20 Hz high-passed signal of each twitch's main channel.
:func:`habituation_figure`
    Peak amplitude against twitch index within each site, with the least-squares line.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from numpy.typing import NDArray
from scipy import signal as sps

from twitchscope.signal.analysis.decimate import decimate_minmax
from twitchscope.signal.analysis.stats import NO_SITE, fit_habituation
from twitchscope.signal.core.checks import check_ch_names, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite, Twitch, attribute_to_sites
from twitchscope.signal.core.units import s_to_ms, volts_to_uv

__all__ = [
    "overview_figure",
    "gallery_figure",
    "habituation_figure",
    "figure_png",
    "twitches_by_site",
]

_WIDTH_IN = 10.0
_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:brown", "tab:pink")


def figure_png(fig: Figure, *, dpi: int = 100) -> bytes:
    """Render ``fig`` as PNG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def twitches_by_site(
    twitches: Sequence[Twitch], sites: Sequence[NeedleSite]
) -> dict[str, list[Twitch]]:
    """Twitches grouped by the site active at onset (in first-needle-in order), time-sorted.

    Twitches outside every span are grouped under :data:`~twitchscope.signal.analysis.stats.NO_SITE`.
    """
    out: dict[str, list[Twitch]] = {}
    for s in sorted(sites, key=lambda s: s.onset_s):
        out.setdefault(s.label, [])
    for t in sorted(attribute_to_sites(twitches, sites), key=lambda t: t.onset_s):
        out.setdefault(t.site if t.site is not None else NO_SITE, []).append(t)
    return out


def _as_data(data: NDArray[np.float64], ch_names: Sequence[str]) -> NDArray[np.float64]:
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim != 2:
        raise ConfigError(f"data must be 2D (n_channels, n_samples), got shape {arr.shape}.")
    check_ch_names(ch_names, arr.shape[0])
    return arr


def overview_figure(
    data: NDArray[np.float64],
    *,
    sfreq: float,
    ch_names: Sequence[str],
    sites: Sequence[NeedleSite] = (),
    twitches: Sequence[Twitch] = (),
    n_points: int = 4000,
    title: str = "",
) -> Figure:
    """The whole session: decimated traces with needle-site spans and twitch markers.

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Volts (raw or conditioned; the median of each channel is removed for display).
    sfreq : float
        Sampling rate, Hz.
    ch_names : sequence of str
        One per channel.
    sites : sequence of NeedleSite
        Shaded spans, labelled on the top row.
    twitches : sequence of Twitch
        Marked (▼) at onset on their main channel.
    n_points : int
        Display points per trace (min–max decimation keeps every spike).
    title : str
        Figure title.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    sfreq = check_sfreq(sfreq)
    arr = _as_data(data, ch_names)
    names = list(ch_names)
    n_ch = arr.shape[0]
    fig = Figure(figsize=(_WIDTH_IN, 1.0 + 1.3 * n_ch), layout="constrained")
    axes = fig.subplots(n_ch, 1, sharex=True, squeeze=False)[:, 0]
    centred = volts_to_uv(arr - np.median(arr, axis=1, keepdims=True))
    dec = decimate_minmax(centred, sfreq=sfreq, n_points=n_points)
    t = dec.times()
    for i, ax in enumerate(axes):
        ax.plot(t, dec.data[i], lw=0.5, color="0.2")
        ax.set_ylabel(f"{names[i]}\nµV", fontsize=8)
        ax.tick_params(labelsize=7)
        for k, s in enumerate(sorted(sites, key=lambda s: s.onset_s)):
            ax.axvspan(s.onset_s, s.offset_s, color=_COLORS[k % len(_COLORS)], alpha=0.12, lw=0)
        on = [tw for tw in twitches if tw.channel == names[i]]
        if on:
            top = float(np.max(np.abs(dec.data[i]))) if dec.n_points else 1.0
            ax.plot(
                [tw.onset_s for tw in on],
                [top * 1.05] * len(on),
                "v",
                color="tab:red",
                ms=5,
                label="twitch",
            )
    for k, s in enumerate(sorted(sites, key=lambda s: s.onset_s)):
        axes[0].annotate(
            s.label,
            xy=(s.onset_s, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(2, 2),
            textcoords="offset points",
            fontsize=7,
            color=_COLORS[k % len(_COLORS)],
            va="bottom",
        )
    axes[-1].set_xlabel("time (s)")
    axes[-1].set_xlim(0.0, arr.shape[1] / sfreq)
    fig.suptitle(title or "Session overview", fontsize=10)
    return fig


def _snippet(
    x: NDArray[np.float64], sfreq: float, onset_s: float, pre_s: float, post_s: float
) -> NDArray[np.float64] | None:
    """High-passed window [onset - pre, onset + post) of one channel, µV, or None at the edges."""
    a = int(round((onset_s - pre_s) * sfreq))
    b = a + int(round((pre_s + post_s) * sfreq))
    if a < 0 or b > x.size:
        return None
    pad = int(round(0.2 * sfreq))
    pa, pb = max(0, a - pad), min(x.size, b + pad)
    seg = x[pa:pb] - np.mean(x[pa:pb])
    sos = sps.butter(2, 20.0, btype="highpass", fs=sfreq, output="sos")
    y = sps.sosfiltfilt(sos, seg, padlen=min(seg.size - 1, 15))
    return np.asarray(volts_to_uv(y[a - pa : b - pa]), dtype=np.float64)


def gallery_figure(
    data: NDArray[np.float64],
    *,
    sfreq: float,
    ch_names: Sequence[str],
    twitches: Sequence[Twitch],
    sites: Sequence[NeedleSite] = (),
    pre_s: float = 0.05,
    post_s: float = 0.25,
    max_per_site: int = 30,
    title: str = "",
) -> Figure:
    """The twitches overlaid and aligned at onset (t = 0), one panel per needle site.

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Volts.
    sfreq : float
        Sampling rate, Hz.
    ch_names : sequence of str
        One per channel.
    twitches : sequence of Twitch
        Each is drawn from its main channel, 20 Hz high-passed (zero phase).
    sites : sequence of NeedleSite
        Group the twitches by site (those outside every span form their own panel).
    pre_s, post_s : float
        Window before and after onset, s.
    max_per_site : int
        At most this many (the first) twitches per panel.
    title : str
        Figure title.

    Returns
    -------
    fig : matplotlib.figure.Figure
        With the text "No twitches detected." when there are none.
    """
    sfreq = check_sfreq(sfreq)
    arr = _as_data(data, ch_names)
    names = list(ch_names)
    groups = {k: v for k, v in twitches_by_site(twitches, sites).items() if v}
    n = max(1, len(groups))
    ncols = min(3, n)
    nrows = int(np.ceil(n / ncols))
    fig = Figure(figsize=(_WIDTH_IN, 0.8 + 2.6 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    if not groups:
        axes[0].text(0.5, 0.5, "No twitches detected.", ha="center", va="center")
        axes[0].set_axis_off()
    cmap = colormaps["viridis"]
    for ax, (label, tws) in zip(axes, groups.items(), strict=False):
        shown = tws[:max_per_site]
        for j, tw in enumerate(shown):
            if tw.channel not in names:
                continue
            y = _snippet(arr[names.index(tw.channel)], sfreq, tw.onset_s, pre_s, post_s)
            if y is None:
                continue
            tt = s_to_ms(np.arange(y.size) / sfreq - pre_s)
            frac = j / max(1, len(shown) - 1)
            ax.plot(tt, y, lw=0.7, color=cmap(0.85 * frac))
        ax.axvline(0.0, color="tab:red", lw=0.8, ls="--")
        ax.set_title(f"{label} (n = {len(tws)})", fontsize=8)
        ax.set_xlabel("ms from onset", fontsize=8)
        ax.set_ylabel("µV", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[len(groups) :]:
        if groups:
            ax.set_axis_off()
    fig.suptitle(title or "Twitches aligned at onset (early = dark, late = light)", fontsize=10)
    return fig


def habituation_figure(
    twitches: Sequence[Twitch], *, sites: Sequence[NeedleSite] = (), title: str = ""
) -> Figure:
    """Peak amplitude (µV) against twitch index within each site, with the fitted line.

    The line is :func:`~twitchscope.signal.analysis.stats.fit_habituation` (least squares), as in
    the per-site table.

    Returns
    -------
    fig : matplotlib.figure.Figure
        With the text "No twitches detected." when there are none.
    """
    groups = {k: v for k, v in twitches_by_site(twitches, sites).items() if v}
    fig = Figure(figsize=(_WIDTH_IN * 0.7, 4.0), layout="constrained")
    ax = fig.subplots()
    if not groups:
        ax.text(0.5, 0.5, "No twitches detected.", ha="center", va="center")
        ax.set_axis_off()
    for k, (label, tws) in enumerate(groups.items()):
        color = _COLORS[k % len(_COLORS)]
        peaks = np.array([volts_to_uv(t.peak_v) for t in tws], dtype=float)
        idx = np.arange(peaks.size)
        ax.plot(idx, peaks, "o", color=color, label=f"{label} (n = {peaks.size})")
        h = fit_habituation([t.peak_v for t in tws])
        if h.slope is not None and h.intercept is not None:
            ax.plot(idx, volts_to_uv(h.intercept + h.slope * idx), "-", color=color, lw=1.0)
    if groups:
        ax.set_xlabel("twitch index within site")
        ax.set_ylabel("peak amplitude (µV)")
        ax.legend(fontsize=7)
    fig.suptitle(title or "Habituation: peak amplitude by twitch index", fontsize=10)
    return fig
