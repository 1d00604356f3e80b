"""Agreement: the corpus scorer's matching, per-site counts, Cohen's kappa and ICC(2,1)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite, Twitch
from twitchscope.signal.review.agreement import (
    NO_SITE,
    Counts,
    Mark,
    cohen_kappa,
    compare,
    greedy_match,
    icc_agreement,
    marks_from_twitches,
    merge_across_channels,
)


def test_greedy_match_takes_smallest_errors_first_one_to_one() -> None:
    # test 0 is closest to ref 0 (10 ms) but test 1 is closer still (5 ms): 1-0 first,
    # then test 0 may take ref 1 (30 ms).
    got = greedy_match([1.00, 1.015, 9.0], [1.01, 1.03], 0.04)
    assert [(i, j) for i, j, _ in got] == [(1, 0), (0, 1)]
    assert got[0][2] == pytest.approx(0.005)
    assert greedy_match([], [1.0], 0.04) == []
    assert greedy_match([1.0], [1.0401], 0.04) == []


def test_one_twitch_on_three_channels_counts_once_in_test() -> None:
    test = [Mark(2.0, 2.1, "A"), Mark(2.01, 2.1, "B"), Mark(2.03, 2.2, "C"), Mark(2.02, 2.1, "A")]
    merged = merge_across_channels(test, 0.04)
    # by onset: A, B join; the second A cannot join a group that has A already, so it
    # starts a new twitch, which C (10 ms later) then joins
    assert [(m.onset_s, m.channel) for m in merged] == [(2.0, "A"), (2.02, "A")]
    assert [m.offset_s for m in merged] == [2.1, 2.2]
    res = compare([Mark(2.0, 2.1, "A")], test)
    assert (res.overall.tp, res.overall.fp, res.overall.fn) == (1, 1, 0)


def test_per_site_counts_and_rates() -> None:
    ref = [Mark(1.0, 1.1, "A", "s1"), Mark(3.0, 3.1, "A", "s1"), Mark(6.0, 6.1, "A", "s2")]
    test = [Mark(1.02, 1.1, "A", "s1"), Mark(6.5, 6.6, "A", "s2"), Mark(8.0, 8.1, "A", NO_SITE)]
    res = compare(ref, test, sites=["s3"])
    assert res.per_site["s1"] == Counts(tp=1, fp=0, fn=1)
    assert res.per_site["s2"] == Counts(tp=0, fp=1, fn=1)
    assert res.per_site[NO_SITE] == Counts(fp=1)
    assert res.per_site["s3"] == Counts()
    assert res.overall == Counts(tp=1, fp=2, fn=2)
    assert res.overall.f1 == pytest.approx(2 * (1 / 3) * (1 / 3) / (2 / 3))
    assert res.site_counts == {"s1": (2, 1), "s2": (1, 1), "s3": (0, 0), NO_SITE: (0, 1)}
    # presence: s1 yes/yes, s2 yes/yes, s3 no/no -> perfect agreement
    assert res.kappa == pytest.approx(1.0)
    assert res.median_abs_error_ms == pytest.approx(20.0)
    d = res.as_dict()
    assert d["overall"]["tp"] == 1 and d["per_site"]["s3"]["f1"] is None


def test_empty_sides_follow_the_scorer_convention() -> None:
    assert math.isnan(Counts().f1)
    assert Counts(fn=3).f1 == 0.0
    assert math.isnan(Counts(fp=2).recall) and Counts(fp=2).precision == 0.0


def test_sites_come_from_the_recording_when_a_twitch_has_none() -> None:
    sites = [NeedleSite(label="TrP1", onset_s=0.0, duration_s=5.0)]
    marks = marks_from_twitches([Twitch(1.0, 1.1, "EMG A"), Twitch(7.0, 7.1, "B")], sites)
    assert [(m.channel, m.site) for m in marks] == [("A", "TrP1"), ("B", NO_SITE)]


def test_cohen_kappa_matches_a_hand_computed_table() -> None:
    # 2x2 table: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> po 0.7, pe 0.5, kappa 0.4
    a = np.array([1] * 25 + [0] * 25)
    b = np.array([1] * 20 + [0] * 5 + [1] * 10 + [0] * 15)
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == pytest.approx(1.0)
    assert math.isnan(cohen_kappa([1, 1, 1], [1, 1, 1]))
    with pytest.raises(ConfigError, match="one label per item"):
        cohen_kappa([1, 0], [1])


def test_icc_matches_shrout_fleiss_and_is_one_for_identical_raters() -> None:
    y = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    assert icc_agreement(y) == pytest.approx(0.2898, abs=5e-4)
    counts = np.array([3.0, 0.0, 5.0, 2.0])
    assert icc_agreement(np.column_stack([counts, counts])) == pytest.approx(1.0)
    # a constant offset costs absolute agreement
    assert icc_agreement(np.column_stack([counts, counts + 2])) < 0.8
    assert math.isnan(icc_agreement([[1, 2]]))
    with pytest.raises(ConfigError, match="n_raters >= 2"):
        icc_agreement([1, 2, 3])


@pytest.mark.parametrize("tol", [0.0, -1.0, math.nan])
def test_bad_tolerance_is_refused(tol: float) -> None:
    with pytest.raises(ConfigError, match="tolerance"):
        compare([], [], tolerance_s=tol)
