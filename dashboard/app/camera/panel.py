"""The camera panel: the browser's camera captured with a live recording, on its stream clock.

:func:`camera_panel` shows the camera of the browser that has the page open (WebRTC,
with `streamlit-webrtc <https://github.com/whitphx/streamlit-webrtc>`_), and while it
runs writes every frame on the server into a :class:`~twitchscope.dashboard.app.camera.capture.CameraCapture`:
``<stem>.mp4`` beside the recording, linked in ``<stem>.video.json`` when the camera
is stopped (or its stream ends), with the offset from the stream clock. Each frame is
stamped on arrival with the server's monotonic clock and the live stream's clock
(``clock``, e.g. :meth:`LiveSource.now_s <twitchscope.dashboard.services.live.LiveSource.now_s>`),
and spaced by its own capture time (:mod:`twitchscope.dashboard.app.camera.timing`).

WebRTC is configured with no ICE server (no STUN or TURN): the browser and the
dashboard must reach each other directly (the same machine or local network), and
nothing is asked of the internet. On a machine with no network but its loopback
interface the dashboard offers 127.0.0.1 (:mod:`~twitchscope.dashboard.app.camera.loopback`). Without the extra ``twitchscope[video]`` (OpenCV,
streamlit-webrtc) the panel says what to install; without a camera the component says
so; the rest of the page is not affected.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from twitchscope.dashboard.app.camera.capture import CameraCapture, CaptureResult, RecordingStart
from twitchscope.dashboard.app.camera.loopback import offer_loopback_when_offline

__all__ = ["INSTALL_HINT", "RTC_CONFIGURATION", "camera_support", "camera_panel"]

log = logging.getLogger(__name__)

#: What to install for the camera (the panel's message without it).
INSTALL_HINT = (
    "Recording the camera needs the video extra: `pip install 'twitchscope[video]'` "
    "(OpenCV and streamlit-webrtc)."
)

#: No STUN/TURN server: the browser and the dashboard connect directly (offline-safe).
RTC_CONFIGURATION: dict[str, Any] = {"iceServers": []}

#: Seconds after the camera started without a frame before the panel says so.
NO_FRAME_WARNING_S = 8.0
#: Seconds of frames the writer may fall behind before frames are dropped.
MAX_QUEUED_S = 2.0
#: Seconds :meth:`_PanelState.finish` waits for the writer to write what is queued.
WRITER_JOIN_S = 30.0
#: streamlit-webrtc's per-context stamp of the run that last rendered it (see
#: :func:`_forget_render_count`).
RENDER_COUNT_ATTR = "_last_rendered_run_count"
#: A queued frame: the ``av.VideoFrame``, its media time, arrival (monotonic s), stream s.
_Queued = tuple[Any, float | None, float, float]


def camera_support() -> str:
    """Empty when the camera can be recorded here; else what to install (one line)."""
    try:
        import cv2  # noqa: F401
        import streamlit_webrtc  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    return ""


class _PanelState:
    """One panel's capture in a session: shared by the script thread and WebRTC's thread.

    WebRTC's thread is aiortc's event loop, which also answers the browser's connectivity
    checks: a frame is only stamped there (its arrival, the stream clock) and handed to
    a writer thread of the capture, which converts and encodes it (a 640x480 frame, 30 a
    second, on a busy small machine), so the loop is never held by the encoder. A writer
    that falls :data:`MAX_QUEUED_S` behind drops frames (counted, said once in the log)
    rather than hold the loop.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.capture: CameraCapture | None = None
        self.result: CaptureResult | None = None
        self.error = ""
        self.accepting = False
        self.recording: Path | None = None
        self.clock: Callable[[], float] | None = None
        self.recording_start: RecordingStart = 0.0
        self.fps = 30.0
        self.started_at: float | None = None
        self.n_dropped = 0
        self._queue: queue.Queue[_Queued | None] | None = None
        self._writer: threading.Thread | None = None

    def on_frame(self, frame: Any) -> None:
        """WebRTC thread: stamp one ``av.VideoFrame`` and queue it for the writer (never
        calls ``st.*``, never encodes)."""
        with self.lock:
            clock = self.clock
            if not self.accepting or clock is None or self.recording is None:
                return
            arrival, stream = time.monotonic(), float(clock())
            if self.capture is None:
                capture = CameraCapture(
                    self.recording, recording_start_s=self.recording_start, fps=self.fps
                )
                q: queue.Queue[_Queued | None] = queue.Queue(
                    maxsize=max(2, int(MAX_QUEUED_S * self.fps))
                )
                writer = threading.Thread(
                    target=self._write, args=(capture, q), name="twitchscope-camera-writer"
                )
                writer.daemon = True
                self.capture, self.result, self.error = capture, None, ""
                self._queue, self._writer, self.n_dropped = q, writer, 0
                writer.start()
            assert self._queue is not None
            try:
                self._queue.put_nowait((frame, frame.time, arrival, stream))
            except queue.Full:
                self.n_dropped += 1
                if self.n_dropped == 1:
                    log.warning("the camera writer fell behind: frames are dropped")

    def _write(self, capture: CameraCapture, q: queue.Queue[_Queued | None]) -> None:
        """Writer thread: convert and write the queued frames until ``None``."""
        while (item := q.get()) is not None:
            frame, media_s, arrival, stream = item
            try:
                image = frame.to_ndarray(format="bgr24")
            except Exception as exc:  # a frame PyAV cannot convert: skip it, go on draining
                log.warning("a camera frame could not be converted: %s", exc)
                continue
            capture.add_frame(image, media_s, arrival, stream)
            if capture.error:
                with self.lock:
                    self.error = capture.error

    def finish(self) -> None:
        """Write what is queued, close the running capture, if any, and keep what it
        saved (any thread)."""
        with self.lock:
            capture, self.capture = self.capture, None
            q, writer = self._queue, self._writer
            self._queue = self._writer = None
        if capture is None:
            return
        if q is not None and writer is not None:
            try:
                q.put(None, timeout=WRITER_JOIN_S)
            except queue.Full:  # pragma: no cover - the writer is stuck; say so below
                pass
            writer.join(timeout=WRITER_JOIN_S)
            if writer.is_alive():
                log.error("the camera writer did not finish in %g s", WRITER_JOIN_S)
        result = capture.finish()
        with self.lock:
            self.result = result
            self.error = capture.error


