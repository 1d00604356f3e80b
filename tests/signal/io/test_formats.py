"""The conventions every format shares: extensions, type prefixes, sibling files."""

from __future__ import annotations

from pathlib import Path

import pytest

from twitchscope.signal.io.formats import (
    SUPPORTED_EXTENSIONS,
    VOLT_TYPES,
    error_summary,
    is_number,
    recording_extension,
    sibling_path,
    split_type_prefix,
    type_prefix,
)


def test_recording_extension_is_lower_case_and_knows_fif_gz() -> None:
    assert recording_extension(Path("a/Rec.EDF")) == ".edf"
    assert recording_extension(Path("rec.raw.FIF.GZ")) == ".fif.gz"
    assert recording_extension(Path("rec.v2.csv")) == ".csv"
    assert recording_extension(Path("rec")) == ""
    assert {recording_extension(Path(f"x{e}")) for e in SUPPORTED_EXTENSIONS} == set(
        SUPPORTED_EXTENSIONS
    )


@pytest.mark.parametrize(
    ("name", "sites"),
    [
        ("rec.csv", "rec.sites.csv"),
        ("rec.v2.CSV", "rec.v2.sites.csv"),
        ("rec.fif.gz", "rec.sites.csv"),
        ("OpenBCI-RAW-x.txt", "OpenBCI-RAW-x.sites.csv"),
        ("rec.dat", "rec.dat.sites.csv"),  # not a recording extension: kept
    ],
)
def test_sibling_path_drops_the_recording_extension(name: str, sites: str) -> None:
    assert sibling_path(Path("/data") / name, "sites") == Path("/data") / sites
    assert sibling_path(name, "annotations").name == sites.replace("sites", "annotations")


def test_type_prefixes_round_trip() -> None:
    assert split_type_prefix("EMG R-UpTrap") == ("emg", "R-UpTrap")
    assert split_type_prefix("misc accel x") == ("misc", "accel x")
    assert split_type_prefix("SAO2 finger") == ("bio", "finger")
    assert split_type_prefix("R-UpTrap") == (None, "R-UpTrap")
    assert split_type_prefix("Left APB") == (None, "Left APB")
    for ch_type in ("emg", "eeg", "ecg", "misc", "stim", "temperature", "resp"):
        assert split_type_prefix(f"{type_prefix(ch_type)} x") == (ch_type, "x")
    assert type_prefix("gsr") == "MISC"
    assert "emg" in VOLT_TYPES and "misc" not in VOLT_TYPES


def test_small_text_helpers() -> None:
    assert is_number("1.5e-3") and is_number(" 7 ") and not is_number("EXG Channel 0")
    assert error_summary(ValueError("first line.\nsecond line")) == "first line"
    assert error_summary(ValueError()) == "ValueError"
