"""Figures (one shapes list, decimated traces), PNG without kaleido, export files read back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twitchscope.dashboard.app import plots
from twitchscope.dashboard.services import exporting
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import (
    NeedleSite,
    RecordingEvents,
    RejectedCandidate,
    RejectReason,
    SampleBlock,
    Twitch,
)
from twitchscope.signal.io.events import read_events, read_rejected
from twitchscope.signal.io.readers import read_recording

pytestmark = pytest.mark.usefixtures("clean_dashboard")

SFREQ = 2048.0
CH = ("UT-R", "LS-R", "IS-R")
SITES = (NeedleSite("R upper trapezius TrP1", onset_s=1.0, duration_s=3.0),)
TWITCHES = (
    Twitch(onset_s=1.5, offset_s=1.6, channel="LS-R", peak_v=250e-6, site="R upper trapezius TrP1"),
    Twitch(onset_s=3.2, offset_s=3.35, channel="UT-R", peak_v=120e-6),
)
REJECTED = (
    RejectedCandidate(2.0, 2.05, "IS-R", RejectReason.POP, peak_v=900e-6, detail="step 0.8 mV"),
)


def _data() -> np.ndarray:
    x = np.random.default_rng(0).standard_normal((3, int(5 * SFREQ))) * 5e-6
    x[1, int(1.55 * SFREQ)] = 250e-6
    return x


def test_trace_figure_is_decimated_with_one_shape_list() -> None:
    view = plots.make_trace_view(
        _data(),
        sfreq=SFREQ,
        t0=0.0,
        ch_names=CH,
        sites=SITES,
        twitches=TWITCHES,
        rejected=REJECTED,
        n_points=1000,
    )
    fig = plots.trace_figure(view)
    assert len(fig.data) == 3
    for trace in fig.data:  # y only, with x0/dx; at most 1000 points
        assert trace.x is None and trace.dx == pytest.approx(view.dx)
        assert len(trace.y) <= 1000
    # the spike survives decimation at full height, in µV
    assert max(fig.data[1].y) == pytest.approx(250.0, rel=1e-6)
    shapes = fig.layout.shapes
    assert len(shapes) == len(SITES) + len(TWITCHES) + len(REJECTED)
    kinds = sorted((s.type, s.xref, s.yref) for s in shapes)
    assert kinds == sorted(
        [
            ("rect", "x", "paper"),
            ("line", "x2", "y2 domain"),
            ("line", "x", "y domain"),
            ("rect", "x3", "y3 domain"),
        ]
    )
    texts = [a.text for a in fig.layout.annotations]
    assert "<b>R upper trapezius TrP1</b>" in texts
    assert "▲ 250 µV" in texts and "✗ pop" in texts
    assert list(fig.layout.xaxis.range) == [0.0, 5.0]


def test_view_keeps_only_events_in_range() -> None:
    view = plots.make_trace_view(
        _data(),
        sfreq=SFREQ,
        t0=0.0,
        ch_names=CH,
        sites=SITES,
        twitches=TWITCHES,
        x_range=(3.0, 5.0),
    )
    assert [t.onset_s for t in view.twitches] == [3.2]
    assert len(view.sites) == 1  # the site spans 1-4 s


def test_png_is_rendered_without_kaleido() -> None:
    view = plots.make_trace_view(
        _data(),
        sfreq=SFREQ,
        t0=0.0,
        ch_names=CH,
        sites=SITES,
        twitches=TWITCHES,
        rejected=REJECTED,
        title="test",
    )
    png = plots.view_png(view)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_other_figures() -> None:
    fig = plots.twitch_figure(
        _data()[1, 2000:4000], sfreq=SFREQ, t0=2000 / SFREQ, twitch=TWITCHES[0]
    )
    assert "250 µV peak" in fig.layout.title.text and "R upper trapezius" in fig.layout.title.text
    hab = plots.habituation_figure(
        [
            Twitch(onset_s=i, offset_s=i + 0.1, channel="a", peak_v=(100 - 10 * i) * 1e-6, site="s")
            for i in range(4)
        ]
    )
    assert list(hab.data[0].y) == pytest.approx([100, 90, 80, 70])
    assert "-10.0 µV/twitch" in hab.data[1].name


def test_events_export_reads_back(tmp_path) -> None:
    for kind in ("csv", "json"):
        p = tmp_path / f"e.{kind}"
        p.write_bytes(exporting.events_bytes(TWITCHES, kind))
        back = read_events(p)
        assert [(t.onset_s, t.channel, t.site) for t in back] == [
            (t.onset_s, t.channel, t.site) for t in TWITCHES
        ]
        assert back[0].peak_v == pytest.approx(250e-6)
    rows = json.loads(exporting.events_bytes(TWITCHES, "json"))
    assert rows[0]["peak_uv"] == pytest.approx(250.0)
    p = tmp_path / "r.csv"
    p.write_bytes(exporting.rejected_bytes(REJECTED, "csv"))
    assert read_rejected(p)[0].reason == RejectReason.POP
    with pytest.raises(ConfigError, match="'kind' parameter"):
        exporting.events_bytes(TWITCHES, "xlsx")


@pytest.mark.parametrize("kind", ["fif", "edf"])
def test_recording_export_keeps_annotations(tmp_path, kind) -> None:
    data = _data()[:, : int(5 * 2048)]
    events = RecordingEvents(sites=SITES, twitches=TWITCHES)
    out = tmp_path / f"rec.{kind}"
    out.write_bytes(
        exporting.recording_bytes(data, sfreq=SFREQ, ch_names=CH, events=events, kind=kind)
    )
    raw = read_recording(out, preload=True)
    assert raw.ch_names == list(CH) and raw.get_channel_types() == ["emg"] * 3
    back = recording_events(raw)
    assert [s.label for s in back.sites] == ["R upper trapezius TrP1"]
    assert [round(t.onset_s, 3) for t in back.twitches] == [1.5, 3.2]
    np.testing.assert_allclose(raw.get_data(), data, atol=1e-8 if kind == "edf" else 0)


def test_blocks_to_array_zero_fills_gaps_and_shifts_events() -> None:
    b1 = SampleBlock(np.ones((2, 10)), 100.0, 50, ("a", "b"))
    b2 = SampleBlock(2 * np.ones((2, 5)), 100.0, 65, ("a", "b"), n_lost_before=5)
    data, first, gaps = exporting.blocks_to_array([b1, b2], n_channels=2)
    assert first == 50 and data.shape == (2, 20)
    assert (data[:, 10:15] == 0).all() and (data[:, 15:] == 2).all()
    assert [(g.onset_s, g.n_samples) for g in gaps] == [(0.1, 5)]
    sites, tws = exporting.shift_events(SITES, TWITCHES, t0=1.6, duration_s=3.0)
    assert (sites[0].onset_s, sites[0].duration_s) == (0.0, pytest.approx(2.4))
    assert [round(t.onset_s, 3) for t in tws] == [1.6]  # the one at 1.5 s is before the start


def test_a_markable_trace_has_an_invisible_click_layer_and_draws_the_mark() -> None:
    view = plots.make_trace_view(_data(), sfreq=SFREQ, t0=0.0, ch_names=CH, n_points=1000)
    mark = plots.TraceMark(2.0, 2.1, "LS-R")
    fig = plots.trace_figure(view, keep_zoom=True, markable=True, mark=mark)
    assert [t.mode for t in fig.data] == ["lines"] * 3 + ["markers"] * 3
    for line, layer in zip(fig.data[:3], fig.data[3:], strict=True):  # over the same points
        assert (layer.xaxis, layer.yaxis, layer.x0, layer.dx) == (
            line.xaxis,
            line.yaxis,
            line.x0,
            line.dx,
        )
        np.testing.assert_array_equal(layer.y, line.y)
        assert layer.marker.opacity == 0.0 and layer.hoverinfo == "none"
    assert (fig.layout.hovermode, fig.layout.clickmode) == ("x", "event+select")
    (band,) = [s for s in fig.layout.shapes if s.line.dash == "dash"]
    assert (band.type, band.xref, band.x0, band.x1) == ("rect", "x2", 2.0, 2.1)
    assert len(plots.trace_figure(view).data) == 3  # not markable: lines only


def test_trace_mark_reads_clicks_and_drags_per_channel() -> None:
    click = {"points": [{"curve_number": 5, "point_index": 3, "x": 1.25, "y": 3.0}], "box": []}
    assert plots.trace_mark(click, CH) == plots.TraceMark(1.25, None, "IS-R")
    drag = {
        "points": [{"curve_number": 4, "x": 2.05}],
        "box": [{"xref": "x2", "yref": "y2", "x": [2.2, 2.0], "y": [-5, 5]}],
    }
    assert plots.trace_mark(drag, CH) == plots.TraceMark(2.0, 2.2, "LS-R")  # the box wins
    assert plots.trace_mark(drag, CH).describe() == "2.000–2.200 s on LS-R"
    for nothing in (
        None,
        {},
        {"points": [], "box": []},
        {"points": [{"curve_number": 6, "x": 1.0}]},  # no such trace
        {"box": [{"xref": "x9", "x": [1.0, 2.0]}]},  # no such row
        {"box": [{"xref": "x", "x": [1.0, 1.0]}]},  # no span
    ):
        assert plots.trace_mark(nothing, CH) is None
