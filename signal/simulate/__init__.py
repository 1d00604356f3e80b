"""Simulate multichannel surface EMG during a dry-needling session, with ground truth.

The simulator is pure computation (numpy/scipy). It produces signals in volts for
tests, for the simulated amplifier (which feeds the blocks of :func:`sim_step` to a
device emulator), for the sample recordings and for the documentation. This package
re-exports its public API; what is in the signal is described in
:mod:`~twitchscope.signal.simulate.render`, the ground truth in
:mod:`~twitchscope.signal.simulate.truth`, determinism and streaming in
:mod:`~twitchscope.signal.simulate.engine`.

Modules
-------
- :mod:`~twitchscope.signal.simulate.specs`: the frozen scenario dataclasses and their checks.
- :mod:`~twitchscope.signal.simulate.presets`: named scenarios.
- :mod:`~twitchscope.signal.simulate.engine`: :func:`simulate` and the stream (:func:`sim_step`).
- :mod:`~twitchscope.signal.simulate.truth`: the result object and the ground truth.
- :mod:`~twitchscope.signal.simulate.render`: one segment of samples, summed from
  :mod:`~twitchscope.signal.simulate.filters` (background), :mod:`~twitchscope.signal.simulate.plans`
  and :mod:`~twitchscope.signal.simulate.waveforms` (bursts), :mod:`~twitchscope.signal.simulate.mains`
  and :mod:`~twitchscope.signal.simulate.ecg`; random streams in
  :mod:`~twitchscope.signal.simulate.seeding`.
"""

from twitchscope.signal.simulate.engine import (
    SimState,
    init_sim_state,
    sim_step,
    simulate,
    truth_confounders,
    truth_events,
)
from twitchscope.signal.simulate.presets import PRESETS, preset
from twitchscope.signal.simulate.specs import MIN_SFREQ, ConfounderSpec, LtrSpec, SimConfig, SimSite
from twitchscope.signal.simulate.truth import CONFOUNDER_KINDS, Confounder, Simulation

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
