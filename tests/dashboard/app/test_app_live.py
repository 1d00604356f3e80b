"""The live page on the simulated amplifier (real pty + pyserial reader) under AppTest.

Start the source, label a needle site, see a twitch attributed to it in the table,
the teaching view, the export of events and of the recording, and Stop.
"""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from twitchscope.dashboard.app.state import K, acquisition_owner
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.io.events import read_events
from twitchscope.signal.io.readers import read_recording

pytestmark = pytest.mark.usefixtures("clean_dashboard")

LABEL = "R infraspinatus TrP1"


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _wait(at: AppTest, condition, timeout: float = 30.0) -> None:
    """Rerun the app (run_every never fires under AppTest) until ``condition(at)``."""
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert not at.exception
        if condition(at) or time.monotonic() > deadline:
            return
        time.sleep(0.5)


def test_live_simulated_session_end_to_end(app_path, tmp_path) -> None:
    at = AppTest.from_file(app_path, default_timeout=60).run()
    assert not at.exception
    at.checkbox(key="live_sim_label").uncheck()  # we label the site ourselves
    at.button(key="live_start").click().run()
    assert not at.exception
    source = acquisition_owner().source
    assert source is not None and source.running
    # the simulated board is read through the real serial path: a pty opened by pyserial
    assert source._reader.port.startswith("/dev/pts/")
    assert source.sfreq == 250.0 and len(source.ch_names) == 8

    at.selectbox(key="live_site_side").select("R")
    at.selectbox(key="live_site_muscle").select("infraspinatus").run()
    at.selectbox(key="live_site_point").select("TrP1")
    at.button(key="live_site_in").click().run()
    assert source.sites.active == LABEL
    t_in = source.sites.sites(source.now_s())[0].onset_s

    _wait(at, lambda a: int(_metric(a, "Twitches")) > 0)
    n = int(_metric(at, "Twitches"))
    assert n > 0, "no twitch was flagged within 30 s of simulated stream"
    table = at.dataframe[0].value
    assert len(table) == n
    for _, row in table.iterrows():  # every twitch after "Needle in" belongs to the site
        assert (row["site"] == LABEL) == (row["onset_s"] >= t_in)
    assert _metric(at, "Needle") == LABEL

    # teaching mode: large counters of the same session's stream
    at.switch_page("page_teaching.py").run()
    assert not at.exception
    assert at.title[0].value == "Teaching mode"
    html = " ".join(h.proto.body for h in at.get("html"))
    assert "Twitches" in html and LABEL in html
    # one channel large in the scope, which clicks in the browser for each new twitch
    (scope,) = at.get("bidi_component")
    data = json.loads(scope.proto.json)
    assert data["names"] == [source.ch_names[0]] and data["lane_h"] >= 300
    assert data["click"] is True and data["audio"] is False
    assert len(data["twitches"]) >= n
    assert at.session_state[K.LIVE_CLICKS] >= n
    assert at.selectbox(key="teach_channel").value == source.ch_names[0]
    at.selectbox(key="teach_channel").select(source.ch_names[2]).run()
    assert not at.exception
    (scope,) = at.get("bidi_component")
    assert json.loads(scope.proto.json)["names"] == [source.ch_names[2]]

    at.switch_page("page_live.py").run()
    at.run()  # the run that opens the page draws the scope alone; the next one, the rest
    at.button(key="live_site_out").click().run()
    assert source.sites.active is None
    (site,) = source.sites.sites()
    assert site.label == LABEL and site.duration_s > 0

    # export: events as CSV, the recording with its annotations as FIF
    view = at.session_state[K.LIVE_VIEW]
    at.switch_page("page_export.py").run()
    assert not at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert {"Events CSV", "Events JSON", "Rejected CSV", "PNG of the current view"} <= set(labels)
    at.radio(key="export_kind").set_value("fif")
    at.button(key="export_prepare").click().run()
    assert not at.exception
    data, name = at.session_state[K.EXPORT_FILE]
    out = tmp_path / name
    out.write_bytes(data)
    events = recording_events(read_recording(out))
    assert [s.label for s in events.sites] == [LABEL]
    assert len(events.twitches) >= len(view.twitches) > 0

    from twitchscope.dashboard.services.exporting import events_bytes

    csv = tmp_path / "events.csv"
    csv.write_bytes(events_bytes(view.attributed(source.sites.sites()), "csv"))
    back = read_events(csv)
    assert [round(t.onset_s, 6) for t in back] == [round(t.onset_s, 6) for t in view.twitches]

    at.switch_page("page_live.py").run()
    at.run()
    at.button(key="live_stop").click().run()
    assert acquisition_owner().source is None
    assert any(b.label == "Start" for b in at.button)


