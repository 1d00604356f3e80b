"""The one run loop: StreamingDetector, run_detector and the recording/array helpers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.signal import ltr_synth as syn
from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.model import NeedleSite, RecordingEvents, SampleBlock
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.detector import detect_step, flush, init_detector_state
from twitchscope.signal.detect.run import (
    CHUNK_S,
    StreamingDetector,
    array_blocks,
    chunk_samples,
    detect_array,
    detect_raw,
    detect_recording,
    run_detector,
)

SFREQ = 500.0
NAMES = ("A", "B")
CONFIG = DetectorConfig()  # mains="auto"
SITES = (
    NeedleSite(label="TrP2", onset_s=5.0, duration_s=2.0),
    NeedleSite(label="TrP1", onset_s=3.0, duration_s=1.5),
)


def _recording() -> np.ndarray:
    data = syn.background(sfreq=SFREQ, duration_s=8.0, n_channels=2, mains_hz=60.0)
    for i, t in enumerate((3.2, 4.1, 5.3)):
        burst = syn.emg_burst(sfreq=SFREQ, duration_s=0.08, peak_v=(20 + 10 * i) * 1e-6, seed=i)
        data = syn.add(data, burst, sfreq=SFREQ, onset_s=t, channel=i % 2)
    return data


DATA = _recording()


def _stepped() -> tuple[list, list]:
    """The reference: the pure step over the whole array, then flush."""
    state = init_detector_state(CONFIG, sfreq=SFREQ, ch_names=NAMES)
    out, state = detect_step(CONFIG, SampleBlock(DATA, SFREQ, 0, NAMES), state)
    rest, _ = flush(CONFIG, state)
    total = out + rest
    return list(total.twitches), list(total.rejected)


def test_chunk_samples_rounds_and_never_gives_zero():
    assert chunk_samples(500.0) == int(CHUNK_S * 500)
    assert chunk_samples(250.0, 0.01) == 2
    assert chunk_samples(250.0, 1e-6) == 1


def test_run_detector_is_the_step_loop_with_sites_attributed():
    twitches, rejected = _stepped()
    blocks = array_blocks(DATA, sfreq=SFREQ, ch_names=NAMES, chunk=333)
    run = run_detector(CONFIG, blocks, sfreq=SFREQ, ch_names=NAMES, sites=SITES)
    assert [t.onset_s for t in run.twitches] == [t.onset_s for t in twitches]
    assert run.rejected == tuple(rejected)
    assert [t.site for t in run.twitches] == ["TrP1", "TrP1", "TrP2"]
    assert run.twitches[0].latency_s == pytest.approx(run.twitches[0].onset_s - 3.0)
    assert [t.site for t in twitches] == [None, None, None]  # the step knows no sites
    assert run.mains_hz == 60.0 and run.band_hz is not None
    assert run.n_samples == DATA.shape[1]


def test_streaming_detector_fed_block_by_block_matches_run_detector():
    det = StreamingDetector(CONFIG, sfreq=SFREQ, ch_names=NAMES, sites=SITES)
    assert det.mains_hz is None and det.band_hz is None  # still estimating mains
    got = []
    for block in array_blocks(DATA, sfreq=SFREQ, ch_names=NAMES, chunk=10):
        got += det.feed(block).twitches
        got += det.feed(SampleBlock(DATA[:, :0], SFREQ, block.end_sample, NAMES)).twitches
    got += det.finish().twitches
    expected = run_detector(
        CONFIG, [SampleBlock(DATA, SFREQ, 0, NAMES)], sfreq=SFREQ, ch_names=NAMES, sites=SITES
    )
    assert tuple(got) == expected.twitches
    assert det.n_samples == DATA.shape[1]


def test_feeding_does_not_touch_the_states_it_replaces():
    det = StreamingDetector(CONFIG, sfreq=SFREQ, ch_names=NAMES)
    det.feed(SampleBlock(DATA[:, :1500], SFREQ, 0, NAMES))
    before = det.state
    zi = before.filters.cond.zi.copy() if before.filters is not None else None
    det.feed(SampleBlock(DATA[:, 1500:2000], SFREQ, 1500, NAMES))
    assert det.state is not before and before.n_seen == 1500
    assert zi is not None and before.filters is not None
    np.testing.assert_array_equal(before.filters.cond.zi, zi)


def test_detect_array_is_the_same_for_any_chunk_length():
    whole = detect_array(DATA, sfreq=SFREQ, ch_names=NAMES, config=CONFIG, chunk_s=100.0)
    for chunk_s in (0.05, 1.0, CHUNK_S):
        got = detect_array(DATA, sfreq=SFREQ, ch_names=NAMES, config=CONFIG, chunk_s=chunk_s)
        assert [repr(t) for t in got[0]] == [repr(t) for t in whole[0]]
        assert [repr(r) for r in got[1]] == [repr(r) for r in whole[1]]
    assert len(whole[0]) == 3


def test_detect_recording_reads_the_emg_channels_and_the_raws_sites():
    aux = np.zeros((1, DATA.shape[1]))
    raw = make_raw(
        np.vstack([DATA, aux]),
        sfreq=SFREQ,
        ch_names=[*NAMES, "ACC"],
        ch_types=["emg", "emg", "misc"],
        events=RecordingEvents(sites=SITES),
    )
    run = detect_recording(raw, CONFIG, chunk_s=0.7)
    expected = run_detector(
        CONFIG,
        [SampleBlock(DATA, SFREQ, 0, NAMES)],
        sfreq=SFREQ,
        ch_names=NAMES,
        sites=SITES,
    )
    assert [repr(t) for t in run.twitches] == [repr(t) for t in expected.twitches]
    assert run.n_samples == DATA.shape[1]
    # detect_raw sees every channel (the flat misc one adds nothing) and returns lists
    twitches, _ = detect_raw(raw, CONFIG)
    assert [t.site for t in twitches] == ["TrP1", "TrP1", "TrP2"]


def test_detect_recording_of_an_empty_recording_saw_no_samples():
    raw = make_raw(np.zeros((2, 0)), sfreq=SFREQ, ch_names=NAMES)
    run = detect_recording(raw, CONFIG)
    assert run.n_samples == 0 and run.twitches == () and run.mains_hz is None
