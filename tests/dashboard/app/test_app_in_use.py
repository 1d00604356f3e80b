"""The dashboard used the way a trainer uses it, under AppTest.

Buttons and toggles pressed while the simulated amplifier streams never raise; a
replay started and left for other pages plays to its end, and every page shows all
its twitches when the user comes back.
"""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from twitchscope.dashboard.app.state import K, acquisition_owner
from twitchscope.dashboard.services.stream_source import ENV_SOURCE
from twitchscope.signal.detect.config import preset
from twitchscope.signal.detect.run import detect_raw
from twitchscope.signal.io.readers import read_recording

pytestmark = pytest.mark.usefixtures("clean_dashboard")


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def test_ten_rounds_of_needle_and_toggles_while_streaming(app_path) -> None:
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.checkbox(key="live_sim_label").uncheck()
    at.button(key="live_start").click().run()
    _no_exception(at)
    source = acquisition_owner().source
    assert source is not None and source.running
    at.selectbox(key="live_site_side").select("L")
    at.selectbox(key="live_site_muscle").select("infraspinatus").run()
    for i in range(10):
        at.button(key="live_site_in").click().run()
        _no_exception(at)
        assert source.sites.active is not None
        at.toggle(key=K.SHOW_REJECTED).set_value(i % 2 == 0).run()
        _no_exception(at)
        at.run()  # what the timer of the live panel does
        _no_exception(at)
        at.button(key="live_site_out").click().run()
        _no_exception(at)
        assert source.sites.active is None
        time.sleep(0.1)
    view = at.session_state[K.LIVE_VIEW]
    assert len(source.sites.sites()) == 10
    # the ten presses at one site are ten insertions in the per-site table
    (per_site,) = [d.value for d in at.dataframe if "insertions" in d.value.columns]
    (label,) = {s.label for s in source.sites.sites()}
    assert label.startswith("L infraspinatus")
    row = per_site[per_site["site"] == label].iloc[0]
    assert row["insertions"] == 10
    n = int(row["twitches"])
    assert row["yield_per_insertion"] == (round(n / 10, 2) if n else 0.0)
    assert view.trace_end > 0 and view.cursor == view.trace_end
    assert int(float(_metric(at, "Stream time").split()[0])) >= 0


def test_a_replay_left_for_other_pages_ends_with_all_its_twitches(
    app_path, limb_file, monkeypatch
) -> None:
    monkeypatch.setenv(ENV_SOURCE, str(limb_file))
    at = AppTest.from_file(app_path, default_timeout=60).run()
    player = at.session_state[K.REPLAY]
    assert player.playing
    at.select_slider(key="replay_speed").set_value(8.0).run()
    _no_exception(at)
    at.switch_page("page_review.py").run()
    _no_exception(at)
    at.switch_page("page_export.py").run()
    _no_exception(at)
    # Export offers first what the user worked on last: Review, after Review
    assert at.radio(key="export_from").value == "Review"
    deadline = time.monotonic() + 60
    while not player.at_end and time.monotonic() < deadline:
        time.sleep(0.5)
    assert player.at_end
    raw = read_recording(limb_file, preload=True)
    expected, rejected = detect_raw(raw, preset("limb"))
    assert len(expected) > 5
    # Export, shown while it ended, offers every twitch of the replay
    at.run()
    _no_exception(at)
    at.radio(key="export_from").set_value("Replay").run()
    summary = " ".join(m.value for m in at.markdown)
    assert f"**{len(expected)}** twitches" in summary
    # back on Replay: the stream time is the end, and the table lists them all
    at.switch_page("page_replay.py").run()
    _no_exception(at)
    assert _metric(at, "Stream time") == f"{raw.times[-1] + 1 / raw.info['sfreq']:.1f} s"
    assert int(_metric(at, "Twitches")) == len(expected)
    table = at.dataframe[0].value
    assert list(table["onset_s"]) == [round(t.onset_s, 3) for t in expected]
    # headers read as words (the data keeps the export's column names)
    config = json.loads(at.dataframe[0].proto.columns)
    headers = {c: v["label"] for c, v in config.items() if c != "_index"}  # hidden index
    assert set(headers) == set(table.columns)
    assert headers["latency_ms"] == "since needle in (ms)"
    assert all("_" not in label for label in headers.values())
    view = at.session_state[K.REPLAY_VIEW]
    assert [r.onset_s for r in view.rejected] == [r.onset_s for r in rejected]
    # Teaching mode shows the same count
    at.switch_page("page_teaching.py").run()
    _no_exception(at)
    html = " ".join(h.proto.body for h in at.get("html"))
    assert f'<div class="ts-big-n">{len(expected)}</div>' in html


def _scope(at: AppTest, key: str = "live_scope") -> dict:
    """The data the page handed the scope component in the last run."""
    (scope,) = [c for c in at.get("bidi_component") if c.proto.id.endswith(key)]
    return json.loads(scope.proto.json)


