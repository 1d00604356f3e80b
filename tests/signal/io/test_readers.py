"""Reading recordings: every format written in its real layout, block reading, bad input."""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pytest
from edfio import Edf, EdfAnnotation, EdfSignal
from hypothesis import given, settings
from hypothesis import strategies as st

from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.io.readers import (
    SUPPORTED_EXTENSIONS,
    detect_format,
    iter_blocks,
    read_recording,
)
from twitchscope.signal.io.writers import write_recording

SFREQ = 487.0  # deliberately odd
N = 1500


@pytest.fixture
def data_uv(rng: np.random.Generator) -> np.ndarray:
    return np.round(rng.standard_normal((3, N)) * 40.0, 4)


def _write_csv(path: Path, data_uv: np.ndarray, names: list[str], *, sfreq: float | None) -> None:
    header = (["time_s"] if sfreq else []) + names
    lines = [",".join(header)]
    for i in range(data_uv.shape[1]):
        cells = [f"{i / sfreq:.6f}"] if sfreq else []
        cells += [f"{v:.4f}" for v in data_uv[:, i]]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------- CSV


def test_csv_with_time_column_gives_volts_rate_and_sites(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "rec.csv"
    _write_csv(path, data_uv, ["APB", "FDI", "ADM"], sfreq=SFREQ)
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
    _write_csv(path, data_uv, ["a", "b", "c"], sfreq=None)
    with pytest.raises(ConfigError, match="no 'time_s' column, so sfreq .* is required"):
        read_recording(path)
    raw = read_recording(path, sfreq=1000.0)
    assert raw.info["sfreq"] == 1000.0
    np.testing.assert_allclose(raw.get_data(), data_uv * 1e-6, atol=1e-12)


def test_csv_sfreq_must_agree_with_time_column(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "rec.csv"
    _write_csv(path, data_uv, ["a", "b", "c"], sfreq=SFREQ)
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


# ---------------------------------------------------------------------------- OpenBCI


def _openbci_v5(path: Path, data_uv: np.ndarray, *, rate_line: bool = True) -> None:
    """An OpenBCI GUI v5 Cyton file, laid out as DataWriterODF writes it."""
    n_exg = data_uv.shape[0]
    head = ["%OpenBCI Raw EXG Data", f"%Number of channels = {n_exg}"]
    if rate_line:
        head.append("%Sample Rate = 250 Hz")
    head.append("%Board = OpenBCI_GUI$BoardCytonSerial")
    cols = ["Sample Index", *[f"EXG Channel {k}" for k in range(n_exg)]]
    cols += ["Accel Channel 0", "Accel Channel 1", "Accel Channel 2", "Not Used"]
    cols += [f"Digital Channel {k} (D1{k})" for k in range(3)]
    cols += ["Analog Channel 0", "Timestamp", "Marker Channel", "Timestamp (Formatted)"]
    lines = [*head, ", ".join(cols)]
    for i in range(data_uv.shape[1]):
        row = [f"{float(i % 256)}", *[f"{v}" for v in data_uv[:, i]]]
        row += ["0.0", "0.0", "0.0", "192.0", "0.0", "0.0", "0.0", "0.0"]
        row += [f"{1.7e9 + i / 250:.6f}", "0.0", "2024-05-01 10:00:00.000"]
        lines.append(", ".join(row))
    path.write_text("\n".join(lines) + "\n")


def test_openbci_gui_v5_file(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "OpenBCI-RAW-2024-05-01_10-00-00.txt"
    _openbci_v5(path, data_uv)
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
    _openbci_v5(path, data_uv, rate_line=False)
    with pytest.raises(ConfigError, match="no '%Sample Rate = <n> Hz' header line"):
        read_recording(path)
    assert read_recording(path, sfreq=500.0).info["sfreq"] == 500.0


# ---------------------------------------------------------------------------- BrainFlow

BOARDS = {  # name: (n_rows, n_exg, sfreq, timestamp row) as in brainflow_boards.cpp
    "cyton": (24, 8, 250.0, 22),
    "cyton_daisy": (32, 16, 125.0, 30),
    "synthetic": (32, 16, 250.0, 30),
}


def _brainflow(path: Path, board: str, exg_uv: np.ndarray) -> None:
    """BrainFlow DataFilter.write_file: rows transposed, '%lf' tab separated, no header."""
    n_rows, n_exg, sfreq, ts_row = BOARDS[board]
    n = exg_uv.shape[1]
    table = np.zeros((n_rows, n))
    table[0] = np.arange(n) % 256
    table[1 : 1 + n_exg] = exg_uv
    table[ts_row] = 1.7e9 + np.arange(n) / sfreq
    lines = ["\t".join(f"{v:f}" for v in table[:, i]) for i in range(n)]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("board", sorted(BOARDS))
def test_brainflow_board_detected_from_columns_and_timestamps(
    tmp_path: Path, board: str, rng: np.random.Generator
) -> None:
    n_rows, n_exg, sfreq, _ = BOARDS[board]
    exg = np.round(rng.standard_normal((n_exg, 600)) * 30, 6)
    path = tmp_path / f"brainflow_{board}.csv"
    _brainflow(path, board, exg)
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
    _brainflow(path, "cyton", rng.standard_normal((8, 50)))
    with pytest.raises(FileFormatError, match="24 tab-separated columns but BrainFlow board"):
        read_recording(path, board="cyton_daisy")
    with pytest.raises(ConfigError, match="unknown BrainFlow board 'ganglion'"):
        read_recording(path, board="ganglion")
    odd = tmp_path / "odd.csv"
    odd.write_text("1.0\t2.0\t3.0\n4.0\t5.0\t6.0\n")
    with pytest.raises(FileFormatError, match="3 tab-separated columns, which matches no"):
        read_recording(odd)


# ---------------------------------------------------------------------------- EDF / BDF / FIF


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


def test_fif_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "bad_raw.fif"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(FileFormatError, match="cannot read bad_raw.fif as FIF"):
        read_recording(path)


def test_edf_sfreq_must_match(tmp_path: Path, rng: np.random.Generator) -> None:
    path = tmp_path / "r.edf"
    _edf_with_labels(path, ["EMG APB"], rng.uniform(-10, 10, (1, 500)))
    with pytest.raises(ConfigError, match="sfreq=1000 Hz was given but r.edf is sampled at 250"):
        read_recording(path, sfreq=1000.0)


# ---------------------------------------------------------------------------- block reading


def _recording(data_uv: np.ndarray) -> mne.io.BaseRaw:
    data = np.vstack([data_uv * 1e-6, np.linspace(0, 1, data_uv.shape[1])[None]])
    return make_raw(data, sfreq=250.0, ch_names=["a", "b", "c", "acc"],
                    ch_types=["emg", "emg", "emg", "misc"])  # fmt: skip


@pytest.mark.parametrize("ext", ["edf", "bdf", "fif", "csv"])
@pytest.mark.parametrize("block_samples", [1, 333, N, 5 * N])
def test_blocks_concatenate_to_the_whole(
    tmp_path: Path, data_uv, ext: str, block_samples: int
) -> None:
    path = write_recording(_recording(data_uv), tmp_path / f"rec.{ext}")
    whole = read_recording(path, preload=True)
    blocks = list(iter_blocks(path, block_samples=block_samples))
    assert all(isinstance(b, SampleBlock) for b in blocks)
    assert [b.first_sample for b in blocks] == list(range(0, N, block_samples))
    assert all(b.n_samples == block_samples for b in blocks[:-1])
    assert all(b.ch_names == ("a", "b", "c") for b in blocks)  # EMG only by default
    np.testing.assert_array_equal(
        np.concatenate([b.data for b in blocks], axis=1), whole.get_data(picks=[0, 1, 2])
    )
    assert blocks[0].sfreq == 250.0


def test_blocks_of_text_formats_and_raw(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "OpenBCI-RAW-x.txt"
    _openbci_v5(path, data_uv)
    whole = read_recording(path).get_data()
    got = np.concatenate([b.data for b in iter_blocks(path, block_samples=100)], axis=1)
    np.testing.assert_array_equal(got, whole)
    raw = _recording(data_uv)
    blocks = list(iter_blocks(raw, block_samples=700, picks=None))
    assert blocks[0].ch_names == ("a", "b", "c", "acc")
    np.testing.assert_array_equal(np.concatenate([b.data for b in blocks], 1), raw.get_data())
    picked = next(iter_blocks(raw, block_samples=10, picks=["c", "a"]))
    np.testing.assert_array_equal(picked.data, raw.get_data(picks=["c", "a"], stop=10))


def test_csv_blocks_stream_and_report_late_errors(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "rec.csv"
    _write_csv(path, data_uv, ["a", "b", "c"], sfreq=250.0)
    lines = path.read_text().splitlines()
    lines[1201] = lines[1201].replace(lines[1201].split(",")[2], "oops")
    path.write_text("\n".join(lines) + "\n")
    it = iter_blocks(path, block_samples=500)
    assert next(it).n_samples == 500  # the first blocks come before the bad row is read
    assert next(it).first_sample == 500
    with pytest.raises(FileFormatError, match="line 1202, column 'b' holds 'oops'"):
        next(it)


def test_iter_blocks_bad_parameters(tmp_path: Path, data_uv) -> None:
    raw = _recording(data_uv)
    for bad in (0, -5, 2.5, True):
        with pytest.raises(ConfigError, match="block_samples must be a positive integer"):
            iter_blocks(raw, block_samples=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"channels \['zz'\] are not in"):
        iter_blocks(raw, block_samples=10, picks=["zz"])
    misc_only = make_raw(np.zeros((1, 10)), sfreq=100.0, ch_names=["x"], ch_types="misc")
    with pytest.raises(FileFormatError, match="has no EMG channels"):
        iter_blocks(misc_only, block_samples=5)
    with pytest.raises(FileFormatError, match="recording file not found"):
        iter_blocks(tmp_path / "gone.csv", block_samples=5)  # raised at the call


# ---------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="recording file not found: .*nope.edf"):
        read_recording(tmp_path / "nope.edf")


def test_unknown_extension_lists_supported(tmp_path: Path) -> None:
    path = tmp_path / "rec.xyz"
    path.write_text("x")
    with pytest.raises(FileFormatError, match="unsupported file extension '.xyz'") as err:
        read_recording(path)
    assert all(ext in str(err.value) for ext in SUPPORTED_EXTENSIONS)
    assert "\n" not in str(err.value)


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


@pytest.mark.parametrize("sfreq", [0, -250.0, float("nan"), "fast"])
def test_bad_sfreq(tmp_path: Path, data_uv, sfreq) -> None:
    path = tmp_path / "rec.csv"
    _write_csv(path, data_uv, ["a", "b", "c"], sfreq=None)
    with pytest.raises(ConfigError, match="sfreq must be a"):
        read_recording(path, sfreq=sfreq)


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
    path.write_text("time_s,APB,FDI\n0.0,1,2\n0.004,1\n")
    with pytest.raises(FileFormatError, match="rec.csv: line 3, column 'FDI' is empty"):
        read_recording(path)


def test_bad_sites_file(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "rec.csv"
    _write_csv(path, data_uv, ["a", "b", "c"], sfreq=250.0)
    sites = tmp_path / "rec.sites.csv"
    sites.write_text("onset_s,duration_s,label\n1.0,soon,needle:x\n")
    with pytest.raises(FileFormatError, match="rec.sites.csv: line 2, column 'duration_s'"):
        read_recording(path)
    sites.write_text("onset,label\n1.0,x\n")
    with pytest.raises(FileFormatError, match=r"rec.sites.csv lacks columns \['onset_s'"):
        read_recording(path)


def test_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text("time_s,APB\n0.0,1\n0.004,x\n")
    with pytest.raises(FileFormatError) as err:
        read_recording(path)
    assert "\n" not in str(err.value)


def test_csv_time_axis_not_starting_at_zero_shifts_sites(tmp_path: Path) -> None:
    rows = [f"{10 + i * 0.004:.6f},{i}" for i in range(500)]
    path = tmp_path / "late.csv"
    path.write_text("time_s,APB\n" + "\n".join(rows) + "\n")
    (tmp_path / "late.sites.csv").write_text("onset_s,duration_s,label\n10.5,0.25,R APB\n")
    raw = read_recording(path)
    assert raw.info["sfreq"] == 250.0
    np.testing.assert_allclose(raw.annotations.onset - raw.first_time, [0.5])
    assert list(raw.annotations.description) == ["needle:R APB"]


@pytest.fixture(scope="module")
def text_recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, np.ndarray]]:
    """A twitchscope CSV and a BrainFlow Cyton file, with their data in volts."""
    tmp = tmp_path_factory.mktemp("streams")
    rng = np.random.default_rng(1)
    uv = np.round(rng.standard_normal((8, 777)) * 25.0, 4)
    csv_path = tmp / "stream.csv"
    _write_csv(csv_path, uv[:3], ["a", "b", "c"], sfreq=SFREQ)
    bf_path = tmp / "stream_bf.csv"
    _brainflow(bf_path, "cyton", uv)
    return {"csv": (csv_path, uv[:3] * 1e-6), "brainflow": (bf_path, uv * 1e-6)}


@settings(max_examples=30, deadline=None)
@given(kind=st.sampled_from(["csv", "brainflow"]), block_samples=st.integers(1, 900))
def test_any_block_size_gives_the_same_stream(
    text_recordings: dict[str, tuple[Path, np.ndarray]], kind: str, block_samples: int
) -> None:
    path, volts = text_recordings[kind]
    blocks = list(iter_blocks(path, block_samples=block_samples))
    assert [b.first_sample for b in blocks] == list(range(0, volts.shape[1], block_samples))
    np.testing.assert_allclose(np.concatenate([b.data for b in blocks], axis=1), volts, atol=1e-12)
