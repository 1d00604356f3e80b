"""Tests of the named scenarios and their resizing to a device's channel count."""

from __future__ import annotations

import numpy as np
import pytest

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.simulate import PRESETS, init_sim_state, preset, sim_step, simulate


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


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: preset("arm", sfreq=1e3), "'name' parameter"),
        (lambda: preset("limb", sfreq=None), "sfreq .*required"),
        (lambda: preset("limb", sfreq=2e3, n_channels=0), "n_channels"),
    ],
)
def test_bad_preset_raises_one_line_config_error(make, match: str) -> None:
    """Unknown names, missing rates and bad channel counts are one-line ConfigErrors."""
    with pytest.raises(ConfigError, match=match) as info:
        make()
    assert "\n" not in str(info.value)
