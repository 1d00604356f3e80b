"""The dashboard's live source publishing on LSL: EMG, and needle markers, read back by name."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboard.services.lsl_loopback import open_inlet, pull_markers, pull_numeric
from twitchscope.dashboard.app.state import acquisition_owner
from twitchscope.dashboard.services.live import LiveSource, LiveSpec
from twitchscope.dashboard.services.stream_source import SIMULATED


def test_live_source_publishes_its_emg_and_needle_spans() -> None:
    name = f"ts-live-{uuid.uuid4().hex[:10]}"
    spec = LiveSpec(
        port=SIMULATED, protocol="cyton", label_sim_sites=False, lsl=True, lsl_name=name
    )
    source = LiveSource(spec).start()
    try:
        emg, markers = open_inlet(name), open_inlet(f"{name}-markers")
        values, stamps = pull_numeric(emg, 200)
        t_in = source.now_s()
        source.sites.needle_in("R trapezius TrP1", t_in)
        deadline = time.monotonic() + 10
        while source.now_s() < t_in + 0.5 and time.monotonic() < deadline:
            time.sleep(0.05)
        t_out = source.now_s()
        source.sites.needle_out(t_out)
        got = pull_markers(markers, 2)
        publisher = source.lsl_publisher
        assert publisher is not None and publisher.start_time is not None
        blocks, _ = source.read_since(source.start_sample())
    finally:
        source.stop()
    assert source.lsl_error == ""
    assert values.shape == (200, len(source.ch_names))
    # what was published is what the live view reads, in µV, stamped by sample index
    whole = np.concatenate([b.data for b in blocks], axis=1)
    first = blocks[0].first_sample
    index = np.rint((stamps - publisher.start_time) * source.sfreq).astype(int) - first
    assert index[0] >= 0 and np.all(np.diff(index) == 1)
    np.testing.assert_allclose(values, np.float32(whole[:, index].T * 1e6), rtol=0, atol=0)
    assert [m for m, _ in got] == ["needle:R trapezius TrP1", "needle-out"]
    np.testing.assert_allclose(
        [t for _, t in got],
        [publisher.timestamp(t_in * source.sfreq), publisher.timestamp(t_out * source.sfreq)],
        atol=1e-6,
    )


@pytest.mark.usefixtures("clean_dashboard")
def test_live_page_checkbox_starts_publishing(app_path: str) -> None:
    at = AppTest.from_file(app_path, default_timeout=60).run()
    assert not at.exception
    at.checkbox(key="live_lsl").check()
    at.button(key="live_start").click().run()
    assert not at.exception
    source = acquisition_owner().source
    assert source is not None and source.running
    assert source.spec.lsl and source.lsl_publisher is not None
    name = source.spec.lsl_name
    emg = open_inlet(name)
    values, _ = pull_numeric(emg, 50)
    assert values.shape == (50, len(source.ch_names))
    assert "published on LSL" in " ".join(c.value for c in at.caption)
