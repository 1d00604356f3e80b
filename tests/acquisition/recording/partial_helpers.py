"""Blocks, recorders and signals shared by the recording tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from twitchscope.acquisition.recording.recorder import Recorder
from twitchscope.signal.core.model import SampleBlock

SFREQ = 487.0  # deliberately awkward
CH_NAMES = ("EMG1", "EMG2", "EMG3", "accX")
CH_TYPES = ("emg", "emg", "emg", "misc")


def signal_(n: int, seed: int = 0) -> np.ndarray:
    """``n`` samples of noise on every channel, volts."""
    return np.random.default_rng(seed).standard_normal((len(CH_NAMES), n)) * 1e-4


def f32(x: np.ndarray) -> np.ndarray:
    """What the partial file can hold: float32."""
    return x.astype(np.float32).astype(np.float64)


def block(x: np.ndarray, first: int, lost: int = 0) -> SampleBlock:
    """A block of ``x`` at stream sample ``first``."""
    return SampleBlock(x, sfreq=SFREQ, first_sample=first, ch_names=CH_NAMES, n_lost_before=lost)


def recorder(path: Path, **kw: Any) -> Recorder:
    """A recorder of the test channels into ``path``."""
    return Recorder(path, sfreq=SFREQ, ch_names=CH_NAMES, ch_types=CH_TYPES, **kw)
