"""Event plans: when, where and how large each burst, needle transient and mains surge is.

A plan is drawn from its own random stream (one per needle-site occurrence, one per
ten-second window of random confounders) before any sample is rendered, so the
renderer and the ground truth see the same events whatever segment they look at.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from twitchscope.signal.core.model import NeedleSite
from twitchscope.signal.simulate.seeding import STREAM_SITE, STREAM_WAVE, STREAM_WINDOW, keyed_rng
from twitchscope.signal.simulate.specs import LTR_CUT, Range, SimConfig

__all__ = [
    "K_LTR",
    "K_POP",
    "K_MOTION",
    "K_HANDLING",
    "K_GUARD",
    "Burst",
    "Surge",
    "SitePlan",
    "lerp",
    "plan_window",
    "site_plans",
    "windows_between",
]

_WINDOW_S = 10.0  # length of a window of random confounders
_SITE_TAIL_S = 1.0  # margin after a site's offset for site-driven bursts
#: burst kinds rendered from a waveform times per-channel gains
K_LTR, K_POP, K_MOTION, K_HANDLING, K_GUARD = range(5)


@dataclass(frozen=True, slots=True)
class Burst:
    """A burst rendered as a unit waveform times per-channel gains, over samples [n0, n1)."""

    kind: int
    n0: int
    n1: int
    gains: tuple[float, ...]
    key: tuple[int, ...]
    params: tuple[float, ...]
    site: int = -1  # index of the site occurrence (for LTR truth)


@dataclass(frozen=True, slots=True)
class Surge:
    """A mains surge over samples [n0, n1): the mains level times ``gain``."""

    n0: int
    n1: int
    gain: float


@dataclass(frozen=True, slots=True)
class SitePlan:
    """One needle-site occurrence with its planned LTRs and needle-handling transients."""

    site: NeedleSite
    ltrs: tuple[Burst, ...]
    handling: tuple[Burst, ...]


def _spread_gains(
    config: SimConfig, channel: int, length_cm: float, cutoff: float
) -> tuple[float, ...]:
    xy = config.channel_xy_cm or ()
    x0, y0 = xy[channel]
    out = []
    for x, y in xy:
        g = math.exp(-math.hypot(x - x0, y - y0) / length_cm)
        out.append(g if g >= cutoff else 0.0)
    return tuple(out)


def _plan_site(config: SimConfig, seed: int, cycle: int, j: int) -> SitePlan:
    """Insertions, LTRs and needle-handling transients of site ``j`` in cycle ``cycle``."""
    spec = config.sites[j]
    assert config.cycle_s is not None
    shift = cycle * config.cycle_s
    site = spec.needle_site(shift)
    fs = config.sfreq
    ltr = config.ltr
    conf = config.confounders
    rng = keyed_rng(seed, STREAM_SITE, cycle, j)
    main = config.ch_names.index(spec.channel)
    base = config.baseline_rms_v[main]  # type: ignore[index]
    spread = _spread_gains(config, main, ltr.spread_cm, ltr.min_spread_gain)
    snr0 = rng.uniform(*spec.snr)
    margin = ltr.latency_s[1] + ltr.max_duration_s
    t = site.onset_s + 0.5 * rng.uniform(*spec.insertion_interval_s)
    ltrs: list[Burst] = []
    handling: list[Burst] = []
    i_ins = 0
    while t + margin < site.offset_s:
        u = rng.uniform(size=10)
        jitter = rng.normal(0.0, 1.0)
        ch_gains = rng.uniform(0.5, 1.0, size=config.n_channels)
        if u[0] < spec.ltr_probability:
            latency = lerp(ltr.latency_s, u[2])
            rise = lerp(ltr.rise_s, u[3])
            plateau = lerp(ltr.plateau_s, u[4])
            tau = lerp(ltr.decay_tau_s, u[5])
            n0 = math.ceil((t + latency) * fs)
            n_len = max(3, int(round((rise + plateau + math.log(1 / LTR_CUT) * tau) * fs)))
            i_ltr = len(ltrs)
            hab = spec.habituation ** min(i_ltr, spec.habituation_n - 1)
            amp = snr0 * base * hab * math.exp(ltr.amplitude_jitter * jitter)
            ltrs.append(
                Burst(
                    K_LTR,
                    n0,
                    n0 + n_len,
                    tuple(amp * g for g in spread),
                    (STREAM_WAVE, 0, cycle, j, i_ins),
                    (rise, plateau, tau, float(u[6]), float(u[7])),
                )
            )
        if u[1] < spec.handling_probability:
            dur = lerp(conf.handling_duration_s, u[8])
            amp = lerp(conf.handling_amplitude_v, u[9])
            n0 = math.ceil(t * fs)
            n_len = max(3, int(round(dur * fs)))
            handling.append(
                Burst(
                    K_HANDLING,
                    n0,
                    n0 + n_len,
                    tuple(float(amp * g) for g in ch_gains),
                    (STREAM_WAVE, 1, cycle, j, i_ins),
                    (lerp(conf.handling_freq_hz, u[2] * u[3]), float(u[4])),
                )
            )
        t += rng.uniform(*spec.insertion_interval_s)
        i_ins += 1
    return SitePlan(site, tuple(ltrs), tuple(handling))


def lerp(rng_: Range, u: float) -> float:
    """The point at fraction ``u`` of the range ``rng_`` (a uniform draw when ``u`` is)."""
    return float(rng_[0] + (rng_[1] - rng_[0]) * u)


def plan_window(config: SimConfig, seed: int, w: int) -> tuple[list[Burst], list[Surge]]:
    """Random confounders starting in window ``w`` ([w W, (w + 1) W) seconds)."""
    conf = config.confounders
    fs = config.sfreq
    rng = keyed_rng(seed, STREAM_WINDOW, w)
    t0 = w * _WINDOW_S
    scale = _WINDOW_S / 60.0
    counts = rng.poisson(
        [
            conf.pop_per_min * scale,
            conf.motion_per_min * scale,
            conf.guarding_per_min * scale,
            conf.surge_per_min * scale,
        ]
    )
    bursts: list[Burst] = []
    surges: list[Surge] = []
    n_ch = config.n_channels
    for kind_i, count in enumerate(counts):
        for e in range(int(count)):
            onset = t0 + rng.uniform(0.0, _WINDOW_S)
            u = rng.uniform(size=6)
            ch = int(rng.integers(n_ch))
            if onset < conf.quiet_start_s:
                continue
            n0 = math.ceil(onset * fs)
            key = (STREAM_WAVE, 2 + kind_i, w, e)
            if kind_i == 0:  # pop
                tau = lerp(conf.pop_tau_s, u[0])
                amp = lerp(conf.pop_amplitude_v, u[1]) * (1 if u[2] < 0.5 else -1)
                gains = tuple(amp if c == ch else 0.0 for c in range(n_ch))
                bursts.append(Burst(K_POP, n0, n0 + max(3, int(7 * tau * fs)), gains, key, (tau,)))
            elif kind_i == 1:  # motion
                dur = lerp(conf.motion_duration_s, u[0])
                amp = lerp(conf.motion_amplitude_v, u[1])
                gains = tuple(amp if c == ch else 0.0 for c in range(n_ch))
                params = (lerp(conf.motion_freq_hz, u[2]), float(u[3]))
                bursts.append(Burst(K_MOTION, n0, n0 + max(3, int(dur * fs)), gains, key, params))
            elif kind_i == 2:  # guarding
                dur = lerp(conf.guarding_duration_s, u[0])
                ramp = lerp(conf.guarding_ramp_s, u[1])
                level = lerp(conf.guarding_level, u[2]) * config.baseline_rms_v[ch]  # type: ignore[index]
                spread = _spread_gains(
                    config, ch, 2 * config.ltr.spread_cm, config.ltr.min_spread_gain
                )
                gains = tuple(level * g for g in spread)
                bursts.append(Burst(K_GUARD, n0, n0 + max(3, int(dur * fs)), gains, key, (ramp,)))
            else:  # mains surge
                dur = lerp(conf.surge_duration_s, u[0])
                gain = lerp(conf.surge_gain, u[1])
                surges.append(Surge(n0, n0 + max(3, int(dur * fs)), gain))
    return bursts, surges


def _cycles_between(config: SimConfig, t0: float, t1: float, *, cycling: bool) -> range:
    """Cycles whose site-driven bursts may overlap [t0, t1) seconds."""
    if not config.sites:
        return range(0)
    if not cycling:
        return range(1)
    assert config.cycle_s is not None
    first = config.sites[0].onset_s
    last = config.sites[-1].offset_s + _SITE_TAIL_S
    c_lo = max(0, math.floor((t0 - last) / config.cycle_s))
    c_hi = max(-1, math.floor((t1 - first) / config.cycle_s))
    return range(c_lo, c_hi + 1)


def windows_between(config: SimConfig, t0: float, t1: float) -> range:
    """Windows whose random confounders may overlap [t0, t1) seconds."""
    lookback = config.confounders.max_duration_s
    w_lo = max(0, math.floor((t0 - lookback) / _WINDOW_S))
    w_hi = math.floor(t1 / _WINDOW_S)
    return range(w_lo, w_hi + 1)


def site_plans(
    config: SimConfig, seed: int, t0: float, t1: float, *, cycling: bool
) -> Iterator[SitePlan]:
    """Plans of the site occurrences whose bursts may overlap [t0, t1) seconds.

    With ``cycling`` the sites repeat every ``config.cycle_s`` seconds (the stream);
    without, they are laid out once (a finite recording).
    """
    for c in _cycles_between(config, t0, t1, cycling=cycling):
        assert config.cycle_s is not None
        for j, spec in enumerate(config.sites):
            start = spec.onset_s + c * config.cycle_s
            if start <= t1 and start + spec.duration_s + _SITE_TAIL_S >= t0:
                yield _plan_site(config, seed, c, j)
