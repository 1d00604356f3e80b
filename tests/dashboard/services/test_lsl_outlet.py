"""LSL publishing on loopback: what an inlet pulls equals what was published.

The streams are resolved by name with pylsl, as LabRecorder would, under a liblsl
configuration that keeps every packet on 127.0.0.1 (see ``lsl_loopback``).
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import numpy as np
import pylsl
import pytest

from tests.dashboard.services.lsl_loopback import (
    open_inlet,
    pull_markers,
    pull_numeric,
    write_lab_xdf,
)
from twitchscope.dashboard.services.lsl_outlet import (
    EMG_UNIT,
    LSL_MISSING,
    LslPublisher,
    LslRelay,
    format_twitch_marker,
    import_pylsl,
    parse_marker_fields,
)
from twitchscope.signal import simulate
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import SampleBlock, Twitch
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.run import detect_array
from twitchscope.signal.io.readers import read_recording

SFREQ = 487.0
CH = ("APB", "FDI", "ADM")


def _name() -> str:
    return f"ts-test-{uuid.uuid4().hex[:10]}"


def test_emg_and_markers_round_trip_on_loopback() -> None:
    """Values (float32 µV), count, sample-index timestamps with a gap, metadata, markers."""
    x = np.random.default_rng(0).standard_normal((3, 1500)) * 80e-6
    name = _name()
    start = pylsl.local_clock() + 100.0  # any fixed LSL time base
    with LslPublisher(sfreq=SFREQ, ch_names=CH, name=name, start_time=start) as pub:
        emg, markers = open_inlet(name), open_inlet(f"{name}-markers")
        assert pub.have_consumers()
        # 600 samples, then 9 lost, then the rest in uneven blocks (one empty)
        cuts = [0, 250, 250, 600]
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            pub.push_block(SampleBlock(x[:, a:b], sfreq=SFREQ, first_sample=a, ch_names=CH))
        for a in range(600, 1500, 300):
            block = x[:, a : a + 300]
            pub.push_block(
                SampleBlock(
                    block,
                    sfreq=SFREQ,
                    first_sample=a + 9,
                    ch_names=CH,
                    n_lost_before=9 if a == 600 else 0,
                )
            )
        twitches = [
            Twitch(onset_s=0.5, offset_s=0.56, channel="FDI", peak_v=212.34e-6),
            Twitch(onset_s=2.0, offset_s=2.03, channel="APB", peak_v=95e-6, site="R hand TrP 1"),
        ]
        pub.push_twitches(twitches)
        values, stamps = pull_numeric(emg, 1500)
        got_markers = pull_markers(markers, 2)
        info = emg.info(timeout=5)

    assert values.shape == (1500, 3)
    np.testing.assert_array_equal(values, (x.T * 1e6).astype(np.float32))
    index = np.r_[0:600, 609:1509]
    np.testing.assert_allclose(stamps, start + index / SFREQ, rtol=0, atol=1e-6)

    assert (info.type(), info.channel_count(), info.nominal_srate()) == ("EMG", 3, SFREQ)
    assert info.channel_format() == pylsl.cf_float32
    ch = info.desc().child("channels").child("channel")
    labels, units = [], []
    while not ch.empty():
        labels.append(ch.child_value("label"))
        units.append(ch.child_value("unit"))
        ch = ch.next_sibling()
    assert labels == list(CH) and units == [EMG_UNIT] * 3

    assert [m for m, _ in got_markers] == [
        "LTR channel=FDI peak_uv=212.3 duration_ms=60.0",
        'LTR channel=APB peak_uv=95.0 duration_ms=30.0 site="R hand TrP 1"',
    ]
    np.testing.assert_allclose([t for _, t in got_markers], [start + 0.5, start + 2.0], atol=1e-6)


def test_an_inlet_that_connects_while_a_block_is_sent_gets_true_timestamps() -> None:
    """LabRecorder started while the stream runs: every sample carries its own time.

    With only the block's newest sample stamped, liblsl sends the others as "deduced",
    and an inlet that connects in the middle of a block deduced them from zero (measured:
    4 of 15 such inlets got timestamps near 0)."""
    import threading
    import time

    name = _name()
    n = 20_000  # long blocks: an inlet is likely to connect inside one
    start = pylsl.local_clock()
    with LslPublisher(sfreq=SFREQ, ch_names=CH, name=name, start_time=start) as pub:
        stop = threading.Event()

        def push() -> None:
            first = 0
            x = np.zeros((len(CH), n))
            while not stop.is_set():
                pub.push_block(SampleBlock(x, sfreq=SFREQ, first_sample=first, ch_names=CH))
                first += n
                time.sleep(0.001)

        pusher = threading.Thread(target=push, daemon=True)
        pusher.start()
        try:
            for _ in range(12):
                inlet = open_inlet(name)
                _, stamps = pull_numeric(inlet, 50)
                inlet.close_stream()
                assert stamps.size == 50
                index = (stamps - start) * SFREQ
                # sample indexes, consecutive, from the time base: never deduced from 0
                assert index.min() >= -1e-3
                np.testing.assert_allclose(index, np.round(index), atol=1e-3)
                np.testing.assert_allclose(np.diff(index), 1.0, atol=1e-3)
        finally:
            stop.set()
            pusher.join(10)


def test_marker_fields_parse_back() -> None:
    tw = Twitch(onset_s=1.0, offset_s=1.05, channel="R MG=1", peak_v=50e-6, site='TrP "2"')
    head, fields = parse_marker_fields(format_twitch_marker(tw))
    assert head == "LTR"
    assert fields == {
        "channel": "R MG=1",
        "peak_uv": "50.0",
        "duration_ms": "50.0",
        "site": 'TrP "2"',
    }


def test_relay_publishes_the_twitches_the_detector_finds(tmp_path: Path) -> None:
    """EMG rows only (an auxiliary row dropped), markers = offline detection, at the onsets."""
    sim = simulate.simulate(simulate.preset("limb", sfreq=1000.0), duration_s=80.0, seed=1)
    names = (*sim.ch_names, "accX")
    data = np.vstack([sim.data, np.ones((1, sim.data.shape[1]))])
    config = DetectorConfig()
    expected, _ = detect_array(sim.data, sfreq=sim.sfreq, ch_names=sim.ch_names, config=config)
    assert len(expected) >= 5  # the scenario has twitches to publish
    name = _name()
    start = pylsl.local_clock() + 10.0
    pub = LslPublisher(sfreq=sim.sfreq, ch_names=sim.ch_names, name=name, start_time=start)
    relay = LslRelay(pub, ch_names=names, config=config)
    emg, markers = open_inlet(name), open_inlet(f"{name}-markers")
    rng = np.random.default_rng(3)
    a = 0
    while a < data.shape[1]:
        b = min(data.shape[1], a + int(rng.integers(0, 3000)))  # empty blocks too
        relay.feed(SampleBlock(data[:, a:b], sfreq=sim.sfreq, first_sample=a, ch_names=names))
        a = b
    relay.finish()  # flushes the detector
    assert relay.markers is not None and relay.markers.n_provisional >= 1
    got = pull_markers(markers, pub.n_markers)  # provisional, confirming, withdrawing
    assert len(got) == pub.n_markers
    values, stamps = pull_numeric(emg, data.shape[1])
    pub.close()
    # the decided twitches, each confirming its provisional marker (id) or plain
    finals = [(m, t) for m, t in got if parse_marker_fields(m)[0] == "LTR"]
    ids = [parse_marker_fields(m)[1].get("id") for m, _ in finals]
    assert [m for m, _ in finals] == [
        format_twitch_marker(t, marker_id=None if i is None else int(i))
        for t, i in zip(expected, ids, strict=True)
    ]
    np.testing.assert_allclose(
        [t for _, t in finals], [start + t.onset_s for t in expected], atol=1e-6
    )
    assert [t.onset_s for t in relay.twitches] == [t.onset_s for t in expected]
    assert values.shape == (data.shape[1], len(sim.ch_names))
    np.testing.assert_allclose(values, (sim.data.T * 1e6).astype(np.float32), rtol=0, atol=0)

    # what LabRecorder would store (both streams as pulled) reads back with the same twitches
    xdf = tmp_path / "lab.xdf"
    write_lab_xdf(
        xdf,
        name=name,
        sfreq=sim.sfreq,
        ch_names=sim.ch_names,
        stamps=stamps,
        values_uv=values,
        markers=got,
    )
    raw = read_recording(xdf, preload=True)
    np.testing.assert_allclose(raw.get_data(), sim.data, rtol=1e-6, atol=1e-12)
    back = recording_events(raw).twitches
    assert [t.channel for t in back] == [t.channel for t in expected]
    np.testing.assert_allclose(
        [t.onset_s for t in back], [t.onset_s for t in expected], rtol=0, atol=1e-6
    )
    np.testing.assert_allclose(
        [t.peak_v for t in back], [t.peak_v for t in expected], rtol=0, atol=0.05e-6
    )


def test_bad_blocks_are_one_line_errors() -> None:
    with LslPublisher(sfreq=SFREQ, ch_names=CH, name=_name(), start_time=5.0) as pub:
        with pytest.raises(ConfigError, match="differ from the LSL stream"):
            pub.push_block(
                SampleBlock(np.zeros((2, 5)), sfreq=SFREQ, first_sample=0, ch_names=CH[:2])
            )
        with pytest.raises(ConfigError, match="differs from the LSL stream's 487 Hz"):
            pub.push_block(SampleBlock(np.zeros((3, 5)), sfreq=500.0, first_sample=0, ch_names=CH))
        pub.push_block(SampleBlock(np.zeros((3, 5)), sfreq=SFREQ, first_sample=10, ch_names=CH))
        with pytest.raises(ConfigError, match="before the next expected sample 15"):
            pub.push_block(SampleBlock(np.zeros((3, 5)), sfreq=SFREQ, first_sample=12, ch_names=CH))
    with pytest.raises(ConfigError, match="start_time must be a positive"):
        LslPublisher(sfreq=SFREQ, ch_names=CH, start_time=0.0)
    fresh = LslPublisher(sfreq=SFREQ, ch_names=CH, name=_name())
    with pytest.raises(ConfigError, match="before the first EMG block"):
        fresh.push_twitches([Twitch(onset_s=0.1, offset_s=0.2, channel="APB")])
    fresh.close()


def test_missing_pylsl_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pylsl", None)  # what an environment without it gives
    with pytest.raises(ConfigError) as info:
        import_pylsl()
    assert str(info.value) == LSL_MISSING
    with pytest.raises(ConfigError, match=r"twitchscope\[lsl\]"):
        LslPublisher(sfreq=SFREQ, ch_names=CH)
