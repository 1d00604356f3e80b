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

from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.decide import glr_threshold_of, glr_thresholds
from twitchscope.signal.detect.design import design_detector
from twitchscope.signal.detect.detector import (
    _Candidate,
    _hysteresis,
    detect_step,
    init_detector_state,
)
from twitchscope.signal.detect.envelope import (
    _QUANTILES,
    _median,
    _median_and_mad,
    _quantiles,
    envelope_block,
    init_envelope_state,
)
from twitchscope.signal.detect.false_alarms import (
    _quantiles_of_rows,
    _touched,
    far_thresholds,
    peak_statistic,
    segment_statistic,
)
from twitchscope.signal.detect.features import _median as features_median
from twitchscope.signal.detect.features import mains_fit_share, median_of_rows
from twitchscope.signal.detect.filters import sosfilt_block
from twitchscope.signal.detect.inner_burst import (
    _filtfilt,
    _highpass,
    _highpass_zi,
    _moving_mean_span,
)

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


@settings(max_examples=60, deadline=None)
@given(n_ch=st.integers(1, 4), n=st.integers(1, 60), seed=st.integers(0, 2**16))
def test_sosfilt_block_in_place_is_scipy_sosfilt(n_ch: int, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    sos = signal.butter(2, 0.1, output="sos")
    x = rng.normal(size=(n_ch, n))
    zi = rng.normal(size=(sos.shape[0], n_ch, 2))
    want, want_zf = signal.sosfilt(sos, x, axis=-1, zi=zi)
    scratch = x.copy()
    y, zf = sosfilt_block(sos, scratch, zi, overwrite_x=True)
    assert np.array_equal(y, want) and np.array_equal(zf, want_zf)
    assert y is scratch  # filtered where it was: no copy
    # a strided scratch view cannot be filtered in place: copied, the same samples
    wide = np.repeat(x, 2, axis=1)
    view = wide[:, ::2]
    y2, _ = sosfilt_block(sos, view, zi, overwrite_x=True)
    assert np.array_equal(y2, want)
    if not view.flags.c_contiguous:  # (one sample of one channel is contiguous anyway)
        assert np.array_equal(view, x)


def _reference_hysteresis(
    env: np.ndarray, on: np.ndarray, off: np.ndarray, prev: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The plain switch, sample by sample: on above ``on``, off below ``off``."""
    state = prev.astype(int).copy()
    act = np.zeros(env.shape, dtype=bool)
    for t in range(env.shape[1]):
        state = np.where(env[:, t] > on, 1, np.where(env[:, t] < off, -1, state))
        act[:, t] = state == 1
    return act, state


@settings(max_examples=120, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.integers(1, 40)),
        elements=st.one_of(st.floats(0, 4), st.just(np.nan)),
    ),
    st.integers(0, 2**16),
)
def test_hysteresis_is_the_sample_by_sample_switch(env: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_ch = env.shape[0]
    off = rng.uniform(0.5, 2.0, n_ch)
    on = off + rng.uniform(0.0, 1.5, n_ch)
    prev = rng.choice(np.array([-1, 1], dtype=np.int8), n_ch)
    prev0 = prev.copy()
    any_act, state = _hysteresis(env, on, off, prev)
    act, want_state = _reference_hysteresis(env, on, off, prev)
    want_any = act.any(axis=0)
    if any_act is None:
        assert not want_any.any()
    else:
        assert np.array_equal(any_act, want_any)
    assert np.array_equal(state, want_state) and state.dtype == np.int8
    assert np.array_equal(prev, prev0)  # the state it was given is untouched


@settings(max_examples=150, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 5), st.integers(1, 50)),
        elements=st.one_of(
            st.floats(-1e3, 1e3, allow_nan=False),
            st.sampled_from([0.0, -0.0, 1.0, np.inf, -np.inf, 1e308, 5e-324]),
        ),
    )
)
def test_median_and_mad_is_two_numpy_medians(x: np.ndarray) -> None:
    with np.errstate(invalid="ignore", over="ignore"):
        med, mad = _median_and_mad(x)
        want_med = np.median(x, axis=1)
        want_mad = np.median(np.abs(x - want_med[:, None]), axis=1)
    assert np.array_equal(med, want_med, equal_nan=True)
    # where a deviation is NaN (inf - inf) np.median gives NaN and the partitions below do
    # not: there the path the baseline used before (kept bit for bit) is the reference
    with np.errstate(invalid="ignore"):
        dev_nan = np.isnan(x - want_med[:, None]).any(axis=1)
    assert np.array_equal(mad[~dev_nan], want_mad[~dev_nan], equal_nan=True)
    # and what the baseline computed before, through two partitions
    with np.errstate(invalid="ignore", over="ignore"):
        ref = _median(x)
        assert np.array_equal(mad, _median(np.abs(x - ref[:, None])), equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 4), st.integers(1, 600)), elements=st.floats(0, 1e-4)
    )
)
def test_baseline_segment_quantiles_and_peak_statistic_equal_numpy(x: np.ndarray) -> None:
    assert np.array_equal(_quantiles(x), np.quantile(x, _QUANTILES, axis=1).T)
    median = np.full(x.shape[0], 1e-5)
    got = peak_statistic(np.sort(x, axis=1)[:, -1], median, n_eff=8.0)
    assert np.array_equal(got, segment_statistic(x, median, n_eff=8.0))


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64, st.tuples(st.integers(1, 8), st.integers(0, 60)), elements=st.floats(0, 1e4)
    ),
    st.integers(1, 8),
)
def test_far_threshold_of_one_row_is_that_row_of_all(maxima: np.ndarray, n_channels: int) -> None:
    config = DetectorConfig()
    every = far_thresholds(config, maxima, n_channels=n_channels)
    for row in range(maxima.shape[0]):
        one = far_thresholds(config, maxima[row : row + 1], n_channels=n_channels)
        assert one.shape == (1,) and one[0] == every[row]


def test_glr_threshold_of_a_channel_is_that_channel_of_glr_thresholds() -> None:
    rng = np.random.default_rng(3)
    names = ("a", "b", "c")
    config = DetectorConfig(mains="50")
    state = init_detector_state(config, sfreq=1000.0, ch_names=names)
    data = 2e-6 * rng.standard_normal((3, 40_000)) * np.array([[1.0], [2.0], [0.5]])
    block = SampleBlock(data=data, sfreq=1000.0, first_sample=0, ch_names=names)
    _, state = detect_step(config, block, state)
    assert state.baseline.maxima.shape[1] >= config.far_min_segments  # a fitted threshold
    zeros = np.zeros(3)
    for start in (10_000, 30_000, 39_000):
        cand = _Candidate(start=start, end=start + 50, on=zeros, off=zeros, env_median=zeros)
        every = glr_thresholds(state, cand)
        assert [glr_threshold_of(state, cand, ch) for ch in range(3)] == every.tolist()


def test_envelope_block_is_the_same_as_filtering_a_copy() -> None:
    rng = np.random.default_rng(5)
    design = design_detector(DetectorConfig(mains="50"), sfreq=2000.0, ch_names=("a", "b"))
    x = rng.standard_normal((2, 300)) * 1e-5
    x0 = x.copy()
    state = init_envelope_state(design.envelope, 2)
    env, new = envelope_block(design.envelope, x, state)
    smooth, zf = signal.sosfilt(design.envelope.sos, x * x, axis=-1, zi=state.zi)
    assert np.array_equal(env, np.sqrt(np.maximum(smooth, 0.0)))
    assert np.array_equal(new.zi, zf) and np.array_equal(x, x0)


@pytest.mark.filterwarnings("ignore:Mean of empty slice", "ignore:invalid value")
@settings(max_examples=80, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 4), st.integers(0, 700)),
        elements=st.one_of(finite, st.sampled_from([0.0, -0.0, 1.0, np.nan])),
    )
)
def test_median_of_long_rows_and_of_a_vector_are_numpy_median(x: np.ndarray) -> None:
    assert np.array_equal(median_of_rows(x), np.median(x, axis=1), equal_nan=True)
    got = features_median(x[0])
    want = float(np.median(x[0]))
    assert got == want or (np.isnan(got) and np.isnan(want))


@settings(max_examples=80, deadline=None)
@given(
    arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 300)), elements=finite),
    st.integers(3, 30),
    st.data(),
)
def test_moving_mean_span_is_that_span_of_the_moving_mean(
    x: np.ndarray, n: int, data: st.DataObject
) -> None:
    size = x.shape[1]
    lo = data.draw(st.integers(0, size))
    hi = data.draw(st.integers(lo, size + 5))
    got = _moving_mean_span(x, n, lo, hi)
    assert np.array_equal(got, _moving_mean(x, n)[:, lo:hi])


def _moving_mean(x: np.ndarray, n: int) -> np.ndarray:
    """The whole centred moving mean, as the burst search computed it before."""
    size = x.shape[-1]
    c = np.concatenate([np.zeros(x.shape[:-1] + (1,)), np.cumsum(x, axis=-1)], axis=-1)
    h = n // 2
    if size < n:
        i = np.arange(size)
        lo = np.maximum(i - h, 0)
        hi = np.minimum(i - h + n, size)
        return (c[..., hi] - c[..., lo]) / (hi - lo)
    k = size - n + h + 1
    diff = np.empty(x.shape)
    diff[..., :k] = c[..., n - h :]
    diff[..., k:] = c[..., size:]
    diff[..., :h] -= c[..., :1]
    diff[..., h:] -= c[..., : size - h]
    i = np.arange(size)
    return diff / (np.minimum(i - h + n, size) - np.maximum(i - h, 0))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(0, 400), min_size=0, max_size=60, unique=True),
    st.lists(st.tuples(st.integers(0, 40_000), st.integers(0, 400)), min_size=1, max_size=20),
    st.integers(1, 600),
    st.booleans(),
)
def test_touched_segments_are_the_pairwise_overlaps(
    segs: list[int], spans: list[tuple[int, int]], segment_n: int, ordered: bool
) -> None:
    segments = np.array(sorted(segs) if ordered else segs, dtype=np.int64)
    arr = np.array([(a, a + d) for a, d in spans], dtype=np.int64)
    starts = segments * segment_n
    want = ((starts[None, :] < arr[:, 1:]) & (starts[None, :] + segment_n > arr[:, :1])).any(axis=0)
    assert np.array_equal(_touched(segments, segment_n, arr), want)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(8, 700), seed=st.integers(0, 2**16))
def test_mains_fit_share_from_the_cached_basis_is_a_fresh_fit(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    lines = (50.0, 150.0, 250.0)
    t = np.arange(n) / 2000.0
    x = rng.standard_normal(n) + 3 * np.sin(2 * np.pi * 50.0 * t + seed)
    got = mains_fit_share(x, sfreq=2000.0, lines_hz=lines)
    # the fit written out afresh, as before the basis was cached
    y = x - x.mean()
    phase = 2 * np.pi * np.asarray(lines)[:, None] * (np.arange(n) / 2000.0)
    s, c = np.sin(phase), np.cos(phase)
    ss, cc, sc = np.sum(s * s, axis=1), np.sum(c * c, axis=1), np.sum(s * c, axis=1)
    sy, cy = s @ y, c @ y
    det = ss * cc - sc * sc
    ok = det > 1e-12 * np.maximum(ss * cc, 1e-300)
    a = np.where(ok, (cc * sy - sc * cy) / np.where(ok, det, 1.0), 0.0)
    b = np.where(ok, (ss * cy - sc * sy) / np.where(ok, det, 1.0), 0.0)
    want = float(min(max(float(np.max(a * sy + b * cy)) / float(np.dot(y, y)), 0.0), 1.0))
    assert got == want
