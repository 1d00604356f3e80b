"""Ground truth of a simulation: the result object, confounder records and the true events.

Ground truth
------------
Twitch onset/offset are the first sample of the burst and the sample where its envelope
has decayed to 5 % of its peak (the burst is exactly zero outside); ``peak_v`` and
``rms_v`` are those of the noise-free burst on its main channel, ``snr_db`` is
``20 log10(rms_v / baseline_rms_v)``. Confounders are listed as :class:`Confounder`
records (channel ``"*"`` means every channel).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.model import NeedleSite, RecordingEvents, Twitch
from twitchscope.signal.simulate.ecg import ecg_r_times
from twitchscope.signal.simulate.plans import (
    K_MOTION,
    K_POP,
    plan_window,
    site_plans,
    windows_between,
)
from twitchscope.signal.simulate.specs import LTR_CUT, SimConfig
from twitchscope.signal.simulate.waveforms import waveform

if TYPE_CHECKING:
    import mne

__all__ = ["CONFOUNDER_KINDS", "Confounder", "Simulation", "events_between", "confounders_between"]

#: kinds of :class:`Confounder` the simulator produces
CONFOUNDER_KINDS = ("ecg", "pop", "motion", "needle_handling", "guarding", "mains_surge")


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


def events_between(
    config: SimConfig, seed: int, start_s: float, end_s: float, *, cycling: bool
) -> RecordingEvents:
    """True needle sites and twitches whose onset lies in [start_s, end_s).

    Parameters
    ----------
    config : SimConfig
        The scenario.
    seed : int
        Seed of the simulation.
    start_s, end_s : float
        Span of onsets, s.
    cycling : bool
        Whether the sites repeat every ``config.cycle_s`` (the stream) or occur once.

    Returns
    -------
    events : RecordingEvents
        Sites and twitches sorted by onset.
    """
    fs = config.sfreq
    sites: list[NeedleSite] = []
    twitches: list[Twitch] = []
    for plan in site_plans(config, seed, start_s, end_s, cycling=cycling):
        if plan.site.onset_s < end_s and plan.site.onset_s >= start_s:
            sites.append(plan.site)
        for burst in plan.ltrs:
            onset = burst.n0 / fs
            if not start_s <= onset < end_s:
                continue
            gains = np.asarray(burst.gains)
            main = int(np.argmax(gains))
            wave = waveform(config, seed, burst) * gains[main]
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


def confounders_between(
    config: SimConfig, seed: int, start_s: float, end_s: float, *, cycling: bool
) -> tuple[Confounder, ...]:
    """True confounders whose onset lies in [start_s, end_s), sorted by onset.

    Parameters are those of :func:`events_between`.
    """
    fs = config.sfreq
    out: list[Confounder] = []
    names = config.ch_names
    for plan in site_plans(config, seed, start_s, end_s, cycling=cycling):
        for b in plan.handling:
            out.append(Confounder("needle_handling", b.n0 / fs, b.n1 / fs, "*", max(b.gains)))
    for w in windows_between(config, start_s, end_s):
        bursts, surges = plan_window(config, seed, w)
        for b in bursts:
            onset = b.n0 / fs
            if b.kind == K_POP:
                (tau,) = b.params
                ch = int(np.argmax(np.abs(b.gains)))
                offset = (b.n0 + math.ceil(math.log(1 / LTR_CUT) * tau * fs)) / fs
                out.append(Confounder("pop", onset, offset, names[ch], abs(b.gains[ch])))
            elif b.kind == K_MOTION:
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
        for r in ecg_r_times(config, seed, start_s, end_s + 0.05):
            for ch, amp in enumerate(config.ecg_r_v):  # type: ignore[arg-type]
                if amp > 0:
                    out.append(Confounder("ecg", max(0.0, r - 0.05), r + 0.07, names[ch], amp))
    out = [c for c in out if start_s <= c.onset_s < end_s]
    return tuple(sorted(out, key=lambda c: (c.onset_s, c.kind, c.channel)))