def _panel_state(key: str) -> _PanelState:
    name = f"_camera_panel_{key}"
    if name not in st.session_state:
        st.session_state[name] = _PanelState()
    state: _PanelState = st.session_state[name]
    return state


def camera_panel(
    recording: str | Path | None,
    *,
    clock: Callable[[], float],
    recording_start_s: RecordingStart,
    key: str = "camera",
    fps: float = 30.0,
    size: tuple[int, int] = (640, 480),
) -> CaptureResult | None:
    """Show the browser's camera and record it beside ``recording`` while it runs.

    Call it at the top level of the page (not inside a fragment), once per run.

    Parameters
    ----------
    recording : path-like or None
        The file the live recording is written to (e.g. ``session.fif``); the video
        becomes ``<stem>.mp4`` beside it, linked in ``<stem>.video.json``. None: no
        recording is running; the panel says so and closes a capture in progress.
    clock : callable
        The stream clock, s (e.g. ``source.now_s``); called from WebRTC's thread.
    recording_start_s : float or callable
        Stream time of the recording's first sample, s (a callable is asked when the
        capture is saved; None from it: not known, the video is saved unlinked).
    key : str
        Identifies the panel in the session.
    fps : float
        Frame rate asked of the camera and written to the file.
    size : (int, int)
        Frame size asked of the camera (width, height), pixels.

    Returns
    -------
    CaptureResult or None
        The last capture saved in this session by this panel, if any.
    """
    missing = camera_support()
    if missing:
        st.info(missing, icon=":material/videocam_off:")
        return None
    state = _panel_state(key)
    target = Path(recording) if recording is not None else None
    with state.lock:
        changed = state.recording is not None and target != state.recording
    if changed:  # the recording stopped or changed: the capture belongs to the old one
        with state.lock:
            state.accepting = False
        state.finish()
    with state.lock:
        state.recording, state.clock = target, clock
        state.recording_start, state.fps = recording_start_s, float(fps)
    if target is None:
        st.caption("Start a recording to record the camera with it.")
        _show_result(state)
        return state.result
    if _served():
        _streamer(state, key=key, fps=fps, size=size)
    else:
        st.caption("The camera is shown in a browser session of the dashboard.")
    _show_result(state)
    return state.result


