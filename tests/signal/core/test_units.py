"""Volts <-> microvolts, seconds <-> milliseconds, and the export cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twitchscope.signal.core.units import (
    MS_PER_S,
    UV_PER_V,
    V_PER_UV,
    ms_cell,
    ms_to_s,
    number_cell,
    s_to_ms,
    tidy,
    uv_cell,
    uv_to_volts,
    volts_to_uv,
)


def test_factors_name_their_direction() -> None:
    assert UV_PER_V == 1e6 and V_PER_UV == 1e-6 and MS_PER_S == 1e3
    assert volts_to_uv(2.5e-6) == pytest.approx(2.5)
    assert uv_to_volts(250.0) == 2.5e-4
    assert s_to_ms(0.125) == 125.0 and ms_to_s(125.0) == 0.125


@given(st.floats(min_value=-1.0, max_value=1.0, allow_nan=False))
def test_round_trips(x: float) -> None:
    assert uv_to_volts(volts_to_uv(x)) == pytest.approx(x, rel=1e-15, abs=0.0)
    assert ms_to_s(s_to_ms(x)) == pytest.approx(x, rel=1e-15, abs=0.0)


def test_a_microvolt_value_read_back_is_the_written_one() -> None:
    # a value written to 12 significant digits comes back as the same float
    for uv in (123.4, 0.1, 212.3, 7.72708644864):
        assert volts_to_uv(uv_to_volts(uv)) == pytest.approx(uv, rel=1e-15)
        assert tidy(volts_to_uv(uv_to_volts(uv))) == uv


def test_arrays_keep_their_shape_and_match_the_scalars() -> None:
    x = np.array([[1e-6, -2e-6, 0.0], [5e-5, 1e-3, np.nan]])
    uv = volts_to_uv(x)
    assert isinstance(uv, np.ndarray) and uv.shape == (2, 3)
    assert uv[1, 0] == volts_to_uv(5e-5) and math.isnan(uv[1, 2])
    np.testing.assert_allclose(uv_to_volts(uv), x, rtol=1e-15)
    t = np.arange(4) / 1000.0
    np.testing.assert_array_equal(s_to_ms(t), [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(ms_to_s(s_to_ms(t)), t)


def test_tidy_drops_the_float_noise_of_a_conversion() -> None:
    assert 0.000123 * 1e6 != 123.0
    assert tidy(volts_to_uv(0.000123)) == 123.0
    assert tidy(1.0 / 3.0) == 0.333333333333
    assert tidy(190.25661626512345) == 190.256616265


def test_cells_are_none_when_missing_or_not_finite() -> None:
    for cell in (uv_cell, ms_cell, number_cell):
        assert cell(None) is None
        assert cell(math.nan) is None
        assert cell(math.inf) is None and cell(-math.inf, 1) is None


def test_cells_round_to_12_significant_digits_or_to_ndigits() -> None:
    assert uv_cell(0.000123) == 123.0
    assert uv_cell(1.90256616265123e-4) == 190.256616265
    assert uv_cell(1.90256616265123e-4, 1) == 190.3
    assert uv_cell(-4.44e-6, 2) == -4.44
    assert ms_cell(0.2320000000001) == 232.0
    assert ms_cell(3.8715, 0) == 3872.0
    assert ms_cell(0.01234, 1) == 12.3
    assert number_cell(23.07044547261234) == 23.0704454726
    assert number_cell(23.07044547261234, 1) == 23.1
    assert number_cell(0.0) == 0.0


def test_cells_round_like_round_of_the_converted_value() -> None:
    # the same rounding the per-site and quality tables always used
    for v in (2.675e-6, 1.005e-6, 3.14159e-5, -7.125e-6):
        assert uv_cell(v, 2) == round(v * 1e6, 2)
    for s in (0.0125, 0.00105, 1.23456):
        assert ms_cell(s, 1) == round(s * 1e3, 1)
