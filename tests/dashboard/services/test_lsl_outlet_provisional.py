"""Provisional twitch markers: ``LTR?`` while a twitch goes on, then ``LTR ... id=`` or
``LTR-withdrawn``, on a real LSL outlet read back by an inlet on loopback."""

from __future__ import annotations

import uuid
from pathlib import Path

import numpy as np
import pylsl

from tests.dashboard.services.lsl_loopback import open_inlet, pull_markers, write_lab_xdf
from tests.signal.detect.bursts import BURST_AT_S, CH, SFREQ, burst_stream
from twitchscope.dashboard.services.lsl_outlet import (
    LslPublisher,
    LslRelay,
    StreamMarker,
    TwitchMarkers,
    format_provisional_marker,
    format_twitch_marker,
    format_withdrawn_marker,
    parse_marker_fields,
)
from twitchscope.signal import simulate
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.provisional import open_candidates
from twitchscope.signal.detect.run import StreamingDetector, detect_array
from twitchscope.signal.io.readers import read_recording


def _relay_markers(x: np.ndarray, block_n: int) -> tuple[list[tuple[str, float]], float]:
    """Everything the marker inlet pulls when ``x`` is relayed in blocks of ``block_n``."""
    name = f"ts-prov-{uuid.uuid4().hex[:10]}"
    start = pylsl.local_clock() + 50.0
    pub = LslPublisher(sfreq=SFREQ, ch_names=CH, name=name, start_time=start)
    relay = LslRelay(pub, ch_names=CH, config=DetectorConfig(mains="50"))
    markers = open_inlet(f"{name}-markers")
    for a in range(0, x.shape[1], block_n):
        relay.feed(SampleBlock(x[:, a : a + block_n], sfreq=SFREQ, first_sample=a, ch_names=CH))
    relay.finish()
    got = pull_markers(markers, 2, timeout=10)
    got += pull_markers(markers, 10, timeout=1)  # and nothing else arrives
    pub.close()
    return got, start


def test_a_twitch_is_announced_while_it_goes_on_then_confirmed() -> None:
    x = burst_stream(0.15)
    twitches, _ = detect_array(x, sfreq=SFREQ, ch_names=CH, config=DetectorConfig(mains="50"))
    (twitch,) = twitches  # the known burst is one twitch
    assert abs(twitch.onset_s - BURST_AT_S) < 0.03

    got, start = _relay_markers(x, block_n=20)
    assert len(got) == 2
    (prov, t_prov), (final, t_final) = got
    head, fields = parse_marker_fields(prov)
    assert (head, fields) == ("LTR?", {"channel": "FDI", "id": "1"})
    assert final == format_twitch_marker(twitch, marker_id=1)
    assert parse_marker_fields(final)[1]["id"] == "1"
    np.testing.assert_allclose(t_final, start + twitch.onset_s, atol=1e-6)
    # the provisional marker is stamped at the candidate's onset: the on-threshold crossing,
    # a sample at or after the refined onset, at most the onset search (50 ms) later
    crossing = (t_prov - start) * SFREQ
    assert abs(crossing - round(crossing)) < 1e-3
    det = StreamingDetector(DetectorConfig(mains="50"), sfreq=SFREQ, ch_names=CH)
    n = int(BURST_AT_S * SFREQ) + 60
    det.feed(SampleBlock(x[:, :n], sfreq=SFREQ, first_sample=0, ch_names=CH))
    (cand,) = open_candidates(det.state)
    assert round(crossing) == cand.onset_sample
    assert twitch.onset_s <= t_prov - start <= twitch.onset_s + 0.05


def test_the_provisional_marker_comes_before_the_twitch_has_ended() -> None:
    """Sent by the block that shows the candidate, well before the decision."""
    x = burst_stream(0.15)
    tm = TwitchMarkers(DetectorConfig(mains="50"), sfreq=SFREQ, ch_names=CH)
    sent_at: dict[str, int] = {}
    for a in range(0, x.shape[1], 20):
        for m in tm.feed(SampleBlock(x[:, a : a + 20], sfreq=SFREQ, first_sample=a, ch_names=CH)):
            sent_at[m.kind] = a + 20
    assert tm.finish() == []
    (twitch,) = tm.twitches
    assert set(sent_at) == {"provisional", "twitch"}
    assert sent_at["provisional"] / SFREQ < twitch.offset_s  # while the burst goes on
    assert sent_at["twitch"] / SFREQ > twitch.offset_s  # the decision waits for its end
    assert (tm.n_provisional, tm.n_confirmed, tm.n_withdrawn) == (1, 1, 0)


def test_a_rejected_candidate_is_withdrawn() -> None:
    """A 1.5 s contraction looks like a twitch at first, then is rejected as sustained."""
    x = burst_stream(1.5)
    got, start = _relay_markers(x, block_n=25)
    assert [parse_marker_fields(m) for m, _ in got] == [
        ("LTR?", {"channel": "FDI", "id": "1"}),
        ("LTR-withdrawn", {"id": "1", "reason": "sustained"}),
    ]
    assert got[0][1] == got[1][1]  # both stamped at the candidate's onset
    assert BURST_AT_S <= got[0][1] - start <= BURST_AT_S + 0.1