def _served() -> bool:
    """Whether a Streamlit server runs this script (WebRTC needs one; ``AppTest`` has none)."""
    from streamlit.runtime import Runtime

    return Runtime.exists() and type(Runtime.instance()) is Runtime


def _streamer(state: _PanelState, *, key: str, fps: float, size: tuple[int, int]) -> None:
    from streamlit_webrtc import WebRtcMode, create_video_sink_track, webrtc_streamer

    offer_loopback_when_offline()
    _forget_render_count(key)
    sink = create_video_sink_track(state.on_frame, key=f"{key}-sink", on_ended=state.finish)
    ctx = webrtc_streamer(
        key=key,
        mode=WebRtcMode.SENDONLY,
        rtc_configuration=RTC_CONFIGURATION,
        media_stream_constraints={
            "video": {
                "width": {"ideal": size[0]},
                "height": {"ideal": size[1]},
                "frameRate": {"ideal": fps},
            },
            "audio": False,
        },
        sink_video_track=sink,
        translations={
            "start": "Start camera",
            "stop": "Stop camera",
            "device_not_available": "No camera found: connect one, or allow this page to use it.",
            "device_access_denied": "The browser refused the camera: allow this page to use it.",
        },
    )
    active = bool(ctx.state.playing or ctx.state.signalling)
    with state.lock:
        state.accepting = active
        if active and state.started_at is None:
            state.started_at = time.monotonic()
        elif not active:
            state.started_at = None
    name = state.recording.name if state.recording is not None else ""
    if not active:
        state.finish()
        st.caption(
            f"Start the camera to record it beside {name}, on the stream's clock. "
            'A browser without a camera says "Requested device not found".'
        )
        return
    st.caption(f"The camera is recorded beside {name} until you stop it.")
    _capture_status(state)


def _forget_render_count(key: str) -> None:
    """Keep streamlit-webrtc from taking a live connection for an orphan (``key``'s context).

    streamlit-webrtc (0.79) stamps its context with the session's script-run count and
    resets it, stopping the connection, when a run finds the count more than one above
    the stamp (the component "was not rendered" in between: the user left the page and
    came back). But Streamlit increments that count on its event loop when a run's end
    is *sent*, so a run that starts before the previous run's end is counted stamps one
    too few, and the run after it drops a camera that has just connected (seen on a busy
    2-core machine: connected, then disconnected 5 s later, no frame). The panel is
    rendered in every full run of its page; leaving the page is noticed by
    streamlit-webrtc's own page-change observer, which stops the connection. So the stamp
    is cleared before each render, and the racy check never fires.
    """
    context = st.session_state.get(key)
    if context is not None and hasattr(context, RENDER_COUNT_ATTR):
        setattr(context, RENDER_COUNT_ATTR, None)


@st.fragment(run_every=1.0)
def _capture_status(state: _PanelState) -> None:
    """Frames and seconds captured so far, refreshed every second."""
    with state.lock:
        capture, started, error = state.capture, state.started_at, state.error
    if error:
        st.error(f"The camera recording stopped: {error}", icon=":material/warning:")
    elif capture is not None and capture.n_frames:
        video = capture.video.name if capture.video is not None else ""
        st.markdown(
            f":red[●] Recording the camera: **{capture.n_frames} frames**, "
            f"{capture.duration_s:.1f} s → `{video}`"
        )
    elif started is not None and time.monotonic() - started > NO_FRAME_WARNING_S:
        st.warning(
            "No picture from the camera yet: check that the browser may use a camera and "
            "that it can reach this server directly (same machine or local network; on a "
            "machine with no network, the browser must allow loopback: Chromium's "
            "`--allow-loopback-in-peer-connection`).",
            icon=":material/videocam_off:",
        )
    else:
        st.caption("Waiting for the camera…")


def _show_result(state: _PanelState) -> None:
    with state.lock:
        result, error, running = state.result, state.error, state.capture is not None
    if running:
        return
    if error:
        st.error(f"The camera recording failed: {error}", icon=":material/warning:")
    if result is not None:
        if result.link is None:
            st.warning(result.describe(), icon=":material/link_off:")
        else:
            st.success(result.describe(), icon=":material/videocam:")
