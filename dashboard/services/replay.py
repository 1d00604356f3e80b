"""Replay: a :class:`~twitchscope.dashboard.services.recordings.Recording` played as if live.

:class:`ReplaySource` plays against the wall clock (0.25×–8×, pause, seek). It has no
thread; each browser session has its own. Nothing here calls Streamlit.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from twitchscope.dashboard.services.recordings import Recording
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import Gap, SampleBlock
from twitchscope.signal.core.sites import SiteLog

__all__ = ["REPLAY_SPEEDS", "ReplaySource"]

#: Replay speeds offered.
REPLAY_SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
#: Most samples one read of a replay returns (so a slow rerun never stalls the page).
_MAX_REPLAY_READ_S = 8.0


class ReplaySource:
    """Play a recording as if it were live, against a clock.

    Parameters
    ----------
    recording : Recording
        What to play.
    speed : float
        Playback speed, one of :data:`REPLAY_SPEEDS`.
    clock : callable
        Returns seconds (monotonic); injectable for tests.

    Notes
    -----
    The play position is ``position_at_last_change + speed * elapsed``; pausing,
    seeking or changing the speed re-bases it. :attr:`generation` goes up on every
    seek so a reader knows to restart its processing.
    """

    def __init__(
        self,
        recording: Recording,
        *,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recording = recording
        self.name = recording.name
        self.sfreq = recording.sfreq
        self.ch_names = recording.ch_names
        self.sites = SiteLog(recording.events.sites)
        self._clock = clock
        self._speed = self._check_speed(speed)
        self._base_pos = 0.0  # samples
        self._base_t = clock()
        self._playing = False
        self.generation = 0

    @staticmethod
    def _check_speed(speed: float) -> float:
        if speed not in REPLAY_SPEEDS:
            options = ", ".join(f"{s:g}x" for s in REPLAY_SPEEDS)
            raise ConfigError(f"replay speed must be one of {options}, got {speed!r}.")
        return float(speed)

    def _position(self) -> float:
        pos = self._base_pos
        if self._playing:
            pos += (self._clock() - self._base_t) * self._speed * self.sfreq
        return min(pos, float(self.recording.n_samples))

    def _rebase(self) -> None:
        self._base_pos = self._position()
        self._base_t = self._clock()

    @property
    def playing(self) -> bool:
        """Whether the clock runs (False when paused or at the end)."""
        return self._playing and not self.at_end

    @property
    def speed(self) -> float:
        """Playback speed."""
        return self._speed

    @property
    def at_end(self) -> bool:
        """Whether the whole recording has been played."""
        return self._position() >= self.recording.n_samples

    def play(self) -> None:
        """Start or resume (from the start again when at the end)."""
        if self.at_end:
            self.seek(0.0)
        self._rebase()
        self._playing = True

    def pause(self) -> None:
        """Stop the clock."""
        self._rebase()
        self._playing = False

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on."""
        self._rebase()
        self._speed = self._check_speed(speed)

    def seek(self, t_s: float) -> None:
        """Jump to ``t_s`` seconds; readers restart there."""
        if not math.isfinite(t_s):
            raise ConfigError(f"seek time must be a finite number of seconds, got {t_s!r}.")
        t_s = min(max(0.0, float(t_s)), self.recording.duration_s)
        self._base_pos = t_s * self.sfreq
        self._base_t = self._clock()
        self.generation += 1

    def now_s(self) -> float:
        """Play position, s."""
        return self._position() / self.sfreq

    def read_since(self, cursor: int) -> tuple[list[SampleBlock], int]:
        """The samples from ``cursor`` up to the play position (at most 8 s of them)."""
        cursor = max(0, int(cursor))
        end = int(self._position())
        end = min(end, cursor + int(_MAX_REPLAY_READ_S * self.sfreq))
        if end <= cursor:
            return [], cursor
        block = SampleBlock(
            data=self.recording.data[:, cursor:end],
            sfreq=self.sfreq,
            first_sample=cursor,
            ch_names=self.ch_names,
        )
        return [block], end

    def gaps(self) -> list[Gap]:
        """Gaps annotated in the file."""
        return list(self.recording.events.gaps)

    def status(self) -> str:
        """Play state, position and speed."""
        state = "playing" if self.playing else ("at the end" if self.at_end else "paused")
        return (
            f"{self.name}: {state} at {self.now_s():.1f} / {self.recording.duration_s:.1f} s, "
            f"{self._speed:g}x"
        )
