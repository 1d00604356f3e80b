"""Record a stream that is already running: a ring buffer's blocks from now on, on a thread.

The live dashboard streams into a :class:`~twitchscope.acquisition.transport.ring_buffer.RingBuffer`
and shows it; pressing *Record* starts a :class:`StreamRecording`, which copies every block
that arrives from then on into a crash-safe :class:`~twitchscope.acquisition.recording.recorder.Recorder`
(its partial folder survives a crash: ``twitchscope recover``), and mirrors the stream's
needle sites into it, moved to the recording's own time (its first sample is 0 s). Stopping
joins the thread, closes the recorder and returns it; writing the file out is the caller's.

The recording's first sample is the first sample of the first block that arrives after
:meth:`StreamRecording.start`, so a block is never cut; :attr:`StreamRecording.start_s` gives
its time on the stream's clock (what a camera or any other clock is matched against).
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from twitchscope.acquisition.recording.recorder import Recorder
from twitchscope.acquisition.transport.ring_buffer import RingBuffer
from twitchscope.signal.core.errors import ConfigError, TwitchscopeError
from twitchscope.signal.core.model import NeedleSite

__all__ = ["SiteSource", "StreamRecording"]

log = logging.getLogger(__name__)

#: Seconds between two polls of the ring buffer (and flushes of the recorder).
POLL_S = 0.1


class SiteSource(Protocol):
    """Where the stream's needle sites come from (a :class:`~twitchscope.signal.core.sites.SiteLog`)."""

    @property
    def open_site(self) -> NeedleSite | None: ...

    def sites(self, now_s: float | None = None) -> tuple[NeedleSite, ...]: ...


class StreamRecording:
    """Copy the blocks a ring buffer receives from now on into a crash-safe recorder.

    Parameters
    ----------
    buffer : RingBuffer
        The running stream's buffer (sample indexes on the stream's clock).
    partial : path-like
        The recorder's partial folder (must not exist; conventionally ``<name>.partial``).
    target : path-like
        The file the recording is meant to become (kept in the partial, for ``recover``).
    sfreq : float
        Sampling rate of the stream, Hz.
    ch_names : sequence of str
        Names of the rows of every block.
    ch_types : str or sequence of str
        ``"emg"`` or ``"misc"`` per row.
    device, protocol : str
        Saved with the recording.
    sites : SiteSource or None
        The stream's needle sites (stream time), mirrored into the recording.

    Notes
    -----
    :meth:`start` once, :meth:`stop` once; the properties may be read from any thread.
    """

    def __init__(
        self,
        buffer: RingBuffer,
        partial: str | os.PathLike[str],
        *,
        target: str | os.PathLike[str],
        sfreq: float,
        ch_names: tuple[str, ...],
        ch_types: str | tuple[str, ...] = "emg",
        device: str = "",
        protocol: str = "",
        sites: SiteSource | None = None,
    ) -> None:
        self._buffer = buffer
        self._sites = sites
        self.target = Path(target)
        self.recorder = Recorder(
            partial,
            sfreq=sfreq,
            ch_names=ch_names,
            ch_types=ch_types,
            device=device,
            protocol=protocol,
            target=str(target),
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._first_sample: int | None = None
        self._mirrored: set[tuple[str, float]] = set()  # closed sites written, by stream onset
        self._open: tuple[str, float] | None = None  # the open site written as needle in
        self.error: TwitchscopeError | None = None

    @property
    def partial(self) -> Path:
        """The recorder's partial folder."""
        return self.recorder.path

    @property
    def first_sample(self) -> int | None:
        """Stream index of the recording's first sample (None before the first block)."""
        with self._lock:
            return self._first_sample

    @property
    def start_s(self) -> float | None:
        """Stream time of the recording's first sample, s (None before the first block)."""
        first = self.first_sample
        return None if first is None else first / self.recorder.sfreq

    @property
    def duration_s(self) -> float:
        """Seconds recorded so far (lost samples included)."""
        return self.recorder.duration_s

    @property
    def running(self) -> bool:
        """Whether the copying thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> StreamRecording:
        """Start copying from the buffer's next sample."""
        if self._thread is not None:
            raise ConfigError("this recording was started already; start a new one.")
        cursor = self._buffer.end_sample
        self._thread = threading.Thread(
            target=self._run, args=(cursor,), name="stream-recording", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> Recorder:
        """Copy what has arrived, close the recorder and return it (closed)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if not self.recorder.closed:
            self.recorder.close()
        return self.recorder

    def _run(self, cursor: int) -> None:
        try:
            while True:
                cursor = self._copy(cursor)
                self._mirror_sites(final=False)
                self.recorder.maybe_flush()
                if self._stop.is_set():
                    break
                self._buffer.wait_for(cursor + 1, timeout=POLL_S)
                if self._buffer.closed and not self._stop.wait(POLL_S):
                    continue
            cursor = self._copy(cursor)  # what arrived while stopping
            self._mirror_sites(final=True)
        except TwitchscopeError as exc:  # a full disk, a removed folder: keep what was written
            log.error("recording stopped: %s", exc)
            self.error = exc
        finally:
            if not self.recorder.closed:
                self.recorder.close()

    def _copy(self, cursor: int) -> int:
        got = self._buffer.read(cursor)
        if got.n_missed:
            log.warning("the recording fell behind the stream and missed %d samples", got.n_missed)
        for block in got.blocks:
            if block.n_samples == 0:
                continue
            with self._lock:
                if self._first_sample is None:
                    self._first_sample = block.first_sample
            self.recorder.write(block)
        return int(got.cursor)

    def _mirror_sites(self, *, final: bool) -> None:
        """Write the stream's sites since the recording's start in recording time."""
        start = self.start_s
        if self._sites is None or start is None:
            return
        open_now = self._sites.open_site
        for site in self._sites.sites():
            key = (site.label, site.onset_s)
            if key in self._mirrored or site.onset_s + site.duration_s <= start:
                continue
            moved = _moved(site, start)
            if self._open == key:  # written as needle in: close it where it closed
                self.recorder.needle_out(offset_s=moved.onset_s + moved.duration_s)
                self._open = None
            else:
                self.recorder.add_site(moved)
            self._mirrored.add(key)
        if open_now is not None and (open_now.label, open_now.onset_s) not in self._mirrored:
            key = (open_now.label, open_now.onset_s)
            if self._open != key:  # (needle in closes a site left open in the recorder)
                self.recorder.needle_in(
                    open_now.label,
                    onset_s=max(open_now.onset_s - start, 0.0),
                    muscle=open_now.muscle,
                    side=open_now.side,
                    point_id=open_now.point_id,
                    note=open_now.note,
                )
                self._open = key
        if final and self._open is not None:  # still in when the recording stops
            self.recorder.needle_out()  # at the end of the data
            self._open = None


def _moved(site: NeedleSite, start_s: float) -> NeedleSite:
    """``site`` in the recording's time (clipped at its start)."""
    onset = max(site.onset_s - start_s, 0.0)
    offset = site.onset_s + site.duration_s - start_s
    return replace(site, onset_s=onset, duration_s=max(offset - onset, 0.0))
