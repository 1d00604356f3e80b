"""The simulated amplifier's video on the Live page: the same twitches as its EMG."""

from __future__ import annotations

import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from twitchscope.dashboard.app.state import acquisition_owner
from twitchscope.dashboard.app.video.live import LiveSimVideo
from twitchscope.dashboard.services.live import LiveSpec
from twitchscope.signal.video.synthetic import EMD_S, emg_video_twitches

pytest.importorskip("cv2")
pytestmark = pytest.mark.usefixtures("clean_dashboard")


def _script() -> None:
    from twitchscope.dashboard.app.state import acquisition_owner
    from twitchscope.dashboard.app.video.live import simulated_video

    simulated_video(acquisition_owner().source)


def test_the_live_video_moves_with_the_streamed_twitches() -> None:
    owner = acquisition_owner()
    source = owner.start(LiveSpec(label_sim_sites=False))
    video = LiveSimVideo(source.spec)
    deadline = time.monotonic() + 60
    while video.align(source) is None:
        assert time.monotonic() < deadline, "no samples from the simulated amplifier"
        time.sleep(0.2)
    # the stream starts a little into the simulation (the reader opens the port late)
    assert 0.0 <= video.offset_s < 2.0
    twitches = []
    while not twitches:  # the cyton scenario's first site starts at 6 s
        assert time.monotonic() < deadline, "no simulated twitch in 60 s"
        time.sleep(0.25)
        twitches = video.twitches_at(source.now_s())
    first = twitches[0]
    # in stream time: the detector on the received EMG would see it there, so the
    # twitch's samples in the buffer are larger than the quiet before it
    blocks, _ = source.read_since(0)
    data = np.concatenate([b.data for b in blocks], axis=1)
    sf = source.sfreq
    ch = source.ch_names.index(first.channel)
    burst = data[ch, int(first.onset_s * sf) : int(first.offset_s * sf)]
    quiet = data[ch, int((first.onset_s - 1.0) * sf) : int((first.onset_s - 0.5) * sf)]
    assert burst.std() > 2 * quiet.std()
    # the frame at the peak of its movement differs from the still tissue where it moves
    t = first.onset_s + EMD_S + 0.06
    # (each frame has its own grey-level noise: two still frames differ by that alone)
    still = video.scene.frame(t, ()).astype(float)
    noise = np.abs(video.scene.frame(t, ()).astype(float) - still).mean()
    moving = video.scene.frame(t, emg_video_twitches([first])).astype(float)
    assert np.abs(moving - still).mean() > noise + 3.0
    assert np.abs(video.frame(t).astype(float) - still).mean() > noise + 3.0

    at = AppTest.from_function(_script, default_timeout=60).run()
    assert not at.exception
    shown = at.get("image")
    assert len(shown) == 1 and "Simulated ultrasound" in shown[0].captions[0]
    t0 = at.session_state["live_simvideo_t"]
    time.sleep(0.5)
    at.run()
    assert at.session_state["live_simvideo_t"] > t0
    assert at.get("image")[0].value != shown[0].value


def test_nothing_is_shown_without_a_simulated_source() -> None:
    at = AppTest.from_function(_script, default_timeout=30).run()
    assert not at.exception
    assert len(at.get("image")) == 0
