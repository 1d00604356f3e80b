"""BrainFlow write_file output: board layouts told by columns and timestamps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.signal.io.text_files import BRAINFLOW_LAYOUTS, write_brainflow
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.io.brainflow import BRAINFLOW_BOARDS
from twitchscope.signal.io.readers import detect_format, read_recording


@pytest.mark.parametrize("board", sorted(BRAINFLOW_LAYOUTS))
def test_brainflow_board_detected_from_columns_and_timestamps(
    tmp_path: Path, board: str, rng: np.random.Generator
) -> None:
    n_rows, n_exg, sfreq, _ = BRAINFLOW_LAYOUTS[board]
    exg = np.round(rng.standard_normal((n_exg, 600)) * 30, 6)
    path = tmp_path / f"brainflow_{board}.csv"
    write_brainflow(path, board, exg)
    assert detect_format(path) == "brainflow"
    raw = read_recording(path)
    assert raw.info["sfreq"] == sfreq
    assert raw.ch_names == [f"EXG{k}" for k in range(n_exg)]
    assert set(raw.get_channel_types()) == {"emg"}
    np.testing.assert_allclose(raw.get_data(), exg * 1e-6, atol=1e-12)
    # an explicit board gives the same
    assert read_recording(path, board=board).info["sfreq"] == sfreq


def test_brainflow_ambiguous_without_timestamps_needs_board(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    path = tmp_path / "bf.tsv"
    table = np.zeros((32, 100))
    table[1:17] = rng.standard_normal((16, 100))
    path.write_text("\n".join("\t".join(f"{v:f}" for v in table[:, i]) for i in range(100)))
    with pytest.raises(ConfigError, match="cannot tell which BrainFlow board.*pass board="):
        read_recording(path)
    assert read_recording(path, board="synthetic").info["sfreq"] == 250.0
    assert read_recording(path, board=2).info["sfreq"] == 125.0


def test_brainflow_wrong_board_or_column_count(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "bf.csv"
    write_brainflow(path, "cyton", rng.standard_normal((8, 50)))
    with pytest.raises(FileFormatError, match="24 tab-separated columns but BrainFlow board"):
        read_recording(path, board="cyton_daisy")
    with pytest.raises(ConfigError, match="unknown BrainFlow board 'ganglion'"):
        read_recording(path, board="ganglion")
    odd = tmp_path / "odd.csv"
    odd.write_text("1.0\t2.0\t3.0\n4.0\t5.0\t6.0\n")
    # tab-separated numbers that no BrainFlow board writes are a headerless log, unless
    # board= says the file is BrainFlow output
    assert detect_format(odd) == "headerless"
    with pytest.raises(FileFormatError, match="3 tab-separated columns but BrainFlow board"):
        read_recording(odd, board="cyton")


def test_board_table_matches_brainflows_layouts() -> None:
    assert set(BRAINFLOW_BOARDS) == set(BRAINFLOW_LAYOUTS)
    for name, (n_rows, n_exg, sfreq, ts_row) in BRAINFLOW_LAYOUTS.items():
        b = BRAINFLOW_BOARDS[name]
        assert (b.n_rows, len(b.exg_rows), b.sfreq, b.timestamp_row) == (
            n_rows,
            n_exg,
            sfreq,
            ts_row,
        )
        assert b.exg_rows == tuple(range(1, 1 + n_exg))


def test_brainflow_truncated_last_line(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "bf.csv"
    exg = np.round(rng.standard_normal((8, 60)) * 10, 3)
    write_brainflow(path, "cyton", exg)
    path.write_text(path.read_text() + "60.000000\t1.5\t2.")
    raw = read_recording(path)
    np.testing.assert_allclose(raw.get_data(), exg * 1e-6, atol=1e-12)
