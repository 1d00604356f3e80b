"""Runs of True in a boolean mask."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["true_runs"]


def true_runs(mask: NDArray[np.bool_]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """``(starts, ends)`` of the runs of True in a 1-D ``mask`` (ends exclusive).

    Examples
    --------
    >>> true_runs(np.array([0, 1, 1, 0, 1], dtype=bool))
    (array([1, 4]), array([3, 5]))
    """
    m = np.asarray(mask, dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], m.view(np.int8), [0]])))
    return edges[0::2], edges[1::2]
