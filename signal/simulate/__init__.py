"""Simulate multichannel surface EMG during a dry-needling session, with ground truth.

The simulator is pure computation (numpy/scipy). It produces signals in volts for
tests, for the simulated amplifier (which feeds the blocks of :func:`sim_step` to a
device emulator), for the sample recordings and for the documentation.

What is in the signal
---------------------
- **Background**: white amplifier noise plus low tonic sEMG shaped by the Shwedyk
  spectrum ``P(f) ∝ f² / ((f² + fl²)(f² + fh²)²)`` with fl = 60 Hz, fh = 120 Hz
  (peak ≈ 65 Hz, median ≈ 96 Hz), together ``baseline_rms_v`` RMS per channel.
- **Mains** 50 or 60 Hz plus harmonics, common to all channels. Harmonics at or above
  Nyquist are left out (ideal anti-alias filter) unless a device low-pass is set, in
  which case they are attenuated by it and alias, as on an ADS1299 at 250 SPS.
- **ECG** (optional): P-QRS-T beats from a sum of Gaussians, R amplitude per channel,
  heart rate with beat-to-beat jitter and respiratory modulation.
- **LTRs**: during each needle site the needle is inserted every
  ``insertion_interval_s``; an insertion elicits an LTR with ``ltr_probability``, after
  a latency of 5–60 ms. An LTR is a train of motor-unit discharges (5–30 units at
  20–50 Hz) shaped by a 50–250 Hz band-pass (a MUAP-like wavelet), under an envelope
  that rises in 5–15 ms, holds 0–100 ms and decays with τ = 15–80 ms (50–355 ms in
  all). Its peak RMS is ``snr`` × the channel's baseline RMS for the first twitch of a
  bout, multiplied by ``habituation`` for each following twitch until the
  ``habituation_n``-th, then stable. It spreads to neighbouring channels with gain
  ``exp(-distance / spread_cm)`` (channels below ``min_spread_gain`` get nothing).
- **Confounders**: needle-handling transients at insertions (1–15 Hz, all channels),
  electrode pops (step then exponential decay, one channel), electrode motion
  (0.5–10 Hz, one channel), voluntary guarding (1–5 s of sEMG with 0.2–0.5 s ramps,
  2–10× baseline), and mains surges (mains × 3–10 for 0.5–3 s).

Default values and their sources are tagged as in
``shared/research/ltr_literature.md``: [V] read in the source, [C] computed, [E] an
engineering assumption. The LTR timing and amplitude values are [E] anchored on
Baraja-Vegas et al. 2020 (habituation over the first three LTRs) [V], Simons & Dexter
1995 (LTR = burst of discrete motor-unit discharges) [V] and Hong 1994 (spinal reflex,
hence a latency) [V].

Ground truth
------------
Twitch onset/offset are the first sample of the burst and the sample where its envelope
has decayed to 5 % of its peak (the burst is exactly zero outside); ``peak_v`` and
``rms_v`` are those of the noise-free burst on its main channel, ``snr_db`` is
``20 log10(rms_v / baseline_rms_v)``. Confounders are listed as :class:`Confounder`
records (channel ``"*"`` means every channel).

Determinism and streaming
-------------------------
The signal is built in fixed one-second segments. The random numbers of each segment,
of each needle site occurrence, of each ten-second window of random confounders, of each
block of heartbeats and of each burst come from their own
:class:`numpy.random.SeedSequence` keyed by ``(seed, stream, index…)``, and the
background filters carry their state from segment to segment. So the samples depend
only on the seed and the configuration, never on how the stream is cut into blocks:
:func:`sim_step` is chunk-invariant, and :func:`simulate` returns the same samples as
the stream for the first session cycle.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from scipy import signal as sps

from twitchscope.signal.core.checks import check_ch_names, check_option, check_positive, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite, RecordingEvents, SampleBlock, Twitch

if TYPE_CHECKING:
    import mne

__all__ = [
    "CONFOUNDER_KINDS",
    "PRESETS",
    "MIN_SFREQ",
    "LtrSpec",
    "ConfounderSpec",
    "SimSite",
    "SimConfig",
    "Confounder",
    "Simulation",
    "SimState",
    "preset",
    "simulate",
    "init_sim_state",
    "sim_step",
    "truth_events",
    "truth_confounders",
]

logger = logging.getLogger(__name__)

Range = tuple[float, float]

#: kinds of :class:`Confounder` the simulator produces
CONFOUNDER_KINDS = ("ecg", "pop", "motion", "needle_handling", "guarding", "mains_surge")
#: names accepted by :func:`preset`
PRESETS = ("limb", "trunk_ecg", "cyton", "paraspinal", "confounders")
#: lowest sampling rate the simulator accepts, Hz
MIN_SFREQ = 100.0

_SEGMENT_S = 1.0  # length of a generation segment
_WINDOW_S = 10.0  # length of a window of random confounders
_ECG_BLOCK = 64  # heartbeats per random block
_LTR_CUT = 0.05  # envelope fraction that ends a burst (truth offset)
_SITE_TAIL_S = 1.0  # margin after a site's offset for site-driven bursts
# keys of the independent random streams
_BG, _BG_WARM, _SITE, _WIN, _ECG, _MAINS, _WAVE = range(7)
# burst kinds rendered from a waveform times per-channel gains
_K_LTR, _K_POP, _K_MOTION, _K_HANDLING, _K_GUARD = range(5)
_KIND_NAMES = {
    _K_POP: "pop",
    _K_MOTION: "motion",
    _K_HANDLING: "needle_handling",
    _K_GUARD: "guarding",
}


# --------------------------------------------------------------------------- config


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
        return self.rise_s[1] + self.plateau_s[1] + math.log(1 / _LTR_CUT) * self.decay_tau_s[1]


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


@dataclass(frozen=True, slots=True)
class Confounder:
    """One simulated event that is not a twitch (ground truth).

    Parameters
    ----------
    kind : str
        One of :data:`CONFOUNDER_KINDS`.
    onset_s, offset_s : float
        Span, s. For ECG the QRS complex (R − 50 ms to R + 70 ms); for pops the step
        until the decay reaches 5 %; otherwise the whole event.
    channel : str
        Channel it is on, or ``"*"`` for every channel.
    amplitude_v : float
        Size, V: R amplitude (ECG), step (pop), peak (motion, handling), RMS (guarding),
        peak mains fundamental during the surge (mains_surge).
    """

    kind: str
    onset_s: float
    offset_s: float
    channel: str
    amplitude_v: float


@dataclass(frozen=True, eq=False, slots=True)
class Simulation:
    """A simulated recording and its ground truth (from :func:`simulate`).

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Samples in volts.
    sfreq : float
        Sampling rate, Hz.
    ch_names : tuple of str
        Channel names.
    events : RecordingEvents
        True needle sites and twitches.
    confounders : tuple of Confounder
        True confounders, sorted by onset.
    config : SimConfig
        The scenario.
    seed : int
        The seed.
    """

    data: NDArray[np.float64]
    sfreq: float
    ch_names: tuple[str, ...]
    events: RecordingEvents
    confounders: tuple[Confounder, ...]
    config: SimConfig
    seed: int

    @property
    def duration_s(self) -> float:
        """Length of the recording, s."""
        return self.data.shape[1] / self.sfreq

    def __repr__(self) -> str:
        return (
            f"<Simulation | {self.data.shape[0]} ch x {self.data.shape[1]} samples at "
            f"{self.sfreq:g} Hz, {len(self.events.sites)} sites, "
            f"{len(self.events.twitches)} twitches, {len(self.confounders)} confounders, "
            f"seed={self.seed}>"
        )

    def to_raw(self, *, annotate_twitches: bool = True) -> mne.io.RawArray:
        """Return the recording as an MNE Raw (EMG channels, volts) with annotations.

        Parameters
        ----------
        annotate_twitches : bool
            Also annotate the true twitches as ``LTR``; with False only the needle
            sites are annotated (what a replayed recording would carry).

        Returns
        -------
        raw : mne.io.RawArray
        """
        # imported here so that streaming users do not pay for importing MNE
        from twitchscope.signal.core.annotations import make_raw

        events = self.events if annotate_twitches else replace(self.events, twitches=())
        return make_raw(self.data, sfreq=self.sfreq, ch_names=self.ch_names, events=events)


@dataclass(frozen=True, eq=False, slots=True)
class SimState:
    """State of the endless simulated stream (see :func:`sim_step`).

    Parameters
    ----------
    seed : int
        The seed of the stream.
    n_samples : int
        Samples emitted so far (the next block's ``first_sample``).
    next_segment : int
        Index of the next segment to generate.
    pending : array, shape (n_channels, n)
        Generated samples not yet emitted.
    zi_tonic, zi_amp : array
        Carried states of the background filters.
    sfreq : float
        Sampling rate the state was made for.
    """

    seed: int
    n_samples: int
    next_segment: int
    pending: NDArray[np.float64]
    zi_tonic: NDArray[np.float64]
    zi_amp: NDArray[np.float64] | None
    sfreq: float

    def __repr__(self) -> str:
        return (
            f"<SimState | seed={self.seed}, n_samples={self.n_samples}, "
            f"next_segment={self.next_segment}, pending={self.pending.shape[1]}>"
        )


# --------------------------------------------------------------------------- presets


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


# --------------------------------------------------------------------------- public API


def simulate(config: SimConfig, *, duration_s: float, seed: int) -> Simulation:
    """Simulate a recording of ``duration_s`` seconds with its ground truth.

    The sites are laid out once, as configured (no cycling); the samples equal those
    of the stream of :func:`sim_step` with the same seed over its first cycle.

    Parameters
    ----------
    config : SimConfig
        The scenario.
    duration_s : float
        Length of the recording, s; every site must end by then.
    seed : int
        Seed (>= 0) of every random draw.

    Returns
    -------
    sim : Simulation

    Raises
    ------
    ConfigError
        If the duration or seed is invalid or a site ends after ``duration_s``.

    Examples
    --------
    >>> sim = simulate(preset("limb", sfreq=2000.0), duration_s=80.0, seed=1)
    >>> sim.data.shape
    (4, 160000)
    """
    _check_config(config)
    duration_s = check_positive("duration_s", duration_s)
    seed = _check_seed(seed)
    for site in config.sites:
        if site.offset_s > duration_s:
            raise ConfigError(
                f"site {site.label!r} ends at {site.offset_s:g} s, beyond duration_s = "
                f"{duration_s:g} s; expected every site inside the recording."
            )
    n_total = int(round(duration_s * config.sfreq))
    if n_total < 1:
        raise ConfigError(f"duration_s = {duration_s!r} s gives no sample at {config.sfreq:g} Hz.")
    seg_len = _segment_len(config)
    zi_tonic, zi_amp = _initial_zi(config, seed)
    parts = []
    for k in range(-(-n_total // seg_len)):
        seg, zi_tonic, zi_amp = _render_segment(config, seed, k, zi_tonic, zi_amp, cycling=False)
        parts.append(seg)
    data = np.concatenate(parts, axis=1)[:, :n_total]
    end_s = n_total / config.sfreq
    events = _truth_events(config, seed, 0.0, end_s, cycling=False)
    confounders = tuple(
        replace(c, offset_s=min(c.offset_s, end_s))
        for c in _truth_confounders(config, seed, 0.0, end_s, cycling=False)
    )
    return Simulation(
        data=data,
        sfreq=config.sfreq,
        ch_names=config.ch_names,
        events=events,
        confounders=confounders,
        config=config,
        seed=seed,
    )


def init_sim_state(config: SimConfig, *, seed: int) -> SimState:
    """Return the state at the start of an endless simulated stream.

    Parameters
    ----------
    config : SimConfig
        The scenario; the stream repeats its sites every ``config.cycle_s`` seconds.
    seed : int
        Seed (>= 0) of every random draw.

    Returns
    -------
    state : SimState
    """
    _check_config(config)
    seed = _check_seed(seed)
    zi_tonic, zi_amp = _initial_zi(config, seed)
    return SimState(
        seed=seed,
        n_samples=0,
        next_segment=0,
        pending=np.zeros((config.n_channels, 0)),
        zi_tonic=zi_tonic,
        zi_amp=zi_amp,
        sfreq=config.sfreq,
    )


def sim_step(config: SimConfig, n_samples: int, state: SimState) -> tuple[SampleBlock, SimState]:
    """Generate the next ``n_samples`` samples of the stream.

    Blocks of any sizes concatenate to the same samples as one call (the input state
    is never modified).

    Parameters
    ----------
    config : SimConfig
        The scenario the state was made for.
    n_samples : int
        Number of samples to generate (0 gives an empty block and the same state).
    state : SimState
        From :func:`init_sim_state` or the previous call.

    Returns
    -------
    block : SampleBlock
        The samples, volts, with ``first_sample = state.n_samples``.
    new_state : SimState

    Examples
    --------
    >>> cfg = preset("cyton", sfreq=250.0)
    >>> state = init_sim_state(cfg, seed=0)
    >>> block, state = sim_step(cfg, 125, state)
    >>> block.data.shape, state.n_samples
    ((8, 125), 125)
    """
    if isinstance(n_samples, bool) or int(n_samples) != n_samples or n_samples < 0:
        raise ConfigError(f"n_samples must be an integer >= 0, got {n_samples!r}.")
    n = int(n_samples)
    if state.pending.shape[0] != config.n_channels or state.sfreq != config.sfreq:
        raise ConfigError(
            f"this state was made for {state.pending.shape[0]} channels at {state.sfreq:g} Hz, "
            f"not {config.n_channels} at {config.sfreq:g} Hz; use init_sim_state(config, seed=...)."
        )
    if n == 0:
        return (
            SampleBlock(
                np.zeros((config.n_channels, 0)), config.sfreq, state.n_samples, config.ch_names
            ),
            state,
        )
    parts = [state.pending]
    have = state.pending.shape[1]
    k, zi_tonic, zi_amp = state.next_segment, state.zi_tonic, state.zi_amp
    while have < n:
        seg, zi_tonic, zi_amp = _render_segment(
            config, state.seed, k, zi_tonic, zi_amp, cycling=True
        )
        parts.append(seg)
        have += seg.shape[1]
        k += 1
    buf = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
    block = SampleBlock(np.array(buf[:, :n]), config.sfreq, state.n_samples, config.ch_names)
    new_state = replace(
        state,
        n_samples=state.n_samples + n,
        next_segment=k,
        pending=buf[:, n:],
        zi_tonic=zi_tonic,
        zi_amp=zi_amp,
    )
    return block, new_state


def truth_events(config: SimConfig, state: SimState, *, start_s: float = 0.0) -> RecordingEvents:
    """Return the true sites and twitches of the stream generated so far.

    Parameters
    ----------
    config : SimConfig
        The scenario of the stream.
    state : SimState
        The stream's current state.
    start_s : float
        Leave out events that start before this time, s.

    Returns
    -------
    events : RecordingEvents
        Sites and twitches whose onset has been emitted (``onset < n_samples / sfreq``);
        a twitch or site may end after the last emitted sample.
    """
    start_s = check_positive("start_s", start_s, allow_zero=True)
    return _truth_events(config, state.seed, start_s, state.n_samples / config.sfreq, cycling=True)


def truth_confounders(
    config: SimConfig, state: SimState, *, start_s: float = 0.0
) -> tuple[Confounder, ...]:
    """Return the true confounders of the stream generated so far.

    Parameters
    ----------
    config : SimConfig
        The scenario of the stream.
    state : SimState
        The stream's current state.
    start_s : float
        Leave out confounders that start before this time, s.

    Returns
    -------
    confounders : tuple of Confounder
        Those whose onset has been emitted, sorted by onset.
    """
    start_s = check_positive("start_s", start_s, allow_zero=True)
    return _truth_confounders(
        config, state.seed, start_s, state.n_samples / config.sfreq, cycling=True
    )


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


def _as_tuple(value: float | tuple[float, ...]) -> tuple[float, ...]:
    return value if isinstance(value, tuple) else (float(value),)


def _check_config(config: SimConfig) -> None:
    if not isinstance(config, SimConfig):
        raise ConfigError(f"config must be a SimConfig, got {type(config).__name__}.")


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}.")
    return int(seed)


# --------------------------------------------------------------------------- random streams


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def _segment_len(config: SimConfig) -> int:
    return max(1, int(round(config.sfreq * _SEGMENT_S)))


# --------------------------------------------------------------------------- filters


# Filter designs are memoised on their (hashable) parameters (pure functions of them);
# the cache keeps read-only arrays and callers get copies (scipy's sosfilt needs
# writable coefficients).


def _shwedyk_sos(config: SimConfig) -> NDArray[np.float64]:
    """Tonic sEMG shaping filter (Shwedyk PSD, fl = 60 Hz, fh = 120 Hz) plus device low-pass."""
    return _design_shwedyk(config.sfreq, config.device_lowpass_hz).copy()


def _amp_lowpass_sos(config: SimConfig) -> NDArray[np.float64]:
    """Device low-pass scaled to unit output RMS (for the white amplifier noise)."""
    assert config.device_lowpass_hz is not None
    return _design_lowpass(config.sfreq, config.device_lowpass_hz, True).copy()


def _muap_sos(config: SimConfig) -> NDArray[np.float64]:
    """MUAP-shaping band-pass of the LTR discharges, plus device low-pass."""
    return _design_muap(config.sfreq, config.ltr.band_hz, config.device_lowpass_hz).copy()


@functools.lru_cache(maxsize=64)
def _design_lowpass(sfreq: float, cutoff: float, unit_rms: bool) -> NDArray[np.float64]:
    sos = sps.butter(3, cutoff, btype="lowpass", fs=sfreq, output="sos")
    return _frozen(_unit_rms(sos, sfreq) if unit_rms else sos)


@functools.lru_cache(maxsize=64)
def _design_shwedyk(sfreq: float, lowpass_hz: float | None) -> NDArray[np.float64]:
    fl, fh = 60.0, 120.0
    z = np.array([0.0])
    p = -2 * np.pi * np.array([fl, fh, fh])
    zd, pd, kd = sps.bilinear_zpk(z, p, 1.0, sfreq)
    sos = sps.zpk2sos(zd, pd, kd)
    if lowpass_hz is not None:
        sos = np.vstack([sos, _design_lowpass(sfreq, lowpass_hz, False)])
    return _frozen(_unit_rms(sos, sfreq))


@functools.lru_cache(maxsize=64)
def _design_muap(sfreq: float, band_hz: Range, lowpass_hz: float | None) -> NDArray[np.float64]:
    high = min(band_hz[1], 0.45 * sfreq)
    low = min(band_hz[0], 0.5 * high)
    sos = sps.butter(2, (low, high), btype="bandpass", fs=sfreq, output="sos")
    if lowpass_hz is not None:
        sos = np.vstack([sos, _design_lowpass(sfreq, lowpass_hz, False)])
    return _frozen(sos)


def _frozen(a: NDArray[np.float64]) -> NDArray[np.float64]:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def _unit_rms(sos: NDArray[np.float64], sfreq: float) -> NDArray[np.float64]:
    """Scale ``sos`` so that unit white noise comes out with unit RMS."""
    impulse = np.zeros(int(sfreq * 2))
    impulse[0] = 1.0
    h = sps.sosfilt(sos, impulse)
    sos = np.array(sos, dtype=np.float64)
    sos[0, :3] /= math.sqrt(float(np.sum(h * h)))
    return sos


def _initial_zi(
    config: SimConfig, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Filter states after a warm-up on independent noise (no start-up transient)."""
    n_ch = config.n_channels
    n_warm = int(config.sfreq * 0.5)
    rng = _rng(seed, _BG_WARM)
    warm = rng.standard_normal((2, n_ch, n_warm))
    tonic = _shwedyk_sos(config)
    zi0 = np.zeros((tonic.shape[0], n_ch, 2))
    _, zi_tonic = sps.sosfilt(tonic, warm[0], axis=-1, zi=zi0)
    zi_amp = None
    if config.device_lowpass_hz is not None:
        lp = _amp_lowpass_sos(config)
        _, zi_amp = sps.sosfilt(lp, warm[1], axis=-1, zi=np.zeros((lp.shape[0], n_ch, 2)))
    return zi_tonic, zi_amp


# --------------------------------------------------------------------------- event plans


@dataclass(frozen=True, slots=True)
class _Burst:
    """A burst rendered as a unit waveform times per-channel gains, over samples [n0, n1)."""

    kind: int
    n0: int
    n1: int
    gains: tuple[float, ...]
    key: tuple[int, ...]
    params: tuple[float, ...]
    site: int = -1  # index of the site occurrence (for LTR truth)


@dataclass(frozen=True, slots=True)
class _Surge:
    n0: int
    n1: int
    gain: float


@dataclass(frozen=True, slots=True)
class _SitePlan:
    site: NeedleSite
    ltrs: tuple[_Burst, ...]
    handling: tuple[_Burst, ...]


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


def _plan_site(config: SimConfig, seed: int, cycle: int, j: int) -> _SitePlan:
    """Insertions, LTRs and needle-handling transients of site ``j`` in cycle ``cycle``."""
    spec = config.sites[j]
    assert config.cycle_s is not None
    shift = cycle * config.cycle_s
    site = spec.needle_site(shift)
    fs = config.sfreq
    ltr = config.ltr
    conf = config.confounders
    rng = _rng(seed, _SITE, cycle, j)
    main = config.ch_names.index(spec.channel)
    base = config.baseline_rms_v[main]  # type: ignore[index]
    spread = _spread_gains(config, main, ltr.spread_cm, ltr.min_spread_gain)
    snr0 = rng.uniform(*spec.snr)
    margin = ltr.latency_s[1] + ltr.max_duration_s
    t = site.onset_s + 0.5 * rng.uniform(*spec.insertion_interval_s)
    ltrs: list[_Burst] = []
    handling: list[_Burst] = []
    i_ins = 0
    while t + margin < site.offset_s:
        u = rng.uniform(size=10)
        jitter = rng.normal(0.0, 1.0)
        ch_gains = rng.uniform(0.5, 1.0, size=config.n_channels)
        if u[0] < spec.ltr_probability:
            latency = _lerp(ltr.latency_s, u[2])
            rise = _lerp(ltr.rise_s, u[3])
            plateau = _lerp(ltr.plateau_s, u[4])
            tau = _lerp(ltr.decay_tau_s, u[5])
            n0 = math.ceil((t + latency) * fs)
            n_len = max(3, int(round((rise + plateau + math.log(1 / _LTR_CUT) * tau) * fs)))
            i_ltr = len(ltrs)
            hab = spec.habituation ** min(i_ltr, spec.habituation_n - 1)
            amp = snr0 * base * hab * math.exp(ltr.amplitude_jitter * jitter)
            ltrs.append(
                _Burst(
                    _K_LTR,
                    n0,
                    n0 + n_len,
                    tuple(amp * g for g in spread),
                    (_WAVE, 0, cycle, j, i_ins),
                    (rise, plateau, tau, float(u[6]), float(u[7])),
                )
            )
        if u[1] < spec.handling_probability:
            dur = _lerp(conf.handling_duration_s, u[8])
            amp = _lerp(conf.handling_amplitude_v, u[9])
            n0 = math.ceil(t * fs)
            n_len = max(3, int(round(dur * fs)))
            handling.append(
                _Burst(
                    _K_HANDLING,
                    n0,
                    n0 + n_len,
                    tuple(float(amp * g) for g in ch_gains),
                    (_WAVE, 1, cycle, j, i_ins),
                    (_lerp(conf.handling_freq_hz, u[2] * u[3]), float(u[4])),
                )
            )
        t += rng.uniform(*spec.insertion_interval_s)
        i_ins += 1
    return _SitePlan(site, tuple(ltrs), tuple(handling))


def _lerp(rng_: Range, u: float) -> float:
    return float(rng_[0] + (rng_[1] - rng_[0]) * u)


def _plan_window(config: SimConfig, seed: int, w: int) -> tuple[list[_Burst], list[_Surge]]:
    """Random confounders starting in window ``w`` ([w W, (w + 1) W) seconds)."""
    conf = config.confounders
    fs = config.sfreq
    rng = _rng(seed, _WIN, w)
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
    bursts: list[_Burst] = []
    surges: list[_Surge] = []
    n_ch = config.n_channels
    for kind_i, count in enumerate(counts):
        for e in range(int(count)):
            onset = t0 + rng.uniform(0.0, _WINDOW_S)
            u = rng.uniform(size=6)
            ch = int(rng.integers(n_ch))
            if onset < conf.quiet_start_s:
                continue
            n0 = math.ceil(onset * fs)
            key = (_WAVE, 2 + kind_i, w, e)
            if kind_i == 0:  # pop
                tau = _lerp(conf.pop_tau_s, u[0])
                amp = _lerp(conf.pop_amplitude_v, u[1]) * (1 if u[2] < 0.5 else -1)
                gains = tuple(amp if c == ch else 0.0 for c in range(n_ch))
                bursts.append(
                    _Burst(_K_POP, n0, n0 + max(3, int(7 * tau * fs)), gains, key, (tau,))
                )
            elif kind_i == 1:  # motion
                dur = _lerp(conf.motion_duration_s, u[0])
                amp = _lerp(conf.motion_amplitude_v, u[1])
                gains = tuple(amp if c == ch else 0.0 for c in range(n_ch))
                params = (_lerp(conf.motion_freq_hz, u[2]), float(u[3]))
                bursts.append(_Burst(_K_MOTION, n0, n0 + max(3, int(dur * fs)), gains, key, params))
            elif kind_i == 2:  # guarding
                dur = _lerp(conf.guarding_duration_s, u[0])
                ramp = _lerp(conf.guarding_ramp_s, u[1])
                level = _lerp(conf.guarding_level, u[2]) * config.baseline_rms_v[ch]  # type: ignore[index]
                spread = _spread_gains(
                    config, ch, 2 * config.ltr.spread_cm, config.ltr.min_spread_gain
                )
                gains = tuple(level * g for g in spread)
                bursts.append(_Burst(_K_GUARD, n0, n0 + max(3, int(dur * fs)), gains, key, (ramp,)))
            else:  # mains surge
                dur = _lerp(conf.surge_duration_s, u[0])
                gain = _lerp(conf.surge_gain, u[1])
                surges.append(_Surge(n0, n0 + max(3, int(dur * fs)), gain))
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


def _windows_between(config: SimConfig, t0: float, t1: float) -> range:
    lookback = config.confounders.max_duration_s
    w_lo = max(0, math.floor((t0 - lookback) / _WINDOW_S))
    w_hi = math.floor(t1 / _WINDOW_S)
    return range(w_lo, w_hi + 1)


def _site_plans(
    config: SimConfig, seed: int, t0: float, t1: float, *, cycling: bool
) -> Iterator[_SitePlan]:
    for c in _cycles_between(config, t0, t1, cycling=cycling):
        assert config.cycle_s is not None
        for j, spec in enumerate(config.sites):
            start = spec.onset_s + c * config.cycle_s
            if start <= t1 and start + spec.duration_s + _SITE_TAIL_S >= t0:
                yield _plan_site(config, seed, c, j)


# --------------------------------------------------------------------------- waveforms


def _waveform(config: SimConfig, seed: int, burst: _Burst) -> NDArray[np.float64]:
    """Unit waveform of ``burst`` over its whole span (deterministic from its key)."""
    fs = config.sfreq
    m = burst.n1 - burst.n0
    t = np.arange(m) / fs
    rng = _rng(seed, *burst.key)
    if burst.kind == _K_LTR:
        rise, plateau, tau, u_mu, u_rate = burst.params
        lo, hi = config.ltr.n_motor_units
        n_mu = int(round(lo + (hi - lo) * u_mu))
        train = np.zeros(m)
        dur = m / fs
        for _ in range(n_mu):
            rate = _lerp(config.ltr.firing_rate_hz, u_rate) * rng.uniform(0.8, 1.2)
            isi = 1.0 / rate
            n_fire = int(dur * rate) + 2
            times = rng.uniform(0, isi) + np.cumsum(
                np.r_[0.0, isi * (1 + 0.1 * rng.standard_normal(n_fire - 1))]
            )
            idx = np.round(times[times < dur] * fs).astype(np.int64)
            idx = idx[idx < m]
            amp = rng.lognormal(0.0, 0.5) * rng.choice((-1.0, 1.0))
            np.add.at(train, idx, amp)
        carrier = sps.sosfilt(_muap_sos(config), train)
        rms = float(np.sqrt(np.mean(carrier * carrier)))
        if rms > 0:
            carrier /= rms
        return carrier * _ltr_envelope(t, rise, plateau, tau)
    if burst.kind == _K_POP:
        (tau,) = burst.params
        w = np.exp(-t / tau)
        n_taper = max(1, int(0.3 * m))
        w[m - n_taper :] *= 0.5 * (1 + np.cos(np.linspace(0, np.pi, n_taper)))
        return w
    if burst.kind in (_K_MOTION, _K_HANDLING):
        freq, u_phase = burst.params
        w = np.hanning(m + 2)[1:-1] * np.sin(2 * np.pi * (freq * t + u_phase))
        peak = float(np.max(np.abs(w)))
        return w / peak if peak > 0 else w
    if burst.kind == _K_GUARD:
        (ramp,) = burst.params
        n_warm = int(0.2 * fs)
        noise = rng.standard_normal(m + n_warm)
        carrier = sps.sosfilt(_shwedyk_sos(config), noise)[n_warm:]
        rms = float(np.sqrt(np.mean(carrier * carrier)))
        if rms > 0:
            carrier /= rms
        env = np.ones(m)
        n_ramp = min(m // 2, max(1, int(ramp * fs)))
        up = 0.5 * (1 - np.cos(np.linspace(0, np.pi, n_ramp)))
        env[:n_ramp] = up
        env[m - n_ramp :] = up[::-1]
        return carrier * env
    raise AssertionError(f"unknown burst kind {burst.kind}")


def _ltr_envelope(
    t: NDArray[np.float64], rise: float, plateau: float, tau: float
) -> NDArray[np.float64]:
    """Raised-cosine rise, plateau, exponential decay reaching exactly 0 at the 5 % point."""
    env = np.zeros_like(t)
    r = t < rise
    env[r] = 0.5 * (1 - np.cos(np.pi * t[r] / rise))
    p = (t >= rise) & (t < rise + plateau)
    env[p] = 1.0
    d = t >= rise + plateau
    decay = np.exp(-(t[d] - rise - plateau) / tau)
    env[d] = np.clip((decay - _LTR_CUT) / (1 - _LTR_CUT), 0.0, None)
    return env


def _ecg_beat(t: NDArray[np.float64]) -> NDArray[np.float64]:
    """P-QRS-T beat (R = 1) at times ``t`` relative to the R peak, s."""
    waves = (  # amplitude, centre s, width s
        (0.12, -0.16, 0.025),
        (-0.12, -0.025, 0.008),
        (1.0, 0.0, 0.010),
        (-0.30, 0.025, 0.010),
        (0.25, 0.25, 0.045),
    )
    out = np.zeros_like(t)
    for a, mu, sd in waves:
        out += a * np.exp(-0.5 * ((t - mu) / sd) ** 2)
    return out


_ECG_BEFORE_S, _ECG_AFTER_S = 0.30, 0.45


def _ecg_r_times(config: SimConfig, seed: int, t0: float, t1: float) -> NDArray[np.float64]:
    """Times of the R peaks falling in [t0, t1) seconds."""
    rr = 60.0 / config.ecg_hr_bpm
    phase = float(_rng(seed, _ECG, 0, 0).uniform(0.2, 1.0)) * rr
    k_lo = max(0, math.floor((t0 - phase) / rr) - 1)
    k_hi = max(-1, math.ceil((t1 - phase) / rr) + 1)
    if k_hi < k_lo:
        return np.zeros(0)
    times = []
    for b in range(k_lo // _ECG_BLOCK, k_hi // _ECG_BLOCK + 1):
        jitter = _rng(seed, _ECG, 1, b).normal(0.0, 0.02, _ECG_BLOCK)
        ks = b * _ECG_BLOCK + np.arange(_ECG_BLOCK)
        nominal = phase + ks * rr
        tk = nominal + rr * (
            np.clip(jitter, -0.08, 0.08) + 0.03 * np.sin(2 * np.pi * nominal / 4.0)
        )
        times.append(tk)
    tk = np.concatenate(times)
    return tk[(tk >= t0) & (tk < t1)]


def _mains_phases(seed: int, n: int) -> NDArray[np.float64]:
    return _rng(seed, _MAINS).uniform(0.0, 1.0, n)


# --------------------------------------------------------------------------- rendering


def _render_segment(
    config: SimConfig,
    seed: int,
    k: int,
    zi_tonic: NDArray[np.float64],
    zi_amp: NDArray[np.float64] | None,
    *,
    cycling: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
    """Render segment ``k`` (samples [k L, (k + 1) L)) and return the new filter states."""
    fs = config.sfreq
    seg_len = _segment_len(config)
    s0, s1 = k * seg_len, (k + 1) * seg_len
    t0, t1 = s0 / fs, s1 / fs
    n_ch = config.n_channels
    rms = np.asarray(config.baseline_rms_v)[:, None]
    share = config.amp_noise_share

    noise = _rng(seed, _BG, k).standard_normal((2, n_ch, seg_len))
    tonic, zi_tonic = sps.sosfilt(_shwedyk_sos(config), noise[0], axis=-1, zi=zi_tonic)
    amp = noise[1]
    if zi_amp is not None:
        amp, zi_amp = sps.sosfilt(_amp_lowpass_sos(config), amp, axis=-1, zi=zi_amp)
    out = rms * (math.sqrt(1 - share) * tonic + math.sqrt(share) * amp)

    bursts: list[_Burst] = []
    surges: list[_Surge] = []
    for plan in _site_plans(config, seed, t0, t1, cycling=cycling):
        bursts.extend(plan.ltrs)
        bursts.extend(plan.handling)
    for w in _windows_between(config, t0, t1):
        window_bursts, window_surges = _plan_window(config, seed, w)
        bursts.extend(window_bursts)
        surges.extend(window_surges)
    for burst in bursts:
        if burst.n1 <= s0 or burst.n0 >= s1:
            continue
        wave = _waveform(config, seed, burst)
        a, b = max(burst.n0, s0), min(burst.n1, s1)
        out[:, a - s0 : b - s0] += (
            np.asarray(burst.gains)[:, None] * wave[a - burst.n0 : b - burst.n0]
        )

    n_idx = np.arange(s0, s1)
    if config.mains_v > 0:
        out += _mains(config, seed, n_idx, surges)[None, :]
    if config.ecg:
        t = n_idx / fs
        ecg = np.zeros(seg_len)
        for r in _ecg_r_times(config, seed, t0 - _ECG_AFTER_S, t1 + _ECG_BEFORE_S):
            a = max(0, math.ceil((r - _ECG_BEFORE_S) * fs) - s0)
            b = min(seg_len, math.floor((r + _ECG_AFTER_S) * fs) + 1 - s0)
            if b > a:
                ecg[a:b] += _ecg_beat(t[a:b] - r)
        out += np.asarray(config.ecg_r_v)[:, None] * ecg[None, :]
    return out, zi_tonic, zi_amp


def _mains(
    config: SimConfig, seed: int, n_idx: NDArray[np.int64], surges: list[_Surge]
) -> NDArray[np.float64]:
    fs = config.sfreq
    levels = [1.0, *(10 ** (db / 20) for db in config.mains_harmonics_db)]
    phases = _mains_phases(seed, len(levels))
    wave = np.zeros(n_idx.shape[0])
    for h, (level, phase) in enumerate(zip(levels, phases, strict=True), start=1):
        freq = h * config.mains_hz
        if config.device_lowpass_hz is None:
            if freq >= fs / 2:
                continue
            gain = 1.0
        else:
            gain = 1.0 / math.sqrt(1.0 + (freq / config.device_lowpass_hz) ** 6)
        cycles = np.mod(n_idx * (freq / fs), 1.0)
        wave += level * gain * np.sin(2 * np.pi * (cycles + phase))
    env = np.ones(n_idx.shape[0])
    n_ramp = max(1, int(0.02 * fs))
    for s in surges:
        if s.n1 <= n_idx[0] or s.n0 > n_idx[-1]:
            continue
        pos = n_idx - s.n0
        length = s.n1 - s.n0
        inside = (pos >= 0) & (pos < length)
        shape = np.minimum(1.0, np.minimum(pos + 1, length - pos) / n_ramp)
        env[inside] += (s.gain - 1.0) * shape[inside]
    return config.mains_v * env * wave


# --------------------------------------------------------------------------- truth


def _truth_events(
    config: SimConfig, seed: int, start_s: float, end_s: float, *, cycling: bool
) -> RecordingEvents:
    fs = config.sfreq
    sites: list[NeedleSite] = []
    twitches: list[Twitch] = []
    for plan in _site_plans(config, seed, start_s, end_s, cycling=cycling):
        if plan.site.onset_s < end_s and plan.site.onset_s >= start_s:
            sites.append(plan.site)
        for burst in plan.ltrs:
            onset = burst.n0 / fs
            if not start_s <= onset < end_s:
                continue
            gains = np.asarray(burst.gains)
            main = int(np.argmax(gains))
            wave = _waveform(config, seed, burst) * gains[main]
            rms = float(np.sqrt(np.mean(wave * wave)))
            base = config.baseline_rms_v[main]  # type: ignore[index]
            channels = tuple(
                config.ch_names[c] for c in np.argsort(-gains, kind="stable") if gains[c] > 0
            )
            twitches.append(
                Twitch(
                    onset_s=onset,
                    offset_s=burst.n1 / fs,
                    channel=config.ch_names[main],
                    channels=channels,
                    peak_v=float(np.max(np.abs(wave))),
                    rms_v=rms,
                    snr_db=20 * math.log10(rms / base) if rms > 0 else -math.inf,
                    area_vs=float(np.sum(np.abs(wave)) / fs),
                    site=plan.site.label,
                    latency_s=onset - plan.site.onset_s,
                )
            )
    return RecordingEvents(
        sites=tuple(sorted(sites, key=lambda s: s.onset_s)),
        twitches=tuple(sorted(twitches, key=lambda t: t.onset_s)),
    )


def _truth_confounders(
    config: SimConfig, seed: int, start_s: float, end_s: float, *, cycling: bool
) -> tuple[Confounder, ...]:
    fs = config.sfreq
    out: list[Confounder] = []
    names = config.ch_names
    for plan in _site_plans(config, seed, start_s, end_s, cycling=cycling):
        for b in plan.handling:
            out.append(Confounder("needle_handling", b.n0 / fs, b.n1 / fs, "*", max(b.gains)))
    for w in _windows_between(config, start_s, end_s):
        bursts, surges = _plan_window(config, seed, w)
        for b in bursts:
            onset = b.n0 / fs
            if b.kind == _K_POP:
                (tau,) = b.params
                ch = int(np.argmax(np.abs(b.gains)))
                offset = (b.n0 + math.ceil(math.log(1 / _LTR_CUT) * tau * fs)) / fs
                out.append(Confounder("pop", onset, offset, names[ch], abs(b.gains[ch])))
            elif b.kind == _K_MOTION:
                ch = int(np.argmax(b.gains))
                out.append(Confounder("motion", onset, b.n1 / fs, names[ch], b.gains[ch]))
            else:  # guarding: one record per channel it shows on
                for ch, g in enumerate(b.gains):
                    if g > 0:
                        out.append(Confounder("guarding", onset, b.n1 / fs, names[ch], g))
        for s in surges if config.mains_v > 0 else ():
            out.append(
                Confounder("mains_surge", s.n0 / fs, s.n1 / fs, "*", config.mains_v * s.gain)
            )
    if config.ecg:
        for r in _ecg_r_times(config, seed, start_s, end_s + 0.05):
            for ch, amp in enumerate(config.ecg_r_v):  # type: ignore[arg-type]
                if amp > 0:
                    out.append(Confounder("ecg", max(0.0, r - 0.05), r + 0.07, names[ch], amp))
    out = [c for c in out if start_s <= c.onset_s < end_s]
    return tuple(sorted(out, key=lambda c: (c.onset_s, c.kind, c.channel)))
