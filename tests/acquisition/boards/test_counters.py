"""Packet counters: a corrupt counter byte is not a loss, a confirmed jump is (every protocol).

The fuzz corrupts counter bytes (only them) of a clean stream of every protocol with a
counter, cuts the stream anywhere, and checks that the samples are exactly the samples
sent, in place, with no gap: nothing lost, nothing invented.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.acquisition.boards.chunks import parse_pieces, split_at
from tests.acquisition.boards.parser_checks import placed_packets
from twitchscope.acquisition.boards.base import Parser
from twitchscope.acquisition.boards.chords import ChordsParser
from twitchscope.acquisition.boards.chords import encode as chords_encode
from twitchscope.acquisition.boards.counters import (
    DROP,
    LOOKAHEAD,
    counter_gaps,
    settle_counters,
)
from twitchscope.acquisition.boards.cyton_packets import CytonParser
from twitchscope.acquisition.boards.cyton_packets import encode as cyton_encode
from twitchscope.acquisition.boards.openeeg import OpenEEGParser
from twitchscope.acquisition.boards.openeeg import encode as openeeg_encode


@dataclass(frozen=True)
class _Protocol:
    parser: Parser
    encode: Callable[[np.ndarray], bytes]
    packet_len: int
    counter_byte: int
    packets_per_sample: int = 1


def _cyton(daisy: bool) -> _Protocol:
    p = CytonParser(daisy=daisy)
    return _Protocol(
        p,
        lambda x: cyton_encode(p.spec, x * 1e-4),
        33,
        1,
        2 if daisy else 1,
    )


_OPENEEG = OpenEEGParser(sfreq=256.0)
_CHORDS = ChordsParser("UNO-R3")
PROTOCOLS = {
    "cyton": _cyton(False),
    "cyton-daisy": _cyton(True),
    "openeeg": _Protocol(_OPENEEG, lambda x: openeeg_encode(_OPENEEG.spec, x * 1e-5), 17, 3),
    "openeeg-crlf": _Protocol(
        _OPENEEG, lambda x: openeeg_encode(_OPENEEG.spec, x * 1e-5, crlf=True), 19, 3
    ),
    "chords": _Protocol(
        _CHORDS, lambda x: chords_encode(_CHORDS.spec, x, adc_bits=10, vref=5.0), 16, 2
    ),
}


def _signal(seed: int, n_channels: int, n: int) -> np.ndarray:
    """Smooth-ish values well inside every protocol's range (arbitrary units)."""
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n_channels, n))


def _leading_run(corrupt: dict[int, int]) -> int:
    r = 0
    while r in corrupt:
        r += 1
    return r


