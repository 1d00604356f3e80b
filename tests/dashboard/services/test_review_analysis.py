"""Whole-file analysis for the review page: detection over the channels that are connected."""

from __future__ import annotations

import numpy as np

from twitchscope.dashboard.services.recordings import Recording
from twitchscope.dashboard.services.review_analysis import analyse_recording
from twitchscope.signal.core.model import RecordingEvents
from twitchscope.signal.detect.config import preset


def test_review_leaves_railed_channels_out_of_detection() -> None:
    """A channel stuck at the Cyton's rail is named and not searched for twitches."""
    sfreq = 1000.0
    rng = np.random.default_rng(3)
    data = 2e-6 * rng.standard_normal((2, 20_000))
    data[1] = -0.1875  # -187 500 µV: an input that is not connected
    data[1, ::997] = 0.0  # a few samples off the rail do not hide it
    rec = Recording(
        name="railed.fif",
        data=data,
        sfreq=sfreq,
        ch_names=("EMG0", "EMG1"),
        events=RecordingEvents(),
    )
    result = analyse_recording(rec, preset("limb"))
    assert result.railed == ("EMG1",)
    assert all(t.channel == "EMG0" for t in result.twitches)
    assert all(r.channel == "EMG0" for r in result.rejected)
    assert result.conditioned.shape == data.shape  # every channel still drawn