def test_sound_freeze_and_keyboard_shortcuts_on_the_live_page(app_path) -> None:
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.button(key="live_start").click().run()
    _no_exception(at)
    # keyboard shortcuts: I = needle in, O = needle out, F = freeze (Streamlit's own, which
    # do not fire while the user types in a field)
    assert at.button(key="live_site_in").proto.shortcut.upper() == "I"
    assert at.button(key="live_site_out").proto.shortcut.upper() == "O"
    assert at.button(key="live_freeze").proto.shortcut.upper() == "F"

    # each run hands the scope only new bins, numbered on from the last run
    deadline = time.monotonic() + 30
    while not _scope(at)["chunks"] and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
    first = _scope(at)
    assert first["click"] is False and first["audio"] is False
    time.sleep(0.5)
    at.run()
    data = _scope(at)
    seqs = [c["seq"] for c in data["chunks"]]
    assert seqs == sorted(seqs) and seqs[-1] > first["chunks"][-1]["seq"]
    assert data["chunks"][-1]["b0"] > first["chunks"][-1]["b0"]

    # the click: on, the scope clicks (in the browser) for each twitch flagged from now on
    at.toggle(key=K.SOUND).set_value(True).run()
    assert _scope(at)["click"] is True
    # the EMG audio monitor: the chunks carry the sound of the channel chosen
    assert at.selectbox(key="live_audio_ch").disabled
    at.toggle(key="live_audio").set_value(True).run()
    _no_exception(at)
    at.selectbox(key="live_audio_ch").select(at.session_state[K.LIVE_VIEW].ch_names[1]).run()
    time.sleep(0.5)
    at.run()
    data = _scope(at)
    assert data["audio"] is True and data["audio_rate"] >= 8000
    assert "audio" in data["chunks"][-1]
    at.toggle(key="live_audio").set_value(False).run()
    time.sleep(0.5)
    at.run()
    data = _scope(at)
    assert data["audio"] is False and "audio" not in data["chunks"][-1]

    deadline = time.monotonic() + 60
    while not at.session_state[K.LIVE_VIEW].twitches and time.monotonic() < deadline:
        time.sleep(0.3)
        at.run()
        _no_exception(at)
    assert at.session_state[K.LIVE_VIEW].twitches, "no twitch was flagged within 60 s"
    assert _scope(at)["twitches"]

    # freeze: the view stays on the last twitch while detection goes on
    at.button(key="live_freeze").click().run()
    _no_exception(at)
    assert at.session_state[K.FREEZE]
    assert at.button(key="live_freeze").label == "Go on"
    frozen = _scope(at)["frozen"]
    last = at.session_state[K.LIVE_VIEW].twitches[-1]
    assert frozen[0] <= last.onset_s <= frozen[1]
    assert any(f"Last twitch at {last.onset_s:.2f} s" in c.value for c in at.caption)
    cursor = at.session_state[K.LIVE_VIEW].cursor
    seq = _scope(at)["chunks"][-1]["seq"]
    time.sleep(1.0)
    at.run()
    assert _scope(at)["frozen"] == frozen
    assert at.session_state[K.LIVE_VIEW].cursor > cursor  # detection went on
    assert _scope(at)["chunks"][-1]["seq"] > seq  # and the scope is still fed
    at.button(key="live_freeze").click().run()
    assert not at.session_state[K.FREEZE]
    assert _scope(at)["frozen"] is None
    # the picture for Export follows the view
    view = at.session_state[K.CURRENT_VIEW]
    assert view is not None and len(view.ch_names) == 8


def test_channel_names_and_a_site_picker_that_follows_the_session(app_path) -> None:
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.text_input(key="live_names").input("a,b,c")
    at.button(key="live_start").click().run()
    _no_exception(at)
    assert acquisition_owner().source is None
    (error,) = at.error
    assert "got 3 channel names (a, b, c) for the 8 channels" in error.value

    names = [f"m{i}" for i in range(8)]
    at.text_input(key="live_names").input(",".join(names))
    at.button(key="live_start").click().run()
    _no_exception(at)
    source = acquisition_owner().source
    assert source is not None and source.ch_names == tuple(names)
    assert at.session_state[K.LIVE_VIEW].ch_names == tuple(names)
    # the simulated amplifier labels its scenario's first site: the picker shows it
    deadline = time.monotonic() + 40
    while not source.sites.sites(source.now_s()) and time.monotonic() < deadline:
        time.sleep(0.5)
    (site, *_) = source.sites.sites(source.now_s())
    at.run()
    _no_exception(at)
    assert at.selectbox(key="live_site_muscle").value == site.muscle == "infraspinatus"
    assert at.selectbox(key="live_site_side").value == site.side
    assert at.selectbox(key="live_site_point").value == site.point_id
    assert any(f"Next label: **{site.label}**" in c.value for c in at.caption)
    # the user's own choice stays until another site appears
    at.selectbox(key="live_site_muscle").select("deltoid").run()
    assert at.selectbox(key="live_site_muscle").value == "deltoid"
