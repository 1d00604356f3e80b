"""``twitchscope record --names``: the EMG channels named in the file, or one clear error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twitchscope.acquisition.boards.registry import make_personality
from twitchscope.acquisition.emulation.pty_board import Emulator
from twitchscope.dashboard.cli.main import main
from twitchscope.signal.io.readers import read_recording

NAMES = "R-Infrasp,R-TeresMin,R-PostDelt,R-MidDelt,R-UpTrap,R-LevScap,R-Rhomb,R-SerrAnt"


def _noise(n: int) -> np.ndarray:
    return np.random.default_rng(1).standard_normal((8, n)) * 50e-6


def _argv(port: Path, out: Path, *extra: str) -> list[str]:
    return ["record", "--port", str(port), "--protocol", "cyton", "--out", str(out), *extra]


def test_record_names_the_emg_channels(tmp_path: Path) -> None:
    out = tmp_path / "named.fif"
    with Emulator(make_personality("cyton"), _noise, link=tmp_path / "tty"):
        assert main(_argv(tmp_path / "tty", out, "--duration", "1", "--names", NAMES)) == 0
    raw = read_recording(out, preload=True)
    emg = [n for n, t in zip(raw.ch_names, raw.get_channel_types(), strict=True) if t == "emg"]
    assert emg == NAMES.split(",")
    assert len(raw.ch_names) == 11  # the accelerometer keeps its own names


@pytest.mark.parametrize(
    ("names", "says"),
    [
        ("a,b,c", "got 3 channel names (a, b, c) for the 8 channels the board streams"),
        ("a,,b", "has an empty name"),
        ("a,a,b,c,d,e,f,g", "duplicates ['a']"),
    ],
)
def test_bad_names_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], names: str, says: str
) -> None:
    out = tmp_path / "bad.fif"
    with Emulator(make_personality("cyton"), _noise, link=tmp_path / "tty"):
        assert main(_argv(tmp_path / "tty", out, "--duration", "1", "--names", names)) == 2
    err = capsys.readouterr().err
    (line,) = [ln for ln in err.splitlines() if ln.startswith("twitchscope: error:")]
    assert says in line
    assert "Traceback" not in err
    assert not out.exists()
