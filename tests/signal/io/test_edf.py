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


def test_edf_truncated(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "full.edf"
    _edf_with_labels(path, ["EMG APB"], rng.uniform(-10, 10, (1, 2500)))
    cut = tmp_path / "cut.edf"
    cut.write_bytes(path.read_bytes()[:-700])
    with pytest.raises(FileFormatError, match="truncated EDF file: the header promises 10 data"):
        read_recording(cut)
    short = tmp_path / "short.edf"
    short.write_bytes(path.read_bytes()[:300])
    with pytest.raises(FileFormatError, match="truncated EDF file: .* shorter than its"):
        read_recording(short)


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
