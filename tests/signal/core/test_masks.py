"""Runs of True in a mask."""

from __future__ import annotations

import numpy as np

from twitchscope.signal.core.masks import true_runs


def test_runs_at_the_edges_in_the_middle_and_none() -> None:
    starts, ends = true_runs(np.array([1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool))
    assert starts.tolist() == [0, 4, 6] and ends.tolist() == [2, 5, 9]
    starts, ends = true_runs(np.zeros(5, dtype=bool))
    assert starts.size == 0 and ends.size == 0
    starts, ends = true_runs(np.ones(3, dtype=bool))
    assert starts.tolist() == [0] and ends.tolist() == [3]
    starts, ends = true_runs(np.zeros(0, dtype=bool))
    assert starts.size == 0
