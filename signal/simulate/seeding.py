"""Independent random streams of the simulator, keyed by ``(seed, stream, index…)``.

Each segment of background, needle-site occurrence, window of random confounders,
block of heartbeats and burst draws from its own :class:`numpy.random.SeedSequence`,
so the samples depend only on the seed and the configuration, never on how a stream
is cut into blocks. The stream keys below are part of that contract: changing one
changes every simulated recording (and the bundled sample recordings).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "STREAM_BG",
    "STREAM_BG_WARM",
    "STREAM_SITE",
    "STREAM_WINDOW",
    "STREAM_ECG",
    "STREAM_MAINS",
    "STREAM_WAVE",
    "keyed_rng",
]

# keys of the independent random streams (their values are part of the seed contract)
STREAM_BG, STREAM_BG_WARM, STREAM_SITE, STREAM_WINDOW, STREAM_ECG, STREAM_MAINS, STREAM_WAVE = (
    range(7)
)


def keyed_rng(seed: int, *key: int) -> np.random.Generator:
    """Return the generator of the random stream ``(seed, *key)``.

    Parameters
    ----------
    seed : int
        Seed of the simulation (>= 0).
    *key : int
        Stream key (one of the ``STREAM_*`` constants) followed by its indices
        (segment, cycle, site, window, …).

    Returns
    -------
    rng : numpy.random.Generator
        A PCG64 generator, the same for the same seed and key.
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))
