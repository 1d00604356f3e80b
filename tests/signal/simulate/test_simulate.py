"""Tests of the EMG simulator: determinism, chunk invariance, truth, validation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import signal as sps

from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.simulate import (
    CONFOUNDER_KINDS,
    PRESETS,
    ConfounderSpec,
    LtrSpec,
    SimConfig,
    SimSite,
    init_sim_state,
    preset,
    sim_step,
    simulate,
    truth_confounders,
    truth_events,
)

SFREQ = 487.0  # deliberately awkward


def busy_config(**kw) -> SimConfig:
    """Three channels, one short site, every confounder at a high rate, 5 s cycle."""
    base = dict(
        sfreq=SFREQ,
        ch_names=("A", "B", "C"),
        channel_xy_cm=((0.0, 0.0), (0.0, 2.0), (0.0, 10.0)),
        sites=(
            SimSite(
                "s1",
                1.0,
                3.0,
                channel="A",
                ltr_probability=1.0,
                insertion_interval_s=(0.6, 0.9),
                handling_probability=0.5,
            ),
        ),
        confounders=ConfounderSpec(
            quiet_start_s=0.5,
            pop_per_min=20.0,
            motion_per_min=10.0,
            guarding_per_min=6.0,
            guarding_duration_s=(1.0, 2.0),
            surge_per_min=10.0,
        ),
        ecg=True,
        ecg_r_v=(1e-5, 0.0, 2e-5),
        cycle_s=5.0,
    )
    base.update(kw)
    return SimConfig(**base)


BUSY = busy_config()
N_STREAM = int(12 * SFREQ)  # a bit more than two cycles


@pytest.fixture(scope="module")
def whole_stream() -> np.ndarray:
    block, _ = sim_step(BUSY, N_STREAM, init_sim_state(BUSY, seed=11))
    return block.data


def quiet_config(**kw) -> SimConfig:
    """Clean scenario: no mains, no handling, one site with an LTR at every insertion."""
    site = SimSite(
        "TrP1",
        4.0,
        20.0,
        channel="B",
        ltr_probability=1.0,
        insertion_interval_s=(1.0, 1.5),
        snr=(15.0, 15.0),
        handling_probability=0.0,
    )
    base = dict(
        sfreq=1000.0,
        ch_names=("A", "B", "C", "far"),
        channel_xy_cm=((0.0, 0.0), (0.0, 2.0), (0.0, 4.0), (30.0, 0.0)),
        baseline_rms_v=3e-6,
        mains_v=0.0,
        sites=(site,),
    )
    base.update(kw)
    return SimConfig(**base)


# ----------------------------------------------------------------------------- determinism


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


# ----------------------------------------------------------------------------- truth vs signal


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x * x)))


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
        assert _rms(sim.data[1, a:b]) > 3 * base_rms[1]
        assert _rms(sim.data[3, a:b]) < 1.6 * base_rms[3]  # 30 cm away: nothing
        np.testing.assert_allclose(tw.latency_s, tw.onset_s - 4.0)
    # outside every twitch the signal stays at baseline level
    mask = np.ones(sim.data.shape[1], bool)
    for tw in twitches:
        mask[round(tw.onset_s * fs) : round(tw.offset_s * fs) + 1] = False
    assert _rms(sim.data[1, mask]) < 1.3 * base_rms[1]


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
    measured = [_rms(sim.data[1, round(t.onset_s * fs) : round(t.offset_s * fs)]) for t in tws]
    for series in (truth, measured):
        assert series[1] < 0.8 * series[0]
        assert series[2] < 0.8 * series[1]
        assert 0.7 < series[3] / series[2] < 1.4  # stable after the third
        assert 0.7 < series[-1] / series[2] < 1.4


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


def test_large_mains_dominates_the_spectrum_at_its_frequency() -> None:
    cfg = busy_config(mains_hz=60.0, mains_v=100e-6, ecg=False)
    sim = simulate(cfg, duration_s=10.0, seed=1)
    freqs, psd = sps.welch(sim.data[1], fs=sim.sfreq, nperseg=1024)
    assert abs(freqs[np.argmax(psd)] - 60.0) <= freqs[1]


def test_low_rate_device_aliases_mains_harmonics() -> None:
    # 250 Hz with a sinc3-like low-pass: the 3rd harmonic of 60 Hz (180 Hz) aliases to 70 Hz
    cfg = busy_config(
        sfreq=250.0,
        mains_hz=60.0,
        mains_v=200e-6,
        mains_harmonics_db=(-80.0, 0.0),
        device_lowpass_hz=65.5,
        ecg=False,
    )
    sim = simulate(cfg, duration_s=10.0, seed=1)
    freqs, psd = sps.welch(sim.data[1], fs=250.0, nperseg=500)
    at = {f: psd[np.argmin(np.abs(freqs - f))] for f in (60.0, 70.0, 80.0)}
    assert at[70.0] > 30 * at[80.0]
    assert at[60.0] > at[70.0]


@pytest.mark.parametrize("name", PRESETS)
def test_presets_give_finite_volts(name: str) -> None:
    rates = {"limb": 2000.0, "trunk_ecg": 500.0, "cyton": 250.0, "paraspinal": 1000.0}
    cfg = preset(name, sfreq=rates.get(name, 1000.0))
    sim = simulate(cfg, duration_s=cfg.sites[-1].offset_s, seed=0)
    assert np.all(np.isfinite(sim.data))
    assert sim.data.dtype == np.float64
    quiet_rms = np.sqrt(np.mean(sim.data[:, : int(3 * cfg.sfreq)] ** 2, axis=1))
    assert np.all((quiet_rms > 1e-6) & (quiet_rms < 5e-5))  # µV range, in volts
    assert len(sim.events.twitches) >= 3
    assert {s.label for s in sim.events.sites} == {s.label for s in cfg.sites}


def test_preset_channel_count_follows_the_device() -> None:
    wide = preset("cyton", sfreq=250.0, n_channels=16)
    assert wide.n_channels == 16 and len(set(wide.ch_names)) == 16
    narrow = preset("trunk_ecg", sfreq=500.0, n_channels=1)
    assert narrow.ch_names == ("R-UT-TB",)
    para = preset("paraspinal", sfreq=1000.0, n_channels=2)
    assert {s.channel for s in para.sites} <= set(para.ch_names)
    block, _ = sim_step(wide, 300, init_sim_state(wide, seed=0))
    assert block.data.shape == (16, 300)


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


# ----------------------------------------------------------------------------- validation


def _site(**kw) -> SimSite:
    base = dict(label="x", onset_s=1.0, duration_s=5.0, channel="EMG1")
    base.update(kw)
    return SimSite(**base)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: SimConfig(sfreq=None), "sfreq .*required"),  # type: ignore[arg-type]
        (lambda: SimConfig(sfreq=0.0), "sfreq must be a finite number > 0"),
        (lambda: SimConfig(sfreq=-250.0), "sfreq must be a finite number > 0"),
        (lambda: SimConfig(sfreq=50.0), r"sfreq must be >= 100 Hz"),
        (lambda: SimConfig(sfreq=1e3, baseline_rms_v=-3e-6), "baseline_rms_v"),
        (lambda: SimConfig(sfreq=1e3, baseline_rms_v=(3e-6,)), "one value per channel"),
        (lambda: SimConfig(sfreq=1e3, mains_v=-1e-6), "mains_v"),
        (lambda: SimConfig(sfreq=1e3, mains_hz=55.0), "mains_hz"),
        (lambda: SimConfig(sfreq=1e3, ecg_r_v=(-1e-5, 0.0)), "ecg_r_v"),
        (lambda: SimConfig(sfreq=1e3, ecg=True), "ecg=True needs ecg_r_v"),
        (lambda: SimConfig(sfreq=1e3, ecg_hr_bpm=300.0), "ecg_hr_bpm"),
        (lambda: SimConfig(sfreq=1e3, device_lowpass_hz=600.0), "device_lowpass_hz"),
        (lambda: SimConfig(sfreq=1e3, sites=(_site(channel="nope"),)), "not one of"),
        (
            lambda: SimConfig(sfreq=1e3, sites=(_site(), _site(label="y", onset_s=3.0))),
            "needle sites overlap",
        ),
        (lambda: SimConfig(sfreq=1e3, sites=(_site(),), cycle_s=2.0), "cycle_s"),
        (lambda: _site(ltr_probability=1.5), "ltr_probability"),
        (lambda: _site(snr=(-1.0, 2.0)), "snr"),
        (lambda: _site(habituation=0.0), "habituation"),
        (lambda: _site(onset_s=-1.0), "onset >= 0"),
        (lambda: ConfounderSpec(pop_amplitude_v=(-1e-4, 1e-3)), "pop_amplitude_v"),
        (lambda: ConfounderSpec(guarding_per_min=-1.0), "guarding_per_min"),
        (lambda: LtrSpec(decay_tau_s=(0.08, 0.01)), "decay_tau_s"),
        (
            lambda: simulate(SimConfig(sfreq=1e3, sites=(_site(),)), duration_s=4.0, seed=0),
            "beyond duration_s",
        ),
        (lambda: simulate(SimConfig(sfreq=1e3), duration_s=0.0, seed=0), "duration_s"),
        (lambda: simulate(SimConfig(sfreq=1e3), duration_s=1.0, seed=-1), "seed"),
        (lambda: preset("arm", sfreq=1e3), "'name' parameter"),
        (lambda: preset("limb", sfreq=None), "sfreq .*required"),
        (lambda: preset("limb", sfreq=2e3, n_channels=0), "n_channels"),
        (lambda: sim_step(BUSY, -1, init_sim_state(BUSY, seed=0)), "n_samples"),
        (
            lambda: sim_step(SimConfig(sfreq=SFREQ), 10, init_sim_state(BUSY, seed=0)),
            "init_sim_state",
        ),
    ],
)
def test_bad_input_raises_one_line_config_error(make, match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        make()
    assert "\n" not in str(info.value)
