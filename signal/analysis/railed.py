"""Railed channels: inputs stuck at the amplifier's rail, i.e. not connected.

An amplifier input that is not connected (or whose electrode came off) drifts to the
end of the ADC's range and stays there: the Cyton's ADS1299 gives −187 500 µV
(−4.5 V / gain 24) on every sample. Such a channel holds no EMG; the detector leaves
it out by default and ``twitchscope info`` names it.

A channel is **railed** when at least :data:`RAILED_FRACTION` of its samples sit at
one value (within :data:`STUCK_TOLERANCE_V`) whose magnitude is at least
:data:`RAIL_MIN_V`. No surface EMG, and no skin offset an EMG amplifier passes,
comes near 0.1 V, while every open-hardware amplifier we read rails beyond it; an
input that rails only now and then (a loose lead) is not railed by this test.

The test streams: :func:`railed_channels` takes the blocks of a recording one at a
time (bounded memory) and keeps, per channel, the count of samples beyond
:data:`RAIL_MIN_V` and their smallest and largest value.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from twitchscope.signal.core.model import SampleBlock

__all__ = [
    "RAIL_MIN_V",
    "RAILED_FRACTION",
    "STUCK_TOLERANCE_V",
    "RailedChannel",
    "railed_channels",
]

#: Smallest magnitude of a rail, volts (no EMG or passed skin offset reaches it).
RAIL_MIN_V = 0.1
#: Fraction of the samples at the rail for a channel to be railed.
RAILED_FRACTION = 0.5
#: How far samples at one rail may differ (float rounding of the files), volts.
STUCK_TOLERANCE_V = 1e-6


@dataclass(frozen=True, slots=True)
class RailedChannel:
    """A channel stuck at a rail.

    Parameters
    ----------
    name : str
        Channel name.
    level_v : float
        The value it is stuck at, volts.
    fraction : float
        Fraction of its samples at that value.
    """

    name: str
    level_v: float
    fraction: float


def railed_channels(blocks: Iterable[SampleBlock]) -> tuple[RailedChannel, ...]:
    """The railed channels of a recording, read block by block.

    Parameters
    ----------
    blocks : iterable of SampleBlock
        The recording (volts), e.g. from
        :func:`~twitchscope.signal.io.readers.iter_blocks`; all blocks have the same
        channels.

    Returns
    -------
    railed : tuple of RailedChannel
        In channel order; empty when there is none (or no sample).
    """
    names: tuple[str, ...] = ()
    n_total = 0
    count = np.zeros(0, dtype=np.int64)
    low = np.zeros(0)
    high = np.zeros(0)
    for block in blocks:
        data = np.asarray(block.data, dtype=np.float64)
        if not names:
            names = tuple(block.ch_names)
            count = np.zeros(len(names), dtype=np.int64)
            low = np.full(len(names), np.inf)
            high = np.full(len(names), -np.inf)
        if data.shape[1] == 0:
            continue
        n_total += data.shape[1]
        beyond = np.abs(data) >= RAIL_MIN_V
        count += beyond.sum(axis=1)
        low = np.minimum(low, np.where(beyond, data, np.inf).min(axis=1))
        high = np.maximum(high, np.where(beyond, data, -np.inf).max(axis=1))
    out = []
    for k, name in enumerate(names):
        if n_total == 0 or count[k] < RAILED_FRACTION * n_total:
            continue
        if high[k] - low[k] > STUCK_TOLERANCE_V:
            continue
        out.append(
            RailedChannel(name=name, level_v=float(low[k]), fraction=float(count[k] / n_total))
        )
    return tuple(out)
