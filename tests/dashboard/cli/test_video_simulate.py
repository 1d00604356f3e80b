"""``twitchscope simulate --video``: the simulation's video, in sync with its EMG."""

from __future__ import annotations

import pytest

from twitchscope.dashboard.cli.devices import SimulatedSource
from twitchscope.dashboard.cli.main import main
from twitchscope.signal.simulate import preset, truth_events
from twitchscope.signal.video.backend import video_info
from twitchscope.signal.video.motion import measure_motion
from twitchscope.signal.video.synthetic import EMD_S, SyntheticVideoSpec, VideoStream

pytest.importorskip("cv2")

FPS = 30.0


def test_the_video_moves_with_the_simulated_twitches(tmp_path) -> None:
    """The emulator's source, fed block by block as the emulator would: every true
    twitch shows as a movement EMD_S later, within one frame + 20 ms."""
    config = preset("limb", sfreq=500.0)
    video = VideoStream(tmp_path / "sim.mp4", SyntheticVideoSpec(), seed=1)
    source = SimulatedSource(config, seed=1, video=video)
    blocks = [source(n) for n in [7, 25, 3, 40, 25] * 100]  # 20 s in uneven blocks
    video.close()
    assert sum(b.shape[1] for b in blocks) == source.n_samples == 10_000
    info = video_info(video.path)
    assert info.n_frames == video.n_frames == round(20 * FPS)
    truth = truth_events(config, source.state).twitches
    assert len(truth) >= 3
    onsets = [m.onset_s for m in measure_motion(video.path).movements]
    for t in truth:
        assert min(abs(o - (t.onset_s + EMD_S)) for o in onsets) <= 1 / FPS + 0.02
    assert len(onsets) == len(truth)  # and nothing else moves like a twitch


def test_simulate_writes_the_video_from_the_command_line(tmp_path, capsys) -> None:
    out = tmp_path / "live.mp4"
    argv = ["simulate", "--protocol", "cyton", "--duration", "1.5", "--video", str(out)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert f"writing its video to {out}" in printed and "wrote" in printed
    info = video_info(out)
    assert (info.width, info.height, info.fps) == (160, 120, FPS)
    # frames up to the samples generated: about the 1.5 s it ran (more when the emulator
    # ran ahead of the clock to fill its buffer)
    assert info.n_frames >= 30
    assert main(["simulate", "--protocol", "cyton", "--duration", "1", "--video", "x.avi"]) == 2
    assert ".mp4" in capsys.readouterr().err
