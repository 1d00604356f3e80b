"""Scenarios shared by the simulator's tests (not a test module)."""

from __future__ import annotations

import numpy as np

from twitchscope.signal.simulate import ConfounderSpec, SimConfig, SimSite

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


def bare_site(**kw) -> SimSite:
    """A plain 5 s needle site on ``EMG1`` (the default channel of :class:`SimConfig`)."""
    base = dict(label="x", onset_s=1.0, duration_s=5.0, channel="EMG1")
    base.update(kw)
    return SimSite(**base)


def rms(x: np.ndarray) -> float:
    """Root mean square of ``x``."""
    return float(np.sqrt(np.mean(x * x)))
