"""The dispatcher: format detection, read_recording's checks, block reading of every format."""

from __future__ import annotations

from pathlib import Path

import mne
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.signal.io.text_files import SFREQ, N, write_brainflow, write_csv, write_openbci_v5
from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.io.formats import SUPPORTED_EXTENSIONS
from twitchscope.signal.io.readers import detect_format, iter_blocks, read_recording
from twitchscope.signal.io.writers import write_recording


@pytest.mark.parametrize(
    ("name", "text", "kind"),
    [
        ("a.edf", "", "edf"),
        ("a.BDF", "", "bdf"),
        ("a.fif", "", "fif"),
        ("a_raw.fif.gz", "", "fif"),
        ("a.xdf", "", "xdf"),
        ("a.xdfz", "", "xdf"),
        ("a.csv", "time_s,APB\n0.0,1\n", "csv"),
        ("a.txt", "\n%OpenBCI Raw EXG Data\n", "openbci"),
        ("a.csv", "%OpenBCI Raw EXG Data\n", "openbci"),
        ("a.tsv", "\n1.0\t2.5\t-3\n", "headerless"),
        ("a.csv", "0.0\t1.0\n", "headerless"),
        ("a.txt", "512,498\n", "headerless"),
        ("a.txt", "512 498 3\n", "headerless"),
        ("a.csv", "512;498\n", "headerless"),
        ("a.tsv", "\t".join(["1.0"] * 24) + "\n", "brainflow"),
        ("a.wav", "", "wav"),
    ],
)
def test_detect_format_by_extension_then_content(
    tmp_path: Path, name: str, text: str, kind: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert detect_format(path) == kind


def test_detect_format_refuses_what_no_reader_reads(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match="is a directory; expected a recording file"):
        detect_format(tmp_path)
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n")
    with pytest.raises(FileFormatError, match="blank.txt is empty; expected a header row"):
        detect_format(blank)
    prose = tmp_path / "notes.txt"
    prose.write_text("time_s,APB\n0.0,1\n")
    with pytest.raises(FileFormatError, match="neither an OpenBCI GUI file .* for .txt files"):
        detect_format(prose)


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
    write_openbci_v5(path, data_uv)
    whole = read_recording(path).get_data()
    got = np.concatenate([b.data for b in iter_blocks(path, block_samples=100)], axis=1)
    np.testing.assert_array_equal(got, whole)
    raw = _recording(data_uv)
    blocks = list(iter_blocks(raw, block_samples=700, picks=None))
    assert blocks[0].ch_names == ("a", "b", "c", "acc")
    np.testing.assert_array_equal(np.concatenate([b.data for b in blocks], 1), raw.get_data())
    picked = next(iter_blocks(raw, block_samples=10, picks=["c", "a"]))
    np.testing.assert_array_equal(picked.data, raw.get_data(picks=["c", "a"], stop=10))


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


@pytest.mark.parametrize("sfreq", [0, -250.0, float("nan"), "fast"])
def test_bad_sfreq(tmp_path: Path, data_uv, sfreq) -> None:
    path = tmp_path / "rec.csv"
    write_csv(path, data_uv, ["a", "b", "c"], sfreq=None)
    with pytest.raises(ConfigError, match="sfreq must be a"):
        read_recording(path, sfreq=sfreq)


def test_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text("time_s,APB\n0.0,1\n0.004,x\n")
    with pytest.raises(FileFormatError) as err:
        read_recording(path)
    assert "\n" not in str(err.value)


@pytest.fixture(scope="module")
def text_recordings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, np.ndarray]]:
    """A twitchscope CSV and a BrainFlow Cyton file, with their data in volts."""
    tmp = tmp_path_factory.mktemp("streams")
    rng = np.random.default_rng(1)
    uv = np.round(rng.standard_normal((8, 777)) * 25.0, 4)
    csv_path = tmp / "stream.csv"
    write_csv(csv_path, uv[:3], ["a", "b", "c"], sfreq=SFREQ)
    bf_path = tmp / "stream_bf.csv"
    write_brainflow(bf_path, "cyton", uv)
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
