"""Fixtures of the file-format tests."""

from __future__ import annotations

import numpy as np
import pytest

from tests.signal.io.text_files import N


@pytest.fixture
def data_uv(rng: np.random.Generator) -> np.ndarray:
    """Three channels of N samples in µV, rounded to 4 decimals."""
    return np.round(rng.standard_normal((3, N)) * 40.0, 4)
