"""Headerless numeric logs (Arduino, BioAmp, MyoWare sketches): numbers only, --sfreq given."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.io.readers import detect_format, iter_blocks, read_recording


@pytest.mark.parametrize(("name", "sep"), [("log.txt", " "), ("log.csv", ","), ("log.csv", ";"),
                                           ("log.tsv", "\t"), ("log.txt", ", ")])  # fmt: skip
def test_headerless_log_read_with_sfreq(tmp_path: Path, name: str, sep: str) -> None:
    counts = np.arange(600).reshape(2, 300) % 1024
    path = tmp_path / name
    path.write_text("".join(sep.join(str(v) for v in counts[:, i]) + "\r\n" for i in range(300)))
    assert detect_format(path) == "headerless"
    with pytest.raises(ConfigError, match="headerless numeric log .* sfreq is required"):
        read_recording(path)
    raw = read_recording(path, sfreq=500.0)
    assert raw.ch_names == ["CH1", "CH2"]
    assert raw.info["sfreq"] == 500.0
    np.testing.assert_allclose(raw.get_data(), counts * 1e-6)  # µV by default
    scaled = read_recording(path, sfreq=500.0, scale=5.0 / 1024)
    np.testing.assert_allclose(scaled.get_data(), counts * 5.0 / 1024)
    blocks = list(iter_blocks(path, block_samples=128, sfreq=500.0))
    assert [b.n_samples for b in blocks] == [128, 128, 44]


def test_headerless_single_column_with_cut_last_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "myoware.txt"
    path.write_text("\n".join(str(v) for v in range(100)) + "\n")
    raw = read_recording(path, sfreq=100.0)
    assert raw.n_times == 100
    two = tmp_path / "bioamp.csv"
    two.write_text("".join(f"{i},{2 * i}\n" for i in range(50)) + "50")
    with caplog.at_level(logging.WARNING, logger="twitchscope"):
        raw = read_recording(two, sfreq=100.0)
    assert raw.n_times == 50
    assert sum("last line is incomplete" in r.getMessage() for r in caplog.records) == 1


def test_headerless_bad_scale(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_text("1\n2\n3\n")
    with pytest.raises(ConfigError, match="scale"):
        read_recording(path, sfreq=100.0, scale=-1.0)


def test_headerless_log_through_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from twitchscope.dashboard.cli.main import main

    path = tmp_path / "arduino.txt"
    path.write_text("".join(f"{(i * 37) % 1024}\n" for i in range(3000)))
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sfreq is required" in err[0]
    assert main(["info", str(path), "--sfreq", "1000"]) == 0
    assert "(headerless numeric log)" in capsys.readouterr().out
    assert main(["detect", str(path), "--sfreq", "1000", "--out", str(tmp_path / "e.csv")]) == 0
