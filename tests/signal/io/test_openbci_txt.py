"""OpenBCI GUI text files (v5 with column names, v3/v4 without)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.signal.io.text_files import write_openbci_v5
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.io.readers import detect_format, read_recording


def test_openbci_gui_v5_file(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "OpenBCI-RAW-2024-05-01_10-00-00.txt"
    write_openbci_v5(path, data_uv)
    assert detect_format(path) == "openbci"
    raw = read_recording(path)
    assert raw.ch_names == ["EXG0", "EXG1", "EXG2"]
    assert raw.get_channel_types() == ["emg"] * 3
    assert raw.info["sfreq"] == 250.0
    np.testing.assert_allclose(raw.get_data(), data_uv * 1e-6, atol=1e-12)


def test_openbci_old_gui_file_without_column_names(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "OpenBCI-RAW-old.txt"
    lines = [
        "%OpenBCI Raw EEG Data",
        "%Number of channels = 3",
        "%Sample Rate = 200.0 Hz",
        "%First Column = SampleIndex",
        "%Last Column = Timestamp",
        "%Other Columns = EEG data in microvolts followed by Accel Data (in G)",
    ]
    for i in range(data_uv.shape[1]):
        lines.append(", ".join([str(i % 256), *map(str, data_uv[:, i]), "0.0", "0.0", "0.0"]))
    path.write_text("\n".join(lines) + "\n")
    raw = read_recording(path)
    assert raw.info["sfreq"] == 200.0
    assert raw.ch_names == ["EXG0", "EXG1", "EXG2"]
    np.testing.assert_allclose(raw.get_data(), data_uv * 1e-6, atol=1e-12)


def test_openbci_without_rate_needs_sfreq(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "OpenBCI-RAW-norate.txt"
    write_openbci_v5(path, data_uv, rate_line=False)
    with pytest.raises(ConfigError, match="no '%Sample Rate = <n> Hz' header line"):
        read_recording(path)
    assert read_recording(path, sfreq=500.0).info["sfreq"] == 500.0
