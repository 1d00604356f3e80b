"""A bounded, thread-safe buffer of sample blocks: one producer, many non-consuming readers.

The acquisition thread :meth:`RingBuffer.write`\\ s :class:`SampleBlock`\\ s in stream
order; every consumer (a dashboard session, the recorder, a test) keeps its own
cursor, an absolute sample index, and calls :meth:`RingBuffer.read_since` to get
the blocks at or after it without taking them away from anybody else (BrainFlow's
"peek" mode, not a queue that splits data between readers).

A read finds the cursor's block by bisection over the blocks' first samples and
copies only the references of the blocks it returns, so its cost grows with what is
new, not with what the buffer holds (900 s of 1-2 sample blocks is 10^5 blocks).

Memory is bounded: once more than ``capacity`` samples are held, the oldest blocks
are dropped. A consumer whose cursor points into the dropped part is told how many
sample positions it missed (:attr:`BufferRead.n_missed`) and carries on from the
oldest block still held; the stream itself lost nothing.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from dataclasses import dataclass

from twitchscope.signal.core.checks import check_positive
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import SampleBlock

__all__ = ["BufferRead", "RingBuffer"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BufferRead:
    """What one :meth:`RingBuffer.read` returned.

    Parameters
    ----------
    blocks : tuple of SampleBlock
        Blocks at or after the cursor, oldest first (the first one may be cut so
        that it starts exactly at the cursor).
    cursor : int
        The cursor to pass next time: one past the last sample returned (or the
        old cursor if nothing was new).
    n_missed : int
        Sample positions between the old cursor and the oldest sample still held,
        which this consumer will never see because it read too late (0 normally).
        Positions the device itself lost (``n_lost_before`` of a block) in that
        stretch are counted too, since the buffer no longer knows about them.
    """

    blocks: tuple[SampleBlock, ...]
    cursor: int
    n_missed: int = 0

    @property
    def n_samples(self) -> int:
        """Number of samples returned."""
        return sum(b.n_samples for b in self.blocks)


class RingBuffer:
    """Hold the most recent ``capacity`` samples of one stream for several readers.

    Parameters
    ----------
    capacity : int
        Number of samples (per channel) to keep, at least. The newest block is
        always kept whole, so up to one block more may be held.

    Notes
    -----
    Blocks are immutable and their arrays are made read-only on write, so
    readers share them without copying. All methods are thread-safe.

    Examples
    --------
    >>> import numpy as np
    >>> from twitchscope.signal.core.model import SampleBlock
    >>> buf = RingBuffer(capacity=100)
    >>> buf.write(SampleBlock(np.zeros((1, 10)), sfreq=250.0, first_sample=0, ch_names=("a",)))
    >>> blocks, cursor = buf.read_since(0)
    >>> cursor
    10
    """

    def __init__(self, capacity: int) -> None:
        check_positive("capacity", capacity)
        if int(capacity) != capacity:
            raise ConfigError(f"capacity must be a whole number of samples, got {capacity!r}.")
        self._capacity = int(capacity)
        # held blocks are self._blocks[self._head:]; self._starts[i] is the first sample of
        # self._blocks[i] (ascending), for bisection. The dropped prefix is compacted away
        # once it is as long as the held part, so appends and drops stay O(1) amortised.
        self._blocks: list[SampleBlock] = []
        self._starts: list[int] = []
        self._head = 0
        self._n_held = 0
        self._end = 0  # one past the newest sample written
        self._evicted_end = 0  # one past the newest sample dropped for lack of room
        self._n_written = 0
        self._closed = False
        self._cond = threading.Condition(threading.Lock())

    # -- producer ---------------------------------------------------------------------------

    def write(self, block: SampleBlock) -> None:
        """Append one block (empty blocks are ignored).

        Raises
        ------
        ConfigError
            If the block starts before the end of the previous one, or its channels
            or rate differ from the blocks already held.
        """
        if block.n_samples == 0:
            return
        block.data.setflags(write=False)
        with self._cond:
            if block.first_sample < self._end:
                raise ConfigError(
                    f"blocks must be written in stream order: block starts at sample "
                    f"{block.first_sample}, but the buffer already ends at {self._end}."
                )
            if self._head < len(self._blocks):
                last = self._blocks[-1]
                if block.ch_names != last.ch_names or block.sfreq != last.sfreq:
                    raise ConfigError(
                        f"a block with channels {block.ch_names!r} at {block.sfreq:g} Hz does not "
                        f"match the stream ({last.ch_names!r} at {last.sfreq:g} Hz)."
                    )
            self._blocks.append(block)
            self._starts.append(block.first_sample)
            self._n_held += block.n_samples
            self._n_written += block.n_samples
            self._end = block.end_sample
            while self._n_held - self._blocks[self._head].n_samples >= self._capacity:
                old = self._blocks[self._head]
                self._head += 1
                self._n_held -= old.n_samples
                self._evicted_end = old.end_sample
            if self._head > 64 and 2 * self._head >= len(self._blocks):
                del self._blocks[: self._head]
                del self._starts[: self._head]
                self._head = 0
            self._cond.notify_all()

    def close(self) -> None:
        """Mark the stream as ended and wake every waiting reader."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- consumers --------------------------------------------------------------------------

    def read(self, cursor: int) -> BufferRead:
        """Return the blocks at or after ``cursor`` without removing them.

        Parameters
        ----------
        cursor : int
            Absolute index of the first sample wanted (0 for the start of the
            stream, or the cursor of the previous read).

        Returns
        -------
        BufferRead
            The blocks, the next cursor and the number of samples missed.
        """
        cursor = int(cursor)
        if cursor < 0:
            raise ConfigError(f"cursor must be >= 0, got {cursor}.")
        with self._cond:
            evicted_end = self._evicted_end
            at = max(cursor, evicted_end)
            # the last block starting at or before the cursor (it may hold the cursor)
            i = max(self._head, bisect.bisect_right(self._starts, at, lo=self._head) - 1)
            held = self._blocks[i:]
        n_missed = max(0, evicted_end - cursor)
        if n_missed:
            log.debug(
                "a reader at sample %d missed %d samples (buffer too small)", cursor, n_missed
            )
            cursor = evicted_end
        out = [b for b in held[:1] if b.end_sample > cursor] + held[1:]
        if out and out[0].first_sample < cursor:  # the cursor points inside it: cut it
            first = out[0]
            out[0] = SampleBlock(
                data=first.data[:, cursor - first.first_sample :],
                sfreq=first.sfreq,
                first_sample=cursor,
                ch_names=first.ch_names,
            )
        new_cursor = out[-1].end_sample if out else cursor
        return BufferRead(blocks=tuple(out), cursor=new_cursor, n_missed=n_missed)

    def read_since(self, cursor: int) -> tuple[list[SampleBlock], int]:
        """Return ``(blocks, new_cursor)``: the blocks at or after ``cursor``, not consumed.

        Samples missed because the cursor fell behind the retained window are
        logged at WARNING; use :meth:`read` to get their number.
        """
        got = self.read(cursor)
        if got.n_missed:
            log.warning(
                "reader fell behind the buffer at sample %d and missed %d samples",
                int(cursor),
                got.n_missed,
            )
        return list(got.blocks), got.cursor

    def wait_for(self, sample: int, timeout: float | None = None) -> bool:
        """Block until the buffer holds data up to ``sample`` (exclusive), or it is closed.

        Returns
        -------
        bool
            True if ``end_sample >= sample`` when returning, False on timeout or close.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._end < sample and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self._cond.wait(remaining)
            return self._end >= sample

    # -- introspection ----------------------------------------------------------------------

    @property
    def capacity(self) -> int:
        """Number of samples kept, at least."""
        return self._capacity

    @property
    def end_sample(self) -> int:
        """Absolute index one past the newest sample written (0 before any)."""
        with self._cond:
            return self._end

    @property
    def start_sample(self) -> int:
        """Absolute index of the oldest sample still held (``end_sample`` if empty)."""
        with self._cond:
            return self._starts[self._head] if self._head < len(self._blocks) else self._end

    @property
    def n_written(self) -> int:
        """Samples written since creation (lost samples not counted)."""
        with self._cond:
            return self._n_written

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def __repr__(self) -> str:
        with self._cond:
            start = self._starts[self._head] if self._head < len(self._blocks) else self._end
            return (
                f"<RingBuffer | {self._n_held} of {self._capacity} samples held, "
                f"samples {start}..{self._end}>"
            )
