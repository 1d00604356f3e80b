"""The mains tracker: it follows a drifting hum the fixed notches let through, for any chunking."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.signal import ltr_synth as syn
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.design import design_detector
from twitchscope.signal.detect.detector import detect_step, flush, init_detector_state
from twitchscope.signal.detect.filters import filter_block, init_filter_state
from twitchscope.signal.detect.mains import init_tracker_state, track_block

SFREQ = 500.0
NAMES = ("A", "B")
TRACKED = DetectorConfig(mains="50", mains_track=True)


def _drifting_hum(duration_s: float = 12.0, seed: int = 0) -> np.ndarray:
    """White noise of 2 uV plus a 90 uV hum whose frequency drifts 50.2 -> 49.84 Hz."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * SFREQ)
    t = np.arange(n) / SFREQ
    freq = 50.2 - 0.03 * t
    phase = 2 * np.pi * np.cumsum(freq) / SFREQ
    hum = 90e-6 * np.sin(phase)
    return np.vstack(
        [hum + 2e-6 * rng.standard_normal(n), 0.5 * hum + 2e-6 * rng.standard_normal(n)]
    )


DATA = _drifting_hum()
DESIGN = design_detector(TRACKED, sfreq=SFREQ, ch_names=NAMES).with_mains(50.0)


def _conditioned() -> np.ndarray:
    assert DESIGN.conditioning is not None
    out, _ = filter_block(DESIGN.conditioning, DATA, init_filter_state(DESIGN.conditioning, 2))
    return out


COND = _conditioned()


def _track(cuts: list[int]) -> tuple[np.ndarray, float]:
    assert DESIGN.tracker is not None
    state = init_tracker_state(DESIGN.tracker, 2)
    edges = [0, *sorted(cuts), COND.shape[1]]
    parts = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        y, state = track_block(DESIGN.tracker, COND[:, a:b], state, first=a)
        parts.append(y)
    return np.concatenate(parts, axis=1), state.freq_hz


WHOLE, FREQ = _track([])


def _rms(x: np.ndarray, a_s: float, b_s: float) -> float:
    return float(np.sqrt(np.mean(x[0, int(a_s * SFREQ) : int(b_s * SFREQ)] ** 2)))


def test_the_notch_lets_a_drifting_hum_through_and_the_tracker_removes_it() -> None:
    # the fixed notch leaves several times the 2 uV noise ...
    assert _rms(COND, 9.0, 12.0) > 4 * 2e-6
    # ... the tracker brings it back near the noise, before and after the frequency jump
    assert _rms(WHOLE, 3.0, 6.0) < 1.5 * 2e-6
    assert _rms(WHOLE, 9.0, 12.0) < 1.5 * 2e-6
    assert abs(FREQ - 49.84) < 0.03


def test_without_hum_the_tracker_stays_at_nominal_and_keeps_the_signal() -> None:
    assert DESIGN.tracker is not None
    noise = 2e-6 * np.random.default_rng(3).standard_normal((2, int(6 * SFREQ)))
    state = init_tracker_state(DESIGN.tracker, 2)
    y, state = track_block(DESIGN.tracker, noise, state, first=0)
    assert state.freq_hz == 50.0  # no line stands out: the frequency is never moved
    assert np.sqrt(np.mean(y**2)) > 0.97 * np.sqrt(np.mean(noise**2))


def test_an_empty_block_changes_nothing_and_the_input_state_is_never_modified() -> None:
    assert DESIGN.tracker is not None
    state = init_tracker_state(DESIGN.tracker, 2)
    _, state = track_block(DESIGN.tracker, COND[:, :700], state, first=0)
    zi = [z.copy() for z in state.zi]
    seg = [s.copy() for s in state.segment]
    y, same = track_block(DESIGN.tracker, COND[:, 700:700], state, first=700)
    assert y.shape == (2, 0)
    assert same.freq_hz == state.freq_hz and same.segment_index == state.segment_index
    track_block(DESIGN.tracker, COND[:, 700:1500], state, first=700)
    assert all(np.array_equal(a, b) for a, b in zip(zi, state.zi, strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(seg, state.segment, strict=True))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=DATA.shape[1] - 1), max_size=12, unique=True))
def test_the_tracker_gives_the_same_samples_for_any_chunking(cuts: list[int]) -> None:
    y, freq = _track(cuts)
    assert np.array_equal(y, WHOLE)
    assert freq == FREQ


def _detect(data: np.ndarray, config: DetectorConfig, cuts: list[int]) -> list[str]:
    state = init_detector_state(config, sfreq=SFREQ, ch_names=NAMES)
    edges = [0, *sorted(cuts), data.shape[1]]
    found: list[str] = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        block = SampleBlock(data=data[:, a:b], sfreq=SFREQ, first_sample=a, ch_names=NAMES)
        out, state = detect_step(config, block, state)
        found += [repr(t) for t in out.twitches]
    out, _ = flush(config, state)
    return found + [repr(t) for t in out.twitches]


def _with_twitches() -> np.ndarray:
    data = DATA.copy()
    for i, t in enumerate((6.0, 8.0, 10.5)):
        burst = syn.emg_burst(sfreq=SFREQ, duration_s=0.08, peak_v=25e-6, seed=i)
        data = syn.add(data, burst, sfreq=SFREQ, onset_s=t, channel=0)
    return data


TWITCHY = _with_twitches()
TRACKED_RUN = _detect(TWITCHY, TRACKED, [])


def test_twitches_under_a_drifting_hum_are_found_with_the_tracker() -> None:
    onsets = sorted(round(float(t.split("onset_s=")[1].split(",")[0]), 1) for t in TRACKED_RUN)
    assert onsets == [6.0, 8.0, 10.5]
    # the fixed notches alone let the hum hide all three
    untracked = DetectorConfig(mains="50", mains_track_below_sfreq=1.0)
    assert _detect(TWITCHY, untracked, []) == []
    # and at this rate (500 Hz) the default detector tracks: it finds them
    assert _detect(TWITCHY, DetectorConfig(mains="50"), []) == TRACKED_RUN


def test_the_tracker_runs_by_default_below_1_khz_only() -> None:
    default = DetectorConfig(mains="50")
    for sfreq, tracked in ((250.0, True), (256.0, True), (500.0, True), (1000.0, False)):
        design = design_detector(default, sfreq=sfreq, ch_names=NAMES).with_mains(50.0)
        assert (design.tracker is not None) is tracked, sfreq
    # mains_track: at every rate; mains_track_below_sfreq 1 Hz: only where mains_track says
    assert design_detector(TRACKED, sfreq=2000.0, ch_names=NAMES).with_mains(50.0).tracker
    off = DetectorConfig(mains="50", mains_track_below_sfreq=1.0)
    assert design_detector(off, sfreq=500.0, ch_names=NAMES).with_mains(50.0).tracker is None


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=DATA.shape[1] - 1), max_size=8, unique=True))
def test_the_detector_with_the_tracker_is_chunk_invariant(cuts: list[int]) -> None:
    assert _detect(TWITCHY, TRACKED, cuts) == TRACKED_RUN