def test_the_page_opens_with_the_scope_alone_then_the_rest(app_path) -> None:
    """The run that opens the Live page while a source streams draws the scope alone (in
    its place under the controls, which stay empty): the browser fetches only the scope's
    code before the first trace. The next run draws the controls, counters and camera
    around it; the tables come one run later still in the browser (their first tick)."""
    from twitchscope.dashboard.services.live import LiveSpec

    acquisition_owner().start(LiveSpec(label_sim_sites=False))
    at = AppTest.from_file(app_path, default_timeout=60).run()
    assert not at.exception
    assert at.session_state[K.PAGE] == "Live" and at.session_state[K.PAGE_ENTERED]
    assert len(at.get("bidi_component")) == 1  # the scope
    assert len(at.metric) == 0 and len(at.tabs) == 0 and len(at.expander) == 0
    assert not [b for b in at.button if b.key == "live_stop"]
    at.run()
    assert not at.exception
    assert len(at.get("bidi_component")) == 1
    counters = ["Twitches", "At this site", "Stream time", "Needle"]
    assert [m.label for m in at.metric] == counters
    assert at.button(key="live_stop").label == "Stop"
    assert [e.label for e in at.expander] == ["Camera (saved with the recording)"]
    assert [t.label for t in at.tabs] == ["Events", "Per site", "Rejected", "Signal quality"]
    at.run()
    assert len(at.tabs) == 4 and [m.label for m in at.metric][:4] == counters
    # away and back: opening the page again draws the scope alone again
    at.switch_page("page_review.py").run()
    assert not at.exception and at.session_state[K.PAGE_ENTERED]
    at.switch_page("page_live.py").run()
    assert not at.exception and len(at.tabs) == 0 and len(at.metric) == 0
    at.run()
    assert len(at.tabs) == 4 and [m.label for m in at.metric][:4] == counters


def test_a_second_viewer_starts_from_the_first_viewers_view(app_path) -> None:
    """A second browser session on the live stream copies the first session's view (the
    detector's state where it has got) instead of detecting the last 10 s again; each
    then goes on alone, with its own scope."""
    from twitchscope.dashboard.services.live import LiveSpec

    acquisition_owner().start(LiveSpec(label_sim_sites=False))
    first = AppTest.from_file(app_path, default_timeout=60).run()
    first.run()
    assert not first.exception
    time.sleep(1.0)
    first.run()
    view1 = first.session_state[K.LIVE_VIEW]
    cursor1 = view1.cursor
    assert cursor1 > 0 and "live" in view1.feeds
    second = AppTest.from_file(app_path, default_timeout=60).run()
    assert not second.exception
    view2 = second.session_state[K.LIVE_VIEW]
    assert view2 is not view1 and view2.feeds is not view1.feeds
    # made from the first view's detector state (a new view designs its own filters)
    assert view2.detector.state.design is view1.detector.state.design
    assert view2.cursor >= cursor1 and view1.cursor == cursor1  # the first is not touched
    # the same twitches where both have looked
    start2, end1 = view2.trace_end / view2.sfreq - view2.window_s, cursor1 / view1.sfreq
    seen = [[t.onset_s for t in v.twitches if start2 <= t.onset_s < end1] for v in (view1, view2)]
    assert seen[0] == seen[1]
