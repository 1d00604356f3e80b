"""Expert review on the Review page under AppTest: verdicts saved, restored, added, promoted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from twitchscope.dashboard.services.review_analysis import ENV_REVIEW_DIR, review_location
from twitchscope.dashboard.services.stream_source import ENV_SOURCE
from twitchscope.signal.review.sidecar import read_review, review_path

pytestmark = pytest.mark.usefixtures("clean_dashboard")


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _progress(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "reviewed" in m.value and "·" in m.value)


def _open(app_path: str) -> AppTest:
    at = AppTest.from_file(app_path, default_timeout=90).run()
    at.switch_page("page_review.py").run()
    assert not at.exception
    return at


@pytest.fixture
def rec(limb_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / limb_file.name
    shutil.copy(limb_file, path)  # the shared fixture file must not get a review
    monkeypatch.setenv(ENV_SOURCE, str(path))
    return path


def test_review_verdicts_are_saved_and_restored(app_path: str, rec: Path) -> None:
    at = _open(app_path)
    n = int(_metric(at, "Twitches"))
    assert n > 2
    assert _metric(at, "Reviewed twitches") == "–"
    at.text_input(key="review_name_in").input("AL").run()
    at.button(key="review_start").click().run()
    assert _progress(at).startswith(f"**0 of {n} reviewed**")
    at.button(key="review_confirm").click().run()
    at.button(key="review_reject").click().run()
    assert not at.exception
    assert _progress(at).startswith(f"**2 of {n} reviewed**")
    rows = read_review(review_path(rec))
    assert [r.verdict for r in rows] == ["confirmed", "rejected"]
    assert {r.reviewer for r in rows} == {"AL"}
    assert _metric(at, "Reviewed twitches") == "1"
    # add a missed twitch by its time: measured like a detected one
    at.number_input(key="review_add_onset").set_value(50.0).run()
    at.button(key="review_add").click().run()
    rows = read_review(review_path(rec))
    added = [r for r in rows if r.verdict == "added"]
    assert [(round(r.onset_s, 3), round(r.offset_s, 3)) for r in added] == [(50.0, 50.08)]
    assert _metric(at, "Reviewed twitches") == "2"
    assert f"2 of {n} reviewed, 1 added" in _progress(at)
    # the agreement tab compares the detector with the review
    agreement = next(d.value for d in at.dataframe if "tp" in d.value.columns)
    overall = agreement[agreement["site"] == "overall"].iloc[0]
    assert (overall["tp"], overall["fn"]) == (1, 1)

    # a new session on the same file restores the review once the name is given
    again = _open(app_path)
    again.text_input(key="review_name_in").input("AL").run()
    again.button(key="review_start").click().run()
    assert f"2 of {n} reviewed, 1 added" in _progress(again)
    assert _metric(again, "Reviewed twitches") == "2"
    # a second reviewer keeps separate rows in the same file
    other = _open(app_path)
    other.text_input(key="review_name_in").input("BK").run()
    other.button(key="review_start").click().run()
    assert _progress(other).startswith(f"**0 of {n} reviewed**")
    other.button(key="review_confirm").click().run()
    rows = read_review(review_path(rec))
    assert sorted({r.reviewer for r in rows}) == ["AL", "BK"]
    assert sum(r.reviewer == "AL" for r in rows) == 3
    between = next(d.value for d in other.dataframe if "reviewer" in d.value.columns)
    (row,) = between.to_dict("records")
    assert row["reviewer"] == "AL" and row["twitches (theirs)"] == 2
    assert row["twitches (yours)"] == 1


def test_onset_adjust_and_promotion(app_path: str, rec: Path) -> None:
    at = _open(app_path)
    at.text_input(key="review_name_in").input("AL").run()
    at.button(key="review_start").click().run()
    onset_input = next(w for w in at.number_input if w.key.startswith("review_onset_0_"))
    new_onset = round(onset_input.value + 0.01, 3)
    onset_input.set_value(new_onset).run()
    at.button(key="review_apply_span").click().run()
    assert not at.exception
    (row,) = read_review(review_path(rec))
    assert row.verdict == "confirmed" and row.onset_s == pytest.approx(new_onset)
    assert int(_metric(at, "Rejected")) > 0
    before = int(_metric(at, "Reviewed twitches"))
    at.selectbox(key="review_promote_pick").set_value(0).run()
    at.button(key="review_promote").click().run()
    assert not at.exception
    rows = read_review(review_path(rec))
    promoted = [r for r in rows if r.verdict == "added"]
    assert len(promoted) == 1 and promoted[0].note.startswith("promoted from a candidate rejected")
    assert int(_metric(at, "Reviewed twitches")) == before + 1


def test_a_bundled_sample_is_reviewed_into_the_review_folder(
    app_path: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_REVIEW_DIR, str(tmp_path / "reviews"))
    at = _open(app_path)  # the preferred bundled sample is opened
    sample = Path(at.session_state["review_name"])
    where = review_location(sample)
    assert where.parent == tmp_path / "reviews" and where.name == review_path(sample).name
    at.text_input(key="review_name_in").input("AL").run()
    at.button(key="review_start").click().run()
    at.button(key="review_confirm").click().run()
    assert [r.verdict for r in read_review(where)] == ["confirmed"]
    assert not review_path(sample).exists()


def test_a_profile_from_the_command_line_drives_review_detection(
    app_path: str, rec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twitchscope.dashboard.app.review_panel import ENV_PROFILE
    from twitchscope.dashboard.cli.dashboard import ENV_PROFILE as CLI_ENV_PROFILE

    assert ENV_PROFILE == CLI_ENV_PROFILE
    prof = tmp_path / "deaf.toml"
    prof.write_text("[detector]\npreset = 'limb'\nk_on = 400.0\nk_on_low_rate = 400.0\n")
    monkeypatch.setenv(ENV_PROFILE, str(prof))
    at = _open(app_path)
    assert _metric(at, "Twitches") == "0"
    assert any("Detector profile: deaf.toml (preset limb, k_on=400" in c.value for c in at.caption)


def test_export_offers_the_reviewed_twitches(app_path: str, rec: Path) -> None:
    at = _open(app_path)
    n = int(_metric(at, "Twitches"))
    at.text_input(key="review_name_in").input("AL").run()
    at.button(key="review_start").click().run()
    at.button(key="review_confirm").click().run()
    at.button(key="review_reject").click().run()
    at.button(key="review_confirm").click().run()
    at.switch_page("page_export.py").run()
    assert not at.exception
    assert at.radio(key="export_from").value == "Review"
    captions = [c.value for c in at.caption]
    assert any(f"Reviewed twitches: 2 of the detector's {n}" in c for c in captions)
    assert any("**2** twitches" in m.value for m in at.markdown)
    # off: the detector's own twitches
    at.toggle(key="export_reviewed").set_value(False).run()
    assert any(f"**{n}** twitches" in m.value for m in at.markdown)
    # the FIF keeps the review as annotations with its extras
    at.radio(key="export_kind").set_value("fif")
    at.button(key="export_prepare").click().run()
    assert not at.exception
    data, name = at.session_state["export_file"]
    out = rec.parent / name
    out.write_bytes(data)
    from twitchscope.signal.io.readers import read_recording
    from twitchscope.signal.review.sidecar import verdicts_from_annotations

    raw = read_recording(out)
    back = verdicts_from_annotations(raw.annotations, first_time=raw.first_time)
    stored = read_review(review_path(rec))
    assert [(v.verdict, v.reviewer) for v in back] == [(v.verdict, v.reviewer) for v in stored]
    assert [round(v.onset_s, 3) for v in back] == [round(v.onset_s, 3) for v in stored]
    assert sorted(v.verdict for v in back) == ["confirmed", "confirmed", "rejected"]


def test_a_profile_drives_every_page_until_the_settings_drop_it(
    app_path: str, rec: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from twitchscope.dashboard.app.state import ENV_PROFILE, K

    prof = tmp_path / "strict.toml"
    prof.write_text("[detector]\npreset = 'trunk'\nk_on = 9.0\n")
    monkeypatch.setenv(ENV_PROFILE, str(prof))
    at = AppTest.from_file(app_path, default_timeout=90).run()
    settings = at.session_state[K.SETTINGS]
    assert settings.profile == str(prof) and settings.preset == "trunk"
    cfg = settings.config()
    assert (cfg.k_on, cfg.hp_hz) == (9.0, 30.0)  # the live and replay detectors use it too
    at.switch_page("page_settings.py").run()
    assert at.checkbox(key="settings_use_profile").value is True
    at.checkbox(key="settings_use_profile").uncheck()
    at.radio(key="settings_preset").set_value("limb")
    at.number_input(key="settings_k_on").set_value(4.5)
    at.button[0].click().run()
    assert not at.exception
    settings = at.session_state[K.SETTINGS]
    assert settings.profile is None and settings.config().hp_hz == 20.0


def _select_on_zoom(at: AppTest, selection: dict) -> AppTest:
    """Rerun as the browser does after a click or drag on the zoomed trace.

    Streamlit's frontend sends a Plotly chart's selection as a JSON string value of the
    chart's widget state (``{"selection": {"points": ..., "box": ...}}``); AppTest has no
    interaction for charts, so the message is built here and sent with the other widgets'.
    """
    (chart,) = [c for c in at.get("plotly_chart") if c.key == "review_zoom_marks"]
    states = at._tree.get_widget_states()
    state = states.widgets.add()
    state.id = chart.proto.id
    state.string_value = json.dumps(
        {"selection": {"points": [], "point_indices": [], "box": [], "lasso": [], **selection}}
    )
    return at._run(states)


def test_a_missed_twitch_is_added_by_clicking_or_dragging_on_the_trace(
    app_path: str, rec: Path
) -> None:
    at = _open(app_path)
    assert not [c for c in at.get("plotly_chart") if c.key == "review_zoom_marks"]
    at.text_input(key="review_name_in").input("AL").run()
    at.button(key="review_start").click().run()
    names = list(at.selectbox(key="review_add_channel").options)
    assert len(names) >= 2
    # a click on the second channel's row: the invisible markers trace of that channel
    # is curve n_channels + 1
    at = _select_on_zoom(
        at, {"points": [{"curve_number": len(names) + 1, "point_index": 5, "x": 4.2, "y": 1.0}]}
    )
    assert not at.exception
    assert at.number_input(key="review_add_onset").value == pytest.approx(4.2)
    assert at.selectbox(key="review_add_channel").value == names[1]
    assert any(f"Marked on the trace: 4.200 s on {names[1]}" in c.value for c in at.caption)
    at.button(key="review_add").click().run()
    assert not at.exception
    (row,) = read_review(review_path(rec))
    assert (row.verdict, row.channel) == ("added", names[1])
    assert (row.onset_s, row.offset_s) == pytest.approx((4.2, 4.28))
    assert _metric(at, "Reviewed twitches") == "1"
    # a drag across the first channel's row marks onset and offset
    drag = {"box": [{"xref": "x", "yref": "y", "x": [6.35, 6.2], "y": [0, 1]}]}
    at = _select_on_zoom(at, drag)
    assert at.number_input(key="review_add_duration").value == pytest.approx(150.0)
    at.button(key="review_add").click()
    at = _select_on_zoom(at, drag)  # the browser keeps sending the chart's selection
    rows = sorted(read_review(review_path(rec)), key=lambda r: r.onset_s)
    assert [(r.channel, round(r.onset_s, 3), round(r.offset_s, 3)) for r in rows] == [
        (names[1], 4.2, 4.28),
        (names[0], 6.2, 6.35),
    ]
    assert at.session_state["review_draft"].n_added == 2
    assert _metric(at, "Reviewed twitches") == "2"
    # the same selection sent again on a later rerun does not mark again
    at = _select_on_zoom(at, drag)
    assert not at.exception
    assert not any("Marked on the trace" in c.value for c in at.caption)
    assert len(read_review(review_path(rec))) == 2


def test_a_mark_on_the_trace_moves_the_twitch_under_review(app_path: str, rec: Path) -> None:
    at = _open(app_path)
    at.text_input(key="review_name_in").input("AL").run()
    at.button(key="review_start").click().run()
    first = at.session_state["review_draft"].items[0]
    names = list(at.selectbox(key="review_add_channel").options)
    row = names.index(first.channel)
    onset = round(first.onset_s + 0.012, 3)
    axis = "x" if row == 0 else f"x{row + 1}"
    at = _select_on_zoom(
        at, {"box": [{"xref": axis, "yref": axis.replace("x", "y"), "x": [onset, onset + 0.1]}]}
    )
    at.button(key="review_span_from_mark").click().run()
    assert not at.exception
    (saved,) = read_review(review_path(rec))
    assert saved.verdict == "confirmed"
    assert (saved.onset_s, saved.offset_s) == pytest.approx((onset, onset + 0.1))
