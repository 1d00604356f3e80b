"""Calibration: refusals, the leave-one-out search on simulated reviewed recordings, profiles."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from twitchscope.signal import simulate
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.io.writers import write_recording
from twitchscope.signal.review.agreement import Counts
from twitchscope.signal.review.calibration import (
    MIN_TWITCHES,
    calibrate,
    f1_interval,
    rate_interval,
    search_space,
)
from twitchscope.signal.review.profile import read_profile, write_profile
from twitchscope.signal.review.sidecar import review_path, write_review
from twitchscope.signal.review.twitches import verdicts_from_twitches


def _reviewed(folder: Path, seed: int, keep: int | None = None) -> tuple[Path, int]:
    cfg = simulate.preset("limb", sfreq=500.0)
    sim = simulate.simulate(cfg, duration_s=80.0, seed=seed)
    path = write_recording(sim.to_raw(annotate_twitches=False), folder / f"rec{seed}_raw.fif")
    truth = sim.events.twitches[:keep]
    write_review(review_path(path), verdicts_from_twitches(truth, reviewer="AL"))
    return path, len(truth)


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("cal")
    paths, n = [], 0
    for seed in (1, 2, 3):
        p, k = _reviewed(folder, seed)
        paths.append(p)
        n += k
    assert n >= MIN_TWITCHES
    return paths


def test_too_few_reviewed_twitches_is_refused(tmp_path: Path) -> None:
    a, n_a = _reviewed(tmp_path, 5, keep=6)
    b, n_b = _reviewed(tmp_path, 6, keep=6)
    assert n_a + n_b < MIN_TWITCHES
    with pytest.raises(ConfigError, match=f"only {n_a + n_b} reviewed twitches .* at least 20"):
        calibrate([a, b])
    with pytest.raises(ConfigError, match="at least 2 reviewed recordings"):
        calibrate([a])


def test_a_recording_without_review_is_named(tmp_path: Path, reviewed: list[Path]) -> None:
    cfg = simulate.preset("limb", sfreq=500.0)
    bare = write_recording(
        simulate.simulate(cfg, duration_s=80.0, seed=9).to_raw(), tmp_path / "bare_raw.fif"
    )
    with pytest.raises(FileFormatError, match="bare_raw.fif has no review; expected bare_raw"):
        calibrate([reviewed[0], bare])


@pytest.mark.slow
def test_calibrate_validates_and_writes_a_profile_that_reads_back(
    tmp_path: Path, reviewed: list[Path]
) -> None:
    runs: list[int] = []
    result = calibrate(reviewed, progress=lambda done, total: runs.append(done))
    v = result.validation
    assert len(v.per_recording) == 3
    assert 0.0 <= v.f1 <= 1.0 and v.f1_ci[0] <= v.f1 + 1e-9 and v.f1 - 1e-9 <= v.f1_ci[1]
    assert v.fp_per_min_ci[0] <= v.fp_per_min <= v.fp_per_min_ci[1]
    # the search may keep the defaults, never does worse on the data it was fitted to;
    # when its validated F1 does not beat the defaults', the profile keeps the defaults
    assert v.f1 > v.default_f1 or result.candidate == ()
    assert result.n_runs == runs[-1] and result.n_runs >= 3 * 2
    cfg = result.config()
    assert isinstance(cfg, DetectorConfig)
    path = write_profile(tmp_path / "p.toml", result)
    prof = read_profile(path)
    assert prof.preset == result.preset and prof.changes == result.changes
    assert prof.config() == cfg
    assert prof.meta["validation"]["f1"] == pytest.approx(v.f1)
    assert len(prof.meta["recordings"]) == 3
    assert prof.meta["profile"]["twitchscope_version"]
    assert prof.path.name in prof.label()


def test_intervals() -> None:
    lo, hi = rate_interval(10, 5.0)
    assert (
        lo < 2.0 < hi
        and lo == pytest.approx(0.959, abs=1e-3)
        and hi == pytest.approx(3.678, abs=1e-3)
    )
    assert all(math.isnan(x) for x in rate_interval(3, 0.0))
    same = [Counts(tp=8, fp=2, fn=2)] * 5
    assert f1_interval(same) == pytest.approx((0.8, 0.8))
    lo, hi = f1_interval([Counts(tp=9, fp=1, fn=0), Counts(tp=1, fp=5, fn=5)])
    assert lo < hi


def test_search_space_holds_only_real_parameters(reviewed: list[Path]) -> None:
    space = search_space()
    assert list(space)[0] == "preset"
    for name in space:
        assert name == "preset" or hasattr(DetectorConfig(), name)
    # the low-rate threshold is searched too: below 500 Hz k_on alone cannot go under it
    assert "k_on_low_rate" in space and min(space["k_on_low_rate"]) < DetectorConfig().k_on
    with pytest.raises(ConfigError, match="search space names k_onn, which DetectorConfig"):
        calibrate(reviewed, space={"k_onn": (1.0,)})


def test_a_value_equal_to_the_limb_default_is_kept_on_the_trunk_preset() -> None:
    from twitchscope.signal.review.calibration import _candidate, config_of

    cand = _candidate({"preset": "trunk", "hp_hz": 20.0, "k_on": 4.5})
    assert cand == (("hp_hz", 20.0), ("preset", "trunk"))
    assert config_of(cand).hp_hz == 20.0 and config_of(cand).hp_order == 4
    assert _candidate({"preset": "limb", "k_on": 4.5}) == ()


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("[detector]\npreset = 'arm'\n", "preset 'arm'; expected one of limb, trunk"),
        ("[detector]\nk_onn = 3\n", "unknown detector parameter 'k_onn'"),
        ("[detector]\nk_on = 1.0\n", "k_off .* must not exceed k_on"),
        ("[profile]\nx = 1\n", "has no \\[detector\\] table"),
        ("[detector\n", "is not valid TOML"),
    ],
)
def test_bad_profiles_are_refused(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(FileFormatError, match=match):
        read_profile(path)


def test_integer_values_are_taken_as_floats(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("[detector]\npreset = 'trunk'\nk_on = 6\n")
    prof = read_profile(path)
    assert prof.config().k_on == 6.0 and prof.config().hp_hz == 30.0
    with pytest.raises(FileFormatError, match="profile not found"):
        read_profile(tmp_path / "none.toml")
