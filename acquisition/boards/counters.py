"""Packet counters: tell a lost packet from a corrupt counter byte, then count the gaps.

A one-byte packet counter (Cyton, OpenEEG, Chords) goes up by one per packet. A
jump means packets were lost, unless the counter byte itself is corrupt: one bad
byte reads as two jumps (``5, 6, 99, 8``: 92 lost, then 146 lost) that together
insert 256 samples that never existed and shift everything after. So a jump is
only believed when the packets that follow confirm it:

- a later packet carries the counter expected had nothing been lost (``8`` after
  ``6, 99``): the odd counter is corrupt, the packet is in place, nothing is lost;
- a later packet continues from the new counter (``20, 21`` after ``6``): the jump is
  real, ``13`` packets were lost;
- neither within :data:`LOOKAHEAD` packets (several losses close together, or a
  corrupt counter right after a loss): a counter between its neighbours' is believed;
  one out of order is corrupt and the packet is put just before the next one (the
  number of packets lost stays right; where exactly in the gap it was is unknown).

The first packet of a stream has no previous counter to compare with: when the
packets after it agree with each other but not with it, it is either a corrupt
counter or a packet followed by a loss, which cannot be told apart; it is dropped
(:data:`DROP`), so that the recording starts at the first packet it can place.

A decision that needs packets not received yet is postponed (the packets wait in
the parser's state), so the result does not depend on how the stream is cut; a
packet after a jump waits for up to :data:`LOOKAHEAD` more packets.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = ["LOOKAHEAD", "DROP", "settle_counters", "settle_frames", "counter_gaps"]

#: following packets consulted to confirm a counter jump (runs of up to this many corrupt
#: counters in a row are recognised)
LOOKAHEAD: Final = 3


#: the trusted counter of a first packet that cannot be placed (it is dropped)
DROP: Final = -1


def _settle_one(c: list[int], i: int, last: int | None, modulo: int) -> int | None:
    """Trusted counter of packet ``i`` given the previous trusted counter; None: wait."""
    ci = c[i]
    if last is not None and ci == (last + 1) % modulo:
        return ci
    n = len(c)
    for k in range(1, LOOKAHEAD + 1):
        if i + k >= n:
            return None
        ck = c[i + k]
        if last is not None and ck == (last + 1 + k) % modulo:
            return (last + 1) % modulo  # corrupt counter, packet in place
        if ck == (ci + k) % modulo:
            return ci  # confirmed: the counter is right
        if last is None and k >= 2 and ck == (c[i + k - 1] + 1) % modulo:
            return DROP  # the first packet, out of line with those after it
    if last is None:
        return ci
    # nothing confirms it: believe it if it lies between its neighbours, else it is
    # corrupt (and probably follows a loss): put it just before the next packet
    if (ci - last) % modulo < (c[i + 1] - last) % modulo:
        return ci
    return (c[i + 1] - 1) % modulo


def settle_counters(
    counters: NDArray[np.int64], last: int | None, modulo: int = 256
) -> NDArray[np.int64]:
    """Trusted counters of the first packets whose counter can be settled now.

    Parameters
    ----------
    counters : array of int
        Counter bytes of consecutive packets as received (after the packets held
        from the previous call).
    last : int or None
        Trusted counter of the packet before the first (None at stream start).
    modulo : int
        The counter wraps at this value.

    Returns
    -------
    array of int
        One trusted counter for each of the first ``m <= len(counters)`` packets
        (:data:`DROP` for a first packet that cannot be placed); the other
        ``len(counters) - m`` wait for the packets that settle them.

    Examples
    --------
    >>> settle_counters(np.array([7, 99, 9, 10]), 6).tolist()
    [7, 8, 9, 10]
    >>> settle_counters(np.array([7, 20, 21, 22]), 6).tolist()
    [7, 20, 21, 22]
    """
    c = [int(x) for x in counters]
    n = len(c)
    arr = np.asarray(counters, dtype=np.int64)
    # starts of the runs of consecutive counters (the loop below runs once per run)
    breaks = np.append(np.flatnonzero((arr[1:] - arr[:-1]) % modulo != 1) + 1, n)
    out = np.empty(n, dtype=np.int64)
    i = 0
    while i < n:
        if last is not None and c[i] == (last + 1) % modulo:
            j = int(breaks[np.searchsorted(breaks, i, side="right")])
            out[i:j] = arr[i:j]
            last, i = c[j - 1], j
            continue
        t = _settle_one(c, i, last, modulo)
        if t is None:
            break
        out[i] = t
        last, i = (None if t == DROP else t), i + 1
    return out[:i]


def counter_gaps(
    counters: NDArray[np.int64], last: int | None, modulo: int = 256
) -> tuple[tuple[tuple[int, int], ...], int | None]:
    """Turn counter jumps into ``(index, n_lost)`` gaps.

    Parameters
    ----------
    counters : array of int
        Counter of each decoded sample, in order (trusted: see :func:`settle_counters`).
    last : int or None
        Counter of the sample before the first one (None at stream start).
    modulo : int
        The counter wraps at this value.

    Returns
    -------
    gaps : tuple of (int, int)
        ``n_lost`` samples are missing just before sample ``index``.
    last : int or None
        Counter of the last sample.
    """
    if counters.size == 0:
        return (), last
    prev = np.empty_like(counters)
    prev[1:] = counters[:-1]
    if last is None:
        prev[0] = (counters[0] - 1) % modulo
    else:
        prev[0] = last
    lost = (counters - prev - 1) % modulo
    idx = np.flatnonzero(lost)
    gaps = tuple((int(i), int(lost[i])) for i in idx)
    return gaps, int(counters[-1])


def settle_frames(
    frames: NDArray[np.uint8], held: bytes, counter_offset: int, last: int | None
) -> tuple[NDArray[np.uint8], NDArray[np.int64], bytes]:
    """The frames whose counters are settled, their trusted counters, and the frames that wait.

    Parameters
    ----------
    frames : array of uint8, shape (n, length)
        Frames just found in the stream.
    held : bytes
        Frames held by the previous call (their bytes, back to back), to go first.
    counter_offset : int
        Offset of the counter byte in a frame.
    last : int or None
        Trusted counter of the last frame settled before (None at stream start).

    Returns
    -------
    ready : array of uint8, shape (m, length)
        The first frames (held ones first) that are settled, without a dropped first
        frame.
    counters : array of int, shape (m,)
        Their trusted counters.
    held : bytes
        The remaining frames, to pass back next time.
    """
    length = frames.shape[1]
    if held:
        old = np.frombuffer(held, dtype=np.uint8).reshape(-1, length)
        frames = np.vstack([old, frames])
    counters = settle_counters(frames[:, counter_offset].astype(np.int64), last)
    m = counters.size
    keep = counters != DROP
    return frames[:m][keep], counters[keep], frames[m:].tobytes()