@given(
    name=st.sampled_from(sorted(PROTOCOLS)),
    seed=st.integers(0, 2**16),
    n=st.integers(8, 60),
    corrupt=st.dictionaries(st.integers(0, 119), st.integers(0, 255), max_size=12),
    cuts=st.lists(st.integers(0, 3000), max_size=6),
)
@settings(max_examples=300, deadline=None)
def test_corrupt_counter_bytes_never_invent_a_gap_or_shift_a_sample(
    name: str, seed: int, n: int, corrupt: dict[int, int], cuts: list[int]
) -> None:
    proto = PROTOCOLS[name]
    parser = proto.parser
    data = proto.encode(_signal(seed, parser.spec.n_channels, n))
    n_packets = n * proto.packets_per_sample
    size = proto.packet_len
    assert len(data) == n_packets * size
    clean, _ = parse_pieces(parser, [data])
    assert clean.n_samples == n - 1 or clean.n_samples == n  # the last may wait for one more
    buf = bytearray(data)
    true = {i: buf[i * size + proto.counter_byte] for i in range(n_packets)}
    corrupt = {i: v for i, v in corrupt.items() if i < n_packets and v != true[i]}
    # the guarantee: runs of at most LOOKAHEAD corrupt counters, which do not by chance
    # read as consecutive counters of one another
    run = 0
    for i in range(n_packets):
        run = run + 1 if i in corrupt else 0
        assume(run <= LOOKAHEAD)
    for a in corrupt:
        for b in corrupt:
            assume(not 0 < b - a <= LOOKAHEAD or corrupt[b] != (corrupt[a] + b - a) % 256)
    for i, v in corrupt.items():
        buf[i * size + proto.counter_byte] = v
    chunk, state = parse_pieces(parser, split_at(bytes(buf), cuts))

    assert chunk.gaps == ()
    assert state.n_bytes_dropped == 0
    # a leading corrupt counter cannot be placed: those packets are dropped
    start = -(-_leading_run(corrupt) // proto.packets_per_sample)
    m = chunk.n_samples
    np.testing.assert_array_equal(chunk.samples, clean.samples[:, start : start + m])
    # only the last few packets may wait for the packets that would confirm them
    assert m >= n - start - LOOKAHEAD - 1


@given(
    name=st.sampled_from(sorted(PROTOCOLS)),
    seed=st.integers(0, 2**16),
    n=st.integers(10, 60),
    lost=st.sets(st.integers(1, 59), max_size=6),
    corrupt_after=st.booleans(),
    cuts=st.lists(st.integers(0, 3000), max_size=6),
)
@settings(max_examples=200, deadline=None)
def test_real_losses_are_counted_exactly_even_next_to_a_corrupt_counter(
    name: str, seed: int, n: int, lost: set[int], corrupt_after: bool, cuts: list[int]
) -> None:
    proto = PROTOCOLS[name]
    if proto.packets_per_sample != 1:
        return  # Daisy pairs: covered by the corrupt-counter fuzz and the Cyton tests
    parser = proto.parser
    data = proto.encode(_signal(seed, parser.spec.n_channels, n))
    size = proto.packet_len
    clean, _ = parse_pieces(parser, [data + proto.encode(np.zeros((parser.spec.n_channels, 1)))])
    lost = {i for i in lost if i < n - 1}
    packets = [bytearray(data[i * size : (i + 1) * size]) for i in range(n)]
    kept = [i for i in range(n) if i not in lost]
    if corrupt_after and lost:
        # a corrupt counter on the packet right after the first loss (not the last packet)
        j = min(i for i in kept if i > min(lost))
        if 2 + LOOKAHEAD <= j < n - 1 and j + 1 in kept:
            packets[j][proto.counter_byte] ^= 0x5A
    buf = b"".join(bytes(packets[i]) for i in kept)
    chunk, _ = parse_pieces(parser, split_at(buf, cuts))
    m = chunk.n_samples
    placed = placed_packets(kept)[:m]
    np.testing.assert_array_equal(chunk.samples, clean.samples[:, placed])
    # the total lost before each sample is exact (where a corrupt packet sat in a gap is not)
    n_lost = sum(k for _, k in chunk.gaps)
    assert n_lost == placed[-1] - placed[0] - (m - 1)
    assert m >= len(kept) - 1 - LOOKAHEAD


def test_one_corrupt_counter_is_a_corrupt_packet_not_two_jumps() -> None:
    assert settle_counters(np.array([5, 6, 99, 8, 9]), 4).tolist() == [5, 6, 7, 8, 9]
    gaps, last = counter_gaps(settle_counters(np.array([5, 6, 99, 8, 9]), 4), 4)
    assert gaps == () and last == 9


def test_a_jump_is_believed_once_the_next_packet_confirms_it() -> None:
    assert settle_counters(np.array([5, 20]), 4).tolist() == [5]  # 20 waits
    assert settle_counters(np.array([5, 20, 21]), 4).tolist() == [5, 20, 21]
    assert counter_gaps(np.array([5, 20, 21]), 4)[0] == ((1, 14),)


def test_the_counter_wraps() -> None:
    assert settle_counters(np.array([255, 7, 1, 2]), 254).tolist() == [255, 0, 1, 2]
    assert settle_counters(np.array([255, 3, 4]), 254).tolist() == [255, 3, 4]


def test_a_first_packet_out_of_line_with_the_next_ones_is_dropped() -> None:
    assert settle_counters(np.array([77, 1, 2, 3]), None).tolist() == [DROP, 1, 2, 3]
    assert settle_counters(np.array([0, 1, 2]), None).tolist() == [0, 1, 2]


def test_a_cyton_stream_with_one_corrupt_counter_keeps_every_sample_in_place() -> None:
    """The case of the issue: one bad byte used to insert 256 zero samples and shift the rest."""
    proto = PROTOCOLS["cyton"]
    data = bytearray(proto.encode(_signal(0, 8, 40)))
    data[10 * 33 + 1] = 200
    clean, _ = parse_pieces(proto.parser, [bytes(data[: 10 * 33]), bytes(data[11 * 33 :])])
    chunk, _ = parse_pieces(proto.parser, [bytes(data)])
    assert chunk.gaps == ()
    assert chunk.n_samples == 40
    np.testing.assert_array_equal(chunk.samples[:, :10], clean.samples[:, :10])
