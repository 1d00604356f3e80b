"""Shared fixtures of the dashboard tests: a simulated recording file, clean Streamlit caches."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from twitchscope.dashboard.services.stream_source import ENV_PROTOCOL, ENV_SOURCE

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app" / "streamlit_app.py")


@pytest.fixture(scope="session")
def limb_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """80 s of the simulator's limb scenario at 1 kHz, with its needle sites, as FIF."""
    from twitchscope.signal import simulate
    from twitchscope.signal.io.writers import write_recording

    cfg = simulate.preset("limb", sfreq=1000.0)
    sim = simulate.simulate(cfg, duration_s=80.0, seed=1)
    path = tmp_path_factory.mktemp("rec") / "limb_raw.fif"
    write_recording(sim.to_raw(annotate_twitches=False), path)
    return path


@pytest.fixture(scope="session")
def app_path() -> str:
    """The dashboard's entry script."""
    return APP


def _live_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("twitchscope-")]


@pytest.fixture
def clean_dashboard(monkeypatch: pytest.MonkeyPatch):
    """No --source unless a test sets one; stop live threads and clear caches afterwards.

    Used by the dashboard app tests (``pytestmark = pytest.mark.usefixtures(...)``).
    """
    monkeypatch.delenv(ENV_SOURCE, raising=False)
    monkeypatch.delenv(ENV_PROTOCOL, raising=False)
    yield
    import streamlit as st

    from twitchscope.dashboard.app.state import acquisition_owner

    acquisition_owner().stop()
    st.cache_resource.clear()
    st.cache_data.clear()
    assert _live_threads() == [], "a test left acquisition threads running"
