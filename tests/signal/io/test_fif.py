"""FIF recordings through MNE's reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.io.fif import read_fif
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.io.writers import write_recording


def test_fif_keeps_data_types_and_annotations(tmp_path: Path, data_uv: np.ndarray) -> None:
    raw = make_raw(data_uv * 1e-6, sfreq=250.0, ch_names=["a", "b", "c"], ch_types="emg")
    raw.annotations.append(1.0, 0.5, "needle:R APB")
    for name in ("rec.fif", "rec.fif.gz"):
        path = write_recording(raw, tmp_path / name)
        back = read_recording(path, preload=True)
        assert back.ch_names == ["a", "b", "c"] and back.get_channel_types() == ["emg"] * 3
        np.testing.assert_allclose(back.get_data(), raw.get_data(), rtol=1e-6)
        assert list(back.annotations.description) == ["needle:R APB"]
        assert read_fif(path, preload=False).n_times == raw.n_times


def test_fif_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "bad_raw.fif"
    path.write_bytes(b"\x00" * 64)
    with pytest.raises(FileFormatError, match="cannot read bad_raw.fif as FIF"):
        read_recording(path)


def test_fif_zero_bytes_says_the_file_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "empty_raw.fif"
    path.write_bytes(b"")
    with pytest.raises(FileFormatError, match=r"^empty_raw.fif is empty \(0 bytes\)"):
        read_recording(path)


def test_fif_cut_short_says_what_is_wrong_not_mne_internals(tmp_path: Path) -> None:
    import mne

    info = mne.create_info(["a"], 1000.0, "emg")
    full = tmp_path / "full_raw.fif"
    mne.io.RawArray(np.zeros((1, 5000)), info, verbose="error").save(full, verbose="error")
    for n in (16, 200, 2000):
        cut = tmp_path / f"cut{n}_raw.fif"
        cut.write_bytes(full.read_bytes()[:n])
        with pytest.raises(FileFormatError) as info_:
            read_recording(cut)
        message = str(info_.value)
        assert "NoneType" not in message and "attribute" not in message, message
