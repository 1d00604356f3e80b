"""Named simulation scenarios (:func:`preset`) and resizing them to a device's channel count."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from twitchscope.signal.core.checks import check_option, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.simulate.specs import ConfounderSpec, LtrSpec, SimConfig, SimSite

__all__ = ["PRESETS", "preset"]

#: names accepted by :func:`preset`
PRESETS = ("limb", "trunk_ecg", "cyton", "paraspinal", "confounders")


def preset(name: str, *, sfreq: float, n_channels: int | None = None) -> SimConfig:
    """Return a named scenario.

    ============  =======  ==========================================================
    name          sfreq    scenario
    ============  =======  ==========================================================
    limb          2000 Hz  R medial gastrocnemius, 2 trigger points, clear LTRs that
                           habituate (Baraja-Vegas 2020 muscle), 80 s session
    trunk_ecg     500 Hz   R upper trapezius with ECG (left side largest), weak LTRs
                           (Lim 2004: often hard to see on sEMG), the odd pop and
                           motion artifact, 76 s session
    cyton         250 Hz   OpenBCI Cyton-like: 8 channels, 60 Hz mains, sinc3
                           low-pass at 0.262 sfreq, R infraspinatus, the odd pop
                           and motion artifact, 80 s session
    paraspinal    1000 Hz  segmental IMS of L4/L5 multifidus, both sides, 105 s
    confounders   1000 Hz  calf with guarding, pops, motion, mains surges and needle
                           handling; few true LTRs, 80 s session
    ============  =======  ==========================================================

    Parameters
    ----------
    name : str
        One of :data:`PRESETS`.
    sfreq : float
        Sampling rate, Hz (the table gives the rate each scenario was designed for).
    n_channels : int, optional
        Number of channels, to match a device: extra channels (``EMG<i>``) are placed
        4 cm apart beyond the others with the same background; fewer channels keep the
        first ones and move sites to the nearest channel kept.

    Returns
    -------
    config : SimConfig

    Examples
    --------
    >>> cfg = preset("limb", sfreq=2000.0)
    >>> cfg.ch_names
    ('R-MG-prox', 'R-MG-TrP', 'R-MG-dist', 'R-LG')
    """
    check_option("name", name, PRESETS)
    sfreq = check_sfreq(sfreq)
    cfg = _PRESET_BUILDERS[name](sfreq)
    if n_channels is not None:
        cfg = _resize(cfg, n_channels)
    return cfg


def _limb(sfreq: float) -> SimConfig:
    site = {
        "channel": "R-MG-TrP",
        "muscle": "gastrocnemius medialis",
        "side": "R",
        "ltr_probability": 0.6,
        "insertion_interval_s": (1.0, 3.0),
        "snr": (12.0, 20.0),
        "habituation": 0.6,
    }
    return SimConfig(
        sfreq=sfreq,
        ch_names=("R-MG-prox", "R-MG-TrP", "R-MG-dist", "R-LG"),
        channel_xy_cm=((0.0, 0.0), (0.0, 2.5), (0.0, 5.0), (4.0, 2.5)),
        baseline_rms_v=(4e-6, 4e-6, 4e-6, 3.5e-6),
        mains_v=3e-6,
        sites=(
            SimSite("R medial gastrocnemius TrP1", 6.0, 30.0, point_id="TrP1", **site),  # type: ignore[arg-type]
            SimSite("R medial gastrocnemius TrP2", 44.0, 30.0, point_id="TrP2", **site),  # type: ignore[arg-type]
        ),
        ltr=LtrSpec(amplitude_jitter=0.05),
        confounders=ConfounderSpec(),
    )


def _trunk_ecg(sfreq: float) -> SimConfig:
    site = {
        "channel": "R-UT-TB",
        "muscle": "upper trapezius",
        "side": "R",
        "ltr_probability": 0.35,
        "insertion_interval_s": (1.0, 4.0),
        "snr": (2.5, 8.0),
        "habituation": 0.8,
    }
    return SimConfig(
        sfreq=sfreq,
        ch_names=("R-UT-TB", "R-UT-SENIAM", "R-LevScap", "L-UT"),
        channel_xy_cm=((0.0, 0.0), (3.0, 0.0), (-3.0, 3.0), (-16.0, 0.0)),
        baseline_rms_v=(3e-6, 3e-6, 3.5e-6, 3e-6),
        mains_v=5e-6,
        ecg=True,
        ecg_hr_bpm=72.0,
        ecg_r_v=(30e-6, 25e-6, 20e-6, 60e-6),
        sites=(
            SimSite("R upper trapezius TrP1", 6.0, 28.0, point_id="TrP1", **site),  # type: ignore[arg-type]
            SimSite("R upper trapezius TrP2", 42.0, 28.0, point_id="TrP2", **site),  # type: ignore[arg-type]
        ),
        confounders=ConfounderSpec(pop_per_min=0.5, motion_per_min=0.5),
    )


def _cyton(sfreq: float) -> SimConfig:
    site = {
        "channel": "R-Infrasp",
        "muscle": "infraspinatus",
        "side": "R",
        "ltr_probability": 0.5,
        "insertion_interval_s": (1.0, 3.5),
        "snr": (5.0, 12.0),
        "habituation": 0.75,
    }
    return SimConfig(
        sfreq=sfreq,
        ch_names=(
            "R-Infrasp",
            "R-TeresMin",
            "R-PostDelt",
            "R-MidTrap",
            "R-UT",
            "L-Infrasp",
            "L-UT",
            "R-LevScap",
        ),
        channel_xy_cm=(
            (0.0, 0.0),
            (2.5, -2.0),
            (5.0, 0.0),
            (-4.0, 2.0),
            (-2.0, 10.0),
            (-20.0, 0.0),
            (-18.0, 10.0),
            (-5.0, 12.0),
        ),
        baseline_rms_v=3e-6,
        mains_hz=60.0,
        mains_v=8e-6,
        ecg=True,
        ecg_hr_bpm=64.0,
        ecg_r_v=(12e-6, 10e-6, 8e-6, 15e-6, 10e-6, 20e-6, 18e-6, 10e-6),
        sites=(
            SimSite("R infraspinatus TrP1", 6.0, 30.0, point_id="TrP1", **site),  # type: ignore[arg-type]
            SimSite("R infraspinatus TrP2", 44.0, 30.0, point_id="TrP2", **site),  # type: ignore[arg-type]
        ),
        confounders=ConfounderSpec(pop_per_min=0.5, motion_per_min=0.5),
        device_lowpass_hz=0.262 * sfreq,
    )


def _paraspinal(sfreq: float) -> SimConfig:
    common = {
        "muscle": "multifidus",
        "ltr_probability": 0.4,
        "insertion_interval_s": (0.8, 3.0),
        "snr": (3.0, 10.0),
        "habituation": 0.75,
        "handling_probability": 0.4,
    }
    sites = []
    for i, (side, level) in enumerate((("L", "L4"), ("L", "L5"), ("R", "L4"), ("R", "L5"))):
        sites.append(
            SimSite(
                f"{side} {level} multifidus",
                5.0 + 25.0 * i,
                20.0,
                channel=f"{side}-MF-{level}",
                side=side,
                point_id=level,
                **common,  # type: ignore[arg-type]
            )
        )
    return SimConfig(
        sfreq=sfreq,
        ch_names=("L-MF-L4", "L-MF-L5", "R-MF-L4", "R-MF-L5"),
        channel_xy_cm=((-2.5, 0.0), (-2.5, -3.5), (2.5, 0.0), (2.5, -3.5)),
        baseline_rms_v=3.5e-6,
        mains_v=3e-6,
        ecg=True,
        ecg_hr_bpm=66.0,
        ecg_r_v=(12e-6, 10e-6, 8e-6, 7e-6),
        sites=tuple(sites),
    )


def _confounders(sfreq: float) -> SimConfig:
    return SimConfig(
        sfreq=sfreq,
        ch_names=("R-MG-TrP", "R-MG-dist", "R-LG", "R-Soleus"),
        channel_xy_cm=((0.0, 0.0), (0.0, 2.5), (4.0, 0.0), (1.0, 8.0)),
        baseline_rms_v=3.5e-6,
        mains_v=4e-6,
        sites=(
            SimSite(
                "R medial gastrocnemius TrP1",
                6.0,
                70.0,
                channel="R-MG-TrP",
                muscle="gastrocnemius medialis",
                side="R",
                point_id="TrP1",
                ltr_probability=0.25,
                insertion_interval_s=(1.5, 4.0),
                snr=(4.0, 10.0),
                handling_probability=0.5,
            ),
        ),
        confounders=ConfounderSpec(
            pop_per_min=3.0,
            motion_per_min=2.0,
            guarding_per_min=2.5,
            surge_per_min=1.5,
        ),
    )


_PRESET_BUILDERS = {
    "limb": _limb,
    "trunk_ecg": _trunk_ecg,
    "cyton": _cyton,
    "paraspinal": _paraspinal,
    "confounders": _confounders,
}


def _resize(cfg: SimConfig, n_channels: int) -> SimConfig:
    if isinstance(n_channels, bool) or int(n_channels) != n_channels or n_channels < 1:
        raise ConfigError(f"n_channels must be an integer >= 1, got {n_channels!r}.")
    n = int(n_channels)
    names = list(cfg.ch_names)
    xy = list(cfg.channel_xy_cm or ())
    rms = list(_as_tuple(cfg.baseline_rms_v))
    ecg = list(_as_tuple(cfg.ecg_r_v))
    if n > len(names):
        x_far = max(x for x, _ in xy) + 4.0
        i = 1
        while len(names) < n:
            name = f"EMG{i}"
            i += 1
            if name in names:
                continue
            names.append(name)
            xy.append((x_far, 0.0))
            x_far += 4.0
            rms.append(rms[-1])
            ecg.append(float(np.mean(ecg[: len(cfg.ch_names)])))
        return replace(
            cfg,
            ch_names=tuple(names),
            channel_xy_cm=tuple(xy),
            baseline_rms_v=tuple(rms),
            ecg_r_v=tuple(ecg),
        )
    kept = names[:n]
    sites = []
    for site in cfg.sites:
        if site.channel not in kept:
            x0, y0 = xy[names.index(site.channel)]
            near = min(range(n), key=lambda i: math.hypot(xy[i][0] - x0, xy[i][1] - y0))
            site = replace(site, channel=kept[near])
        sites.append(site)
    ecg = ecg[:n]
    return replace(
        cfg,
        ch_names=tuple(kept),
        channel_xy_cm=tuple(xy[:n]),
        baseline_rms_v=tuple(rms[:n]),
        ecg_r_v=tuple(ecg),
        ecg=cfg.ecg and max(ecg) > 0,
        sites=tuple(sites),
    )


def _as_tuple(value: float | tuple[float, ...]) -> tuple[float, ...]:
    return value if isinstance(value, tuple) else (float(value),)
