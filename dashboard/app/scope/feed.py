"""What the live scope sends to the browser: new samples only, decimated, and their sound.

No Streamlit here: the page calls :meth:`ScopeFeed.push` on each run with the
session's conditioned trace tail (:attr:`StreamView.trace
<twitchscope.dashboard.services.stream_view.StreamView.trace>`), and sends what it
returns to the scope component, which keeps its own ring buffer and draws it.

**Decimation.** The samples are cut into bins of ``samples_per_bin`` samples aligned
on the absolute sample index (bin ``k`` holds samples ``k*spb … (k+1)*spb - 1``), so
that a 10 s window is about ``columns`` bins: the pixel width of the plot. A bin is
sent once, as its minimum and maximum (µV), when it is complete; the cursor stays on
a bin boundary. The bins sent therefore do not depend on how the stream was cut
into runs: no sample is sent twice and none is lost while the tail still holds it
(a reader that fell more than the tail behind skips ahead, and the browser shows
the skipped stretch as a break).

**Sound.** :class:`AudioMonitor` turns one channel into an audio stream: band-passed
(about 100 Hz to just under Nyquist), at a fixed safe level through a soft limiter
(``level * tanh(x / ref)``, never above ``level`` of full scale), and upsampled by
an integer factor (zero-stuffing and a low-pass) to at least 8 kHz, a rate WebAudio
accepts. Every stage keeps its filter state, so the sound does not depend on the cut
either.
"""

from __future__ import annotations

import base64
import math
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal as sps

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import Twitch
from twitchscope.signal.core.units import volts_to_uv

__all__ = [
    "AUDIO_MIN_RATE",
    "AudioMonitor",
    "ScopeChunk",
    "ScopeFeed",
    "audio_band",
    "encode_f32",
    "minmax_bins",
]

#: Lowest audio rate sent to the browser, Hz (WebAudio buffers need >= 3 kHz).
AUDIO_MIN_RATE = 8000.0


def encode_f32(values: NDArray[np.floating]) -> str:
    """Base64 of ``values`` as little-endian float32 (NaN stays NaN), row after row."""
    return base64.b64encode(np.ascontiguousarray(values, dtype="<f4").tobytes()).decode("ascii")


