"""Entry points of the simulator: a finite recording and an endless, chunk-invariant stream.

:func:`simulate` renders a whole recording with its ground truth; :func:`init_sim_state`
and :func:`sim_step` render the same samples block by block for as long as asked,
repeating the scenario's sites every ``config.cycle_s`` seconds, and
:func:`truth_events` / :func:`truth_confounders` give the truth of the stream so far.

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

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.checks import check_positive
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import RecordingEvents, SampleBlock
from twitchscope.signal.simulate.filters import initial_zi
from twitchscope.signal.simulate.render import render_segment, segment_len
from twitchscope.signal.simulate.specs import SimConfig
from twitchscope.signal.simulate.truth import (
    Confounder,
    Simulation,
    confounders_between,
    events_between,
)

__all__ = [
    "SimState",
    "simulate",
    "init_sim_state",
    "sim_step",
    "truth_events",
    "truth_confounders",
]


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
    seg_len = segment_len(config)
    zi_tonic, zi_amp = initial_zi(config, seed)
    parts = []
    for k in range(-(-n_total // seg_len)):
        seg, zi_tonic, zi_amp = render_segment(config, seed, k, zi_tonic, zi_amp, cycling=False)
        parts.append(seg)
    data = np.concatenate(parts, axis=1)[:, :n_total]
    end_s = n_total / config.sfreq
    events = events_between(config, seed, 0.0, end_s, cycling=False)
    confounders = tuple(
        replace(c, offset_s=min(c.offset_s, end_s))
        for c in confounders_between(config, seed, 0.0, end_s, cycling=False)
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
    zi_tonic, zi_amp = initial_zi(config, seed)
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
        seg, zi_tonic, zi_amp = render_segment(
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
    return events_between(config, state.seed, start_s, state.n_samples / config.sfreq, cycling=True)


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
    return confounders_between(
        config, state.seed, start_s, state.n_samples / config.sfreq, cycling=True
    )


def _check_config(config: SimConfig) -> None:
    if not isinstance(config, SimConfig):
        raise ConfigError(f"config must be a SimConfig, got {type(config).__name__}.")


def _check_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}.")
    return int(seed)
