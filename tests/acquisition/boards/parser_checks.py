"""Assertions shared by the protocol-parser tests (not a test module)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tests.acquisition.boards.chunks import parse_pieces, split_at
from twitchscope.acquisition.boards.base import ParsedChunk, Parser
from twitchscope.acquisition.boards.counters import LOOKAHEAD


def assert_same_chunks(a: ParsedChunk, b: ParsedChunk) -> None:
    """Two parse results hold the same samples, aux, gaps and messages."""
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.aux, b.aux)
    assert a.gaps == b.gaps
    assert a.messages == b.messages


def assert_split_invariant(parser: Parser, data: bytes, cuts: Iterable[int]) -> ParsedChunk:
    """Parsing ``data`` split at ``cuts`` equals parsing it whole, and every byte is counted.

    Returns the whole-stream result.
    """
    whole, s_whole = parse_pieces(parser, [data])
    split, s_split = parse_pieces(parser, split_at(data, list(cuts)))
    assert_same_chunks(whole, split)
    assert s_whole == s_split
    assert s_split.n_bytes_framed + s_split.n_bytes_dropped + len(s_split.pending) == len(data)
    return whole


def damage_packets(
    packets: Iterable[bytes],
    *,
    seed: int,
    counter_byte: int,
    message: bytes,
    flip_bit: bool = False,
) -> bytes:
    """Concatenate ``packets`` with the faults of a real link, drawn from ``seed``.

    Each packet gets the next counter value at ``counter_byte`` (which sometimes jumps),
    then, at random: a byte deleted, a byte replaced (or one bit flipped with
    ``flip_bit``), junk bytes before it, or the device text ``message`` before it.
    """
    rng = np.random.default_rng(seed)
    parts = []
    counter = 0
    for packet in packets:
        pkt = bytearray(packet)
        size = len(pkt)
        pkt[counter_byte] = counter % 256
        counter += 1
        r = rng.random()
        if r < 0.1:
            del pkt[int(rng.integers(size))]
        elif r < 0.2:
            if flip_bit:
                pkt[int(rng.integers(size))] ^= 1 << int(rng.integers(8))
            else:
                pkt[int(rng.integers(size))] = int(rng.integers(256))
        elif r < 0.3:
            parts.append(rng.integers(0, 256, int(rng.integers(1, 6)), dtype=np.uint8).tobytes())
        elif r < 0.35:
            counter += int(rng.integers(1, 9))
        elif r < 0.4:
            parts.append(message)
        parts.append(bytes(pkt))
    return b"".join(parts)


def placed_packets(kept: list[int]) -> list[int]:
    """Which of the packets that arrived intact (indices ``kept``) a parser places.

    The first one is dropped when the next is lost and two packets in a row follow
    within the lookahead: its counter cannot be told from a corrupt one
    (:mod:`twitchscope.acquisition.boards.counters`).
    """
    if len(kept) > 1 and kept[1] != kept[0] + 1:
        for k in range(2, min(LOOKAHEAD, len(kept) - 1) + 1):
            if kept[k] == kept[k - 1] + 1:
                return kept[1:]
    return kept


def expected_gaps(placed: list[int]) -> tuple[tuple[int, int], ...]:
    """``(index, n_lost)`` gaps between consecutive placed packets (none before the first)."""
    return tuple(
        (j, i - placed[j - 1] - 1) for j, i in enumerate(placed) if j and i - placed[j - 1] - 1
    )