def _markers(x: np.ndarray, sfreq: float, names: tuple[str, ...], cuts: list[int]) -> list:
    tm = TwitchMarkers(DetectorConfig(), sfreq=sfreq, ch_names=names)
    out: list[StreamMarker] = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        out += tm.feed(SampleBlock(x[:, a:b], sfreq=sfreq, first_sample=a, ch_names=names))
    out += tm.finish()
    return out


def test_chunking_does_not_change_the_markers() -> None:
    """Provisional, confirming and withdrawing markers alike, and the twitches are the
    detector's own (one call on the whole recording)."""
    sim = simulate.simulate(simulate.preset("confounders", sfreq=1000.0), duration_s=80.0, seed=2)
    names, n = tuple(sim.ch_names), sim.data.shape[1]
    rng = np.random.default_rng(4)
    random_cuts = np.cumsum(rng.integers(0, 3000, size=n // 1000))
    chunkings = [
        [0, n],  # one block
        list(range(0, n, 20)) + [n],  # the live relay's 20 ms
        [0, *sorted({int(c) for c in random_cuts if c < n}), n],  # uneven, empty blocks too
    ]
    runs = [_markers(sim.data, sim.sfreq, names, cuts) for cuts in chunkings]
    texts = [[(m.text, round(m.t_s * sim.sfreq)) for m in run] for run in runs]
    assert texts[1] == texts[0] and texts[2] == texts[0]
    kinds = [m.kind for m in runs[0]]
    assert {"provisional", "twitch", "withdrawn"} <= set(kinds)
    # every provisional marker is answered once, before the next one
    open_id = None
    for m in runs[0]:
        if m.kind == "provisional":
            assert open_id is None
            open_id = m.marker_id
        elif m.marker_id is not None:
            assert m.marker_id == open_id
            open_id = None
    assert open_id is None
    expected, _ = detect_array(sim.data, sfreq=sim.sfreq, ch_names=names, config=DetectorConfig())
    finals = [m.twitch for m in runs[0] if m.kind == "twitch"]
    assert [(t.onset_s, t.channel, t.peak_v) for t in finals if t is not None] == [
        (t.onset_s, t.channel, t.peak_v) for t in expected
    ]


def test_without_provisional_markers_only_the_decided_twitches() -> None:
    x = burst_stream(0.15)
    tm = TwitchMarkers(DetectorConfig(mains="50"), sfreq=SFREQ, ch_names=CH, provisional=False)
    out = tm.feed(SampleBlock(x, sfreq=SFREQ, first_sample=0, ch_names=CH)) + tm.finish()
    assert [m.kind for m in out] == ["twitch"]
    assert out[0].marker_id is None and "id=" not in out[0].text


def test_xdf_of_the_markers_reads_back_only_the_decided_twitches(tmp_path: Path) -> None:
    """What LabRecorder would store: the twitch, no annotation for LTR? or LTR-withdrawn."""
    x = np.concatenate([burst_stream(0.15), burst_stream(1.5, seed=1)], axis=1)
    twitches, _ = detect_array(x, sfreq=SFREQ, ch_names=CH, config=DetectorConfig(mains="50"))
    got, start = _relay_markers(x, block_n=20)
    heads = [parse_marker_fields(m)[0] for m, _ in got]
    assert heads.count("LTR?") >= 2 and "LTR-withdrawn" in heads
    stamps = start + np.arange(x.shape[1]) / SFREQ
    path = tmp_path / "lab.xdf"
    write_lab_xdf(
        path,
        name="emg",
        sfreq=SFREQ,
        ch_names=CH,
        stamps=stamps,
        values_uv=(x.T * 1e6).astype(np.float32),
        markers=got,
    )
    raw = read_recording(path, preload=True)
    back = recording_events(raw).twitches
    assert [t.channel for t in back] == [t.channel for t in twitches]
    np.testing.assert_allclose(
        [t.onset_s for t in back], [t.onset_s for t in twitches], rtol=0, atol=1e-5
    )
    descriptions = [str(d) for d in raw.annotations.description]
    assert not [d for d in descriptions if d.startswith(("LTR?", "LTR-withdrawn"))]


def test_provisional_and_withdrawn_markers_parse_back() -> None:
    prov = format_provisional_marker("R MG=1", 12)
    assert prov == 'LTR? channel="R MG=1" id=12'
    assert parse_marker_fields(prov) == ("LTR?", {"channel": "R MG=1", "id": "12"})
    gone = format_withdrawn_marker(12, "low_confidence")
    assert parse_marker_fields(gone) == ("LTR-withdrawn", {"id": "12", "reason": "low_confidence"})
