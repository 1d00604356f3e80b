"""Railed channels: found while streaming, named by info, left out of detection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twitchscope.dashboard.cli.main import main
from twitchscope.signal.analysis.railed import RAIL_MIN_V, railed_channels
from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.run import array_blocks, detect_recording
from twitchscope.signal.io.writers import write_recording

SFREQ = 1000.0
CYTON_RAIL_V = -0.1875000022


def _data(rng: np.random.Generator, n: int = 4000) -> np.ndarray:
    data = rng.normal(0.0, 10e-6, (4, n))
    data[1] += 0.061  # a large skin offset is not a rail
    data[2] = CYTON_RAIL_V  # not connected
    data[3, : n // 4] = 0.19  # railed for a quarter only (a loose lead): not railed
    return data


def test_railed_channels_found_in_any_chunking(rng: np.random.Generator) -> None:
    data = _data(rng)
    names = ("A", "B", "C", "D")
    for chunk in (1, 333, 4000):
        found = railed_channels(array_blocks(data, sfreq=SFREQ, ch_names=names, chunk=chunk))
        assert [r.name for r in found] == ["C"]
        assert found[0].level_v == pytest.approx(CYTON_RAIL_V)
        assert found[0].fraction == 1.0
    assert railed_channels([]) == ()
    empty = SampleBlock(data=np.zeros((1, 0)), sfreq=SFREQ, first_sample=0, ch_names=("A",))
    assert railed_channels([empty]) == ()
    assert RAIL_MIN_V < abs(CYTON_RAIL_V)


def test_detection_leaves_railed_channels_out(rng: np.random.Generator) -> None:
    raw = make_raw(_data(rng), sfreq=SFREQ, ch_names=["A", "B", "C", "D"])
    run = detect_recording(raw, DetectorConfig())
    assert run.railed == ("C",)
    assert all("C" not in t.channels for t in run.twitches)
    kept = detect_recording(raw, DetectorConfig(), skip_railed=False)
    assert kept.railed == ()
    all_railed = make_raw(np.full((2, 2000), CYTON_RAIL_V), sfreq=SFREQ, ch_names=["A", "B"])
    with pytest.raises(FileFormatError, match="every channel the detector would see is railed"):
        detect_recording(all_railed, DetectorConfig())


def test_info_and_detect_name_the_railed_channel(
    tmp_path: Path, rng: np.random.Generator, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = make_raw(_data(rng), sfreq=SFREQ, ch_names=["A", "B", "C", "D"])
    path = write_recording(raw, tmp_path / "rec.edf")
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "  C  emg  railed at -187500 µV (not connected; left out of detection)" in out
    assert "  B  emg\n" in out
    assert main(["detect", str(path)]) == 0
    assert "railed channels left out: C" in capsys.readouterr().out
    assert main(["detect", str(path), "--keep-railed"]) == 0
    assert "railed" not in capsys.readouterr().out
