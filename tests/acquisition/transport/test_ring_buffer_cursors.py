"""Ring-buffer cursors found by bisection give what a linear scan of the blocks would."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from twitchscope.acquisition.transport.ring_buffer import RingBuffer
from twitchscope.signal.core.model import SampleBlock


def _linear(blocks: list[SampleBlock], cursor: int) -> list[tuple[int, int]]:
    """(first, end) of the samples at or after ``cursor``, by scanning every block."""
    out = []
    for b in blocks:
        if b.end_sample > cursor:
            out.append((max(cursor, b.first_sample), b.end_sample))
    return out


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=400),
    gaps=st.lists(st.integers(0, 3), min_size=400, max_size=400),
    capacity=st.integers(1, 300),
    cursors=st.lists(st.integers(0, 2500), min_size=1, max_size=30),
)
def test_reads_match_a_linear_scan(sizes, gaps, capacity, cursors) -> None:
    buf = RingBuffer(capacity=capacity)
    written: list[SampleBlock] = []
    first = 0
    for n, lost in zip(sizes, gaps, strict=False):
        first += lost
        block = SampleBlock(
            np.arange(first, first + n, dtype=float)[None, :],
            250.0,
            first,
            ("a",),
            n_lost_before=lost,
        )
        buf.write(block)
        written.append(block)
        first += n
    # what the buffer still holds: the newest blocks covering at least `capacity` samples
    held, n = [], 0
    for b in reversed(written):
        if n >= capacity:
            break
        held.insert(0, b)
        n += b.n_samples
    evicted_end = (
        written[len(written) - len(held) - 1].end_sample if len(held) < len(written) else 0
    )
    assert buf.start_sample == held[0].first_sample
    for cursor in cursors:
        got = buf.read(cursor)
        assert got.n_missed == max(0, evicted_end - cursor)
        want = _linear(held, max(cursor, evicted_end))
        assert [(b.first_sample, b.end_sample) for b in got.blocks] == want
        for b in got.blocks:  # samples are in place: the value is the sample index
            assert (b.data[0] == np.arange(b.first_sample, b.end_sample)).all()
        assert got.cursor == (want[-1][1] if want else max(cursor, evicted_end))


def test_a_reader_at_the_end_gets_only_the_new_block_and_no_copies() -> None:
    buf = RingBuffer(capacity=100_000)
    blocks = [SampleBlock(np.zeros((2, 1)), 250.0, i, ("a", "b")) for i in range(50_000)]
    for b in blocks:
        buf.write(b)
    got, cursor = buf.read_since(49_999)
    assert cursor == 50_000 and len(got) == 1
    assert got[0] is blocks[-1]  # the block object itself: not rebuilt
