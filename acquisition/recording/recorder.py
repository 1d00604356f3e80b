"""A crash-safe recorder of sample blocks: an append-only data file plus a JSON sidecar.

:class:`Recorder` writes a recording in progress as a ``<name>.partial/`` folder in
the format of :mod:`twitchscope.acquisition.recording.partial_format`: blocks are
appended as checksummed records, lost samples become gaps (never written, never
invented), needle sites go into the one
:class:`~twitchscope.signal.core.sites.SiteLog`, and the sidecar is rewritten
atomically whenever they change.

The data file is flushed and ``fsync``'d whenever :meth:`Recorder.maybe_flush` (or
:meth:`Recorder.write`) finds ``flush_interval_s`` elapsed since the last flush,
at least once a second by default. After ``kill -9`` or a power cut the file may
end inside a record;
:func:`~twitchscope.acquisition.recording.partial.load_partial` reads every complete
record with a valid checksum and ignores the torn tail, so everything up to the last
flush is recovered.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from twitchscope.acquisition.recording.partial_format import (
    CH_TYPES,
    append_records,
    create_partial,
    utc,
    write_meta,
)
from twitchscope.signal.core.checks import check_ch_names, check_option, check_positive, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import Gap, NeedleSite, SampleBlock
from twitchscope.signal.core.sites import SiteLog

__all__ = ["Recorder"]

log = logging.getLogger(__name__)


class Recorder:
    """Record sample blocks to an append-only partial folder, safe against crashes.

    Parameters
    ----------
    path : path-like
        The partial folder to create (conventionally ``<name>.partial``). It must not
        exist: an earlier partial may hold a recording that still needs recovering.
    sfreq : float
        Sampling rate of the blocks, Hz.
    ch_names : sequence of str
        Row names of every block: the EMG channels in board order, then aux channels.
    ch_types : str or sequence of str
        ``"emg"`` or ``"misc"`` per channel (a single string applies to all).
    device, protocol : str
        Free text saved in the sidecar (e.g. the port and the protocol name).
    target : str
        The file the recording is meant to end up in (saved in the sidecar, so a
        recovery knows where to write).
    flush_interval_s : float
        Longest time between two flushes while blocks keep arriving, s (<= 1).
    start_time : datetime or None
        UTC time of the first sample; ``None`` takes the time of the first block.

    Raises
    ------
    FileFormatError
        If ``path`` exists or cannot be created.
    ConfigError
        Bad rate, channel names or types, or ``flush_interval_s``.

    Notes
    -----
    Drive it from one thread: :meth:`write` each block, and call
    :meth:`maybe_flush` regularly (every 0.1-0.5 s) so data is flushed even when
    no block arrives. :meth:`add_site`, :meth:`needle_in` and :meth:`needle_out`
    may be called from another thread. Call :meth:`close` (or use ``with``) at
    the end.

    A block's ``first_sample`` is its index in the source stream; the recording
    starts at the first block written (sample 0 of the recording). A jump in
    ``first_sample`` (which counts ``n_lost_before``) becomes a gap.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sfreq: float,
        ch_names: Sequence[str],
        ch_types: str | Sequence[str] = "emg",
        device: str = "",
        protocol: str = "",
        target: str = "",
        flush_interval_s: float = 0.5,
        start_time: dt.datetime | None = None,
    ) -> None:
        self.sfreq = check_sfreq(sfreq)
        self.ch_names = check_ch_names(ch_names)
        types = (ch_types,) * len(self.ch_names) if isinstance(ch_types, str) else tuple(ch_types)
        if len(types) != len(self.ch_names):
            raise ConfigError(
                f"got {len(types)} channel types for {len(self.ch_names)} channels; "
                "expected one type per channel."
            )
        for t in types:
            check_option("ch_types", t, CH_TYPES)
        self.ch_types: tuple[str, ...] = types
        self.flush_interval_s = check_positive("flush_interval_s", flush_interval_s)
        if self.flush_interval_s > 1.0:
            raise ConfigError(
                f"flush_interval_s must be <= 1 s (data is flushed at least once a second), "
                f"got {flush_interval_s!r}."
            )
        self.device = str(device)
        self.protocol = str(protocol)
        self.target = str(target)
        self.path = Path(path)
        self._start_time = utc(start_time) if start_time is not None else None

        self._lock = threading.RLock()
        self._stream_offset: int | None = None  # stream index of recording sample 0
        self._n_written = 0  # samples accounted for (recorded + lost), recording-relative
        self._n_flushed = 0
        self._pending: list[tuple[int, int, NDArray[np.float32]]] = []  # (first, lost, data)
        self._gaps: list[Gap] = []
        self._sites = SiteLog()
        self._last_flush = time.monotonic()
        self._closed = False

        self._fd = create_partial(self.path)
        self._write_meta()

    # -- properties ---------------------------------------------------------------------

    @property
    def n_samples(self) -> int:
        """Samples of the recording so far, lost ones included (its length), flushed or not."""
        return self._n_written

    @property
    def n_samples_flushed(self) -> int:
        """Samples (lost ones included) safely on disk."""
        return self._n_flushed

    @property
    def duration_s(self) -> float:
        """Length of the recording so far, s."""
        return self._n_written / self.sfreq

    @property
    def gaps(self) -> tuple[Gap, ...]:
        """Gaps found so far."""
        with self._lock:
            return tuple(self._gaps)

    @property
    def n_lost(self) -> int:
        """Total number of samples lost so far."""
        with self._lock:
            return sum(g.n_samples for g in self._gaps)

    @property
    def sites(self) -> tuple[NeedleSite, ...]:
        """Closed needle sites so far (an open one is not included)."""
        return self._sites.sites()

    @property
    def open_site(self) -> NeedleSite | None:
        """The open needle site (duration 0), if the needle is in."""
        return self._sites.open_site

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    # -- writing ------------------------------------------------------------------------

    def write(self, block: SampleBlock) -> None:
        """Append one block (flushing if ``flush_interval_s`` has elapsed).

        Raises
        ------
        ConfigError
            If the block's channels or rate differ from the recording's.
        """
        with self._lock:
            self._check_open()
            if block.ch_names != self.ch_names:
                raise ConfigError(
                    f"block channels {list(block.ch_names)!r} differ from the recording's "
                    f"{list(self.ch_names)!r}."
                )
            if not math.isclose(block.sfreq, self.sfreq, rel_tol=1e-9):
                raise ConfigError(
                    f"block sfreq {block.sfreq:g} Hz differs from the recording's {self.sfreq:g} Hz."
                )
            if self._stream_offset is None:
                if block.n_samples == 0:
                    return  # nothing to anchor the recording on yet
                # the recording starts here: losses before its first sample are not its gaps
                self._stream_offset = block.first_sample
                if self._start_time is None:
                    self._start_time = dt.datetime.now(dt.UTC)
                    self._write_meta()
                lost = 0
            else:
                lost, self._stream_offset = _place(block, self._stream_offset, self._n_written)
            if block.n_samples == 0 and lost == 0:
                self._flush_if_due()
                return
            start = self._n_written + lost
            if lost:
                self._gaps.append(
                    Gap(onset_s=self._n_written / self.sfreq, n_samples=lost, sfreq=self.sfreq)
                )
                log.info("recorder: %d samples lost at %.3f s", lost, self._n_written / self.sfreq)
            self._pending.append((start, lost, block.data.astype("<f4")))
            self._n_written = start + block.n_samples
            self._flush_if_due()

    def mark_lost_tail(self, n_samples: int) -> None:
        """Record that the last ``n_samples`` of the recording never came (a gap at the end).

        For a board that vanished before the requested end: the recording still spans
        what was asked for, the missing tail zero-filled and covered by ``BAD_ACQ_SKIP``
        once finalized (flushed at once, so it survives a crash). Call it last: the
        recording ends there. Nothing happens before the first sample or for
        ``n_samples <= 0``.
        """
        with self._lock:
            self._check_open()
            if self._stream_offset is None or n_samples <= 0:
                return
            onset = self._n_written
            self._gaps.append(
                Gap(onset_s=onset / self.sfreq, n_samples=n_samples, sfreq=self.sfreq)
            )
            log.info(
                "recorder: %d samples missing at the end, from %.3f s",
                n_samples,
                onset / self.sfreq,
            )
            empty = np.zeros((len(self.ch_names), 0), dtype="<f4")
            self._pending.append((onset + n_samples, n_samples, empty))
            self._n_written = onset + n_samples
            self.flush()

    def maybe_flush(self) -> bool:
        """Flush if ``flush_interval_s`` has elapsed since the last flush; return whether it did."""
        with self._lock:
            if self._closed:
                return False
            return self._flush_if_due()

    def _flush_if_due(self) -> bool:
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()
            return True
        return False

    def flush(self) -> None:
        """Write the pending samples as records, ``fsync`` them, and update the sidecar."""
        with self._lock:
            self._check_open()
            self._last_flush = time.monotonic()
            pending, self._pending = self._pending, []
            if append_records(self._fd, pending):
                self._n_flushed = self._n_written
                self._write_meta()

    # -- needle sites (the one site log's rules: see twitchscope.signal.core.sites) ----------

    def add_site(self, site: NeedleSite) -> None:
        """Record a needle site (a closed span); the sidecar is updated at once."""
        with self._lock:
            self._check_open()
            self._sites.add(site)
            self._write_meta()

    def needle_in(
        self,
        label: str,
        *,
        onset_s: float | None = None,
        muscle: str = "",
        side: str = "",
        point_id: str | None = None,
        note: str = "",
    ) -> NeedleSite:
        """Mark the needle going in at ``onset_s`` (default: the end of the data so far).

        An open site is closed first at the new onset. Returns the open site (its
        duration is 0 until :meth:`needle_out`).

        Raises
        ------
        ConfigError
            A blank label, or an onset before the open site's.
        """
        with self._lock:
            self._check_open()
            t = self.duration_s if onset_s is None else onset_s
            site = self._sites.needle_in(
                label, t, muscle=muscle, side=side, point_id=point_id, note=note
            )
            self._write_meta()
            return site

    def needle_out(self, *, offset_s: float | None = None) -> NeedleSite:
        """Mark the needle coming out at ``offset_s`` (default: now); returns the closed site.

        Raises
        ------
        ConfigError
            If no needle is in, or ``offset_s`` is before its onset.
        """
        with self._lock:
            self._check_open()
            site = self._sites.needle_out(self.duration_s if offset_s is None else offset_s)
            self._write_meta()
            return site

    # -- closing ------------------------------------------------------------------------

    def close(self) -> None:
        """Close an open needle site at the end, flush everything and mark the sidecar closed."""
        with self._lock:
            if self._closed:
                return
            open_site = self._sites.open_site
            if open_site is not None:
                self._sites.needle_out(max(self.duration_s, open_site.onset_s))
            self.flush()
            self._closed = True
            self._write_meta()
            os.close(self._fd)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<Recorder | {str(self.path)!r}, {len(self.ch_names)} ch at {self.sfreq:g} Hz, "
            f"{self._n_written} samples, {len(self._gaps)} gaps>"
        )

    # -- helpers ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ConfigError(f"recorder for {str(self.path)!r} is closed.")

    def _write_meta(self) -> None:
        write_meta(
            self.path,
            sfreq=self.sfreq,
            ch_names=self.ch_names,
            ch_types=self.ch_types,
            device=self.device,
            protocol=self.protocol,
            target=self.target,
            start_time=self._start_time,
            stream_first_sample=self._stream_offset,
            sites=self._sites.sites(),
            open_site=self._sites.open_site,
            gaps=self._gaps,
            n_samples_flushed=self._n_flushed,
            closed=self._closed,
        )


def _place(block: SampleBlock, stream_offset: int, n_written: int) -> tuple[int, int]:
    """Return the samples lost before ``block`` and the stream index of recording sample 0.

    ``stream_offset`` is that index so far and ``n_written`` the samples accounted for;
    if the block's stream index misbehaves (goes back, or jumps by other than its
    ``n_lost_before``) the recording is re-anchored on it and a warning logged.
    """
    jump = block.first_sample - stream_offset - n_written
    if jump == block.n_lost_before and jump >= 0:
        return jump, stream_offset
    if jump < 0:
        lost = block.n_lost_before
        log.warning(
            "recorder: block first_sample %d goes back %d samples; placing it after the "
            "last one%s.",
            block.first_sample,
            -jump,
            f" with {lost} lost samples" if lost else "",
        )
    else:
        lost = max(jump, block.n_lost_before)
        log.warning(
            "recorder: block first_sample jumps %d samples but n_lost_before is %d; "
            "recording a gap of %d samples.",
            jump,
            block.n_lost_before,
            lost,
        )
    # from now on, stream indices are read against the new anchor
    return lost, block.first_sample - (n_written + lost)
