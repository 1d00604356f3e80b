"""The candidate the detector holds open, read before it is decided (provisional twitches)."""

from __future__ import annotations

import numpy as np

from tests.signal.detect.bursts import BURST_AT_S, CH, SFREQ, burst_stream
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.provisional import looks_like_twitch, open_candidates
from twitchscope.signal.detect.run import StreamingDetector


def _fed_to(x: np.ndarray, end: int, block_n: int) -> StreamingDetector:
    det = StreamingDetector(DetectorConfig(mains="50"), sfreq=SFREQ, ch_names=CH)
    for i in range(0, end, block_n):
        j = min(i + block_n, end)
        det.feed(SampleBlock(x[:, i:j], sfreq=SFREQ, first_sample=i, ch_names=CH))
    return det


def test_open_candidates_reads_the_open_candidate_whatever_the_blocks() -> None:
    x = burst_stream(0.15)
    config = DetectorConfig(mains="50")
    a = int(BURST_AT_S * SFREQ)

    def fed_to(end: int, block_n: int) -> StreamingDetector:
        return _fed_to(x, end, block_n)

    assert open_candidates(fed_to(a, 50).state) == ()  # quiet: nothing open
    det = fed_to(a + 60, 7)
    state = det.state
    (cand,) = open_candidates(state)
    assert det.state is state  # read-only
    assert cand.channel == "FDI" and not cand.sustained
    assert a <= cand.onset_sample < a + 40 and cand.end_sample <= a + 60
    assert cand.glr >= cand.glr_threshold >= config.glr_min
    assert open_candidates(fed_to(a + 60, 60).state) == (cand,)  # other blocks, same reading
    assert open_candidates(fed_to(a + 400, 50).state) == ()  # decided by then


def test_a_twitch_looks_like_one_once_it_has_lasted_the_shortest_twitch() -> None:
    x = burst_stream(0.15)
    a = int(BURST_AT_S * SFREQ)
    det = _fed_to(x, a + 5, 5)
    min_n = det.state.design.min_duration_n
    early = open_candidates(det.state)
    assert all(not looks_like_twitch(c, min_duration_n=min_n) for c in early)  # too soon
    later = _fed_to(x, a + 60, 5)
    (cand,) = open_candidates(later.state)
    assert looks_like_twitch(cand, min_duration_n=min_n)


def test_a_sustained_contraction_is_read_as_sustained_and_never_looks_like_a_twitch() -> None:
    x = burst_stream(2.0)
    a = int(BURST_AT_S * SFREQ)
    det = _fed_to(x, a + 1500, 50)  # past sustained_max_s (1 s)
    (cand,) = open_candidates(det.state)
    assert cand.sustained and cand.channel == "FDI"
    assert not looks_like_twitch(cand, min_duration_n=det.state.design.min_duration_n)
