"""The simulated amplifier's ultrasound-like video, live beside its EMG (``--source simulated``).

The live source streams the simulation of :mod:`twitchscope.signal.simulate` (its
scenario and seed in the source's :class:`~twitchscope.dashboard.services.live.LiveSpec`).
:class:`LiveSimVideo` draws the speckle tissue of
:mod:`twitchscope.signal.video.synthetic` at the stream's time, moved by the same
simulated twitches as the EMG (their true onsets, :data:`~twitchscope.signal.video.synthetic.EMD_S`
later, faster for a larger twitch). The stream starts at a sample of the simulation
that only the data can tell (the reader drops what came before it opened the port),
so the first received samples are located in the simulation's beginning once, as the
live source's site labeller does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st
from numpy.typing import NDArray

from twitchscope.signal.core.errors import TwitchscopeError
from twitchscope.signal.video.backend import INSTALL_HINT, require_cv2
from twitchscope.signal.video.synthetic import SpeckleScene, SyntheticVideoSpec, emg_video_twitches

if TYPE_CHECKING:
    from twitchscope.dashboard.services.live import LiveSource, LiveSpec
    from twitchscope.signal.core.model import Twitch

__all__ = ["LiveSimVideo", "simulated_video"]

log = logging.getLogger(__name__)

#: Seconds of the simulation's beginning searched for the first received samples.
_HEAD_S = 10.0
#: Seconds of received samples located there.
_MATCH_S = 0.25
#: A twitch moves the tissue for less than this after its onset, s.
_MOVES_FOR_S = 1.0
#: Width the live frame is shown at, px.
_DISPLAY_WIDTH = 480


class LiveSimVideo:
    """The video of the simulation a live source streams, drawn at stream times.

    Parameters
    ----------
    spec : LiveSpec
        The simulated source's spec (board, scenario, seed).
    width, height : int
        Frame size, px.
    """

    def __init__(self, spec: LiveSpec, *, width: int = 160, height: int = 120) -> None:
        from twitchscope.acquisition.boards.registry import make_personality
        from twitchscope.signal import simulate

        board = make_personality(spec.protocol)
        self.config = simulate.preset(spec.scenario, sfreq=board.sfreq, n_channels=board.n_channels)
        self.seed = int(spec.seed)
        self.scene = SpeckleScene(
            SyntheticVideoSpec(duration_s=1.0, width=width, height=height), seed=self.seed
        )
        self.offset_s: float | None = None  # simulation time of stream sample 0
        self._head: NDArray[np.float64] | None = None

    def align(self, source: LiveSource) -> float | None:
        """Simulation time of the stream's first sample, found once enough has arrived.

        None while too few samples have arrived; 0 (with a warning) when the stream's
        beginning is gone from the buffer or cannot be found in the simulation.
        """
        if self.offset_s is not None:
            return self.offset_s
        from twitchscope.signal import simulate
        from twitchscope.signal.analysis.alignment import locate_window

        sfreq = self.config.sfreq
        n = max(32, int(round(_MATCH_S * sfreq)))
        blocks, _ = source.read_since(0)
        if not blocks or blocks[0].first_sample != 0:
            if blocks:
                log.warning("the stream's beginning left the buffer: video time may be off")
                self.offset_s = 0.0
            return self.offset_s
        received = np.concatenate([b.data for b in blocks], axis=1)
        if received.shape[1] < n:
            return None
        if self._head is None:
            state = simulate.init_sim_state(self.config, seed=self.seed)
            block, _ = simulate.sim_step(self.config, int(round(_HEAD_S * sfreq)), state)
            self._head = block.data
        rows = min(received.shape[0], self._head.shape[0])
        index = locate_window(self._head[:rows], received[:rows, :n])
        if index is None:
            log.warning("could not line the stream up with the simulation: video time may be off")
            index = 0
        self.offset_s = index / sfreq
        return self.offset_s

    def twitches_at(self, t_stream: float) -> list[Twitch]:
        """The simulated twitches still moving the tissue at stream time ``t_stream``,
        in stream time."""
        from dataclasses import replace

        from twitchscope.signal.simulate.truth import events_between

        off = self.offset_s or 0.0
        t_sim = t_stream + off
        events = events_between(
            self.config, self.seed, max(0.0, t_sim - _MOVES_FOR_S), max(0.0, t_sim), cycling=True
        )
        return [
            replace(t, onset_s=t.onset_s - off, offset_s=t.offset_s - off) for t in events.twitches
        ]

    def frame(self, t_stream: float) -> NDArray[np.uint8]:
        """The grey frame (height, width) at stream time ``t_stream``."""
        moves = emg_video_twitches(self.twitches_at(t_stream))
        return self.scene.frame(t_stream, moves)


def simulated_video(source: LiveSource | None, *, key: str = "live") -> None:
    """The simulated source's video frame at the stream's time (nothing for a real board).

    Call it in the live page's refreshing fragment, beside or under the trace. Keeps
    its :class:`LiveSimVideo` in ``st.session_state[f"{key}_simvideo"]`` (per source)
    and the stream time of the frame shown in ``f"{key}_simvideo_t"``.
    """
    if source is None or not source.spec.simulated or not source.running:
        return
    ss = st.session_state
    try:
        cv2 = require_cv2()
    except TwitchscopeError:
        st.caption(f"The simulated ultrasound video is not shown: {INSTALL_HINT}")
        return
    held = ss.get(f"{key}_simvideo")
    if held is None or held[0] != id(source):
        held = (id(source), LiveSimVideo(source.spec))
        ss[f"{key}_simvideo"] = held
    video: LiveSimVideo = held[1]
    t = source.now_s()
    aligned = video.align(source) is not None
    grey = video.frame(t)
    h, w = grey.shape
    shown = cv2.resize(grey, (_DISPLAY_WIDTH, int(round(h * _DISPLAY_WIDTH / w))))
    ss[f"{key}_simvideo_t"] = t
    st.image(
        shown,
        caption=f"Simulated ultrasound at {t:.1f} s: the tissue moves with each simulated "
        "twitch (and with breathing and probe drift)"
        + ("" if aligned else "; lining it up with the stream…"),
        alt="simulated ultrasound frame",
        width="stretch",
    )
