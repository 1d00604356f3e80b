"""Replay: a recording played against a clock, at any speed, paused and sought."""

from __future__ import annotations

import numpy as np
import pytest

from twitchscope.dashboard.services.recordings import Recording
from twitchscope.dashboard.services.replay import ReplaySource
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite, RecordingEvents

SFREQ = 487.0


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def _recording(seconds: float = 20.0) -> Recording:
    data = np.random.default_rng(0).standard_normal((3, int(seconds * SFREQ))) * 1e-5
    site = NeedleSite("L gluteus medius TrP1", onset_s=2.0, duration_s=5.0)
    return Recording("x.fif", data, SFREQ, ("a", "b", "c"), RecordingEvents(sites=(site,)))


def test_replay_follows_the_clock_and_speed() -> None:
    clock = FakeClock()
    rec = _recording()
    player = ReplaySource(rec, clock=clock)
    assert player.read_since(0) == ([], 0) and not player.playing
    player.play()
    clock.t += 1.0
    blocks, cursor = player.read_since(0)
    assert cursor == int(SFREQ) and blocks[0].first_sample == 0
    np.testing.assert_array_equal(blocks[0].data, rec.data[:, : int(SFREQ)])
    player.set_speed(4.0)
    clock.t += 0.5  # 2 s of recording at 4x
    blocks, cursor2 = player.read_since(cursor)
    assert blocks[0].first_sample == cursor and cursor2 == int(3 * SFREQ)
    player.pause()
    clock.t += 10.0
    assert player.read_since(cursor2) == ([], cursor2)
    assert player.now_s() == pytest.approx(3.0)
    # seek moves the position and tells readers to restart
    g = player.generation
    player.seek(15.0)
    assert player.generation == g + 1 and player.now_s() == pytest.approx(15.0)
    player.play()
    clock.t += 100.0  # far past the end: reads are capped, the position stops at the end
    blocks, cursor3 = player.read_since(int(15 * SFREQ))
    assert cursor3 == rec.n_samples and player.at_end and not player.playing
    assert player.sites.sites()[0].label == "L gluteus medius TrP1"


def test_replay_caps_one_read_and_rejects_odd_speeds() -> None:
    clock = FakeClock()
    player = ReplaySource(_recording(), clock=clock, speed=8.0)
    player.play()
    clock.t += 2.0  # 16 s of recording due
    _, cursor = player.read_since(0)
    assert cursor == int(8.0 * SFREQ)  # at most 8 s per read
    with pytest.raises(ConfigError, match="replay speed must be one of"):
        player.set_speed(3.0)
    with pytest.raises(ConfigError, match="finite"):
        player.seek(float("nan"))
