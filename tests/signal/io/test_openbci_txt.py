"""OpenBCI GUI text files (v5 with column names, v3/v4 without)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from tests.signal.io.text_files import write_openbci_v5
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.io.readers import detect_format, iter_blocks, read_recording


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


_PRE_2018_HEADER = [
    "%OpenBCI Raw EEG Data",
    "%",
    "%Sample Rate = 200.0 Hz",
    "%First Column = SampleIndex",
    "%Last Column = Timestamp ",
    "%Other Columns = EEG data in microvolts followed by Accel Data (in G) interleaved with "
    "Aux Data",
]


def _pre_2018_rows(data_uv: np.ndarray, *, clock: bool) -> list[str]:
    rows = []
    for i in range(data_uv.shape[1]):
        cells = [str(i % 256), *(f"{v:.2f}" for v in data_uv[:, i]), "0.000", "0.000", "0.000"]
        if clock:
            cells.append(f"10:30:{31 + i // 200:02d}.{(i * 5) % 1000:03d}")
        rows.append(", ".join(cells))
    return rows


@pytest.mark.parametrize(("n_ch", "clock"), [(4, True), (8, False), (16, True)])
def test_openbci_pre_2018_file_layout_from_its_columns(
    tmp_path: Path, rng: np.random.Generator, n_ch: int, clock: bool
) -> None:
    # Ganglion (4), Cyton (8), Cyton+Daisy (16): no column names, no channel count
    data_uv = np.round(rng.standard_normal((n_ch, 400)) * 30.0, 2)
    path = tmp_path / "OpenBCI-RAW-2016-05-01.txt"
    path.write_text(
        "\r\n".join([*_PRE_2018_HEADER, *_pre_2018_rows(data_uv, clock=clock)]) + "\r\n"
    )
    raw = read_recording(path)
    assert raw.info["sfreq"] == 200.0
    assert raw.ch_names == [f"EXG{k}" for k in range(n_ch)]
    np.testing.assert_allclose(raw.get_data(), data_uv * 1e-6, atol=1e-12)


def test_openbci_pre_2018_file_with_unknown_column_count(tmp_path: Path) -> None:
    path = tmp_path / "OpenBCI-RAW-odd.txt"
    path.write_text("\n".join([*_PRE_2018_HEADER, "0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0"]) + "\n")
    with pytest.raises(FileFormatError, match=r"7 numeric columns do not fit .* 4/8/16 channels"):
        read_recording(path)


def test_openbci_gui_v5_zero_row_is_not_a_sample(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "OpenBCI-RAW-v5.txt"
    head = ["%OpenBCI Raw EEG Data", "%Number of channels = 3", "%Sample Rate = 250 Hz",
            "%Board = OpenBCI_GUI$BoardCytonSerial"]  # fmt: skip
    zero = ",".join(["0.0"] * 10)
    rows = [
        ", ".join(
            [
                str(i % 256),
                *map(str, data_uv[:, i]),
                "0.040",
                "0.420",
                "0.238",
                "1557936053329",
                "12:00:53.329",
            ]
        )  # fmt: skip
        for i in range(data_uv.shape[1])
    ]
    path.write_text("\n".join([*head, zero, *rows]) + "\n")
    raw = read_recording(path)
    assert raw.n_times == data_uv.shape[1]
    np.testing.assert_allclose(raw.get_data(), data_uv * 1e-6, atol=1e-12)


def test_openbci_truncated_last_line_keeps_every_complete_row(
    tmp_path: Path, data_uv, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "OpenBCI-RAW-crash.txt"
    write_openbci_v5(path, data_uv)
    text = path.read_text()
    # the GUI crashed while writing one more row: it ends inside the second channel
    path.write_text(text + "44.0, 12.5, 3")
    with caplog.at_level(logging.WARNING, logger="twitchscope"):
        raw = read_recording(path)
    np.testing.assert_allclose(raw.get_data(), data_uv * 1e-6, atol=1e-12)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "last line is incomplete" in warnings[0].getMessage()
    blocks = list(iter_blocks(path, block_samples=64))
    assert sum(b.n_samples for b in blocks) == data_uv.shape[1]


def test_openbci_truncated_second_line_leaves_one_sample(tmp_path: Path) -> None:
    path = tmp_path / "OpenBCI-RAW-short.txt"
    rows = ["0, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0", "1, 2.0"]
    path.write_text("\n".join([*_PRE_2018_HEADER, *rows]))
    raw = read_recording(path)
    assert raw.n_times == 1
    np.testing.assert_allclose(raw.get_data()[:, 0], [1e-6, 2e-6, 3e-6, 4e-6])
