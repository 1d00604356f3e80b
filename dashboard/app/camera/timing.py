"""When each camera frame was taken, on the stream clock of the live recording.

Three clocks meet here. Each frame carries its **media time** (the RTP timestamp
the browser set when it captured it), which spaces frames exactly but has an origin
of its own. The server notes when each frame **arrives** on its monotonic clock
(``time.monotonic()``), and reads the **stream clock** at that moment (seconds of
samples from the start of the live stream,
:meth:`~twitchscope.dashboard.services.live.LiveSource.now_s`).

- Arrival = capture + a delay (encoding, network, decoding) that varies from frame
  to frame but never goes below some minimum: the smallest ``arrival - media`` seen
  (the least-delayed frame) maps media time to the monotonic clock.
- The stream clock advances as samples arrive: it lags real time by the serial
  latency, more while the board is silent (a stall or a reconnection), and never
  leads. The largest ``stream - arrival`` seen maps the monotonic clock to it,
  unaffected by stalls.

So the first frame was captured at ``media_0 + min(arrival - media) +
max(stream - arrival)`` on the stream clock (:attr:`FrameTimeline.capture_start_s`).
What is left is the least delay of each (a few ms on a local network).

A media time that goes back or jumps far ahead of the arrival times (a wrapped or
reset RTP clock) is re-anchored to the arrival times, so a broken media clock costs
precision, never the whole timeline.

The video is written at a constant frame rate (what :func:`~twitchscope.signal.video.backend.open_video`
expects): :func:`place_frame` says how often to repeat the previous frame to fill a
gap and whether to write or drop the new one, so that frame ``k`` of the file shows
the camera at ``k / fps`` s after the first frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from twitchscope.signal.core.errors import ConfigError

__all__ = ["MAX_JUMP_S", "FrameTimeline", "stamp_frame", "place_frame", "video_offset_s"]

#: A media time this much further ahead than the arrival times (s) is not believed.
MAX_JUMP_S = 1.0


@dataclass(frozen=True, slots=True)
class FrameTimeline:
    """Timing state of a capture (see :func:`stamp_frame`); the initial state is ``FrameTimeline()``.

    Parameters
    ----------
    n_frames : int
        Frames stamped so far.
    first_media_s : float
        Media time of the first frame, s.
    shift_s : float
        Added to every media time since the last re-anchoring, s.
    last_media_s, last_arrival_s : float
        Re-anchored media time and arrival time of the last frame, s.
    min_delay_s : float
        Smallest ``arrival - media`` so far, s (the clocks' offset plus the least delay).
    max_stream_lead_s : float
        Largest ``stream - arrival`` so far, s (the clocks' offset less the least lag).
    """

    n_frames: int = 0
    first_media_s: float = 0.0
    shift_s: float = 0.0
    last_media_s: float = 0.0
    last_arrival_s: float = 0.0
    min_delay_s: float = math.inf
    max_stream_lead_s: float = -math.inf

    @property
    def capture_start_s(self) -> float:
        """Stream time at which the first frame was captured, s (NaN before any frame)."""
        if self.n_frames == 0:
            return math.nan
        return self.first_media_s + self.min_delay_s + self.max_stream_lead_s

    @property
    def duration_s(self) -> float:
        """Time from the first frame to the last, by the media clock, s."""
        return self.last_media_s - self.first_media_s if self.n_frames else 0.0


def stamp_frame(
    state: FrameTimeline, media_s: float | None, arrival_s: float, stream_s: float
) -> tuple[float, FrameTimeline]:
    """Stamp one frame; returns its time after the first frame (s) and the new state.

    Parameters
    ----------
    state : FrameTimeline
        The state after the previous frame (never modified).
    media_s : float or None
        The frame's media time (``av.VideoFrame.time``), s; None when the frame has
        none (its arrival time is used).
    arrival_s : float
        When the frame reached the server, s on a monotonic clock.
    stream_s : float
        The stream clock read at that moment, s.

    Raises
    ------
    ConfigError
        A time that is not a finite number.
    """
    for name, value in (("arrival", arrival_s), ("stream", stream_s)):
        if not math.isfinite(value):
            raise ConfigError(f"a frame's {name} time must be a finite number of s, got {value!r}.")
    raw = arrival_s if media_s is None else float(media_s)
    if not math.isfinite(raw):
        raise ConfigError(f"a frame's media time must be a finite number of s, got {media_s!r}.")
    lead = max(state.max_stream_lead_s, stream_s - arrival_s)
    if state.n_frames == 0:
        new = FrameTimeline(
            n_frames=1,
            first_media_s=raw,
            shift_s=0.0,
            last_media_s=raw,
            last_arrival_s=arrival_s,
            min_delay_s=arrival_s - raw,
            max_stream_lead_s=lead,
        )
        return 0.0, new
    shift = state.shift_s
    media = raw + shift
    d_media = media - state.last_media_s
    d_arrival = max(arrival_s - state.last_arrival_s, 0.0)
    if d_media < 0 or d_media > d_arrival + MAX_JUMP_S:  # a wrapped or reset media clock
        target = state.last_media_s + d_arrival
        shift += target - media
        media = target
    new = replace(
        state,
        n_frames=state.n_frames + 1,
        shift_s=shift,
        last_media_s=media,
        last_arrival_s=arrival_s,
        min_delay_s=min(state.min_delay_s, arrival_s - media),
        max_stream_lead_s=lead,
    )
    return media - state.first_media_s, new


def place_frame(t_s: float, n_written: int, fps: float) -> tuple[int, bool]:
    """Where a frame taken ``t_s`` after the first goes in a constant-rate video.

    Parameters
    ----------
    t_s : float
        The frame's time after the first frame, s (from :func:`stamp_frame`).
    n_written : int
        Frames already in the file.
    fps : float
        The file's frame rate, frames per second.

    Returns
    -------
    n_repeat : int
        How many times to repeat the previous frame first (the camera skipped slots).
    write : bool
        Whether to write this frame (False: its slot is already filled, drop it).
    """
    slot = int(math.floor(t_s * fps + 0.5))
    if slot < n_written:
        return 0, False
    return (slot - n_written if n_written else 0), True


def video_offset_s(capture_start_s: float, recording_start_s: float) -> float:
    """The link's offset (video time = recording time - offset) for a capture, s.

    Parameters
    ----------
    capture_start_s : float
        Stream time of the video's first frame, s (:attr:`FrameTimeline.capture_start_s`).
    recording_start_s : float
        Stream time of the recording's first sample, s.

    Examples
    --------
    >>> video_offset_s(12.5, 10.0)  # the camera started 2.5 s into the recording
    2.5
    """
    for name, value in (
        ("capture_start_s", capture_start_s),
        ("recording_start_s", recording_start_s),
    ):
        if not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite stream time in s, got {value!r}.")
    return float(capture_start_s - recording_start_s)
