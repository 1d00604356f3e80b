"""Every page of the dashboard renders under AppTest, without a source and with a file."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from twitchscope.dashboard.services.stream_source import ENV_SOURCE

pytestmark = pytest.mark.usefixtures("clean_dashboard")

PAGES = [
    "page_live.py",
    "page_replay.py",
    "page_review.py",
    "page_teaching.py",
    "page_settings.py",
    "page_export.py",
]


def test_every_page_renders_without_a_source(app_path) -> None:
    at = AppTest.from_file(app_path, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Live"
    assert any(b.label == "Start" for b in at.button)
    titles = {}
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, page
        titles[page] = at.title[0].value
    assert titles == {
        "page_live.py": "Live",
        "page_replay.py": "Replay",
        "page_review.py": "Review",
        "page_teaching.py": "Teaching mode",
        "page_settings.py": "Settings",
        "page_export.py": "Export",
    }
    # nothing to show yet is said plainly, not an error
    assert not at.error


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_a_file_source(app_path, limb_file, monkeypatch, page) -> None:
    monkeypatch.setenv(ENV_SOURCE, str(limb_file))
    at = AppTest.from_file(app_path, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Replay"  # a file source opens in Replay
    at.switch_page(page).run()
    assert not at.exception
    assert not at.error


def test_bundled_samples_are_offered_and_open(app_path) -> None:
    from twitchscope.dashboard.app.state import K
    from twitchscope.dashboard.services.recordings import sample_recordings

    samples = sample_recordings()
    assert samples, "sample_recordings/ holds no recording"
    at = AppTest.from_file(app_path, default_timeout=60).run()
    at.switch_page("page_replay.py").run()
    assert not at.exception
    options = at.selectbox(key="replay_choice").options
    assert [o for o in options if o.endswith("(sample)")] == [f"{p.name} (sample)" for p in samples]
    player = at.session_state[K.REPLAY]
    assert player is not None and player.recording.name.startswith("gastrocnemius")
    assert not player.playing  # a sample waits for Play; a --source FILE plays at once
    assert all(
        not o.endswith((".truth.csv (sample)", ".confounders.csv (sample)")) for o in options
    )


def test_a_serial_source_that_cannot_open_is_said_once_and_not_retried(
    app_path, monkeypatch
) -> None:
    from twitchscope.dashboard.app.state import acquisition_owner, autostart_live_source

    port = "/dev/ttyTWITCHSCOPE-MISSING"
    monkeypatch.setenv(ENV_SOURCE, port)
    at = AppTest.from_file(app_path, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Live"
    said = [e.value for e in at.error if port in e.value]
    assert len(said) == 1 and "cannot open serial port" in said[0]
    assert acquisition_owner().source is None
    assert any(b.label == "Start" for b in at.button)  # the user can pick another source
    # once per server process: a second visit is not a second attempt
    assert autostart_live_source() == ""
    again = AppTest.from_file(app_path, default_timeout=60).run()
    assert not again.exception
    assert acquisition_owner().source is None