def minmax_bins(
    data: NDArray[np.float64], spb: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Minimum and maximum of each run of ``spb`` samples (NaN where a bin is all NaN).

    Parameters
    ----------
    data : array, shape (n_channels, n_bins * spb)
        Samples of whole bins.
    spb : int
        Samples per bin.

    Returns
    -------
    lo, hi : arrays, shape (n_channels, n_bins)
    """
    n_ch, n = data.shape
    if n % spb:
        raise ConfigError(f"data must hold whole bins of {spb} samples, got {n} samples.")
    bins = data.reshape(n_ch, n // spb, spb)
    missing = np.isnan(bins)
    lo = np.where(missing, np.inf, bins).min(axis=2)
    hi = np.where(missing, -np.inf, bins).max(axis=2)
    empty = missing.all(axis=2)
    lo[empty] = np.nan
    hi[empty] = np.nan
    return lo, hi


def audio_band(sfreq: float) -> tuple[float, float]:
    """Band of the audio monitor, Hz: up to 90 % of Nyquist, from 100 Hz (or half the top)."""
    high = 0.9 * sfreq / 2
    return min(100.0, high / 2), high


class AudioMonitor:
    """One channel as sound: band-passed, limited, upsampled; chunk by chunk.

    Parameters
    ----------
    sfreq : float
        Sampling rate of the samples fed, Hz.
    level : float
        Loudest output, a fraction of full scale (the limiter's ceiling).
    ref_uv : float
        Amplitude (µV) where the limiter starts to bend: below it the gain is
        ``level / ref_uv`` per µV.
    """

    def __init__(self, sfreq: float, *, level: float = 0.3, ref_uv: float = 300.0) -> None:
        if not (math.isfinite(sfreq) and sfreq > 0):
            raise ConfigError(f"sfreq must be a positive rate in Hz, got {sfreq!r}.")
        if not 0 < level <= 0.5:
            raise ConfigError(f"level must be in (0, 0.5] of full scale, got {level!r}.")
        self.sfreq = float(sfreq)
        self.level = float(level)
        self.ref_uv = float(ref_uv)
        self.factor = max(1, math.ceil(AUDIO_MIN_RATE / self.sfreq))
        self.rate = self.sfreq * self.factor
        low, high = audio_band(self.sfreq)
        self.band = (low, high)
        self._bp = sps.butter(4, (low, high), btype="bandpass", fs=self.sfreq, output="sos")
        self._lp = (
            sps.butter(8, 0.45 * self.sfreq, fs=self.rate, output="sos")
            if self.factor > 1
            else None
        )
        self.reset()

    def reset(self) -> None:
        """Forget the filters' history (after a break in the samples)."""
        self._zi_bp = np.zeros((self._bp.shape[0], 2))
        self._zi_lp = None if self._lp is None else np.zeros((self._lp.shape[0], 2))

    def process(self, uv: NDArray[np.float64]) -> NDArray[np.float32]:
        """Audio samples (at :attr:`rate`, within ±``level``) of the next samples ``uv`` (µV).

        NaN (lost samples) become silence and restart the filters after them.
        """
        x = np.asarray(uv, dtype=np.float64)
        if x.size == 0:
            return np.zeros(0, dtype=np.float32)
        bad = ~np.isfinite(x)
        if bad.any():
            x = np.where(bad, 0.0, x)
            self.reset()
        y, self._zi_bp = sps.sosfilt(self._bp, x, zi=self._zi_bp)
        if self._lp is not None:
            up = np.zeros(y.size * self.factor)
            up[:: self.factor] = y * self.factor
            y, self._zi_lp = sps.sosfilt(self._lp, up, zi=self._zi_lp)
        return (self.level * np.tanh(y / self.ref_uv)).astype(np.float32)


@dataclass(frozen=True, slots=True)
class ScopeChunk:
    """Bins (and sound) new in one push.

    Parameters
    ----------
    seq : int
        Number of the chunk in its feed (1, 2, …).
    first_bin : int
        Absolute index of the first bin (its first sample is ``first_bin * spb``).
    lo, hi : arrays, shape (n_channels, n_bins)
        Minimum and maximum of each bin, µV (NaN: no samples).
    audio : array of float32
        Sound of these samples at the monitor's rate (empty without a monitor).
    """

    seq: int
    first_bin: int
    lo: NDArray[np.float64]
    hi: NDArray[np.float64]
    audio: NDArray[np.float32]

    @property
    def n_bins(self) -> int:
        """Bins in the chunk."""
        return int(self.lo.shape[1])

    def payload(self) -> dict[str, object]:
        """The chunk as JSON-ready values (arrays as base64 float32; ``hi`` left out when
        it equals ``lo``: one sample per bin)."""
        out: dict[str, object] = {
            "seq": self.seq,
            "b0": self.first_bin,
            "n": self.n_bins,
            "lo": encode_f32(self.lo),
        }
        if not np.array_equal(self.lo, self.hi, equal_nan=True):
            out["hi"] = encode_f32(self.hi)
        if self.audio.size:
            out["audio"] = encode_f32(self.audio)
        return out


class ScopeFeed:
    """A session's cursor into its trace tail, for one scope in one browser.

    Parameters
    ----------
    sfreq : float
        Sampling rate, Hz.
    channels : sequence of int
        Rows of the trace this scope shows.
    window_s : float
        Seconds across the plot.
    columns : int
        Bins per ``window_s``: about the plot's width in pixels.
    resend : int
        Chunks each message repeats (the browser skips those it has): a message
        Streamlit never delivered (a run cut short, updates merged by the page)
        loses nothing.
    """

    def __init__(
        self,
        sfreq: float,
        *,
        channels: Sequence[int],
        window_s: float = 10.0,
        columns: int = 1600,
        resend: int = 4,
    ) -> None:
        if not (math.isfinite(sfreq) and sfreq > 0):
            raise ConfigError(f"sfreq must be a positive rate in Hz, got {sfreq!r}.")
        if columns < 1:
            raise ConfigError(f"columns must be >= 1, got {columns!r}.")
        self.sfreq = float(sfreq)
        self.channels = tuple(int(c) for c in channels)
        self.window_s = float(window_s)
        self.spb = max(1, int(self.sfreq * self.window_s) // int(columns))
        self.cursor: int | None = None  # absolute sample index, on a bin boundary
        self.seq = 0
        self.recent: deque[dict[str, object]] = deque(maxlen=max(1, int(resend)))
        self.audio: AudioMonitor | None = None
        self.audio_channel: int | None = None
        self.n_skipped = 0  # samples the feed skipped because it fell behind the tail
        self.frozen: tuple[float, float, Twitch | None] | None = None  # (t0, t1, last twitch)
        self.picture_t = -math.inf  # when the page last made Export's picture of this scope
        self.picture_frozen = False
        self.refill_token: str | None = None
        #: Held by every push and read: the page's runs and the scope's line push alike.
        self.lock = threading.RLock()
        self.messages = 0  # messages made from this feed (the browser keeps the newest marks)

    def next_message(self) -> int:
        """Number of the next message made from this feed (1, 2, …)."""
        with self.lock:
            self.messages += 1
            return self.messages

    def refill(self, token: str) -> None:
        """Send the whole tail again from the next push (a browser mounted the scope anew
        and asked, with ``token``); chunk numbers go on."""
        with self.lock:
            self.refill_token = token
            self.cursor = None
            self.recent.clear()

    def set_audio(self, channel: int | None) -> None:
        """Sound from row ``channel`` of the trace (None: no sound)."""
        if channel == self.audio_channel:
            return
        self.audio_channel = channel
        self.audio = None if channel is None else AudioMonitor(self.sfreq)

    def push(self, trace: NDArray[np.float64], trace_end: int) -> ScopeChunk | None:
        """The complete bins of ``trace`` not sent yet, or None when there are none.

        Parameters
        ----------
        trace : array, shape (n_channels, n_samples)
            The conditioned tail, volts (NaN where samples were lost).
        trace_end : int
            Absolute index one past its last sample.
        """
        with self.lock:
            return self._push(trace, trace_end)

    def _push(self, trace: NDArray[np.float64], trace_end: int) -> ScopeChunk | None:
        n = trace.shape[1]
        start = trace_end - n
        spb = self.spb
        if self.cursor is None or self.cursor > trace_end:  # first push, refill, or a restart
            self.cursor = -(-start // spb) * spb
            if self.audio is not None:
                self.audio.reset()
        elif self.cursor < start:  # fell behind the tail: skip ahead, a break on screen
            new = -(-start // spb) * spb
            self.n_skipped += new - self.cursor
            self.cursor = new
            if self.audio is not None:
                self.audio.reset()
        n_bins = (trace_end - self.cursor) // spb
        if n_bins <= 0:
            return None
        a = self.cursor - start
        rows = trace[list(self.channels), a : a + n_bins * spb]
        lo, hi = minmax_bins(volts_to_uv(rows), spb)
        audio = np.zeros(0, dtype=np.float32)
        if self.audio is not None and self.audio_channel is not None:
            audio = self.audio.process(volts_to_uv(trace[self.audio_channel, a : a + n_bins * spb]))
        self.seq += 1
        chunk = ScopeChunk(seq=self.seq, first_bin=self.cursor // spb, lo=lo, hi=hi, audio=audio)
        self.cursor += n_bins * spb
        self.recent.append(chunk.payload())  # encoded once, sent up to ``resend`` times
        return chunk

    def chunks_payload(self) -> list[dict[str, object]]:
        """The last few chunks, oldest first, as JSON-ready values."""
        with self.lock:
            return list(self.recent)
