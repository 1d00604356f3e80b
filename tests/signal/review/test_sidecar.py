"""The review sidecar: paths, round trips, several reviewers, bad files, FIF annotations."""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pytest

from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import Twitch
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.io.writers import write_recording
from twitchscope.signal.review.sidecar import (
    REQUIRED_COLUMNS,
    Verdict,
    annotate_review,
    is_review_file,
    load_review,
    read_review,
    replace_reviewer,
    review_files,
    review_path,
    reviewed_twitches,
    reviewer_path,
    verdicts_from_annotations,
    write_review,
)
from twitchscope.signal.review.twitches import (
    apply_review,
    measure_twitch,
    nearest_onset,
    verdicts_from_events_file,
)

ROWS = (
    Verdict(1.25, 1.4, "R-UpTrap", "confirmed", "AL", confidence=0.9, detector_version="0.1.0"),
    Verdict(2.5, 2.6, "R-UpTrap", "rejected", "AL", note="ECG, not a twitch"),
    Verdict(4.0, 4.12, "R-LevScap", "added", "AL", reviewed_at="2026-12-03T06:30:00+00:00"),
    Verdict(1.26, 1.41, "R-UpTrap", "confirmed", "BK", site="R trapezius TrP1"),
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("s01.edf", "s01.review.csv"),
        ("s01_raw.fif.gz", "s01_raw.review.csv"),
        ("s01.fif", "s01.review.csv"),
        ("session.2.csv", "session.2.review.csv"),
    ],
)
def test_review_path_sits_next_to_the_recording(tmp_path: Path, name: str, expected: str) -> None:
    assert review_path(tmp_path / name) == tmp_path / expected


def test_round_trip_keeps_every_column_and_header_order(tmp_path: Path) -> None:
    path = write_review(tmp_path / "s01.review.csv", ROWS)
    header = path.read_text().splitlines()[0].split(",")
    assert tuple(header[:5]) == REQUIRED_COLUMNS
    assert header[5:] == ["confidence", "detector_version", "reviewed_at", "note", "site"]
    back = read_review(path)
    assert sorted(back, key=repr) == sorted(ROWS, key=repr)
    assert is_review_file(path)


def test_reviewed_twitches_are_confirmed_plus_added_of_one_reviewer(tmp_path: Path) -> None:
    rows = read_review(write_review(tmp_path / "a.review.csv", ROWS))
    al = reviewed_twitches(rows, "AL")
    assert [(v.onset_s, v.verdict) for v in al] == [(1.25, "confirmed"), (4.0, "added")]
    assert [v.onset_s for v in reviewed_twitches(rows, "BK")] == [1.26]
    with pytest.raises(ConfigError, match="several reviewers"):
        reviewed_twitches(rows)
    with pytest.raises(ConfigError, match="'ZZ' is not in the review"):
        reviewed_twitches(rows, "ZZ")


def test_two_reviewers_in_separate_files_are_loaded_together(tmp_path: Path) -> None:
    rec = tmp_path / "s01.edf"
    write_review(review_path(rec), [r for r in ROWS if r.reviewer == "AL"])
    write_review(reviewer_path(rec, "B. K."), [r for r in ROWS if r.reviewer == "BK"])
    assert [p.name for p in review_files(rec)] == ["s01.review.csv", "s01.review.B-K.csv"]
    assert sorted(load_review(rec), key=repr) == sorted(ROWS, key=repr)
    assert load_review(tmp_path / "other.edf") == ()


def test_replace_reviewer_keeps_the_other_reviewer() -> None:
    new = (Verdict(9.0, 9.1, "R-UpTrap", "added", "AL"),)
    out = replace_reviewer(ROWS, "AL", new)
    assert [v.onset_s for v in out if v.reviewer == "AL"] == [9.0]
    assert [v.onset_s for v in out if v.reviewer == "BK"] == [1.26]
    with pytest.raises(ConfigError, match="must all be by 'AL'"):
        replace_reviewer(ROWS, "AL", (ROWS[3],))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "is empty; expected a header row onset_s,offset_s,channel,verdict,reviewer"),
        ("onset_s,offset_s,channel,reviewer\n1,2,A,me\n", "lacks column\\(s\\) verdict"),
        (
            "onset_s,offset_s,channel,verdict,reviewer\n1,1.1,A,maybe,me\n",
            "line 2, column 'verdict' holds 'maybe'; expected one of confirmed, rejected, added",
        ),
        (
            "onset_s,offset_s,channel,verdict,reviewer\none,1.1,A,added,me\n",
            "line 2, column 'onset_s' holds 'one'; expected a number",
        ),
        (
            "onset_s,offset_s,channel,verdict,reviewer\n1,1.1,A,added,\n",
            "line 2, column 'reviewer' is empty",
        ),
        (
            "onset_s,offset_s,channel,verdict,reviewer\n2,1,A,added,me\n",
            "line 2: offset_s must be finite and >= onset_s",
        ),
        (
            "onset_s,offset_s,channel,verdict,reviewer,confidence\n1,1.1,A,added,me,3\n",
            "confidence must lie in \\[0, 1\\]",
        ),
    ],
)
def test_bad_review_files_give_one_clear_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.review.csv"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=match):
        read_review(path)


