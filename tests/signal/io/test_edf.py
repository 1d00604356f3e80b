"""EDF/BDF: type prefixes, header checks (truncated, corrupt), no signals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from edfio import Edf, EdfAnnotation, EdfSignal

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.io.readers import read_recording


def _edf_with_labels(path: Path, labels: list[str], data_uv: np.ndarray) -> None:
    signals = [
        EdfSignal(
            data_uv[i],
            sampling_frequency=250,
            label=lab,
            physical_dimension="uV",
            physical_range=(-500, 500),
        )
        for i, lab in enumerate(labels)
    ]
    Edf(signals, annotations=[EdfAnnotation(1.0, 2.5, "needle:R UpTrap TrP1")]).write(path)


def test_edf_type_prefixes_and_unprefixed_labels(tmp_path: Path, rng: np.random.Generator) -> None:
    data = np.round(rng.uniform(-200, 200, (4, 1000)), 1)
    path = tmp_path / "labels.edf"
    _edf_with_labels(path, ["EMG R-UpTrap", "L-UpTrap", "MISC accel", "EEG Cz"], data)
    raw = read_recording(path)
    assert raw.ch_names == ["R-UpTrap", "L-UpTrap", "accel", "Cz"]
    assert raw.get_channel_types() == ["emg", "emg", "misc", "eeg"]
    assert raw.n_times == 1000
    lsb = 1000 / 65535
    np.testing.assert_allclose(raw.get_data()[:2], data[:2] * 1e-6, atol=lsb * 1e-6)
    assert list(raw.annotations.description) == ["needle:R UpTrap TrP1"]
    np.testing.assert_allclose(raw.annotations.onset - raw.first_time, [1.0])
    np.testing.assert_allclose(raw.annotations.duration, [2.5])


def test_edf_duplicated_channel_names(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "dupes.edf"
    _edf_with_labels(path, ["EMG APB", "APB"], rng.uniform(-10, 10, (2, 500)))
    with pytest.raises(FileFormatError, match=r"duplicated channel names \['APB'\]"):
        read_recording(path)


def test_edf_truncated_keeps_the_whole_records_and_marks_the_end(
    tmp_path: Path, rng: np.random.Generator, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "full.edf"
    data = rng.uniform(-10, 10, (1, 2500))
    _edf_with_labels(path, ["EMG APB"], data)
    full = read_recording(path)
    cut = tmp_path / "cut.edf"
    cut.write_bytes(path.read_bytes()[:-700])  # the last record and part of the one before
    with caplog.at_level("WARNING"):
        raw = read_recording(cut)
    assert raw.n_times == 2000  # 8 whole records of 250 samples
    np.testing.assert_array_equal(raw.get_data(), full.get_data()[:, :2000])
    assert [r.getMessage() for r in caplog.records if "truncated" in r.getMessage()] == [
        "cut.edf is truncated: read its 8 whole data records (8 s); "
        "2 of 10 data records missing (2 s) at the end"
    ]
    assert raw.annotations.description[-1] == "TRUNCATED: 2 of 10 data records missing (2 s)"
    assert raw.annotations.onset[-1] - raw.first_time == pytest.approx(1999 / 250)
    short = tmp_path / "short.edf"
    short.write_bytes(path.read_bytes()[:300])
    with pytest.raises(FileFormatError, match="truncated EDF file: .* shorter than its"):
        read_recording(short)
    header_only = tmp_path / "header_only.edf"
    header_only.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(FileFormatError, match="not one whole record"):
        read_recording(header_only)


def _patch_header(path: Path, field_offset: int | None, index: int, value: str) -> None:
    """Overwrite an 8-byte header field: a signal's field (``field_offset`` per signal
    block, as in the EDF spec) or, with None, the fixed header at byte ``index``."""
    b = bytearray(path.read_bytes())
    ns = int(b[252:256].decode())
    at = index if field_offset is None else 256 + ns * field_offset + 8 * index
    b[at : at + 8] = value.ljust(8).encode()
    path.write_bytes(bytes(b))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (104, "500", "channel 'EMG APB' has physical minimum = maximum = 500"),
        (120, "32767", "channel 'EMG APB' has digital minimum = maximum = 32767"),
        (216, "0", "channel 'EMG APB' has 0 samples per data record; expected at least 1"),
        (None, "0", "data-record duration is 0 s; expected a positive number of seconds"),
        (None, "-1", "data-record duration is -1 s; expected a positive"),
    ],
)
def test_edf_header_fields_that_make_no_sense_are_named(
    tmp_path: Path, rng: np.random.Generator, field: int | None, value: str, message: str
) -> None:
    path = tmp_path / "bad.edf"
    _edf_with_labels(path, ["EMG APB"], rng.uniform(-10, 10, (1, 500)))
    _patch_header(path, field, 244 if field is None else 0, value)
    with pytest.raises(FileFormatError, match=message) as info:
        read_recording(path)
    assert "\n" not in str(info.value) and "latin1" not in str(info.value)


def test_edf_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.edf"
    path.write_bytes(b"not an edf file at all " * 20)
    with pytest.raises(FileFormatError, match="not a valid EDF file"):
        read_recording(path)
    tiny = tmp_path / "tiny.bdf"
    tiny.write_bytes(b"\xffBIOSEMI")
    with pytest.raises(FileFormatError, match="not a valid BDF file: 8 bytes"):
        read_recording(tiny)


def test_edf_without_signal_channels(tmp_path: Path) -> None:
    path = tmp_path / "annot_only.edf"
    Edf([], annotations=[EdfAnnotation(0.0, 1.0, "needle:x")]).write(path)
    with pytest.raises(FileFormatError, match="no signal channels"):
        read_recording(path)


def test_edf_sfreq_must_match(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "r.edf"
    _edf_with_labels(path, ["EMG APB"], rng.uniform(-10, 10, (1, 500)))
    with pytest.raises(ConfigError, match="sfreq=1000 Hz was given but r.edf is sampled at 250"):
        read_recording(path, sfreq=1000.0)
