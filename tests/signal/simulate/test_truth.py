"""Tests of the ground truth: listed twitches and confounders are where the signal is."""

from __future__ import annotations

import numpy as np
import pytest

from tests.signal.simulate.scenarios import busy_config, quiet_config, rms
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.simulate import simulate


def test_twitches_are_where_the_signal_is() -> None:
    cfg = quiet_config()
    sim = simulate(cfg, duration_s=26.0, seed=4)
    fs = sim.sfreq
    twitches = sim.events.twitches
    assert len(twitches) >= 10
    baseline = sim.data[:, : int(3.5 * fs)]
    base_rms = np.sqrt(np.mean(baseline**2, axis=1))
    np.testing.assert_allclose(base_rms, 3e-6, rtol=0.15)  # volts, µV range
    for tw in twitches:
        assert tw.channel == "B"
        assert tw.channels[:1] == ("B",) and "far" not in tw.channels
        assert 4.0 <= tw.onset_s < tw.offset_s <= 24.0
        a, b = round(tw.onset_s * fs), round(tw.offset_s * fs)
        assert rms(sim.data[1, a:b]) > 3 * base_rms[1]
        assert rms(sim.data[3, a:b]) < 1.6 * base_rms[3]  # 30 cm away: nothing
        np.testing.assert_allclose(tw.latency_s, tw.onset_s - 4.0)
    # outside every twitch the signal stays at baseline level
    mask = np.ones(sim.data.shape[1], bool)
    for tw in twitches:
        mask[round(tw.onset_s * fs) : round(tw.offset_s * fs) + 1] = False
    assert rms(sim.data[1, mask]) < 1.3 * base_rms[1]


def test_pops_and_ecg_are_where_listed() -> None:
    cfg = busy_config(mains_v=0.0)
    sim = simulate(cfg, duration_s=30.0, seed=21)
    fs, names = sim.sfreq, list(sim.ch_names)
    pops = [c for c in sim.confounders if c.kind == "pop"]
    assert len(pops) >= 3
    for pop in pops:
        n0, ch = round(pop.onset_s * fs), names.index(pop.channel)
        jump = abs(sim.data[ch, n0] - sim.data[ch, n0 - 1])
        assert jump > 0.6 * pop.amplitude_v
    ecg = [c for c in sim.confounders if c.kind == "ecg" and c.onset_s > 0.5]
    assert {c.channel for c in ecg} == {"A", "C"}  # B has no ECG
    r_idx = np.round((np.array([c.onset_s for c in ecg if c.channel == "C"]) + 0.05) * fs)
    r_idx = r_idx.astype(int)
    # average at the R peaks (noise, twitches and pops average out)
    quiet = [
        i for i in r_idx if not any(p.onset_s * fs - 5 < i < p.offset_s * fs + 5 for p in pops)
    ]
    at_r = np.median(sim.data[:, quiet], axis=1)
    assert at_r[2] == pytest.approx(2e-5, rel=0.25)
    assert at_r[0] == pytest.approx(1e-5, rel=0.35)
    assert abs(at_r[1]) < 3e-6


def test_to_raw_carries_sites_and_twitches() -> None:
    sim = simulate(quiet_config(), duration_s=26.0, seed=4)
    raw = sim.to_raw()
    np.testing.assert_allclose(raw.get_data(), sim.data)
    assert raw.get_channel_types() == ["emg"] * 4
    back = recording_events(raw)
    assert [s.label for s in back.sites] == ["TrP1"]
    assert len(back.twitches) == len(sim.events.twitches)
    np.testing.assert_allclose(
        [t.onset_s for t in back.twitches], [t.onset_s for t in sim.events.twitches], atol=1e-9
    )
    assert recording_events(sim.to_raw(annotate_twitches=False)).twitches == ()
