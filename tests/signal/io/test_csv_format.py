"""Twitchscope CSV recordings: header, time_s or sfreq, µV columns, bad cells."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from tests.signal.io.text_files import SFREQ, write_csv
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.io.readers import iter_blocks, read_recording


def test_csv_with_time_column_gives_volts_rate_and_sites(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "rec.csv"
    write_csv(path, data_uv, ["APB", "FDI", "ADM"], sfreq=SFREQ)
    (tmp_path / "rec.sites.csv").write_text(
        "onset_s,duration_s,label\n0.5,1.0,needle:R APB TrP1\n2.0,0.5,L FDI\n"
    )
    raw = read_recording(path)
    assert raw.ch_names == ["APB", "FDI", "ADM"]
    assert raw.get_channel_types() == ["emg"] * 3
    assert raw.info["sfreq"] == SFREQ
    np.testing.assert_allclose(raw.get_data(), data_uv * 1e-6, atol=1e-12)
    assert list(raw.annotations.description) == ["needle:R APB TrP1", "needle:L FDI"]
    np.testing.assert_allclose(raw.annotations.onset, [0.5, 2.0])
    np.testing.assert_allclose(raw.annotations.duration, [1.0, 0.5])


def test_csv_without_time_column_needs_sfreq(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "rec.csv"
    write_csv(path, data_uv, ["a", "b", "c"], sfreq=None)
    with pytest.raises(ConfigError, match="no 'time_s' column, so sfreq .* is required"):
        read_recording(path)
    raw = read_recording(path, sfreq=1000.0)
    assert raw.info["sfreq"] == 1000.0
    np.testing.assert_allclose(raw.get_data(), data_uv * 1e-6, atol=1e-12)


def test_csv_sfreq_must_agree_with_time_column(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "rec.csv"
    write_csv(path, data_uv, ["a", "b", "c"], sfreq=SFREQ)
    assert read_recording(path, sfreq=SFREQ).info["sfreq"] == SFREQ
    with pytest.raises(ConfigError, match="sfreq=1000 Hz was given but the time_s column"):
        read_recording(path, sfreq=1000.0)


def test_csv_type_prefix_in_header(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text("time_s,APB,MISC accel,EMG FDI\n0.0,1.5,0.25,2\n0.01,2.5,0.5,3\n")
    raw = read_recording(path)
    assert raw.ch_names == ["APB", "accel", "FDI"]
    assert raw.get_channel_types() == ["emg", "misc", "emg"]
    np.testing.assert_allclose(raw.get_data()[1], [0.25, 0.5])  # misc: not scaled
    np.testing.assert_allclose(raw.get_data()[2], [2e-6, 3e-6])


def test_csv_text_in_number_column_names_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text("time_s,APB,FDI\n0.0,1.0,2.0\n0.004,1.5,abc\n0.008,1.0,2.0\n")
    with pytest.raises(FileFormatError, match=r"rec.csv: line 3, column 'FDI' holds 'abc'"):
        read_recording(path)
    empty_cell = tmp_path / "gap.csv"
    empty_cell.write_text("time_s,APB\n0.0,1.0\n0.004,\n")
    with pytest.raises(FileFormatError, match="line 3, column 'APB' is empty or not finite"):
        read_recording(empty_cell)


def test_csv_no_channels(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text("time_s\n0.0\n0.004\n")
    with pytest.raises(FileFormatError, match="no channel columns"):
        read_recording(path)


def test_csv_no_samples_or_empty(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text("time_s,APB\n")
    with pytest.raises(FileFormatError, match="has a header but no samples"):
        read_recording(path)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(FileFormatError, match="empty.csv is empty"):
        read_recording(empty)


def test_csv_duplicated_channel_names(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text("time_s,APB,APB\n0.0,1,2\n0.004,1,2\n")
    with pytest.raises(FileFormatError, match=r"duplicated channel names \['APB'\]"):
        read_recording(path)


def test_csv_irregular_time(tmp_path: Path) -> None:
    rows = [f"{i * 0.004:.6f},{i}" for i in range(20)]
    del rows[12]  # a lost sample
    path = tmp_path / "rec.csv"
    path.write_text("time_s,APB\n" + "\n".join(rows) + "\n")
    with pytest.raises(
        FileFormatError, match="time_s is irregular at line 14 .*step 0.008 s, expected 0.004 s"
    ):
        read_recording(path)
    dup = tmp_path / "dup.csv"
    dup.write_text("time_s,APB\n0.0,1\n0.0,1\n")
    with pytest.raises(FileFormatError, match="time_s does not increase"):
        read_recording(dup)


def test_csv_ragged_row(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text("time_s,APB,FDI\n0.0,1,2\n0.004,1\n0.008,1,2\n")
    with pytest.raises(FileFormatError, match="rec.csv: line 3, column 'FDI' is empty"):
        read_recording(path)


def test_csv_time_axis_not_starting_at_zero_shifts_sites(tmp_path: Path) -> None:
    rows = [f"{10 + i * 0.004:.6f},{i}" for i in range(500)]
    path = tmp_path / "late.csv"
    path.write_text("time_s,APB\n" + "\n".join(rows) + "\n")
    (tmp_path / "late.sites.csv").write_text("onset_s,duration_s,label\n10.5,0.25,R APB\n")
    raw = read_recording(path)
    assert raw.info["sfreq"] == 250.0
    np.testing.assert_allclose(raw.annotations.onset - raw.first_time, [0.5])
    assert list(raw.annotations.description) == ["needle:R APB"]


def test_csv_text_column_becomes_annotations(tmp_path: Path, rng: np.random.Generator) -> None:
    # a BrainFlow-based app: the cue word per sample, then Channel_1..3 in µV, no time
    words = ["$SILENCE"] * 100 + ["sim"] * 50 + ["$SILENCE"] * 100 + ["nao"] * 50
    data_uv = np.round(rng.standard_normal((3, len(words))) * 20.0, 3)
    lines = ["WORD,Channel_1,Channel_2,Channel_3"]
    lines += [",".join([w, *(str(v) for v in data_uv[:, i])]) for i, w in enumerate(words)]
    path = tmp_path / "Sim.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match="no 'time_s' column, so sfreq .* is required"):
        read_recording(path)
    raw = read_recording(path, sfreq=250.0)
    assert raw.ch_names == ["Channel_1", "Channel_2", "Channel_3"]
    np.testing.assert_allclose(raw.get_data(), data_uv * 1e-6, atol=1e-12)
    ann = raw.annotations
    assert list(ann.description) == ["WORD=$SILENCE", "WORD=sim", "WORD=$SILENCE", "WORD=nao"]
    np.testing.assert_allclose(ann.onset, [0.0, 0.4, 0.6, 1.0])
    np.testing.assert_allclose(ann.duration, [0.4, 0.2, 0.4, 0.2])
    blocks = list(iter_blocks(path, block_samples=64, sfreq=250.0))
    assert blocks[0].ch_names == ("Channel_1", "Channel_2", "Channel_3")


def test_csv_text_column_of_needle_sites(tmp_path: Path) -> None:
    cells = [""] * 50 + ["needle:R UpTrap"] * 100 + [""] * 50
    path = tmp_path / "sites_in_column.csv"
    path.write_text("site,APB\n" + "".join(f"{c},{i % 7}\n" for i, c in enumerate(cells)))
    raw = read_recording(path, sfreq=100.0)
    assert raw.ch_names == ["APB"]
    assert list(raw.annotations.description) == ["needle:R UpTrap"]
    assert raw.annotations.onset[0] == pytest.approx(0.5)


def test_csv_text_in_a_number_column_is_still_an_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("time_s,APB\n0.0,1\n0.004,oops\n0.008,2\n")
    with pytest.raises(FileFormatError, match="line 3, column 'APB' holds 'oops'"):
        read_recording(path)


def test_csv_truncated_last_line_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "cut.csv"
    path.write_text("time_s,APB,FDI\n0.0,1,2\n0.004,3,4\n0.008,5")
    with caplog.at_level(logging.WARNING, logger="twitchscope"):
        raw = read_recording(path)
    np.testing.assert_allclose(raw.get_data(), [[1e-6, 3e-6], [2e-6, 4e-6]])
    assert sum("last line is incomplete" in r.getMessage() for r in caplog.records) == 1
