"""Tests of the simulator's entry points: determinism, chunk invariance, stream truth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.signal.simulate.scenarios import BUSY, SFREQ, bare_site
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.simulate import (
    CONFOUNDER_KINDS,
    SimConfig,
    init_sim_state,
    sim_step,
    simulate,
    truth_confounders,
    truth_events,
)

N_STREAM = int(12 * SFREQ)  # a bit more than two cycles


@pytest.fixture(scope="module")
def whole_stream() -> np.ndarray:
    block, _ = sim_step(BUSY, N_STREAM, init_sim_state(BUSY, seed=11))
    return block.data


def test_same_seed_same_recording_other_seed_differs() -> None:
    a = simulate(BUSY, duration_s=5.0, seed=7)
    b = simulate(BUSY, duration_s=5.0, seed=7)
    c = simulate(BUSY, duration_s=5.0, seed=8)
    np.testing.assert_array_equal(a.data, b.data)
    assert a.events == b.events
    assert a.confounders == b.confounders
    assert not np.allclose(a.data, c.data)
    assert a.events.twitches != c.events.twitches


@given(cuts=st.lists(st.integers(min_value=0, max_value=N_STREAM), max_size=8))
@example(cuts=[0, 0, 1, 486, 487, 487, 488, N_STREAM])  # empty blocks, segment edges
@settings(max_examples=30, deadline=None)
def test_sim_step_is_chunk_invariant(whole_stream: np.ndarray, cuts: list[int]) -> None:
    state = init_sim_state(BUSY, seed=11)
    parts = []
    edges = [0, *sorted(cuts), N_STREAM]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        block, state = sim_step(BUSY, b - a, state)
        assert block.first_sample == a
        assert block.data.shape == (3, b - a)
        parts.append(block.data)
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), whole_stream)
    assert state.n_samples == N_STREAM


def test_sim_step_never_mutates_state_and_empty_block_keeps_it() -> None:
    state = init_sim_state(BUSY, seed=3)
    _, state = sim_step(BUSY, 700, state)
    before = (state.pending.copy(), state.zi_tonic.copy(), state.n_samples, state.next_segment)
    block, new = sim_step(BUSY, 900, state)
    np.testing.assert_array_equal(state.pending, before[0])
    np.testing.assert_array_equal(state.zi_tonic, before[1])
    assert (state.n_samples, state.next_segment) == before[2:]
    assert new.n_samples == 1600
    empty, same = sim_step(BUSY, 0, new)
    assert empty.n_samples == 0 and empty.first_sample == 1600
    assert same is new


def test_simulate_equals_stream_over_first_cycle() -> None:
    n = int(BUSY.cycle_s * SFREQ)
    sim = simulate(BUSY, duration_s=n / SFREQ, seed=5)
    state = init_sim_state(BUSY, seed=5)
    block, state = sim_step(BUSY, n, state)
    np.testing.assert_array_equal(sim.data, block.data)
    assert truth_events(BUSY, state) == sim.events

    # offline, offsets are clipped to the end of the recording; the rest is identical
    def key(c):
        return (c.kind, c.onset_s, c.channel, c.amplitude_v)

    assert [key(c) for c in truth_confounders(BUSY, state)] == [key(c) for c in sim.confounders]
    assert all(c.offset_s <= n / SFREQ for c in sim.confounders)


def test_stream_cycles_sites_and_reports_truth_so_far() -> None:
    state = init_sim_state(BUSY, seed=2)
    _, state = sim_step(BUSY, int(11.5 * SFREQ), state)  # into the third cycle
    events = truth_events(BUSY, state)
    assert [s.onset_s for s in events.sites] == [1.0, 6.0, 11.0]
    assert all(s.label == "s1" for s in events.sites)
    assert all(tw.onset_s < 11.5 for tw in events.twitches)
    cycles = {int(tw.onset_s // 5.0) for tw in events.twitches}
    assert cycles == {0, 1, 2}
    later = truth_events(BUSY, state, start_s=5.0)
    assert later.twitches == tuple(tw for tw in events.twitches if tw.onset_s >= 5.0)
    kinds = {c.kind for c in truth_confounders(BUSY, state)}
    assert {"ecg", "pop", "guarding", "mains_surge"} <= kinds <= set(CONFOUNDER_KINDS)


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: simulate(SimConfig(sfreq=1e3, sites=(bare_site(),)), duration_s=4.0, seed=0),
            "beyond duration_s",
        ),
        (lambda: simulate(SimConfig(sfreq=1e3), duration_s=0.0, seed=0), "duration_s"),
        (lambda: simulate(SimConfig(sfreq=1e3), duration_s=1.0, seed=-1), "seed"),
        (lambda: sim_step(BUSY, -1, init_sim_state(BUSY, seed=0)), "n_samples"),
        (
            lambda: sim_step(SimConfig(sfreq=SFREQ), 10, init_sim_state(BUSY, seed=0)),
            "init_sim_state",
        ),
    ],
)
def test_bad_input_raises_one_line_config_error(make, match: str) -> None:
    """Bad durations, seeds, block sizes and states are one-line ConfigErrors."""
    with pytest.raises(ConfigError, match=match) as info:
        make()
    assert "\n" not in str(info.value)
