"""The candidate the detector holds open, read before it is decided (provisional twitches)."""

from __future__ import annotations

import numpy as np

from tests.signal.detect.bursts import BURST_AT_S, CH, SFREQ, burst_stream
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.provisional import looks_like_twitch, open_candidates
from twitchscope.signal.detect.run import StreamingDetector, detect_array


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


def _low_rate_burst() -> tuple[np.ndarray, float]:
    """8 s of quiet EMG at 250 Hz (5 uV RMS) with a 150 ms burst (80 uV RMS) on FDI at 5 s."""
    sfreq = 250.0
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, int(8 * sfreq))) * 5e-6
    a, n = int(BURST_AT_S * sfreq), int(0.15 * sfreq)
    x[1, a : a + n] += rng.standard_normal(n) * 80e-6 * np.hanning(n) ** 0.25
    return x, sfreq


def _open_while_fed(x: np.ndarray, sfreq: float, config: DetectorConfig) -> list[bool]:
    """Whether the open candidate looked like a twitch after each 20 ms block."""
    det = StreamingDetector(config, sfreq=sfreq, ch_names=CH)
    n = int(round(0.02 * sfreq))
    seen = []
    for i in range(0, x.shape[1], n):
        det.feed(SampleBlock(x[:, i : i + n], sfreq=sfreq, first_sample=i, ch_names=CH))
        min_n = det.state.design.min_duration_n
        seen += [looks_like_twitch(c, min_duration_n=min_n) for c in open_candidates(det.state)]
    return seen


def test_below_500_hz_a_provisional_twitch_must_pass_the_peak_floor_too() -> None:
    """The decided twitch must peak at ``low_rate_min_peak_ratio`` times its background
    below ``low_rate_sfreq``; an open candidate does not look like a twitch before that."""
    x, sfreq = _low_rate_burst()
    default = DetectorConfig(mains="50")
    assert any(_open_while_fed(x, sfreq, default))
    twitches, _ = detect_array(x, sfreq=sfreq, ch_names=CH, config=default)
    assert [t.channel for t in twitches] == ["FDI"]
    floor = DetectorConfig(mains="50", low_rate_min_peak_ratio=1000.0)
    assert not any(_open_while_fed(x, sfreq, floor))
    twitches, rejected = detect_array(x, sfreq=sfreq, ch_names=CH, config=floor)
    assert twitches == [] and [r.reason.value for r in rejected] == ["low_confidence"]
    # at 1 kHz the floor does not apply: the same setting leaves the burst a twitch
    fast = burst_stream(0.15)
    assert any(_open_while_fed(fast, SFREQ, floor))