def test_missing_file_and_wrong_extension(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="review file not found"):
        read_review(tmp_path / "none.review.csv")
    with pytest.raises(FileFormatError, match="written as .csv"):
        write_review(tmp_path / "x.review.json", ROWS)
    assert not is_review_file(tmp_path / "none.csv")


def test_verdicts_survive_a_fif_file_as_annotations_with_extras(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    raw = make_raw(
        rng.standard_normal((2, 2048 * 6)) * 1e-6, sfreq=2048.0, ch_names=["R-UpTrap", "R-LevScap"]
    )
    raw.set_annotations(raw.annotations + mne.Annotations([0.5], [0.0], ["keep me"]))
    annotate_review(raw, ROWS[:1])
    annotate_review(raw, ROWS)  # replaces the first set
    path = write_recording(raw, tmp_path / "rev_raw.fif")
    back = read_recording(path)
    assert "keep me" in back.annotations.description
    got = verdicts_from_annotations(back.annotations, first_time=back.first_time)
    assert len(got) == len(ROWS)
    for a, b in zip(sorted(got, key=repr), sorted(ROWS, key=repr), strict=True):
        assert a.onset_s == pytest.approx(b.onset_s, abs=1e-3)
        assert a.offset_s == pytest.approx(b.offset_s, abs=1e-3)
        assert (a.channel, a.verdict, a.reviewer, a.confidence, a.note, a.site) == (
            b.channel,
            b.verdict,
            b.reviewer,
            b.confidence,
            b.note,
            b.site,
        )
    other = mne.Annotations([0.5], [0.1], ["REVIEW:maybe"], ch_names=[("A",)])
    with pytest.raises(FileFormatError, match="verdict must be one of"):
        verdicts_from_annotations(other)


def test_events_file_becomes_a_review_with_its_confidence(tmp_path: Path) -> None:
    ev = tmp_path / "ev.csv"
    ev.write_text(
        "onset_s,offset_s,channel,peak_uv,site,confidence\n"
        "1.0,1.1,A,12.5,TrP1,0.8\n2.0,2.2,B,,TrP1,\n"
    )
    rows = verdicts_from_events_file(ev, reviewer="detector")
    assert [(r.onset_s, r.channel, r.confidence, r.site) for r in rows] == [
        (1.0, "A", 0.8, "TrP1"),
        (2.0, "B", None, "TrP1"),
    ]
    assert {r.verdict for r in rows} == {"confirmed"}


def test_apply_review_keeps_features_moves_onsets_and_measures_added() -> None:
    sfreq = 1000.0
    x = np.full((2, 6000), 1e-6)
    x[1, 4000:4120] = 2e-5
    detected = (
        Twitch(1.25, 1.4, "R-UpTrap", peak_v=3e-5, rms_v=1e-5, snr_db=12.0),
        Twitch(2.5, 2.6, "R-UpTrap", peak_v=5e-5),
    )
    got = apply_review(
        detected,
        [r for r in ROWS if r.reviewer == "AL"],
        conditioned=x,
        sfreq=sfreq,
        ch_names=["R-UpTrap", "R-LevScap"],
    )
    assert [t.onset_s for t in got] == [1.25, 4.0]
    assert got[0].peak_v == 3e-5 and got[0].snr_db == 12.0
    assert got[1].channel == "R-LevScap"
    assert got[1].peak_v == pytest.approx(2e-5)
    assert got[1].snr_db == pytest.approx(20 * np.log10(20.0))
    assert got[1].median_freq_hz is not None
    moved = [Verdict(1.27, 1.45, "R-UpTrap", "confirmed", "AL")]
    (t,) = apply_review(detected, moved)
    assert (t.onset_s, t.offset_s, t.peak_v) == (1.27, 1.45, 3e-5)


def test_measure_twitch_refuses_unknown_channel_and_late_onset() -> None:
    x = np.zeros((1, 100))
    with pytest.raises(FileFormatError, match="channel 'B' is not in the recording"):
        measure_twitch(x, sfreq=100.0, ch_names=["A"], onset_s=0.1, offset_s=0.2, channel="B")
    with pytest.raises(FileFormatError, match="after the end of the recording"):
        measure_twitch(x, sfreq=100.0, ch_names=["A"], onset_s=5.0, offset_s=5.1, channel="A")


def test_nearest_onset_matches_within_tolerance_among_eligible() -> None:
    onsets = [1.0, 1.03, 2.0, 2.0]
    assert nearest_onset(1.02, onsets) == 1
    assert nearest_onset(1.02, onsets, eligible=lambda k: k != 1) == 0
    assert nearest_onset(1.2, onsets) is None
    assert nearest_onset(1.2, onsets, tolerance_s=0.2) == 1
    assert nearest_onset(2.0, onsets) == 3  # equally near: the last
    assert nearest_onset(2.0, []) is None
