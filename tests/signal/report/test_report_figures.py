"""Report figures: matplotlib Figure objects, no pyplot state, the right content."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from twitchscope.signal.analysis.stats import NO_SITE
from twitchscope.signal.core.model import NeedleSite, Twitch
from twitchscope.signal.report.figures import (
    figure_png,
    gallery_figure,
    habituation_figure,
    overview_figure,
    twitches_by_site,
)

SFREQ = 1000.0
NAMES = ("A", "B")
SITES = (
    NeedleSite(label="TrP1", onset_s=2.0, duration_s=6.0),
    NeedleSite(label="TrP2", onset_s=10.0, duration_s=6.0),
)


def _twitch(onset: float, channel: str, peak_uv: float) -> Twitch:
    return Twitch(
        onset_s=onset,
        offset_s=onset + 0.08,
        channel=channel,
        channels=(channel,),
        peak_v=peak_uv * 1e-6,
        rms_v=peak_uv * 0.4e-6,
    )


TWITCHES = (
    _twitch(3.0, "B", 100.0),
    _twitch(4.5, "B", 80.0),
    _twitch(6.0, "A", 70.0),
    _twitch(11.0, "B", 90.0),
    _twitch(17.5, "B", 40.0),  # outside every site
)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 3e-6, (2, int(20 * SFREQ)))
    for tw in TWITCHES:
        a = int(tw.onset_s * SFREQ)
        burst = np.sin(2 * np.pi * 120 * np.arange(80) / SFREQ) * np.hanning(80)
        x[NAMES.index(tw.channel), a : a + 80] += tw.peak_v * burst
    return x


def test_figures_are_figures_and_leave_pyplot_alone(data: np.ndarray) -> None:
    before = plt.get_fignums()
    figs = [
        overview_figure(data, sfreq=SFREQ, ch_names=NAMES, sites=SITES, twitches=TWITCHES),
        gallery_figure(data, sfreq=SFREQ, ch_names=NAMES, twitches=TWITCHES, sites=SITES),
        habituation_figure(TWITCHES, sites=SITES),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    for f in figs:
        png = figure_png(f, dpi=40)
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert plt.get_fignums() == before


def test_overview_marks_each_twitch_on_its_channel_and_shades_sites(data: np.ndarray) -> None:
    fig = overview_figure(data, sfreq=SFREQ, ch_names=NAMES, sites=SITES, twitches=TWITCHES)
    axes = fig.axes
    assert len(axes) == len(NAMES)
    for ax, name in zip(axes, NAMES, strict=True):
        markers = [ln for ln in ax.get_lines() if ln.get_marker() == "v"]
        xs = sorted(x for ln in markers for x in ln.get_xdata())
        assert xs == sorted(t.onset_s for t in TWITCHES if t.channel == name)
        assert len(ax.patches) == len(SITES)
    labels = [t.get_text() for t in axes[0].texts]
    assert labels == [s.label for s in SITES]
    # the trace keeps its extremes despite decimation
    trace = axes[1].get_lines()[0].get_ydata()
    centred = (data[1] - np.median(data[1])) * 1e6
    assert float(np.max(trace)) == pytest.approx(float(np.max(centred)))


def test_gallery_has_one_panel_per_site_with_its_twitches(data: np.ndarray) -> None:
    fig = gallery_figure(data, sfreq=SFREQ, ch_names=NAMES, twitches=TWITCHES, sites=SITES)
    groups = twitches_by_site(TWITCHES, SITES)
    assert [len(v) for v in groups.values()] == [3, 1, 1]
    assert list(groups) == ["TrP1", "TrP2", NO_SITE]
    visible = [ax for ax in fig.axes if ax.axison]
    assert [ax.get_title() for ax in visible] == [
        "TrP1 (n = 3)",
        "TrP2 (n = 1)",
        f"{NO_SITE} (n = 1)",
    ]
    for ax, tws in zip(visible, groups.values(), strict=True):
        traces = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 2]
        assert len(traces) == len(tws)
        # aligned at onset: the window runs from -50 ms, the burst is after 0
        t = traces[0].get_xdata()
        y = np.abs(traces[0].get_ydata())
        assert t[0] == pytest.approx(-50.0)
        assert t[int(np.argmax(y))] > 0.0


def test_habituation_line_is_the_least_squares_fit() -> None:
    fig = habituation_figure(TWITCHES, sites=SITES)
    ax = fig.axes[0]
    lines = ax.get_lines()
    points = [ln for ln in lines if ln.get_marker() == "o"]
    fits = [ln for ln in lines if ln.get_linestyle() == "-" and ln.get_marker() in ("None", "")]
    trp1 = [t.peak_v * 1e6 for t in TWITCHES[:3]]
    assert list(points[0].get_ydata()) == pytest.approx(trp1)
    assert len(fits) == 1  # only TrP1 has two or more twitches
    slope, intercept = np.polyfit(np.arange(3), trp1, 1)
    assert list(fits[0].get_ydata()) == pytest.approx(list(intercept + slope * np.arange(3)))


def test_no_twitches_says_so(data: np.ndarray) -> None:
    for fig in (
        gallery_figure(data, sfreq=SFREQ, ch_names=NAMES, twitches=(), sites=SITES),
        habituation_figure((), sites=SITES),
    ):
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert "No twitches detected." in texts


def test_bad_shape_raises_config_error() -> None:
    from twitchscope.signal.core.errors import ConfigError

    with pytest.raises(ConfigError, match="2D"):
        overview_figure(np.zeros(10), sfreq=SFREQ, ch_names=("A",))
