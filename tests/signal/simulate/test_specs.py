"""Tests of the scenario dataclasses: every bad value is a one-line ConfigError."""

from __future__ import annotations

import pytest

from tests.signal.simulate.scenarios import bare_site
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.simulate import ConfounderSpec, LtrSpec, SimConfig


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
        (lambda: SimConfig(sfreq=1e3, sites=(bare_site(channel="nope"),)), "not one of"),
        (
            lambda: SimConfig(sfreq=1e3, sites=(bare_site(), bare_site(label="y", onset_s=3.0))),
            "needle sites overlap",
        ),
        (lambda: SimConfig(sfreq=1e3, sites=(bare_site(),), cycle_s=2.0), "cycle_s"),
        (lambda: bare_site(ltr_probability=1.5), "ltr_probability"),
        (lambda: bare_site(snr=(-1.0, 2.0)), "snr"),
        (lambda: bare_site(habituation=0.0), "habituation"),
        (lambda: bare_site(onset_s=-1.0), "onset >= 0"),
        (lambda: ConfounderSpec(pop_amplitude_v=(-1e-4, 1e-3)), "pop_amplitude_v"),
        (lambda: ConfounderSpec(guarding_per_min=-1.0), "guarding_per_min"),
        (lambda: LtrSpec(decay_tau_s=(0.08, 0.01)), "decay_tau_s"),
    ],
)
def test_bad_config_raises_one_line_config_error(make, match: str) -> None:
    """Bad scenario values are one-line ConfigErrors."""
    with pytest.raises(ConfigError, match=match) as info:
        make()
    assert "\n" not in str(info.value)
