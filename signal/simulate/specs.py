"""Configuration of the simulator: the frozen dataclasses of a scenario and their checks.

A :class:`SimConfig` is one recording scenario (channels, background, mains, ECG,
needle sites); :class:`SimSite` is one needle site of it, :class:`LtrSpec` the shape
distributions of the twitches and :class:`ConfounderSpec` the rates and sizes of the
events that are not twitches. Every value is checked on construction and a bad one
raises :class:`~twitchscope.signal.core.errors.ConfigError`.

Default values and their sources are tagged as in
``shared/research/ltr_literature.md``: [V] read in the source, [C] computed, [E] an
engineering assumption. The LTR timing and amplitude values are [E] anchored on
Baraja-Vegas et al. 2020 (habituation over the first three LTRs) [V], Simons & Dexter
1995 (LTR = burst of discrete motor-unit discharges) [V] and Hong 1994 (spinal reflex,
hence a latency) [V].
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from twitchscope.signal.core.checks import check_ch_names, check_option, check_positive, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite

__all__ = ["Range", "MIN_SFREQ", "LTR_CUT", "LtrSpec", "ConfounderSpec", "SimSite", "SimConfig"]

#: a (low, high) pair; the simulator draws uniformly inside it
Range = tuple[float, float]

#: lowest sampling rate the simulator accepts, Hz
MIN_SFREQ = 100.0
#: envelope fraction that ends an LTR burst (its truth offset)
LTR_CUT = 0.05


@dataclass(frozen=True, slots=True)
class LtrSpec:
    """Distributions of the shape of local twitch responses (every range is uniform).

    Parameters
    ----------
    latency_s : (float, float)
        Delay from the needle insertion to the LTR onset, s. Default 5–60 ms [E]
        (a segmental reflex loop, Hong 1994 [V]).
    rise_s : (float, float)
        Raised-cosine rise of the envelope, s. Default 5–15 ms [E].
    plateau_s : (float, float)
        Plateau of the envelope, s. Default 0–100 ms [E].
    decay_tau_s : (float, float)
        Time constant of the exponential decay, s; the burst ends when the envelope
        reaches 5 % (after ``ln(20) τ``). Default 15–80 ms [E]; total 50–355 ms.
    band_hz : (float, float)
        Band of the MUAP-shaping band-pass (2nd-order Butterworth), Hz; the upper edge
        is clipped to 0.45 sfreq. Default 50–250 Hz [E] (ordinary sEMG, MDF 60–120 Hz).
    n_motor_units : (int, int)
        Number of motor units discharging. Default 5–30 [E].
    firing_rate_hz : (float, float)
        Discharge rate of each unit, Hz. Default 20–50 [E].
    amplitude_jitter : float
        Standard deviation of a log-normal factor on each twitch's amplitude. Default
        0.1 [E].
    spread_cm : float
        Length constant of the spread to other channels, cm: the gain at distance d is
        ``exp(-d / spread_cm)``. Default 2 cm [E] (a neighbour pair 2 cm away sees 37 %).
    min_spread_gain : float
        Channels with a smaller gain do not see the twitch at all. Default 0.1 [E].
    """

    latency_s: Range = (0.005, 0.060)
    rise_s: Range = (0.005, 0.015)
    plateau_s: Range = (0.0, 0.100)
    decay_tau_s: Range = (0.015, 0.080)
    band_hz: Range = (50.0, 250.0)
    n_motor_units: tuple[int, int] = (5, 30)
    firing_rate_hz: Range = (20.0, 50.0)
    amplitude_jitter: float = 0.1
    spread_cm: float = 2.0
    min_spread_gain: float = 0.1

    def __post_init__(self) -> None:
        _check_range("ltr.latency_s", self.latency_s)
        _check_range("ltr.rise_s", self.rise_s, positive=True)
        _check_range("ltr.plateau_s", self.plateau_s)
        _check_range("ltr.decay_tau_s", self.decay_tau_s, positive=True)
        _check_range("ltr.band_hz", self.band_hz, positive=True)
        lo, hi = self.n_motor_units
        if int(lo) != lo or int(hi) != hi or not 1 <= lo <= hi:
            raise ConfigError(
                f"ltr.n_motor_units must be integers with 1 <= low <= high, got {self.n_motor_units!r}."
            )
        _check_range("ltr.firing_rate_hz", self.firing_rate_hz, positive=True)
        check_positive("ltr.amplitude_jitter", self.amplitude_jitter, allow_zero=True)
        check_positive("ltr.spread_cm", self.spread_cm)
        if not 0 <= self.min_spread_gain <= 1:
            raise ConfigError(
                f"ltr.min_spread_gain must be in [0, 1], got {self.min_spread_gain!r}."
            )

    @property
    def max_duration_s(self) -> float:
        """Longest possible burst, s."""
        return self.rise_s[1] + self.plateau_s[1] + math.log(1 / LTR_CUT) * self.decay_tau_s[1]


@dataclass(frozen=True, slots=True)
class ConfounderSpec:
    """Rates and sizes of the events that are not twitches (every range is uniform).

    Random confounders (pops, motion, guarding, surges) follow Poisson processes with
    the given rates per minute; none starts in the first ``quiet_start_s`` seconds.
    Needle-handling transients happen at insertions (see
    :attr:`SimSite.handling_probability`). Defaults follow the synthetic-signal recipe
    of the literature brief (§7, all [E]); the rates default to 0 (off).

    Parameters
    ----------
    quiet_start_s : float
        Initial span free of random confounders, s (a baseline for the detector).
        Default 4 s [E].
    pop_per_min, pop_amplitude_v, pop_tau_s
        Electrode pops: a step of 0.2–2 mV (the recipe allows up to 5 mV) decaying
        with τ = 50–500 ms, one channel [E].
    motion_per_min, motion_amplitude_v, motion_duration_s, motion_freq_hz
        Electrode motion: a Hann-windowed 0.5–10 Hz wave of 30–300 µV over 0.1–1 s,
        one channel [E] (low-frequency, De Luca 2010 [V]).
    handling_amplitude_v, handling_duration_s, handling_freq_hz
        Needle handling: a Hann-windowed 1–15 Hz wave of 50–500 µV over 50–500 ms at
        the insertion, on every channel with gains 0.5–1 [E].
    guarding_per_min, guarding_duration_s, guarding_ramp_s, guarding_level
        Voluntary guarding: sEMG at 2–10× baseline RMS for 1–5 s with 0.2–0.5 s
        ramps, on one channel and its neighbours [E].
    surge_per_min, surge_duration_s, surge_gain
        Mains surges (practitioner touching): the mains level times 3–10 for
        0.5–3 s [E].
    """

    quiet_start_s: float = 4.0
    pop_per_min: float = 0.0
    pop_amplitude_v: Range = (2e-4, 2e-3)
    pop_tau_s: Range = (0.05, 0.5)
    motion_per_min: float = 0.0
    motion_amplitude_v: Range = (3e-5, 3e-4)
    motion_duration_s: Range = (0.1, 1.0)
    motion_freq_hz: Range = (0.5, 10.0)
    handling_amplitude_v: Range = (5e-5, 5e-4)
    handling_duration_s: Range = (0.05, 0.5)
    handling_freq_hz: Range = (1.0, 15.0)
    guarding_per_min: float = 0.0
    guarding_duration_s: Range = (1.0, 5.0)
    guarding_ramp_s: Range = (0.2, 0.5)
    guarding_level: Range = (2.0, 10.0)
    surge_per_min: float = 0.0
    surge_duration_s: Range = (0.5, 3.0)
    surge_gain: Range = (3.0, 10.0)

    def __post_init__(self) -> None:
        check_positive("confounders.quiet_start_s", self.quiet_start_s, allow_zero=True)
        for name in ("pop", "motion", "guarding", "surge"):
            check_positive(
                f"confounders.{name}_per_min", getattr(self, f"{name}_per_min"), allow_zero=True
            )
        for name in (
            "pop_amplitude_v",
            "motion_amplitude_v",
            "handling_amplitude_v",
            "guarding_level",
        ):
            _check_range(f"confounders.{name}", getattr(self, name))
        for name in (
            "pop_tau_s",
            "motion_duration_s",
            "motion_freq_hz",
            "handling_duration_s",
            "handling_freq_hz",
            "guarding_duration_s",
            "surge_duration_s",
        ):
            _check_range(f"confounders.{name}", getattr(self, name), positive=True)
        _check_range("confounders.guarding_ramp_s", self.guarding_ramp_s)
        if 2 * self.guarding_ramp_s[1] > self.guarding_duration_s[0]:
            raise ConfigError(
                "confounders.guarding_ramp_s must fit twice in the shortest guarding, got "
                f"ramps up to {self.guarding_ramp_s[1]!r} s for {self.guarding_duration_s[0]!r} s."
            )
        _check_range("confounders.surge_gain", self.surge_gain)
        if self.surge_gain[0] < 1:
            raise ConfigError(
                f"confounders.surge_gain must be >= 1 (a surge raises mains), got {self.surge_gain!r}."
            )

    @property
    def max_duration_s(self) -> float:
        """Longest random confounder, s."""
        return max(
            7 * self.pop_tau_s[1],
            self.motion_duration_s[1],
            self.guarding_duration_s[1],
            self.surge_duration_s[1],
        )


@dataclass(frozen=True, slots=True)
class SimSite:
    """A needle site of the scenario: when, where, and how the muscle responds.

    Parameters
    ----------
    label : str
        Label of the site, as in :class:`~twitchscope.signal.core.model.NeedleSite`.
    onset_s, duration_s : float
        When the needle is in, s from the start of the session (cycle).
    channel : str
        The channel closest to the needle: twitches are largest there.
    muscle, side, point_id
        Structured fields passed to the ground-truth :class:`NeedleSite`.
    ltr_probability : float
        Probability that an insertion elicits an LTR. Default 0.5 [E] (recipe 0.2–0.6;
        3–5 LTRs per trigger point in lab studies, Simons & Dexter 1995 [V]).
    insertion_interval_s : (float, float)
        Time between needle insertions (pistoning pace), s. Default 0.8–4 s [E]. The
        mean LTR rate is ``ltr_probability / mean(insertion_interval_s)``.
    snr : (float, float)
        Peak RMS of the first twitch of the bout over the channel's baseline RMS.
        Default 3–15 [E] (recipe 1.5–20).
    habituation : float
        Factor applied to each following twitch of the bout. Default 0.75 [E]
        (recipe 0.6–0.9, after Baraja-Vegas 2020 [V]).
    habituation_n : int
        Number of twitches over which the amplitude decays before it holds steady.
        Default 3 (Baraja-Vegas 2020 [V]: drops over the first three, then stable).
    handling_probability : float
        Probability that an insertion also causes a needle-handling transient.
        Default 0.2 [E].
    """

    label: str
    onset_s: float
    duration_s: float
    channel: str
    muscle: str = ""
    side: str = ""
    point_id: str | None = None
    ltr_probability: float = 0.5
    insertion_interval_s: Range = (0.8, 4.0)
    snr: Range = (3.0, 15.0)
    habituation: float = 0.75
    habituation_n: int = 3
    handling_probability: float = 0.2

    def __post_init__(self) -> None:
        self.needle_site(0.0)  # validates label and span
        if self.duration_s <= 0:
            raise ConfigError(
                f"needle site {self.label!r} needs duration_s > 0, got {self.duration_s!r}."
            )
        for name in ("ltr_probability", "handling_probability"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ConfigError(f"site {self.label!r}: {name} must be in [0, 1], got {value!r}.")
        _check_range(
            f"site {self.label!r} insertion_interval_s", self.insertion_interval_s, positive=True
        )
        _check_range(f"site {self.label!r} snr", self.snr)
        if not 0 < self.habituation <= 1:
            raise ConfigError(
                f"site {self.label!r}: habituation must be in (0, 1], got {self.habituation!r}."
            )
        if int(self.habituation_n) != self.habituation_n or self.habituation_n < 1:
            raise ConfigError(
                f"site {self.label!r}: habituation_n must be an integer >= 1, got {self.habituation_n!r}."
            )

    @property
    def offset_s(self) -> float:
        """End of the site, s."""
        return self.onset_s + self.duration_s

    def needle_site(self, shift_s: float) -> NeedleSite:
        """The ground-truth :class:`NeedleSite`, ``shift_s`` seconds later."""
        return NeedleSite(
            label=self.label,
            onset_s=self.onset_s + shift_s,
            duration_s=self.duration_s,
            muscle=self.muscle,
            side=self.side,
            point_id=self.point_id,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """A simulated recording scenario. All amplitudes in volts, times in seconds.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz, >= ``MIN_SFREQ``. Required (no default).
    ch_names : tuple of str
        Channel names (one bipolar pair each).
    channel_xy_cm : tuple of (float, float), optional
        Position of each pair on the skin, cm; used for the spread of twitches and
        guarding. Default: a row 2 cm apart (SENIAM inter-electrode distance [V]).
    baseline_rms_v : float or tuple of float
        Background RMS per channel (amplifier noise plus tonic sEMG), V. Default 3 µV
        [E] (recipe: 1–5 µV noise plus 1–10 µV tonic).
    amp_noise_share : float
        Share of the background power that is white amplifier noise. Default 0.3 [E].
    mains_hz : {50.0, 60.0}
        Mains frequency. Default 50 Hz.
    mains_v : float
        Peak amplitude of the mains fundamental on every channel, V. Default 2 µV [E]
        (recipe 1–50 µV).
    mains_harmonics_db : tuple of float
        Levels of the 2nd, 3rd, … harmonics relative to the fundamental, dB. Default
        (-20, -15, -25, -30) [E] (recipe −10 to −30 dB).
    ecg : bool
        Whether the ECG is present. Default False.
    ecg_hr_bpm : float
        Heart rate, beats per minute, 30–200. Default 70 [E] (50–100 at rest [M]).
    ecg_r_v : float or tuple of float
        R-wave amplitude per channel, V (0 for none). Default 0; the recipe gives
        10–300 µV, largest on the left trunk [E].
    sites : tuple of SimSite
        Needle sites of one session, not overlapping.
    ltr : LtrSpec
        Shape distributions of the twitches.
    confounders : ConfounderSpec
        Rates and sizes of the confounders.
    device_lowpass_hz : float, optional
        Low-pass of the amplifier (3rd-order Butterworth approximation), Hz. An
        ADS1299 (OpenBCI Cyton) at 250 SPS has its sinc3 −3 dB at 0.262 sfreq ≈ 65 Hz
        [V ratio, C value]. Default None (flat).
    cycle_s : float, optional
        Period of the endless session of :func:`sim_step`, which repeats the sites
        every ``cycle_s`` seconds. Default: the last site's offset plus
        ``confounders.quiet_start_s`` (at least 1 s).
    """

    sfreq: float  # required, keyword-only: never defaulted
    ch_names: tuple[str, ...] = ("EMG1", "EMG2")
    channel_xy_cm: tuple[tuple[float, float], ...] | None = None
    baseline_rms_v: float | tuple[float, ...] = 3e-6
    amp_noise_share: float = 0.3
    mains_hz: float = 50.0
    mains_v: float = 2e-6
    mains_harmonics_db: tuple[float, ...] = (-20.0, -15.0, -25.0, -30.0)
    ecg: bool = False
    ecg_hr_bpm: float = 70.0
    ecg_r_v: float | tuple[float, ...] = 0.0
    sites: tuple[SimSite, ...] = ()
    ltr: LtrSpec = field(default_factory=LtrSpec)
    confounders: ConfounderSpec = field(default_factory=ConfounderSpec)
    device_lowpass_hz: float | None = None
    cycle_s: float | None = None

    def __post_init__(self) -> None:
        sfreq = check_sfreq(self.sfreq)
        if sfreq < MIN_SFREQ:
            raise ConfigError(
                f"sfreq must be >= {MIN_SFREQ:g} Hz to simulate EMG, got {self.sfreq!r}."
            )
        set_ = object.__setattr__
        set_(self, "sfreq", sfreq)
        names = check_ch_names(self.ch_names)
        set_(self, "ch_names", names)
        n = len(names)
        if self.channel_xy_cm is None:
            xy = tuple((0.0, 2.0 * i) for i in range(n))
        else:
            xy = tuple((float(x), float(y)) for x, y in self.channel_xy_cm)
            if len(xy) != n or not all(math.isfinite(v) for p in xy for v in p):
                raise ConfigError(
                    f"channel_xy_cm needs one finite (x, y) per channel ({n}), got {self.channel_xy_cm!r}."
                )
        set_(self, "channel_xy_cm", xy)
        rms = _per_channel("baseline_rms_v", self.baseline_rms_v, n)
        if min(rms) <= 0:
            raise ConfigError(
                f"baseline_rms_v must be > 0 V on every channel, got {self.baseline_rms_v!r}."
            )
        set_(self, "baseline_rms_v", rms)
        if not 0 <= self.amp_noise_share <= 1:
            raise ConfigError(f"amp_noise_share must be in [0, 1], got {self.amp_noise_share!r}.")
        set_(self, "mains_hz", float(check_option("mains_hz", self.mains_hz, (50.0, 60.0))))
        check_positive("mains_v", self.mains_v, allow_zero=True)
        harmonics = tuple(float(h) for h in self.mains_harmonics_db)
        if not all(math.isfinite(h) for h in harmonics):
            raise ConfigError(
                f"mains_harmonics_db must be finite dB values, got {self.mains_harmonics_db!r}."
            )
        set_(self, "mains_harmonics_db", harmonics)
        hr = check_positive("ecg_hr_bpm", self.ecg_hr_bpm)
        if not 30 <= hr <= 200:
            raise ConfigError(
                f"ecg_hr_bpm must be in [30, 200] beats/min, got {self.ecg_hr_bpm!r}."
            )
        r_v = _per_channel("ecg_r_v", self.ecg_r_v, n)
        if self.ecg and max(r_v) <= 0:
            raise ConfigError("ecg=True needs ecg_r_v > 0 V on at least one channel, got all 0.")
        set_(self, "ecg_r_v", r_v)
        for site in self.sites:
            if not isinstance(site, SimSite):
                raise ConfigError(f"sites must be SimSite objects, got {type(site).__name__}.")
        sites = tuple(sorted(self.sites, key=lambda s: s.onset_s))
        for site in sites:
            if site.channel not in names:
                raise ConfigError(
                    f"site {site.label!r} is on channel {site.channel!r}, which is not one of {list(names)!r}."
                )
        for a, b in zip(sites, sites[1:], strict=False):
            if b.onset_s < a.offset_s:
                raise ConfigError(
                    f"needle sites overlap: {a.label!r} ends at {a.offset_s:g} s after "
                    f"{b.label!r} starts at {b.onset_s:g} s; expected one needle at a time."
                )
        set_(self, "sites", sites)
        margin = self.ltr.latency_s[1] + self.ltr.max_duration_s
        for site in sites:
            if site.duration_s <= margin:
                raise ConfigError(
                    f"site {site.label!r} lasts {site.duration_s:g} s; expected more than "
                    f"{margin:.3g} s (the longest latency plus twitch)."
                )
        if self.device_lowpass_hz is not None:
            lp = check_positive("device_lowpass_hz", self.device_lowpass_hz)
            if lp >= sfreq / 2:
                raise ConfigError(
                    f"device_lowpass_hz must be below sfreq/2 = {sfreq / 2:g} Hz, got {self.device_lowpass_hz!r}."
                )
            set_(self, "device_lowpass_hz", lp)
        last = sites[-1].offset_s if sites else 0.0
        if self.cycle_s is None:
            set_(self, "cycle_s", max(1.0, last + self.confounders.quiet_start_s))
        else:
            cycle = check_positive("cycle_s", self.cycle_s)
            if cycle < last:
                raise ConfigError(
                    f"cycle_s must be >= the last site's offset ({last:g} s), got {self.cycle_s!r}."
                )
            set_(self, "cycle_s", cycle)

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.ch_names)


# --------------------------------------------------------------------------- validation helpers


def _check_range(name: str, value: Sequence[float], *, positive: bool = False) -> None:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a (low, high) pair of numbers, got {value!r}.") from None
    bound = 0 < lo if positive else 0 <= lo
    if not (math.isfinite(lo) and math.isfinite(hi) and bound and lo <= hi):
        rel = "0 < low <= high" if positive else "0 <= low <= high"
        raise ConfigError(f"{name} must satisfy {rel} (finite), got {tuple(value)!r}.")


def _per_channel(name: str, value: float | Sequence[float], n: int) -> tuple[float, ...]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        values = (float(value),) * n
    else:
        try:
            values = tuple(float(v) for v in value)  # type: ignore[union-attr]
        except (TypeError, ValueError):
            raise ConfigError(
                f"{name} must be a number or one number per channel, got {value!r}."
            ) from None
        if len(values) != n:
            raise ConfigError(f"{name} needs one value per channel ({n}), got {len(values)}.")
    if not all(math.isfinite(v) and v >= 0 for v in values):
        raise ConfigError(f"{name} must be finite and >= 0 V, got {value!r}.")
    return values
