"""Replay and review of a recording file under AppTest, and settings changing detection."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.signal.io.xdf_writer import write_lab_recording
from twitchscope.dashboard.app.state import K
from twitchscope.dashboard.services.stream_source import ENV_SOURCE
from twitchscope.signal.detect.config import preset
from twitchscope.signal.detect.run import detect_raw
from twitchscope.signal.io.readers import read_recording

pytestmark = pytest.mark.usefixtures("clean_dashboard")


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_replay_plays_detects_pauses_and_seeks(app_path, limb_file, monkeypatch) -> None:
    monkeypatch.setenv(ENV_SOURCE, str(limb_file))
    at = AppTest.from_file(app_path, default_timeout=60).run()
    player = at.session_state[K.REPLAY]
    assert player.playing and player.recording.name == limb_file.name
    at.select_slider(key="replay_speed").set_value(8.0).run()
    assert player.speed == 8.0
    # run_every never fires under AppTest: rerun by hand until a twitch is in the table
    for _ in range(40):
        time.sleep(0.5)
        at.run()
        if int(_metric(at, "Twitches")) > 0:
            break
    assert not at.exception
    n = int(_metric(at, "Twitches"))
    assert n > 0
    table = at.dataframe[0].value
    assert len(table) == n
    assert list(table.columns[:3]) == ["onset_s", "site", "channel"]
    # the simulated needle sites of the file are 6-36 s and 44-74 s: twitches there are attributed
    first = table.iloc[0]
    assert first["site"].startswith("R medial gastrocnemius") == (6.0 <= first["onset_s"] < 36.0)
    at.button(key="replay_pause").click().run()
    assert not player.playing
    assert at.button(key="replay_play").label == "Play"  # the page shows the new state at once
    paused_at = player.now_s()
    time.sleep(0.3)
    at.run()
    assert player.now_s() == paused_at
    # jump back to 5 s: detection restarts there, earlier twitches (none before 5 s) are kept
    at.slider(key="replay_seek_to").set_value(5.0).run()
    at.button(key="replay_seek").click().run()
    assert abs(player.now_s() - 5.0) < 1e-9
    view = at.session_state[K.REPLAY_VIEW]
    assert all(t.onset_s < 5.0 for t in view.twitches)
    assert view.cursor == 5000


def test_review_matches_offline_detection_and_reruns_on_settings(app_path, limb_file, monkeypatch):
    monkeypatch.setenv(ENV_SOURCE, str(limb_file))
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.switch_page("page_review.py").run()
    assert not at.exception
    raw = read_recording(limb_file, preload=True)
    expected, rejected = detect_raw(raw, preset("limb"))
    assert _metric(at, "Twitches") == str(len(expected))
    assert _metric(at, "Rejected") == str(len(rejected))
    assert _metric(at, "Needle sites") == "2"
    assert _metric(at, "Duration") == "80.0 s"
    table = at.dataframe[0].value
    assert list(table["onset_s"]) == [round(t.onset_s, 3) for t in expected]
    # the per-site summary has one row per site, its counts adding up to the twitches in sites
    summary = at.dataframe[1].value
    assert list(summary["site"][:2]) == [
        "R medial gastrocnemius TrP1",
        "R medial gastrocnemius TrP2",
    ]
    in_sites = sum(1 for t in expected if 6.0 <= t.onset_s < 36.0 or 44.0 <= t.onset_s < 74.0)
    assert summary["twitches"][:2].sum() == in_sites
    assert summary["rest_before_rms_uv"][:2].notna().all()
    assert summary["rest_after_rms_uv"][:2].notna().all()

    # stricter settings: detection re-runs with them
    at.switch_page("page_settings.py").run()
    at.number_input(key="settings_k_on").set_value(6.0)
    at.number_input(key="settings_k_off").set_value(3.0)
    at.button[0].click().run()  # the form's Apply
    assert not at.exception
    assert at.session_state[K.SETTINGS].k_on == 6.0
    at.switch_page("page_review.py").run()
    strict, _ = detect_raw(raw, preset("limb", k_on=6.0, k_off=3.0))
    assert _metric(at, "Twitches") == str(len(strict))
    assert len(strict) < len(expected)


def test_bad_settings_are_refused_with_one_line(app_path) -> None:
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.switch_page("page_settings.py").run()
    at.number_input(key="settings_min_ms").set_value(900.0)
    at.number_input(key="settings_max_ms").set_value(100.0)
    at.button[0].click().run()
    assert not at.exception
    assert "min_duration_s" in at.error[0].value
    assert at.session_state[K.SETTINGS].min_duration_s is None  # not applied


def test_upload_checks_format_and_opens_a_good_file(app_path, limb_file) -> None:
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.switch_page("page_review.py").run()
    before = at.session_state[K.REVIEW]  # the bundled sample opened first, if any
    uploader = at.get("file_uploader")[0]
    # other extensions are refused by the uploader itself (type=...), and by check_upload
    assert sorted(uploader.allowed_type) == [
        ".bdf",
        ".csv",
        ".edf",
        ".fif",
        ".tsv",
        ".txt",
        ".wav",
        ".xdf",
        ".xdfz",
    ]
    uploader.set_value(("broken.edf", b"0" * 300, "application/octet-stream")).run()
    assert not at.exception
    assert at.session_state[K.REVIEW] is before  # nothing replaced by a broken file
    assert any("broken.edf" in e.value for e in at.error)  # the reader's one-line error
    assert not any("broken.edf" in o for o in at.selectbox(key="review_choice").options)
    uploader = at.get("file_uploader")[0]
    uploader.set_value(("limb_raw.fif", limb_file.read_bytes(), "application/octet-stream")).run()
    assert not at.exception
    rec = at.session_state[K.REVIEW]
    assert rec is not None and rec.name == "limb_raw.fif" and rec.n_samples == 80_000
    assert _metric(at, "Needle sites") == "2"


def test_rejected_candidates_shown_on_request(app_path, limb_file, monkeypatch) -> None:
    monkeypatch.setenv(ENV_SOURCE, str(limb_file))
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.switch_page("page_review.py").run()
    assert at.session_state[K.CURRENT_VIEW].rejected == ()
    at.toggle(key=K.SHOW_REJECTED).set_value(True).run()
    assert not at.exception
    view = at.session_state[K.CURRENT_VIEW]
    raw = read_recording(limb_file, preload=True)
    _, rejected = detect_raw(raw, preset("limb"))
    lo, hi = view.x_range
    shown = [r for r in rejected if r.offset_s >= lo and r.onset_s <= hi]
    assert [r.onset_s for r in view.rejected] == [r.onset_s for r in shown]
    table = at.dataframe[2].value  # the Rejected tab: every candidate with its reason
    assert list(table["reason"]) == [r.reason.value for r in rejected]


def test_selected_event_is_zoomed_in_review(app_path, limb_file, monkeypatch) -> None:
    """The zoom of the selected row (AppTest cannot click a dataframe row: set the app's state)."""
    monkeypatch.setenv(ENV_SOURCE, str(limb_file))
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.switch_page("page_review.py").run()

    def zoomed() -> list[str]:
        titles = [
            (json.loads(c.proto.spec)["layout"].get("title") or {}).get("text", "")
            for c in at.get("plotly_chart")
        ]
        return [t for t in titles if "µV peak" in t]

    assert zoomed() == []
    at.session_state[K.REVIEW_SELECTED] = 1
    at.run()
    assert not at.exception
    (spec,) = zoomed()
    raw = read_recording(limb_file, preload=True)
    second = detect_raw(raw, preset("limb"))[0][1]
    assert f"{second.channel}: {second.peak_v * 1e6:.0f} µV peak" in spec
    # the zoom window moved to that twitch
    lo, hi = at.session_state[K.CURRENT_VIEW].x_range
    assert lo <= second.onset_s <= hi and hi - lo <= 5.0


def test_an_uploaded_xdf_opens_with_its_needle_sites(app_path, tmp_path) -> None:
    """A LabRecorder file (EMG stream plus twitchscope's marker stream) opens in Review."""
    x = np.random.default_rng(3).standard_normal((4000, 2)).astype(np.float32) * 20  # µV
    path = write_lab_recording(
        tmp_path / "lab.xdf",
        x,
        sfreq=1000.0,
        start_s=50.0,
        markers=[(51.0, "needle:R MG TrP1"), (52.5, "needle-out")],
    )
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.switch_page("page_review.py").run()
    uploader = at.get("file_uploader")[0]
    uploader.set_value(("lab.xdf", path.read_bytes(), "application/octet-stream")).run()
    assert not at.exception and not at.error
    rec = at.session_state[K.REVIEW]
    assert rec is not None and rec.name == "lab.xdf" and rec.ch_names == ("R-MG", "R-LG")
    assert rec.sfreq == 1000.0 and rec.n_samples == 4000
    np.testing.assert_allclose(rec.data, x.T.astype(np.float64) * 1e-6, rtol=1e-6)
    [site] = rec.events.sites
    assert site.label == "R MG TrP1"
    assert abs(site.onset_s - 1.0) < 2e-3 and abs(site.duration_s - 1.5) < 2e-3


def test_upload_of_a_file_without_its_rate_takes_the_rate_told(app_path) -> None:
    """A headerless numeric log says neither rate nor units: the page asks, then opens it."""
    rng = np.random.default_rng(0)
    text = "\n".join(f"{a:.2f},{b:.2f}" for a, b in rng.standard_normal((3000, 2)) * 5.0)
    data = text.encode()
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.switch_page("page_review.py").run()
    at.get("file_uploader")[0].set_value(("sketch.txt", data, "text/plain")).run()
    assert not at.exception
    errors = [e.value for e in at.error if "sketch.txt" in e.value]
    assert errors and "Rate and units" in errors[0]
    assert not any("sketch" in o for o in at.selectbox(key="review_choice").options)
    at.number_input(key="review_sfreq").set_value(500.0).run()
    at.number_input(key="review_uv_per_unit").set_value(2.0).run()
    at.get("file_uploader")[0].set_value(("sketch2.txt", data, "text/plain")).run()
    assert not at.exception
    rec = at.session_state[K.REVIEW]
    assert rec is not None and rec.name == "sketch2.txt"
    assert rec.sfreq == 500.0 and rec.n_samples == 3000
    first = float(text.split(",", 1)[0])
    assert rec.data[0, 0] == pytest.approx(first * 2.0e-6)  # 2 µV per unit
