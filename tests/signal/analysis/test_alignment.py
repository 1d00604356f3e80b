"""Locating a received window inside the signal that was sent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twitchscope.signal.analysis.alignment import locate_window
from twitchscope.signal.core.errors import ConfigError


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    n_channels=st.integers(1, 4),
    start=st.integers(0, 900),
    length=st.integers(16, 100),
    gain=st.floats(0.5, 2.0),
    offset=st.floats(-1.0, 1.0),
)
def test_a_rescaled_quantised_slice_is_found_at_its_index(
    seed: int, n_channels: int, start: int, length: int, gain: float, offset: float
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_channels, 1000))
    # what a protocol does on the way: another gain and offset, then quantisation
    lsb = 0.02
    window = np.round((gain * x[:, start : start + length] + offset) / lsb) * lsb
    assert locate_window(x, window) == start


def test_a_window_that_is_not_in_the_signal_is_not_found() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 2000))
    assert locate_window(x, rng.standard_normal((2, 64))) is None


def test_flat_or_too_long_windows_give_none_and_shapes_are_checked() -> None:
    x = np.random.default_rng(2).standard_normal((2, 100))
    assert locate_window(x, np.ones((2, 20))) is None
    assert locate_window(x, x[:, :1]) is None
    assert locate_window(x[:, :10], x) is None
    with pytest.raises(ConfigError, match="same number of channels"):
        locate_window(x, x[:1, :20])
