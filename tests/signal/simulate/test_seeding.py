"""Tests of the simulator's keyed random streams."""

from __future__ import annotations

import numpy as np

from twitchscope.signal.simulate import seeding
from twitchscope.signal.simulate.seeding import keyed_rng


def test_same_seed_and_key_give_the_same_draws() -> None:
    a = keyed_rng(5, seeding.STREAM_SITE, 2, 1).standard_normal(100)
    b = keyed_rng(5, seeding.STREAM_SITE, 2, 1).standard_normal(100)
    np.testing.assert_array_equal(a, b)


def test_other_seed_stream_or_index_gives_independent_draws() -> None:
    ref = keyed_rng(5, seeding.STREAM_SITE, 2, 1).standard_normal(100)
    for other in (
        keyed_rng(6, seeding.STREAM_SITE, 2, 1),
        keyed_rng(5, seeding.STREAM_WINDOW, 2, 1),
        keyed_rng(5, seeding.STREAM_SITE, 2, 2),
        keyed_rng(5, seeding.STREAM_SITE, 2),
    ):
        x = other.standard_normal(100)
        assert abs(np.corrcoef(ref, x)[0, 1]) < 0.4


def test_stream_keys_are_distinct() -> None:
    keys = [getattr(seeding, name) for name in seeding.__all__ if name.startswith("STREAM_")]
    assert len(keys) == 7
    assert sorted(keys) == list(range(7))
