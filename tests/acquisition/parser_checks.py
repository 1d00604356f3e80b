"""Assertions shared by the protocol-parser tests (not a test module)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from twitchscope.acquisition.chunks import parse_pieces, split_at
from twitchscope.acquisition.protocol import ParsedChunk, Parser


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
