"""Chunk invariance and bounded latency of the streaming detector."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.signal import ltr_synth as syn
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite, SampleBlock, Twitch, attribute_to_sites
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.detector import detect_step, flush, init_detector_state

SFREQ = 500.0
NAMES = ("A", "B")
CONFIG = DetectorConfig()  # mains="auto": the held-back probe is part of what is tested
SITES = (NeedleSite(label="TrP1", onset_s=3.0, duration_s=4.0),)


def _recording() -> np.ndarray:
    data = syn.background(sfreq=SFREQ, duration_s=8.0, n_channels=2, mains_hz=60.0)
    for i, t in enumerate((3.2, 4.1, 5.3)):
        burst = syn.emg_burst(sfreq=SFREQ, duration_s=0.08, peak_v=(20 + 10 * i) * 1e-6, seed=i)
        data = syn.add(data, burst, sfreq=SFREQ, onset_s=t, channel=i % 2)
    data = syn.add(data, syn.pop(sfreq=SFREQ), sfreq=SFREQ, onset_s=2.5, channel=1)
    # needle handling with a twitch inside it (rejected as low_freq_artifact, twitch kept)
    data = syn.add(data, syn.motion(sfreq=SFREQ, duration_s=0.4), sfreq=SFREQ, onset_s=4.5)
    burst = syn.emg_burst(sfreq=SFREQ, duration_s=0.15, peak_v=80e-6, seed=7)
    data = syn.add(data, burst, sfreq=SFREQ, onset_s=4.62)
    return syn.add(data, syn.sustained(sfreq=SFREQ, duration_s=1.2), sfreq=SFREQ, onset_s=6.6)


DATA = _recording()


def _run(cuts: list[int]) -> tuple[list[str], list[str]]:
    state = init_detector_state(CONFIG, sfreq=SFREQ, ch_names=NAMES)
    edges = [0, *sorted(cuts), DATA.shape[1]]
    tw: list[Twitch] = []
    rej: list[str] = []
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        block = SampleBlock(data=DATA[:, a:b], sfreq=SFREQ, first_sample=a, ch_names=NAMES)
        out, state = detect_step(CONFIG, block, state)
        tw += out.twitches
        rej += [repr(r) for r in out.rejected]
    out, _ = flush(CONFIG, state)
    tw += out.twitches
    return [repr(t) for t in attribute_to_sites(tw, SITES)], rej + [repr(r) for r in out.rejected]


WHOLE = _run([])


def test_reference_run_finds_the_twitches_and_rejects_the_rest():
    onsets = sorted(float(t.split("onset_s=")[1].split(",")[0]) for t in WHOLE[0])
    assert [round(o, 1) for o in onsets] == [3.2, 4.1, 4.6, 5.3]
    assert any("POP" in r for r in WHOLE[1])
    assert any("LOW_FREQ_ARTIFACT" in r and "twitch inside" in r for r in WHOLE[1])
    assert any("SUSTAINED" in r for r in WHOLE[1])
    assert all("site='TrP1'" in t for t in WHOLE[0])


@given(cuts=st.lists(st.integers(min_value=0, max_value=DATA.shape[1]), max_size=25))
@settings(max_examples=40, deadline=None)
def test_any_split_gives_the_same_events(cuts):
    assert _run(cuts) == WHOLE


def test_one_sample_blocks_give_the_same_events():
    short = DATA[:, : int(4.5 * SFREQ)]
    state = init_detector_state(CONFIG, sfreq=SFREQ, ch_names=NAMES)
    got = []
    for a in range(short.shape[1]):
        block = SampleBlock(data=short[:, a : a + 1], sfreq=SFREQ, first_sample=a, ch_names=NAMES)
        out, state = detect_step(CONFIG, block, state)
        got += [repr(t) for t in out.twitches]
        empty = SampleBlock(data=short[:, :0], sfreq=SFREQ, first_sample=a + 1, ch_names=NAMES)
        out, state = detect_step(CONFIG, empty, state)
        assert out.twitches == () and out.rejected == ()
    got += [repr(t) for t in flush(CONFIG, state)[0].twitches]
    whole_state = init_detector_state(CONFIG, sfreq=SFREQ, ch_names=NAMES)
    block = SampleBlock(data=short, sfreq=SFREQ, first_sample=0, ch_names=NAMES)
    out, whole_state = detect_step(CONFIG, block, whole_state)
    expected = [repr(t) for t in out.twitches + flush(CONFIG, whole_state)[0].twitches]
    assert got == expected
    assert len(expected) == 2


def test_twitches_are_emitted_within_a_second_of_their_offset():
    state = init_detector_state(CONFIG, sfreq=SFREQ, ch_names=NAMES)
    n = int(0.02 * SFREQ)
    delays = []
    for a in range(0, DATA.shape[1], n):
        block = SampleBlock(data=DATA[:, a : a + n], sfreq=SFREQ, first_sample=a, ch_names=NAMES)
        out, state = detect_step(CONFIG, block, state)
        now = (a + block.n_samples) / SFREQ
        delays += [now - t.offset_s for t in out.twitches]
    assert len(delays) == 4
    assert max(delays) <= 1.0


def test_step_does_not_mutate_its_input_state():
    state = init_detector_state(CONFIG, sfreq=SFREQ, ch_names=NAMES)
    block = SampleBlock(data=DATA[:, :1500], sfreq=SFREQ, first_sample=0, ch_names=NAMES)
    _, s1 = detect_step(CONFIG, block, state)
    assert s1.filters is not None
    snapshot = {k: np.copy(getattr(s1.history, k)) for k in ("cond", "lf", "env")}
    zi = s1.filters.cond.zi.copy()
    baseline = np.copy(s1.baseline.segment)
    block2 = SampleBlock(data=DATA[:, 1500:2000], sfreq=SFREQ, first_sample=1500, ch_names=NAMES)
    _, s2 = detect_step(CONFIG, block2, s1)
    assert s2 is not s1
    np.testing.assert_array_equal(s1.filters.cond.zi, zi)
    np.testing.assert_array_equal(s1.baseline.segment, baseline)
    for k, v in snapshot.items():
        np.testing.assert_array_equal(getattr(s1.history, k), v)
    assert s1.n_seen == 1500 and s2.n_seen == 2000
    assert s2.design is s1.design  # the design is shared, never rebuilt


def test_out_of_order_block_is_refused():
    state = init_detector_state(CONFIG, sfreq=SFREQ, ch_names=NAMES)
    _, state = detect_step(CONFIG, SampleBlock(DATA[:, :100], SFREQ, 0, NAMES), state)
    with pytest.raises(ConfigError, match="before the next expected sample"):
        detect_step(CONFIG, SampleBlock(DATA[:, 50:60], SFREQ, 50, NAMES), state)


def test_lost_samples_restart_the_filters_and_keep_detecting():
    """A block after a gap (first_sample beyond the next expected one) is accepted."""
    state = init_detector_state(CONFIG, sfreq=SFREQ, ch_names=NAMES)
    cut, skip = int(3.6 * SFREQ), int(0.2 * SFREQ)
    found = []
    for a, b, first in ((0, cut, 0), (cut + skip, DATA.shape[1], cut + skip)):
        block = SampleBlock(data=DATA[:, a:b], sfreq=SFREQ, first_sample=first, ch_names=NAMES)
        out, state = detect_step(CONFIG, block, state)
        found += [round(t.onset_s, 1) for t in out.twitches]
    found += [round(t.onset_s, 1) for t in flush(CONFIG, state)[0].twitches]
    assert 3.2 in found and 5.3 in found
    assert state.n_seen == DATA.shape[1]


def test_stream_shorter_than_the_mains_probe_is_flushed():
    short = DATA[:, : int(1.0 * SFREQ)]
    state = init_detector_state(CONFIG, sfreq=SFREQ, ch_names=NAMES)
    out, state = detect_step(CONFIG, SampleBlock(short, SFREQ, 0, NAMES), state)
    assert state.mains_hz is None and out.twitches == ()
    out, state = flush(CONFIG, state)
    assert state.mains_hz == 60.0
    assert out.twitches == ()


def test_a_config_other_than_the_design_s_is_refused():
    state = init_detector_state(CONFIG, sfreq=SFREQ, ch_names=NAMES)
    block = SampleBlock(DATA[:, :100], SFREQ, 0, NAMES)
    other = CONFIG.with_changes(k_on=6.0, min_duration_s=0.035)
    with pytest.raises(ConfigError, match=r"differs in k_on, min_duration_s"):
        detect_step(other, block, state)
    with pytest.raises(ConfigError, match="init_detector_state"):
        flush(other, state)
    # an equal config (another object) is the same design
    detect_step(DetectorConfig(), block, state)


def test_site_added_live_labels_later_twitches():
    """Sites known only part-way through are attributed to what is emitted after."""
    state = init_detector_state(CONFIG, sfreq=SFREQ, ch_names=NAMES)
    out1, state = detect_step(CONFIG, SampleBlock(DATA[:, :1750], SFREQ, 0, NAMES), state)
    sites: tuple[NeedleSite, ...] = ()
    first = attribute_to_sites(out1.twitches, sites)
    sites = (*sites, NeedleSite(label="TrP2", onset_s=3.5, duration_s=3.0))
    out2, state = detect_step(CONFIG, SampleBlock(DATA[:, 1750:], SFREQ, 1750, NAMES), state)
    later = attribute_to_sites(out2.twitches + flush(CONFIG, state)[0].twitches, sites)
    assert [round(t.onset_s, 1) for t in first] == [3.2]
    assert first[0].site is None
    assert [(round(t.onset_s, 1), t.site) for t in later] == [
        (4.1, "TrP2"),
        (4.6, "TrP2"),
        (5.3, "TrP2"),
    ]
    assert later[0].latency_s == pytest.approx(later[0].onset_s - 3.5)
