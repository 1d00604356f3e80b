"""Join parsed chunks and feed a parser piece by piece (pure helpers for any Parser)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from twitchscope.acquisition.boards.base import ParsedChunk, Parser, ParserState

__all__ = ["concat_chunks", "parse_pieces", "split_at"]


def concat_chunks(chunks: Sequence[ParsedChunk], n_channels: int, n_aux: int = 0) -> ParsedChunk:
    """One chunk holding ``chunks`` in order, gap indices shifted to the joined samples.

    Parameters
    ----------
    chunks : sequence of ParsedChunk
        Consecutive chunks of one stream.
    n_channels, n_aux : int
        Row counts, used when ``chunks`` is empty.

    Returns
    -------
    ParsedChunk
        Samples and aux concatenated along time; gaps and messages in order.
    """
    if not chunks:
        return ParsedChunk(samples=np.zeros((n_channels, 0)), aux=np.zeros((n_aux, 0)))
    gaps: list[tuple[int, int]] = []
    messages: list[str] = []
    offset = 0
    for c in chunks:
        gaps.extend((offset + i, n) for i, n in c.gaps)
        messages.extend(c.messages)
        offset += c.n_samples
    return ParsedChunk(
        samples=np.concatenate([c.samples for c in chunks], axis=1),
        aux=np.concatenate([c.aux for c in chunks], axis=1),
        gaps=tuple(gaps),
        messages=tuple(messages),
    )


def split_at(data: bytes, cuts: Iterable[int]) -> list[bytes]:
    """Pieces of ``data`` cut at the sorted ``cuts`` (clipped to the data; empty pieces kept)."""
    edges = [0, *sorted(min(max(int(c), 0), len(data)) for c in cuts), len(data)]
    return [data[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]


def parse_pieces(
    parser: Parser, pieces: Iterable[bytes], state: ParserState | None = None
) -> tuple[ParsedChunk, ParserState]:
    """Parse ``pieces`` in order, passing the state on; return the joined chunk and last state."""
    st = parser.init_state() if state is None else state
    out = []
    for piece in pieces:
        chunk, st = parser.parse(piece, st)
        out.append(chunk)
    return concat_chunks(out, parser.spec.n_channels, len(parser.spec.aux_names)), st
