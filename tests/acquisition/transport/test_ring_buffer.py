"""The ring buffer: one producer thread, several readers that do not consume."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twitchscope.acquisition.transport.ring_buffer import RingBuffer
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import SampleBlock

SFREQ = 487.0
CH = ("a", "b", "c")


def _block(first: int, n: int, n_lost_before: int = 0) -> SampleBlock:
    idx = np.arange(first, first + n, dtype=np.float64)
    data = np.vstack([idx, -idx, idx * 0.5])
    return SampleBlock(
        data, sfreq=SFREQ, first_sample=first, ch_names=CH, n_lost_before=n_lost_before
    )


def _concat(blocks: list[SampleBlock]) -> np.ndarray:
    return np.concatenate([b.data for b in blocks], axis=1) if blocks else np.zeros((3, 0))


def test_two_readers_each_get_everything() -> None:
    buf = RingBuffer(capacity=1000)
    for first, n in [(0, 5), (5, 7), (12, 1)]:
        buf.write(_block(first, n))
    a_blocks, a_cur = buf.read_since(0)
    b_blocks, b_cur = buf.read_since(0)
    assert a_cur == b_cur == 13
    np.testing.assert_array_equal(_concat(a_blocks)[0], np.arange(13))
    np.testing.assert_array_equal(_concat(b_blocks)[0], np.arange(13))
    again, cur = buf.read_since(a_cur)
    assert again == [] and cur == 13


def test_cursor_inside_a_block_cuts_it() -> None:
    buf = RingBuffer(capacity=1000)
    buf.write(_block(0, 10))
    blocks, cur = buf.read_since(4)
    assert cur == 10 and blocks[0].first_sample == 4
    np.testing.assert_array_equal(blocks[0].data[0], np.arange(4, 10))


def test_slow_reader_is_told_how_many_samples_it_missed() -> None:
    buf = RingBuffer(capacity=20)
    for k in range(10):
        buf.write(_block(10 * k, 10))
    got = buf.read(0)
    # 100 written, capacity 20: the two newest blocks are held, 80 samples missed
    assert got.n_missed == 80
    assert got.blocks[0].first_sample == 80 and got.cursor == 100
    np.testing.assert_array_equal(_concat(list(got.blocks))[0], np.arange(80, 100))
    assert buf.read(got.cursor).n_missed == 0


def test_read_since_logs_missed_samples(caplog: pytest.LogCaptureFixture) -> None:
    buf = RingBuffer(capacity=5)
    for k in range(4):
        buf.write(_block(5 * k, 5))
    with caplog.at_level("WARNING", logger="twitchscope.acquisition.transport.ring_buffer"):
        _, cur = buf.read_since(0)
    assert cur == 20
    assert "missed 15 samples" in caplog.text


def test_memory_is_bounded() -> None:
    buf = RingBuffer(capacity=50)
    for k in range(1000):
        buf.write(_block(7 * k, 7))
    assert buf.end_sample - buf.start_sample <= 50 + 7
    assert buf.n_written == 7000


def test_device_gaps_keep_their_count() -> None:
    buf = RingBuffer(capacity=100)
    buf.write(_block(0, 5))
    buf.write(_block(8, 5, n_lost_before=3))
    blocks, cur = buf.read_since(0)
    assert cur == 13 and blocks[1].n_lost_before == 3


def test_shared_arrays_are_read_only() -> None:
    buf = RingBuffer(capacity=100)
    buf.write(_block(0, 5))
    (block,), _ = buf.read_since(0)
    with pytest.raises(ValueError):
        block.data[0, 0] = 99.0


def test_out_of_order_or_mismatched_blocks_are_refused() -> None:
    buf = RingBuffer(capacity=100)
    buf.write(_block(0, 5))
    with pytest.raises(ConfigError, match="stream order"):
        buf.write(_block(3, 5))
    other = SampleBlock(np.zeros((1, 2)), sfreq=SFREQ, first_sample=5, ch_names=("x",))
    with pytest.raises(ConfigError, match="does not match"):
        buf.write(other)
    with pytest.raises(ConfigError, match="capacity"):
        RingBuffer(capacity=0)


def test_wait_for_times_out_and_wakes_on_close() -> None:
    buf = RingBuffer(capacity=10)
    assert buf.wait_for(1, timeout=0.01) is False
    t = threading.Thread(target=buf.close)
    t.start()
    assert buf.wait_for(1, timeout=10.0) is False  # woken by close, not by data
    t.join()
    assert buf.closed


def test_one_producer_three_readers_with_real_threads() -> None:
    """Each reader thread sees every sample exactly once, in order, or is told what it missed."""
    n_blocks, block_len = 2000, 3
    total = n_blocks * block_len
    buf = RingBuffer(capacity=total)  # big enough: nobody may miss anything
    small = RingBuffer(capacity=16)  # tiny: the slow reader must miss samples
    start = threading.Barrier(5)

    def produce() -> None:
        start.wait()
        for k in range(n_blocks):
            block = _block(k * block_len, block_len)
            buf.write(block)
            small.write(block)
        buf.close()
        small.close()

    results: dict[str, tuple[np.ndarray, int]] = {}

    def consume(name: str, source: RingBuffer) -> None:
        start.wait()
        cursor, parts, missed = 0, [], 0
        while True:
            got = source.read(cursor)
            missed += got.n_missed
            parts.extend(b.data[0] for b in got.blocks)
            cursor = got.cursor
            if cursor >= total:
                break
            source.wait_for(cursor + 1, timeout=10.0)
        results[name] = (np.concatenate(parts), missed)

    threads = [threading.Thread(target=produce)]
    threads += [threading.Thread(target=consume, args=(f"r{i}", buf)) for i in range(3)]
    threads.append(threading.Thread(target=consume, args=("slow", small)))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive()
    for i in range(3):
        seen, missed = results[f"r{i}"]
        assert missed == 0
        np.testing.assert_array_equal(seen, np.arange(total))
    seen, missed = results["slow"]
    # whatever the slow reader saw is in order with no repeats, and the rest was reported
    assert np.all(np.diff(seen) > 0)
    assert len(seen) + missed == total


@given(
    sizes=st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=40),
    capacity=st.integers(min_value=1, max_value=60),
    read_every=st.integers(min_value=1, max_value=8),
    lost=st.lists(st.integers(min_value=0, max_value=3), min_size=40, max_size=40),
)
@settings(max_examples=50, deadline=None)
def test_any_write_read_pattern_accounts_for_every_sample(sizes, capacity, read_every, lost):
    """Whatever the block sizes, capacity and read rhythm: each sample is seen once or missed."""
    buf = RingBuffer(capacity=capacity)
    first, cursor, seen, missed, gaps_seen = 0, 0, [], 0, 0
    written = []
    for k, n in enumerate(sizes):
        first += lost[k]
        buf.write(_block(first, n, n_lost_before=lost[k]))
        written.extend(range(first, first + n))
        first += n
        if k % read_every == read_every - 1 or k == len(sizes) - 1:
            got = buf.read(cursor)
            assert got.cursor >= cursor
            missed += got.n_missed
            for b in got.blocks:
                seen.extend(b.data[0].astype(int).tolist())
                gaps_seen += b.n_lost_before
            cursor = got.cursor
    assert seen == sorted(set(seen))  # in order, no repeats
    assert set(seen) <= set(written)
    assert seen[-1] == written[-1]  # the newest sample is always held
    # every position of the stream is seen, or missed (buffer too small), or was
    # lost by the device and announced by the block after it -- exactly once
    assert len(seen) + missed + gaps_seen == written[-1] + 1
