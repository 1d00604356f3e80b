"""Tests of the event plans: twitch amplitudes habituate over a bout."""

from __future__ import annotations

from dataclasses import replace

from tests.signal.simulate.scenarios import quiet_config, rms
from twitchscope.signal.simulate import LtrSpec, simulate


def test_habituation_decreases_amplitude_then_holds() -> None:
    ltr = LtrSpec(
        rise_s=(0.01, 0.01),
        plateau_s=(0.08, 0.08),
        decay_tau_s=(0.03, 0.03),
        amplitude_jitter=0.0,
    )
    site = replace(quiet_config().sites[0], habituation=0.6, habituation_n=3, snr=(20.0, 20.0))
    sim = simulate(quiet_config(ltr=ltr, sites=(site,)), duration_s=26.0, seed=9)
    fs = sim.sfreq
    tws = sim.events.twitches
    truth = [tw.rms_v for tw in tws]
    measured = [rms(sim.data[1, round(t.onset_s * fs) : round(t.offset_s * fs)]) for t in tws]
    for series in (truth, measured):
        assert series[1] < 0.8 * series[0]
        assert series[2] < 0.8 * series[1]
        assert 0.7 < series[3] / series[2] < 1.4  # stable after the third
        assert 0.7 < series[-1] / series[2] < 1.4
