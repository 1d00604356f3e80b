"""Min–max decimation keeps every extreme, in time order, at an even spacing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twitchscope.signal.analysis.decimate import decimate_minmax
from twitchscope.signal.core.errors import ConfigError

SFREQ = 2048.0


def test_short_trace_is_returned_unchanged(rng: np.random.Generator) -> None:
    x = rng.standard_normal((3, 500))
    d = decimate_minmax(x, sfreq=SFREQ, n_points=1000, t0=2.0)
    np.testing.assert_array_equal(d.data, x)
    assert d.factor == 1 and d.x0 == 2.0 and d.dx == pytest.approx(1 / SFREQ)
    np.testing.assert_allclose(d.times(), 2.0 + np.arange(500) / SFREQ)


def test_spikes_keep_full_height_and_position(rng: np.random.Generator) -> None:
    x = rng.standard_normal((3, 100_000)) * 1e-6
    x[0, 12_345] = 1e-3
    x[1, 80_001] = -2e-3
    d = decimate_minmax(x, sfreq=SFREQ, n_points=2000)
    assert d.n_points <= 2000
    assert d.data[0].max() == 1e-3 and d.data[1].min() == -2e-3
    # the extreme is drawn within one bin of its true time
    t_peak = d.times()[d.data[0].argmax()]
    assert abs(t_peak - 12_345 / SFREQ) <= d.factor / SFREQ
    t_trough = d.times()[d.data[1].argmin()]
    assert abs(t_trough - 80_001 / SFREQ) <= d.factor / SFREQ


def test_each_bin_gives_min_and_max_in_time_order() -> None:
    # bins of 4: [0, 5, -1, 2] -> max before min; [3, -4, 1, 9] -> min before max
    x = np.array([[0.0, 5.0, -1.0, 2.0, 3.0, -4.0, 1.0, 9.0]])
    d = decimate_minmax(x, sfreq=100.0, n_points=4)
    assert d.factor == 4
    np.testing.assert_array_equal(d.data, [[5.0, -1.0, -4.0, 9.0]])
    assert d.dx == pytest.approx(4 / (2 * 100.0))


def test_ragged_tail_is_kept() -> None:
    x = np.zeros((1, 1001))
    x[0, -1] = 7.0  # alone in the last, partial bin
    d = decimate_minmax(x, sfreq=SFREQ, n_points=100)
    assert d.data[0, -2:].max() == 7.0


@given(
    n=st.integers(min_value=1, max_value=5000),
    n_points=st.integers(min_value=2, max_value=600),
    seed=st.integers(min_value=0, max_value=2**16),
)
@settings(max_examples=40, deadline=None)
def test_extremes_and_size_for_any_length(n: int, n_points: int, seed: int) -> None:
    x = np.random.default_rng(seed).standard_normal((2, n))
    d = decimate_minmax(x, sfreq=SFREQ, n_points=n_points)
    assert d.n_points == n if n <= n_points else d.n_points <= n_points
    np.testing.assert_array_equal(d.data.max(axis=1), x.max(axis=1))
    np.testing.assert_array_equal(d.data.min(axis=1), x.min(axis=1))
    # every output value is a real sample of its channel
    for ch in range(2):
        assert np.isin(d.data[ch], x[ch]).all()


def test_bad_input_raises() -> None:
    with pytest.raises(ConfigError, match="2D array"):
        decimate_minmax(np.zeros(10), sfreq=SFREQ)
    with pytest.raises(ConfigError, match="n_points must be an integer >= 2"):
        decimate_minmax(np.zeros((1, 10)), sfreq=SFREQ, n_points=1)
    with pytest.raises(ConfigError, match="sfreq"):
        decimate_minmax(np.zeros((1, 10)), sfreq=0)
