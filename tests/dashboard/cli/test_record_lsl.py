"""``twitchscope record --lsl`` on an emulated Cyton over a real pty, read back on loopback LSL."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pylsl
import pytest

from tests.dashboard.cli.test_record_recover import _record_argv, _Source
from tests.dashboard.services.lsl_loopback import open_inlet, pull_numeric
from twitchscope.acquisition.boards.registry import make_personality
from twitchscope.acquisition.emulation.pty_board import Emulator
from twitchscope.dashboard.cli.main import main
from twitchscope.dashboard.services.lsl_outlet import format_twitch_marker
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.detect.config import preset
from twitchscope.signal.detect.run import run_detector
from twitchscope.signal.io.readers import read_recording

SFREQ = 250.0


def _pull_until_lost(
    inlet: pylsl.StreamInlet, done: threading.Thread, *, timeout: float = 30.0
) -> tuple[list[list[float]], list[float]]:
    """Everything the inlet gets until its outlet is gone (the recording ended)."""
    values: list[list[float]] = []
    stamps: list[float] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk, ts = inlet.pull_chunk(timeout=0.2)
        except pylsl.util.LostError:
            break
        values.extend(chunk)
        stamps.extend(ts)
        if not ts and not done.is_alive():
            break
    return values, stamps


def _pull_markers_until_lost(
    inlet: pylsl.StreamInlet, done: threading.Thread, *, timeout: float = 30.0
) -> list[str]:
    out: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            sample, _ = inlet.pull_sample(timeout=0.2)
        except pylsl.util.LostError:
            break
        if sample is not None:
            out.append(sample[0])
        elif not done.is_alive():
            break
    return out


def test_record_lsl_publishes_what_it_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The EMG rows of the file, in µV, stamped by sample index; a gap is a timestamp jump."""
    pers = make_personality("cyton")
    src = _Source(pers.n_channels)
    out = tmp_path / "l.fif"
    name = f"ts-rec-{uuid.uuid4().hex[:10]}"
    status: dict[str, int] = {}
    argv = _record_argv(tmp_path / "tty", out, "--duration", "3", "--lsl", "--lsl-name", name)
    with Emulator(pers, src, link=tmp_path / "tty") as emu:
        rec = threading.Thread(target=lambda: status.update(rc=main(argv)), daemon=True)
        rec.start()
        emg, markers = open_inlet(name), open_inlet(f"{name}-markers")
        head, head_ts = pull_numeric(emg, 50)  # flowing before the fault
        emu.drop_packets(7)
        rest, rest_ts = _pull_until_lost(emg, rec)
        got_markers = _pull_markers_until_lost(markers, rec)
        rec.join(timeout=30)
    assert status == {"rc": 0}
    assert "publishing 8 EMG channels on LSL" in capsys.readouterr().err

    raw = read_recording(out, preload=True)
    data = raw.get_data()[:8]  # the EMG rows; the 7 lost samples are zeros
    (gap,) = recording_events(raw).gaps
    assert gap.n_samples == 7
    values = np.concatenate([head, np.asarray(rest, dtype=np.float32)])
    stamps = np.concatenate([head_ts, rest_ts])
    # the sample index of each received sample, from its timestamp
    index = np.rint((stamps - stamps[0]) * SFREQ).astype(int)
    # FIF keeps float32 volts and LSL float32 µV: equal to well under the board's 0.02 µV step
    uv = data * 1e6
    first = np.flatnonzero(np.all(np.abs(uv - values[0][:, None]) < 1e-3, axis=0)).tolist()
    assert len(first) == 1  # noise: the first sample received is found once in the file
    index += first[0]
    steps = np.diff(index)
    assert sorted(set(steps.tolist())) == [1, 8] and np.count_nonzero(steps == 8) == 1
    np.testing.assert_allclose(np.diff(stamps), steps / SFREQ, rtol=0, atol=1e-6)
    lost = index[np.flatnonzero(steps == 8)[0]] + 1
    assert round(gap.onset_s * SFREQ) == lost
    assert index[-1] == raw.n_times - 1  # published up to the end of the file
    np.testing.assert_allclose(values, uv[:, index].T, rtol=0, atol=1e-3)

    # the markers are the twitches the detector finds in the same blocks (gap included)
    cut = lost
    blocks = [
        SampleBlock(data[:, :cut], sfreq=SFREQ, first_sample=0, ch_names=tuple(raw.ch_names[:8])),
        SampleBlock(
            data[:, cut + 7 :],
            sfreq=SFREQ,
            first_sample=cut + 7,
            ch_names=tuple(raw.ch_names[:8]),
            n_lost_before=7,
        ),
    ]
    expected = run_detector(
        preset("limb", mains="auto"), blocks, sfreq=SFREQ, ch_names=tuple(raw.ch_names[:8])
    ).twitches
    assert got_markers == [format_twitch_marker(t) for t in expected]
