"""``twitchscope agreement`` and ``calibrate`` end to end, on real files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.conftest import SHARED
from twitchscope.dashboard.cli.main import main
from twitchscope.signal.review.sidecar import Verdict, write_review
from twitchscope.signal.review.twitches import verdicts_from_events_file

BENCH = SHARED / "bench"
CORPUS_B = BENCH / "corpus-dev-b"


def _ltrscore():
    spec = importlib.util.spec_from_file_location("ltrscore_shared", BENCH / "ltrscore.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not CORPUS_B.is_dir(), reason="../shared/bench/corpus-dev-b is not here")
@pytest.mark.parametrize("rid", ["dev_b_004_fs256", "dev_b_008_fs500"])
def test_agreement_of_detect_against_truth_equals_the_corpus_scorer(
    tmp_path: Path, rid: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ltr = _ltrscore()
    rec = CORPUS_B / f"{rid}.edf"
    events = tmp_path / f"{rid}.events.csv"
    assert main(["detect", str(rec), "--out", str(events)]) == 0
    truth_review = write_review(
        tmp_path / f"{rid}.review.csv",
        verdicts_from_events_file(CORPUS_B / f"{rid}.truth.csv", reviewer="truth"),
    )
    out_json = tmp_path / "agreement.json"
    assert main(["agreement", str(truth_review), str(events), "--json", str(out_json)]) == 0
    got = json.loads(out_json.read_text())["overall"]

    res = ltr.score_corpus(str(tmp_path), str(CORPUS_B), 0.04, rids=[rid])
    want = res["overall"]
    assert (got["tp"], got["fp"], got["fn"]) == (want["tp"], want["fp"], want["fn"])
    assert got["f1"] == pytest.approx(want["f1"], abs=5e-4)
    printed = capsys.readouterr().out
    assert f"{want['f1']:.3f}" in printed.splitlines()[-3]  # the overall row


@pytest.fixture
def two_reviews(tmp_path: Path) -> Path:
    rows = [
        Verdict(1.00, 1.10, "A", "confirmed", "AL", site="s1"),
        Verdict(3.00, 3.10, "A", "confirmed", "AL", site="s1"),
        Verdict(5.00, 5.10, "A", "rejected", "AL", site="s2"),
        Verdict(7.00, 7.10, "B", "added", "AL", site="s3"),
        Verdict(1.01, 1.10, "A", "confirmed", "BK", site="s1"),
        Verdict(3.00, 3.10, "A", "rejected", "BK", site="s1"),
        Verdict(5.00, 5.10, "A", "confirmed", "BK", site="s2"),
        Verdict(7.02, 7.10, "B", "added", "BK", site="s3"),
    ]
    return write_review(tmp_path / "rec.review.csv", rows)


def test_agreement_between_two_reviewers_in_one_file(
    two_reviews: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "a.json"
    argv = ["agreement", str(two_reviews), str(two_reviews), "--json", str(out)]
    assert main([*argv, "--reference-reviewer", "AL", "--test-reviewer", "BK"]) == 0
    d = json.loads(out.read_text())
    assert (d["overall"]["tp"], d["overall"]["fp"], d["overall"]["fn"]) == (2, 1, 1)
    assert d["per_site"]["s2"]["n_reference"] == 0 and d["per_site"]["s2"]["n_test"] == 1
    # presence per site: s1 yes/yes, s2 no/yes, s3 yes/yes -> po 2/3, pe 2/3 * 1 -> 0
    assert d["cohen_kappa_site_presence"] == pytest.approx(0.0)
    assert d["icc_site_counts"] is not None
    text = capsys.readouterr().out
    assert "review by AL" in text and "review by BK" in text and "Cohen's kappa" in text


def test_agreement_errors_are_one_line(
    two_reviews: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["agreement", str(two_reviews), str(two_reviews)]) == 2
    assert "several reviewers (AL, BK)" in capsys.readouterr().err
    argv = ["agreement", str(two_reviews), str(two_reviews), "--reference-reviewer", "AL"]
    assert main([*argv, "--test-reviewer", "BK", "--tolerance-ms", "0"]) == 2
    assert "--tolerance-ms must be a positive number" in capsys.readouterr().err
    assert main(["agreement", str(tmp_path / "none.csv"), str(two_reviews)]) == 2
    assert "events file not found" in capsys.readouterr().err
