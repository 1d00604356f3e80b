"""XDF import: real XDF files written by the tests' minimal writer, read through read_recording."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from tests.signal.io.xdf_writer import XdfStream, write_xdf
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.io.readers import detect_format, iter_blocks, read_recording
from twitchscope.signal.io.xdf import XDF_MISSING, read_xdf

SFREQ = 487.0
T0 = 5000.25  # LSL clock of the first EMG sample
LABELS = ("APB", "FDI", "accX")


def _emg(n1: int = 1500, lost: int = 980, n2: int = 700, *, name: str = "twitchscope") -> tuple:
    """An EMG stream of two segments with ``lost`` samples missing between them."""
    rng = np.random.default_rng(0)
    uv = (rng.standard_normal((n1 + n2, 3)) * 80).astype(np.float32)
    uv[:, 2] = np.linspace(-1, 1, n1 + n2)  # accelerometer, in g
    index = np.r_[0:n1, n1 + lost : n1 + lost + n2]
    stream = XdfStream(
        name=name,
        type="EMG",
        channel_format="float32",
        nominal_srate=SFREQ,
        time_stamps=T0 + index / SFREQ,
        values=uv,
        channels=[
            {"label": "APB", "unit": "microvolts", "type": "EMG"},
            {"label": "FDI", "unit": "microvolts", "type": "EMG"},
            {"label": "accX", "unit": "g", "type": "ACC"},
        ],
    )
    return stream, uv, index


def _markers(items: list[tuple[float, str]], name: str = "twitchscope-markers") -> XdfStream:
    return XdfStream(
        name=name,
        type="Markers",
        channel_format="string",
        nominal_srate=0.0,
        time_stamps=np.array([T0 + t for t, _ in items]),
        values=[m for _, m in items],
    )


def test_emg_stream_markers_and_gap_read_back(tmp_path: Path) -> None:
    emg, uv, index = _emg()
    markers = _markers(
        [
            (-1.0, "needle:before the recording"),  # before the first sample: dropped
            (0.5, "needle:R trapezius TrP1"),
            (1.25, 'LTR channel=FDI peak_uv=212.3 duration_ms=60.0 site="R trapezius TrP1"'),
            (2.0, "needle-out"),
            (2.5, "task start"),
            (3.0, "needle:L trapezius TrP2"),  # open at the end: ends with the data
            (4.0, "LTR channel=XYZ peak_uv=1 duration_ms=5"),  # unknown channel: kept as text
        ]
    )
    eeg = XdfStream(
        name="cap",
        type="EEG",
        channel_format="double64",
        nominal_srate=100.0,
        time_stamps=T0 + np.arange(300) / 100.0,
        values=np.zeros((300, 2)),
    )
    path = tmp_path / "session.xdf"
    write_xdf(path, [eeg, emg, markers], datetime="2026-11-24T07:00:00+00:00")
    assert detect_format(path) == "xdf"

    raw = read_recording(path, preload=True)
    n = index[-1] + 1
    assert raw.info["sfreq"] == SFREQ and raw.n_times == n
    assert raw.ch_names == list(LABELS)
    assert raw.get_channel_types() == ["emg", "emg", "misc"]
    expected = np.zeros((3, n))
    expected[:, index] = uv.T
    expected[:2] *= 1e-6  # µV -> V; the accelerometer stays in its own unit
    np.testing.assert_allclose(raw.get_data(), expected, rtol=1e-6, atol=1e-12)
    assert raw.info["meas_date"].isoformat() == "2026-11-24T07:00:00+00:00"

    ev = recording_events(raw)
    (gap,) = ev.gaps
    assert gap.n_samples == 980 and gap.onset_s == pytest.approx(1500 / SFREQ, abs=1e-3)
    assert [(s.label, round(s.onset_s, 3), round(s.offset_s, 3)) for s in ev.sites] == [
        ("R trapezius TrP1", 0.5, 2.0),
        ("L trapezius TrP2", 3.0, round(n / SFREQ, 3)),
    ]
    (tw,) = ev.twitches
    assert tw.channel == "FDI" and tw.onset_s == pytest.approx(1.25, abs=1e-3)
    assert tw.duration_s == pytest.approx(0.06, abs=1e-3)
    assert tw.peak_v == pytest.approx(212.3e-6)
    assert [(round(o, 3), d) for o, d, _ in ev.other] == [(2.5, 0.0), (4.0, 0.0)]
    assert [d for _, _, d in ev.other] == ["task start", "LTR channel=XYZ peak_uv=1 duration_ms=5"]

    blocks = list(iter_blocks(path, block_samples=1000))  # the EMG channels, streamed
    assert [b.first_sample for b in blocks] == list(range(0, n, 1000))
    np.testing.assert_allclose(
        np.concatenate([b.data for b in blocks], axis=1), expected[:2], rtol=1e-6, atol=1e-12
    )


def test_units_and_unnamed_channels(tmp_path: Path) -> None:
    x = np.random.default_rng(1).standard_normal((200, 2))
    stream = XdfStream(
        name="amp",
        type="emg",  # the type is matched without case
        channel_format="double64",
        nominal_srate=1000.0,
        time_stamps=10.0 + np.arange(200) / 1000.0,
        values=x,
        channels=[{"unit": "mV"}],  # one labelled entry for two channels
    )
    path = tmp_path / "mv.xdf"
    write_xdf(path, [stream])
    raw = read_xdf(path)
    assert raw.ch_names == ["EMG1", "EMG2"]
    # mV for the first channel; no unit for the second: µV, as LSL EMG sources send
    np.testing.assert_allclose(raw.get_data(), x.T * np.array([[1e-3], [1e-6]]), rtol=1e-12)


def _one_line(exc: pytest.ExceptionInfo[FileFormatError]) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_bad_xdf_files_are_one_line_errors(tmp_path: Path) -> None:
    emg, _, _ = _emg(300, 0, 10)
    other, _, _ = _emg(300, 0, 10, name="second")
    path = tmp_path / "two.xdf"
    write_xdf(path, [emg, other])
    with pytest.raises(FileFormatError) as exc:
        read_recording(path)
    assert "has 2 EMG streams ('twitchscope' (EMG), 'second' (EMG))" in _one_line(exc)
    assert read_xdf(path, stream="second").n_times == 310

    path = tmp_path / "none.xdf"
    write_xdf(path, [_markers([(0.0, "x")])])
    with pytest.raises(FileFormatError) as exc:
        read_recording(path)
    assert "has no EMG stream (streams: 'twitchscope-markers' (Markers))" in _one_line(exc)

    irregular, _, _ = _emg(50, 0, 10)
    irregular.nominal_srate = 0.0
    path = tmp_path / "irregular.xdf"
    write_xdf(path, [irregular])
    with pytest.raises(FileFormatError) as exc:
        read_recording(path)
    assert "has an irregular rate; expected a regular nominal rate" in _one_line(exc)

    volts, _, _ = _emg(50, 0, 10)
    volts.channels[0]["unit"] = "furlongs"
    path = tmp_path / "unit.xdf"
    write_xdf(path, [volts])
    with pytest.raises(FileFormatError) as exc:
        read_recording(path)
    assert "channel 'APB' is in 'furlongs'; expected microvolts" in _one_line(exc)

    path = tmp_path / "junk.xdf"
    path.write_bytes(b"not an xdf file at all")
    with pytest.raises(FileFormatError) as exc:
        read_recording(path)
    assert _one_line(exc).startswith("cannot read junk.xdf as XDF: ")


def test_missing_pyxdf_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    emg, _, _ = _emg(50, 0, 10)
    path = tmp_path / "s.xdf"
    write_xdf(path, [emg])
    monkeypatch.setitem(sys.modules, "pyxdf", None)
    with pytest.raises(FileFormatError) as exc:
        read_recording(path)
    assert _one_line(exc) == f"s.xdf: {XDF_MISSING}."
