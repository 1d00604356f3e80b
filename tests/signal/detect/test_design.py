"""The detector's design: immutable, built from the config, checked against it."""

from __future__ import annotations

import dataclasses
import math

import pytest

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.design import LF_BAND_HZ, check_design, design_detector


def test_a_given_mains_gives_a_complete_design_recording_its_config():
    config = DetectorConfig(mains="60")
    design = design_detector(config, sfreq=1000.0, ch_names=["A", "B"])
    assert design.config is config
    assert design.sfreq == 1000.0 and design.ch_names == ("A", "B") and design.n_channels == 2
    assert design.mains_hz == 60.0 and design.conditioning is not None
    assert design.bandwidth_hz == (config.hp_hz, config.low_pass_hz(1000.0))
    assert design.lf.band == LF_BAND_HZ
    assert design.segment_n == round(config.baseline_segment_s * 1000)
    assert design.merge_n == round(config.merge_gap_s * 1000)
    assert design.context_n == math.ceil(config.context_s * 1000)
    assert design.k_on == config.k_on


def test_auto_mains_waits_for_the_estimate():
    design = design_detector(DetectorConfig(), sfreq=500.0, ch_names=["A"])
    assert design.mains_hz is None and design.conditioning is None and design.bandwidth_hz is None
    assert design.probe_n == round(DetectorConfig().mains_probe_s * 500)
    done = design.with_mains(50.0)
    assert done.mains_hz == 50.0 and done.conditioning is not None
    assert design.conditioning is None  # the original is untouched
    assert done.config is design.config and done.lf is design.lf


def test_the_design_is_frozen():
    design = design_detector(DetectorConfig(), sfreq=500.0, ch_names=["A"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        design.sfreq = 1000.0  # type: ignore[misc]


def test_check_design_accepts_an_equal_config_and_names_what_differs():
    design = design_detector(DetectorConfig(), sfreq=500.0, ch_names=["A"])
    check_design(design, DetectorConfig())
    with pytest.raises(ConfigError, match=r"differs in hp_hz, hp_order\)"):
        check_design(design, DetectorConfig(hp_hz=30.0, hp_order=4))


def test_a_rate_without_a_pass_band_is_refused_at_design():
    with pytest.raises(ConfigError):
        design_detector(DetectorConfig(), sfreq=40.0, ch_names=["A"])
