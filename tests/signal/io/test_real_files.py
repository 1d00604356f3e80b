"""Real recordings published by others (``../shared/real-files``), when that folder exists.

The project never ships them: every test here is skipped without the folder. Each is
opened by ``info``, ``detect``, ``convert``, the dashboard's loader and ``batch``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import SHARED
from twitchscope.dashboard.cli.main import main
from twitchscope.dashboard.services.recordings import UPLOAD_TYPES, load_recording
from twitchscope.signal.io.readers import read_recording

REAL = SHARED / "real-files"
V5 = "openbcigui_OpenBCI_GUI-v5-blinks-jawClench-alpha.txt"
V6 = "openbcigui_OpenBCI_GUI-v6-blinks-jawClench-alpha.txt"
REST = "miopenbci_OpenBCI-RAW-S02_S1REST.txt"
BURSTS = "miopenbci_OpenBCI-RAW-S05_S1R0.txt"
SUBVOCAL = "subvocal_P006_F_Sim.csv"

#: file -> (sfreq to pass or None, rate, channels, samples)
FILES = {
    V5: (None, 250.0, 8, 22490),
    V6: (None, 250.0, 8, 22490),
    REST: (None, 200.0, 4, 6414),
    BURSTS: (None, 200.0, 4, 26474),
    SUBVOCAL: (250.0, 250.0, 8, 25066),
}

pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/real-files is not here")


def _args(name: str) -> list[str]:
    sfreq = FILES[name][0]
    return [str(REAL / name), *(["--sfreq", f"{sfreq:g}"] if sfreq else [])]


@pytest.mark.parametrize("name", sorted(FILES))
def test_real_file_reads(name: str) -> None:
    sfreq, rate, n_ch, n = FILES[name]
    raw = read_recording(REAL / name, sfreq=sfreq)
    assert raw.info["sfreq"] == rate
    assert len(raw.ch_names) == n_ch
    assert raw.n_times == n
    assert raw.get_channel_types() == ["emg"] * n_ch


def test_gui_v5_zero_row_is_skipped_and_matches_v6() -> None:
    v5 = read_recording(REAL / V5).get_data()
    v6 = read_recording(REAL / V6).get_data()
    np.testing.assert_allclose(v5, v6)
    assert v5[0, 0] == pytest.approx(61379.36e-6)  # the first real sample, not 0


def test_subvocal_words_and_railed_channels(capsys: pytest.CaptureFixture[str]) -> None:
    raw = read_recording(REAL / SUBVOCAL, sfreq=250.0)
    words = list(raw.annotations.description)
    assert words.count("WORD=sim") == 62
    assert set(words) == {"WORD=sim", "WORD=$SILENCE"}
    assert main(["info", *_args(SUBVOCAL)]) == 0
    out = capsys.readouterr().out
    for k in range(5, 9):
        assert f"Channel_{k}  emg  railed at -187500 µV" in out
    for k in range(1, 5):
        assert f"Channel_{k}  emg\n" in out


@pytest.mark.parametrize("name", sorted(FILES))
def test_real_file_through_the_command_line(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["info", *_args(name)]) == 0
    events = tmp_path / "events.csv"
    assert main(["detect", *_args(name), "--out", str(events)]) == 0
    assert events.read_text().startswith("onset_s")
    out = tmp_path / "converted.edf"
    assert main(["convert", *_args(name), str(out)]) == 0
    assert read_recording(out).n_times == FILES[name][3]
    capsys.readouterr()


@pytest.mark.parametrize("name", sorted(FILES))
def test_real_file_in_the_dashboard(name: str) -> None:
    assert Path(name).suffix.lstrip(".") in UPLOAD_TYPES
    rec = load_recording(REAL / name, sfreq=FILES[name][0])
    assert rec.data.shape == (FILES[name][2], FILES[name][3])


def test_real_files_in_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in (V5, V6, REST, BURSTS):  # files that say their rate
        shutil.copy(REAL / name, inputs / name)
    assert main(["batch", str(inputs), "--out", str(tmp_path / "out"), "--workers", "1"]) == 0
    assert "error" not in (tmp_path / "out" / "recordings.csv").read_text()
    capsys.readouterr()


def test_file_without_its_rate_in_batch_with_sfreq(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The word-cue CSV says no rate: batch needs --sfreq, and then reads it."""
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(REAL / SUBVOCAL, inputs / SUBVOCAL)
    out = tmp_path / "out"
    assert main(["batch", str(inputs), "--out", str(out), "--workers", "1"]) == 2
    assert "--sfreq" in (out / "errors.csv").read_text()
    assert main(["batch", str(inputs), "--out", str(out), "--workers", "1", "--sfreq", "250"]) == 0
    assert "error" not in (out / "recordings.csv").read_text()
    capsys.readouterr()
