"""Find fixed-length binary frames in a byte buffer, resynchronising one byte at a time.

This is the framing engine shared by the Cyton, OpenEEG and Chords parsers. A
*candidate* is a position where the header bytes match, the end byte is in its
allowed range and the protocol's own check passes (e.g. 10-bit values). Frames are
accepted greedily from the left, so after a bad frame the scan moves on by one
byte, never by a whole frame. When two candidates overlap (a header byte inside
the payload of a real frame that, by chance, has a valid end byte 'one frame
later'), the counter decides: a candidate *confirmed* by a following frame at
exactly one stride with the next counter value wins over one that is not.

Every decision depends only on the bytes from the candidate onwards, and a
decision that needs bytes not yet received is postponed (the bytes stay
pending). That is what makes the result independent of how the stream is cut.

Device text (a dongle's ``Failure: ...$$$``, a board's ``UNO-R3\\r\\n``) sent
between frames is recovered from the dropped regions as messages: a run of
printable ASCII ended by the protocol's terminator.

The hot path is numpy on the whole buffer; Python loops run once per break in
the chain of back-to-back frames (a resync, a counter check), not per byte.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from twitchscope.acquisition.boards.base import DeviceSpec, ParsedChunk, ParserState, empty_chunk
from twitchscope.acquisition.boards.counters import counter_gaps, settle_frames
from twitchscope.signal.core.errors import ConfigError

__all__ = [
    "FrameLayout",
    "FrameScan",
    "scan_frames",
    "parse_be16_frames",
    "Be16FrameParser",
    "split_packets",
]

_WAIT = -1
#: an overlapping later frame whose counter is 1 ahead, or up to _CUT_AHEAD ahead and itself
#: followed by a header, marks a frame as cut short
_CUT_AHEAD = 8


@dataclass(frozen=True, slots=True)
class FrameLayout:
    """Byte layout of a fixed-length frame.

    Parameters
    ----------
    length : int
        Bytes per frame, header and end byte included.
    header : bytes
        Bytes every frame starts with (at least one, first byte not printable).
    end_range : tuple of int or None
        Inclusive range allowed for the last byte of a frame, or None.
    counter_offset : int or None
        Offset of a one-byte counter that goes up by one per frame (mod 256).
    trailer : bytes
        Bytes tolerated right after a frame (e.g. ``b"\\r\\n"``); counted as used.
    check : callable or None
        ``check(frames) -> mask``: extra validity test on an ``(n, length)`` uint8
        array of candidate frames.
    message_end : bytes or None
        Terminator of device text messages between frames, or None for none.
    message_max_len : int
        Longest message kept (longer text keeps only its last bytes).
    message_min_len : int
        Shortest printable run reported as a message.
    """

    length: int
    header: bytes
    end_range: tuple[int, int] | None = None
    counter_offset: int | None = None
    trailer: bytes = b""
    check: Callable[[NDArray[np.uint8]], NDArray[np.bool_]] | None = None
    message_end: bytes | None = None
    message_max_len: int = 512
    message_min_len: int = 4


@dataclass(frozen=True, slots=True, eq=False)
class FrameScan:
    """Result of :func:`scan_frames` on one buffer.

    Parameters
    ----------
    frames : array, shape (n_frames, length)
        Accepted frames, uint8, in stream order.
    messages : tuple of str
        Device text found between frames, terminator removed.
    n_used : int
        Bytes in accepted frames, their trailers and messages.
    n_dropped : int
        Bytes discarded.
    rest : int
        Index in the buffer where the bytes to keep pending begin.
    after_frame : bool
        True when the pending bytes begin right after a frame whose trailer has
        not been seen yet.
    """

    frames: NDArray[np.uint8]
    messages: tuple[str, ...]
    n_used: int
    n_dropped: int
    rest: int
    after_frame: bool


def _valid_starts(arr: NDArray[np.uint8], layout: FrameLayout) -> NDArray[np.intp]:
    """Positions of every complete candidate frame."""
    n, length = arr.size, layout.length
    m = n - length + 1
    if m <= 0:
        return np.zeros(0, dtype=np.intp)
    header = layout.header
    mask = arr[:m] == header[0]
    for i in range(1, len(header)):
        mask &= arr[i : i + m] == header[i]
    if layout.end_range is not None:
        lo, hi = layout.end_range
        end = arr[length - 1 : length - 1 + m]
        mask &= (end >= lo) & (end <= hi)
    starts = np.flatnonzero(mask)
    if layout.check is not None and starts.size:
        frames = arr[starts[:, None] + np.arange(length)]
        starts = starts[np.asarray(layout.check(frames), dtype=bool)]
    return starts


def _could_start(buf: bytes, q: int, header: bytes) -> bool:
    """True if an incomplete frame may start at ``q`` (header prefix matches)."""
    return header.startswith(buf[q : q + len(header)])


class _Scanner:
    """One pass over one buffer (internal; holds only local variables)."""

    def __init__(self, buf: bytes, layout: FrameLayout) -> None:
        self.buf = buf
        self.n = len(buf)
        self.layout = layout
        self.arr = np.frombuffer(buf, dtype=np.uint8)
        self.valid = _valid_starts(self.arr, layout)
        tl = len(layout.trailer)
        if tl and self.valid.size:
            ends = self.valid + layout.length
            has = ends + tl <= self.n
            for i, b in enumerate(layout.trailer):
                has &= self.arr[np.minimum(ends + i, self.n - 1)] == b
            self.stride = layout.length + tl * has.astype(np.intp)
        else:
            self.stride = np.full(self.valid.size, layout.length, dtype=np.intp)

    def is_valid(self, q: int) -> bool:
        i = int(np.searchsorted(self.valid, q))
        return i < self.valid.size and int(self.valid[i]) == q

    def undecided_in(self, lo: int, hi: int) -> bool:
        """True if a frame might start in [lo, hi) but is not complete yet."""
        length, n = self.layout.length, self.n
        for q in range(max(lo, n - length + 1), min(hi, n)):
            if _could_start(self.buf, q, self.layout.header):
                return True
        return False

    def confirmed(self, q: int) -> int | None:
        """How well the frame at ``q`` is confirmed by what follows it; None: unknown yet.

        2: the next frame is valid, one stride later, with the next counter value;
        1: the bytes one stride later at least start with the header (the next
        frame is there but damaged); 0: neither.
        """
        layout, buf = self.layout, self.buf
        s = q + layout.length
        tl = len(layout.trailer)
        if tl:
            seg = buf[s : s + tl]
            if seg == layout.trailer:
                s += tl
            elif len(seg) < tl and layout.trailer.startswith(seg):
                return None
        if s + layout.length > self.n:
            return None
        if not self.is_valid(s):
            return 1 if buf.startswith(layout.header, s) else 0
        co = layout.counter_offset
        if co is None:
            return 2
        if int(self.arr[s + co]) == (int(self.arr[q + co]) + 1) & 0xFF:
            return 2
        return 1

    def choose(self, j: int, last_counter: int | None) -> int:
        """Index (into ``valid``) of the frame to accept at or after ``valid[j]``.

        A winner that itself overlaps later candidates is put to the same test,
        until the winner is the first of its own overlap set.
        """
        while True:
            c = self._choose_once(j, last_counter)
            if c in (j, _WAIT):
                return c
            j = c

    def _choose_once(self, j: int, last_counter: int | None) -> int:
        """Best of the candidates overlapping ``valid[j]`` (``j`` included).

        Among overlapping candidates, one confirmed by the next frame (valid,
        next counter) wins; then one not overlapped by a candidate carrying its
        next counter value (else it was cut short); then the counter closest
        after ``last_counter``; then the weak confirmation (a header where the
        next frame should be); then the earliest.
        """
        p = int(self.valid[j])
        length = self.layout.length
        if self.undecided_in(p + 1, p + length):
            return _WAIT
        hi = int(np.searchsorted(self.valid, p + length))
        if hi == j + 1:
            return j
        co = self.layout.counter_offset
        cands = self.valid[j:hi]
        counters = self.arr[cands + co].astype(np.int64) if co is not None else None
        ranks = []
        for q in cands.tolist():
            rank = self.confirmed(q)
            if rank is None:
                return _WAIT
            ranks.append(rank)
        best, best_key = j, (False, False, -256, -1)
        for i, rank in enumerate(ranks):
            dist, cut = 0, False
            if counters is not None:
                # an overlapping later frame that looks like a successor: this one was cut short
                ahead = (counters[i + 1 :] - counters[i]) & 0xFF
                later_ok = np.asarray(ranks[i + 1 :]) >= 1
                cut = bool(np.any((ahead == 1) | ((ahead <= _CUT_AHEAD) & (ahead > 1) & later_ok)))
                if last_counter is not None:
                    dist = (int(counters[i]) - last_counter - 1) & 0xFF
            key = (rank == 2, rank == 2 or not cut, -dist, rank)
            if key > best_key:
                best, best_key = j + i, key
        return best


def scan_frames(
    buf: bytes, layout: FrameLayout, *, after_frame: bool = False, last_counter: int | None = None
) -> FrameScan:
    """Find the frames, messages and dropped bytes of one buffer.

    Parameters
    ----------
    buf : bytes
        Pending bytes of the previous call followed by the new data.
    layout : FrameLayout
        The protocol's frame layout.
    after_frame : bool
        The buffer starts right after a frame whose trailer was not seen yet.
    last_counter : int or None
        Counter of the last frame accepted before this buffer (settles overlaps).

    Returns
    -------
    FrameScan
        Accepted frames and the accounting of every byte of ``buf``.
    """
    sc = _Scanner(buf, layout)
    n, length, valid, stride = sc.n, layout.length, sc.valid, sc.stride
    tl = len(layout.trailer)
    co = layout.counter_offset
    used = 0
    pos = 0
    if after_frame and tl:
        head = buf[:tl]
        if head == layout.trailer:
            used, pos = tl, tl
        elif len(head) < tl and layout.trailer.startswith(head):
            return FrameScan(np.zeros((0, length), np.uint8), (), 0, 0, 0, True)
    region_lo = pos
    starts: list[NDArray[np.intp]] = []
    ends: list[NDArray[np.intp]] = []
    nv = valid.size
    if nv:
        adjacent = valid[1:] == valid[:-1] + stride[:-1]
        breaks = np.append(np.flatnonzero(~adjacent), nv - 1)
    rest = -1
    ends_after_frame = False
    k = int(np.searchsorted(valid, pos))
    while k < nv:
        j = int(breaks[np.searchsorted(breaks, k)])
        if j > k:
            starts.append(valid[k:j])
            ends.append(valid[k:j] + stride[k:j])
            used += int(stride[k:j].sum())
            pos = int(valid[j])
            if co is not None:
                last_counter = int(sc.arr[valid[j - 1] + co])
        c = sc.choose(j, last_counter)
        if c == _WAIT:
            rest = int(valid[j])
            break
        q = int(valid[c])
        if co is not None:
            last_counter = int(sc.arr[q + co])
        pos = q + length
        used += length
        if tl:
            seg = buf[pos : pos + tl]
            if seg == layout.trailer:
                pos += tl
                used += tl
            elif len(seg) < tl and layout.trailer.startswith(seg):
                starts.append(valid[c : c + 1])
                ends.append(np.array([pos], dtype=np.intp))
                rest, ends_after_frame = pos, True
                break
        starts.append(valid[c : c + 1])
        ends.append(np.array([pos], dtype=np.intp))
        k = int(np.searchsorted(valid, pos))
    if rest < 0:
        rest = n
        for q in range(max(pos, n - length + 1), n):
            if _could_start(buf, q, layout.header):
                rest = q
                break
    s_all = np.concatenate(starts) if starts else np.zeros(0, dtype=np.intp)
    e_all = np.concatenate(ends) if ends else np.zeros(0, dtype=np.intp)
    messages: tuple[str, ...] = ()
    if layout.message_end is not None and rest > region_lo:
        messages, n_msg, rest = _find_messages(buf, layout, s_all, e_all, region_lo, rest, n)
        used += n_msg
    frames = (
        sc.arr[s_all[:, None] + np.arange(length)]
        if s_all.size
        else np.zeros((0, length), np.uint8)
    )
    return FrameScan(frames, messages, used, rest - used, rest, ends_after_frame)


def _printable(arr: NDArray[np.uint8], line_mode: bool) -> NDArray[np.bool_]:
    ok = ((arr >= 0x20) & (arr <= 0x7E)) | (arr == 9) | (arr == 13)
    if not line_mode:
        ok |= arr == 10
    return ok


def _run_start(arr: NDArray[np.uint8], lo: int, hi: int, line_mode: bool) -> int:
    """Start of the printable run that ends at ``hi`` and begins no earlier than ``lo``."""
    bad = np.flatnonzero(~_printable(arr[lo:hi], line_mode))
    return lo + int(bad[-1]) + 1 if bad.size else lo


def _find_messages(
    buf: bytes,
    layout: FrameLayout,
    starts: NDArray[np.intp],
    ends: NDArray[np.intp],
    lo: int,
    rest: int,
    n: int,
) -> tuple[tuple[str, ...], int, int]:
    """Messages in the dropped regions of ``buf[lo:rest]``; returns (messages, bytes, rest)."""
    term = layout.message_end
    assert term is not None
    tlen = len(term)
    line_mode = term.endswith(b"\n")
    arr = np.frombuffer(buf, dtype=np.uint8)
    # region i spans [reg_lo[i], reg_hi[i]): before the first frame, between frames, after the last
    reg_lo = np.concatenate(([lo], ends))
    reg_hi = np.concatenate((starts, [rest]))
    m = n - tlen + 1
    if m > 0:
        hit = arr[:m] == term[0]
        for i in range(1, tlen):
            hit &= arr[i : i + m] == term[i]
        cand = np.flatnonzero(hit)
        cand = cand[(cand >= lo) & (cand + tlen <= rest)]
    else:
        cand = np.zeros(0, dtype=np.intp)
    if cand.size:
        region = np.searchsorted(reg_lo, cand, side="right") - 1
        cand = cand[cand + tlen <= reg_hi[region]]
    max_len = layout.message_max_len
    messages: list[str] = []
    n_bytes = 0
    boundary = lo
    for t in cand.tolist():
        if t < boundary:
            continue  # overlaps the previous terminator ("$$$$")
        r = int(np.searchsorted(reg_lo, t, side="right")) - 1
        start = max(int(reg_lo[r]), boundary, t - max_len)
        start = _run_start(arr, start, t, line_mode)
        boundary = t + tlen
        if t - start >= layout.message_min_len:
            text = buf[start:t].decode("ascii")
            if line_mode and text.endswith("\r"):
                text = text[:-1]
            messages.append(text)
            n_bytes += t + tlen - start
    if rest == n:
        # keep a printable tail that may be the start of a message
        last_lo = int(reg_lo[-1])
        tail = _run_start(arr, max(last_lo, boundary, n - max_len - tlen), n, line_mode)
        if tail < n:
            rest = tail
    return tuple(messages), n_bytes, rest


def split_packets(data: bytes, n: int) -> list[bytes]:
    """Cut the encoding of ``n`` samples into one packet per sample (fixed length).

    Raises
    ------
    ConfigError
        If ``data`` does not split into ``n`` equal packets.
    """
    if n == 0:
        return []
    size, rest = divmod(len(data), n)
    if rest:
        raise ConfigError(f"cannot split {len(data)} bytes into {n} equal packets.")
    return [data[i * size : (i + 1) * size] for i in range(n)]


def parse_be16_frames(
    data: bytes,
    state: ParserState,
    *,
    layout: FrameLayout,
    n_channels: int,
    first_sample_byte: int,
    counter_byte: int,
    offset_counts: float,
    volts_per_count: float,
) -> tuple[ParsedChunk, ParserState]:
    """Parse fixed frames of big-endian 16-bit samples with a one-byte counter.

    The shared ``parse`` of OpenEEG P2 and Chords packets: channel ``i`` is the
    big-endian pair at ``first_sample_byte + 2 i``; ``counter_byte`` holds the
    packet counter (jumps confirmed by the following packets become gaps, see
    :mod:`~twitchscope.acquisition.boards.counters`). ``state.extra`` is
    ``(after_frame, held_frames, last_settled_counter)``. Never mutates ``state``.
    """
    if not data:
        return empty_chunk(n_channels), state
    buf = state.pending + bytes(data)
    after_frame, held, settled = state.extra if state.extra else (False, b"", None)
    scan = scan_frames(buf, layout, after_frame=bool(after_frame), last_counter=state.last_counter)
    f, counters, held = settle_frames(scan.frames, held, counter_byte, settled)  # type: ignore[arg-type]
    hi = f[:, first_sample_byte : first_sample_byte + 2 * n_channels : 2].astype(np.int64)
    lo = f[:, first_sample_byte + 1 : first_sample_byte + 1 + 2 * n_channels : 2]
    raw = (hi << 8) | lo
    samples = np.asarray((raw.T - offset_counts) * volts_per_count, dtype=np.float64)
    gaps, settled = counter_gaps(counters, settled)  # type: ignore[arg-type]
    chunk = ParsedChunk(
        samples=samples, aux=np.zeros((0, f.shape[0])), gaps=gaps, messages=scan.messages
    )
    scanned = scan.frames
    new_state = ParserState(
        pending=buf[scan.rest :],
        n_bytes_dropped=state.n_bytes_dropped + scan.n_dropped,
        n_frames=state.n_frames + scanned.shape[0],
        last_counter=int(scanned[-1, counter_byte]) if scanned.shape[0] else state.last_counter,
        extra=(scan.after_frame, held, settled),
        n_bytes_framed=state.n_bytes_framed + scan.n_used,
    )
    return chunk, new_state


class Be16FrameParser:
    """The ``init_state`` and ``parse`` of a parser built on :func:`parse_be16_frames`.

    Subclasses set the class attributes ``first_sample_byte`` and ``counter_byte`` and,
    in ``__init__``, ``spec``, ``layout``, ``offset_counts`` and ``volts_per_count``.
    """

    first_sample_byte: ClassVar[int]
    counter_byte: ClassVar[int]
    spec: DeviceSpec
    layout: FrameLayout
    offset_counts: float
    volts_per_count: float

    def init_state(self) -> ParserState:
        """The state before any byte."""
        return ParserState(extra=(False, b"", None))

    def parse(self, data: bytes, state: ParserState) -> tuple[ParsedChunk, ParserState]:
        """Decode ``data`` after ``state`` (never mutates ``state``)."""
        return parse_be16_frames(
            data,
            state,
            layout=self.layout,
            n_channels=self.spec.n_channels,
            first_sample_byte=self.first_sample_byte,
            counter_byte=self.counter_byte,
            offset_counts=self.offset_counts,
            volts_per_count=self.volts_per_count,
        )
