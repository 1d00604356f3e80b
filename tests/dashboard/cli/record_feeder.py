"""Feed the recorder known blocks in real time, until killed (a helper for the kill -9 tests).

Usage: ``python record_feeder.py PARTIAL_DIR``. Sample ``i`` of channel ``c`` is
:func:`expected_samples` (a pure function of the index), so a test can check
what a recovery returns against what was fed. Samples ``GAP_AT`` to
``GAP_AT + GAP_LEN`` are lost (never fed); the block after them says so.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from twitchscope.acquisition.recording.recorder import Recorder
from twitchscope.signal.core.model import NeedleSite, SampleBlock

SFREQ = 1000.0
CH_NAMES = ("EMG1", "EMG2", "accX")
CH_TYPES = ("emg", "emg", "misc")
BLOCK = 20  # samples per block, one block every 20 ms
GAP_AT = 400
GAP_LEN = 60


def expected_samples(first: int, n: int) -> np.ndarray:
    """Samples ``first`` .. ``first + n`` of every channel, volts, shape (3, n)."""
    i = np.arange(first, first + n)
    freqs = np.array([[7.0], [13.0], [0.5]])
    return 1e-4 * np.sin(2 * np.pi * freqs * i / SFREQ) + 1e-6 * np.arange(3)[:, None]


def main(partial: str) -> None:
    rec = Recorder(
        partial,
        sfreq=SFREQ,
        ch_names=CH_NAMES,
        ch_types=CH_TYPES,
        device="feeder",
        protocol="test",
        flush_interval_s=0.2,
    )
    rec.add_site(NeedleSite("TrP1", onset_s=0.1, duration_s=0.2, muscle="trapezius"))
    first = 0
    t0 = time.monotonic()
    while True:  # until killed
        lost = 0
        if first == GAP_AT:
            first, lost = first + GAP_LEN, GAP_LEN
        rec.write(
            SampleBlock(
                expected_samples(first, BLOCK),
                sfreq=SFREQ,
                first_sample=first,
                ch_names=CH_NAMES,
                n_lost_before=lost,
            )
        )
        first += BLOCK
        rec.maybe_flush()
        time.sleep(max(0.0, t0 + first / SFREQ - time.monotonic()))


if __name__ == "__main__":
    main(sys.argv[1])
