"""The detector's fast paths give exactly what the NumPy/SciPy calls they replace give.

Each replaces a public call on the hot path (20 ms blocks, every candidate) for speed
only: the samples and statistics must be the same bit for bit, so the detector's
events do not depend on which path ran.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import signal

from twitchscope.signal.detect.false_alarms import _quantiles_of_rows
from twitchscope.signal.detect.features import median_of_rows
from twitchscope.signal.detect.filters import sosfilt_block
from twitchscope.signal.detect.inner_burst import _filtfilt, _highpass, _highpass_zi

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(
    n_ch=st.integers(1, 4),
    n=st.integers(1, 60),
    order=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_sosfilt_block_is_scipy_sosfilt(n_ch: int, n: int, order: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    sos = signal.butter(order, [0.05, 0.4], btype="band", output="sos")
    x = rng.normal(size=(n_ch, n)) * 1e-5
    zi = rng.normal(size=(sos.shape[0], n_ch, 2)) * 1e-6
    x0, zi0 = x.copy(), zi.copy()
    y, zf = sosfilt_block(sos, x, zi)
    want, want_zf = signal.sosfilt(sos, x, axis=-1, zi=zi)
    assert np.array_equal(y, want) and np.array_equal(zf, want_zf)
    assert np.array_equal(x, x0) and np.array_equal(zi, zi0)  # inputs untouched
    # a strided view (a slice of a longer buffer) gives the same too
    wide = np.repeat(x, 2, axis=1)[:, ::2]
    assert np.array_equal(sosfilt_block(sos, wide, zi)[0], want)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(40, 400), sfreq=st.sampled_from([250.0, 500.0, 1000.0, 2000.0]))
def test_filtfilt_is_scipy_sosfiltfilt(n: int, sfreq: float) -> None:
    rng = np.random.default_rng(n)
    x = rng.normal(size=(3, n))
    sos = _highpass(60.0, sfreq)
    got = _filtfilt(sos, _highpass_zi(60.0, sfreq), x)
    assert np.array_equal(got, signal.sosfiltfilt(sos, x, axis=-1))


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value")
@settings(max_examples=80, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(0, 30)), elements=finite))
def test_median_of_rows_is_numpy_median(x: np.ndarray) -> None:
    got, want = median_of_rows(x), np.median(x, axis=1)
    assert np.array_equal(got, want, equal_nan=True)


@settings(max_examples=80, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 40)), elements=finite),
    st.lists(st.floats(0.0, 1.0), min_size=1, max_size=3),
)
def test_quantiles_of_rows_is_numpy_quantile(x: np.ndarray, qs: list[float]) -> None:
    got = _quantiles_of_rows(x, tuple(qs))
    assert np.array_equal(got, np.quantile(x, qs, axis=1))
