"""Conditioning filters, mains estimation and detector configuration."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.detect.config import DetectorConfig, preset
from twitchscope.signal.detect.filters import (
    aliased_frequency,
    design_conditioning,
    filter_block,
    init_filter_state,
    mains_notch_frequencies,
)
from twitchscope.signal.detect.mains import estimate_mains


def test_aliased_mains_harmonics_at_250_hz():
    assert aliased_frequency(150, sfreq=250) == 100
    assert aliased_frequency(200, sfreq=250) == 50
    assert aliased_frequency(180, sfreq=250) == 70
    assert aliased_frequency(240, sfreq=250) == 10
    assert mains_notch_frequencies(60, sfreq=250, n_harmonics=5) == (10.0, 50.0, 60.0, 70.0, 120.0)
    assert mains_notch_frequencies(50, sfreq=250, n_harmonics=5) == (50.0, 100.0)


def test_aliased_mains_harmonics_at_256_hz():
    assert mains_notch_frequencies(50, sfreq=256, n_harmonics=5) == (6.0, 50.0, 56.0, 100.0, 106.0)
    assert mains_notch_frequencies(60, sfreq=256, n_harmonics=5) == (16.0, 44.0, 60.0, 76.0, 120.0)


def test_direct_harmonics_above_the_pass_band_are_not_notched():
    design = design_conditioning(DetectorConfig(mains="50"), sfreq=2000, mains_hz=50)
    assert design.notch_hz == tuple(float(50 * k) for k in range(1, 10))
    assert design.band == (20.0, 450.0)


@pytest.mark.parametrize(
    ("sfreq", "harmonic", "mains"), [(250, 150, 50), (256, 150, 50), (250, 180, 60)]
)
def test_aliased_harmonic_is_removed(sfreq, harmonic, mains):
    design = design_conditioning(DetectorConfig(), sfreq=sfreq, mains_hz=mains)
    t = np.arange(int(20 * sfreq)) / sfreq
    x = np.sin(2 * np.pi * harmonic * t)[None, :]  # sampled: appears at its alias
    y, _ = filter_block(design, x, init_filter_state(design, 1))
    tail = y[0, int(10 * sfreq) :]
    assert np.sqrt(np.mean(tail**2)) < 0.02  # from 0.707 RMS: > 30 dB down
    # a non-mains tone in the band passes
    z, _ = filter_block(design, np.sin(2 * np.pi * 83.0 * t)[None, :], init_filter_state(design, 1))
    assert np.sqrt(np.mean(z[0, int(10 * sfreq) :] ** 2)) > 0.5


def test_low_pass_is_clipped_to_045_sfreq():
    design = design_conditioning(DetectorConfig(), sfreq=250, mains_hz=50)
    assert design.band == (20.0, 112.5)


NOISE = np.random.default_rng(0).standard_normal((3, 3000))
DESIGN = design_conditioning(DetectorConfig(), sfreq=1000, mains_hz=50)


@given(cuts=st.lists(st.integers(min_value=0, max_value=3000), max_size=10))
@settings(max_examples=40, deadline=None)
def test_filter_is_chunk_invariant_and_exact(cuts):
    whole, _ = filter_block(DESIGN, NOISE, init_filter_state(DESIGN, 3))
    state, parts = init_filter_state(DESIGN, 3), []
    for block in np.split(NOISE, sorted(cuts), axis=-1):  # includes empty blocks
        out, state = filter_block(DESIGN, block, state)
        parts.append(out)
    np.testing.assert_array_equal(np.concatenate(parts, axis=-1), whole)
    assert state.n_samples_seen == NOISE.shape[1]


def test_filter_leaves_its_state_alone_and_accepts_empty_blocks():
    state = init_filter_state(DESIGN, 3)
    _, s1 = filter_block(DESIGN, NOISE[:, :100], state)
    before = s1.zi.copy()
    out, s2 = filter_block(DESIGN, NOISE[:, :0], s1)
    assert out.shape == (3, 0) and s2 is s1
    filter_block(DESIGN, NOISE[:, 100:200], s1)
    np.testing.assert_array_equal(s1.zi, before)
    assert not state.started and np.all(state.zi == 0)
    with pytest.raises(ConfigError, match="shape"):
        filter_block(DESIGN, NOISE[:2, :10], s1)


def test_filter_has_no_start_up_transient_for_a_dc_offset():
    x = 0.5 + 1e-6 * NOISE[:1]
    y, _ = filter_block(DESIGN, x, init_filter_state(DESIGN, 1))
    assert np.abs(y).max() < 1e-5


@pytest.mark.parametrize("sfreq", [250.0, 256.0, 1000.0, 2000.0])
@pytest.mark.parametrize("mains", [50, 60])
def test_mains_estimate(sfreq, mains):
    rng = np.random.default_rng(1)
    t = np.arange(int(2 * sfreq)) / sfreq
    hum = 5e-6 * np.sin(2 * np.pi * mains * t) + 2e-6 * np.sin(2 * np.pi * 3 * mains * t)
    x = 3e-6 * rng.standard_normal((2, t.size)) + hum
    assert estimate_mains(x, sfreq=sfreq) == mains


def test_config_defaults_and_presets():
    cfg = DetectorConfig()
    assert (cfg.hp_hz, cfg.hp_order, cfg.k_on, cfg.k_off, cfg.min_duration_s) == (
        20,
        2,
        4.5,
        2,
        0.02,
    )
    trunk = preset("trunk")
    assert (trunk.hp_hz, trunk.hp_order) == (30.0, 4)
    assert preset("limb", mains="60").mains == "60"
    assert cfg.low_pass_hz(250) == 112.5 and cfg.low_pass_hz(2000) == 450


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"mains": "55"}, "mains"),
        ({"k_on": -1}, "k_on"),
        ({"k_off": 5.0}, "k_off"),
        ({"hp_hz": 500.0}, "hp_hz"),
        ({"hp_order": 0}, "hp_order"),
        ({"hp_order": 2.5}, "hp_order"),
        ({"min_duration_s": 0.6}, "min_duration_s"),
        ({"lp_max_fraction": 0.6}, "lp_max_fraction"),
        ({"ecg_rr_tolerance": 0}, "ecg_rr_tolerance"),
        ({"merge_gap_s": float("nan")}, "merge_gap_s"),
        ({"envelope_method": "hilbert"}, "envelope_method"),
        ({"nonsense": 1}, "unknown"),
    ],
)
def test_config_validation(changes, match):
    with pytest.raises(ConfigError, match=match):
        DetectorConfig().with_changes(**changes)


def test_unknown_preset_is_refused():
    with pytest.raises(ConfigError, match="preset"):
        preset("neck")
