"""The review draft behind the Review page: restore, verdicts, spans, added, promoted, saved."""

from __future__ import annotations

from pathlib import Path

import pytest

from twitchscope.dashboard.services.exporting import review_bytes
from twitchscope.dashboard.services.review_analysis import (
    ENV_REVIEW_DIR,
    add_twitch,
    promote,
    review_location,
    save_review,
    set_span,
    set_verdict,
    start_review,
    stored_review,
)
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import RejectedCandidate, RejectReason, Twitch
from twitchscope.signal.review.sidecar import Verdict, read_review, review_path, write_review

DETECTED = (
    Twitch(1.0, 1.1, "A", channels=("A", "B")),
    Twitch(3.0, 3.2, "B"),
    Twitch(6.0, 6.1, "A"),
)


def test_a_new_review_starts_unreviewed_and_counts_progress() -> None:
    d = start_review(DETECTED, (), reviewer="AL")
    assert d.progress() == "0 of 3 reviewed"
    d = set_verdict(d, 0, "confirmed")
    d = set_verdict(d, 2, "rejected")
    assert d.progress() == "2 of 3 reviewed"
    d = add_twitch(d, onset_s=4.0, offset_s=4.1, channel="A", duration_s=10.0)
    assert d.progress() == "2 of 3 reviewed, 1 added"
    assert [(v.onset_s, v.verdict) for v in d.verdicts(detector_version="9")] == [
        (1.0, "confirmed"),
        (4.0, "added"),
        (6.0, "rejected"),
    ]
    assert d.verdicts(detector_version="9")[0].detector_version == "9"
    assert d.verdicts(detector_version="9")[1].detector_version == ""  # not the detector's
    d = set_verdict(d, 0, None)
    assert d.progress() == "1 of 3 reviewed, 1 added"


def test_restore_matches_verdicts_to_detected_twitches_and_keeps_the_rest() -> None:
    stored = (
        Verdict(1.01, 1.12, "B", "confirmed", "AL"),  # on a channel the twitch shows on
        Verdict(6.0, 6.1, "A", "rejected", "AL"),
        Verdict(8.0, 8.1, "A", "added", "AL"),
        Verdict(9.0, 9.1, "A", "confirmed", "AL"),  # the detector no longer finds it
        Verdict(3.0, 3.2, "B", "rejected", "BK"),  # another reviewer's
    )
    d = start_review(DETECTED, stored, reviewer="AL")
    got = [(i.onset_s, i.origin, i.verdict) for i in d.items]
    assert got == [
        (1.01, "detected", "confirmed"),
        (3.0, "detected", None),
        (6.0, "detected", "rejected"),
        (8.0, "added", "added"),
        (9.0, "kept", "confirmed"),
    ]
    assert d.progress() == "2 of 3 reviewed, 1 added"


def test_adjusting_a_span_confirms_and_keeps_order() -> None:
    d = start_review(DETECTED, (), reviewer="AL")
    d = set_verdict(d, 1, "rejected")
    d = set_span(d, 1, 7.0, 7.2)  # moved after the third twitch, and confirmed
    assert [(i.onset_s, i.verdict) for i in d.items] == [
        (1.0, None),
        (6.0, None),
        (7.0, "confirmed"),
    ]
    with pytest.raises(ConfigError, match="0 <= onset < offset"):
        set_span(d, 0, 2.0, 1.0)
    with pytest.raises(ConfigError, match="offset <= 10 s"):
        add_twitch(d, onset_s=9.99, offset_s=10.5, channel="A", duration_s=10.0)


def test_promote_a_rejected_candidate() -> None:
    d = start_review(DETECTED, (), reviewer="AL")
    cand = RejectedCandidate(5.0, 5.3, "B", RejectReason.LOW_FREQ_ARTIFACT)
    d = promote(d, cand, duration_s=10.0)
    (item,) = [i for i in d.items if i.origin == "added"]
    assert (item.onset_s, item.offset_s, item.channel, item.verdict) == (5.0, 5.3, "B", "added")
    assert item.note == "promoted from a candidate rejected as low_freq_artifact"


def test_save_keeps_other_reviewers_and_restores(tmp_path: Path) -> None:
    rec = tmp_path / "s01.edf"
    path = review_location(rec)
    assert path == review_path(rec)
    write_review(path, [Verdict(3.0, 3.2, "B", "rejected", "BK")])
    d = set_verdict(start_review(DETECTED, (), reviewer="AL"), 0, "confirmed")
    save_review(path, d)
    rows = read_review(path)
    assert sorted((r.reviewer, r.verdict) for r in rows) == [
        ("AL", "confirmed"),
        ("BK", "rejected"),
    ]
    again = start_review(DETECTED, stored_review(rec), reviewer="AL")
    assert again.progress() == "1 of 3 reviewed"
    assert b"onset_s,offset_s,channel,verdict,reviewer" in review_bytes(d.verdicts())


def test_an_unwritable_folder_sends_the_review_to_the_review_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    monkeypatch.setenv(ENV_REVIEW_DIR, str(tmp_path / "reviews"))
    try:
        where = review_location(ro / "s02.fif")
        if where == review_path(ro / "s02.fif"):
            pytest.skip("running as a user who may write anywhere (root)")
        assert where == tmp_path / "reviews" / "s02.review.csv"
        d = set_verdict(start_review(DETECTED, (), reviewer="AL"), 1, "rejected")
        save_review(where, d)
        assert [v.verdict for v in stored_review(ro / "s02.fif")] == ["rejected"]
    finally:
        ro.chmod(0o755)
