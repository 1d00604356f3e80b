"""The contract every amplifier protocol implements: pure parsers and device descriptions.

A parser turns bytes into samples in volts. It is pure: ``parse(data, state)``
returns ``(ParsedChunk, new_state)`` and never mutates ``state``; bytes that do not
yet make a whole frame stay in ``state.pending``. Splitting a byte stream at any
points and passing the state on gives exactly the samples of one call on the whole
stream. Every byte is framed, dropped (counted in ``n_bytes_dropped``) or pending.

The thread, the port and the ring buffer live elsewhere (``reader.py``); a parser
knows nothing about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = ["ParserState", "ParsedChunk", "DeviceSpec", "Parser", "empty_chunk"]


@dataclass(frozen=True, slots=True)
class ParserState:
    """State a parser carries between calls.

    Parameters
    ----------
    pending : bytes
        Bytes kept for the next call (a partial frame, or a possible start of one).
    n_bytes_dropped : int
        Bytes discarded so far because they could not be framed (resync).
    n_frames : int
        Frames decoded so far.
    last_counter : int or None
        The last frame counter seen, for protocols that carry one (to find gaps).
    extra : tuple
        Protocol-specific immutable state (e.g. the Daisy half-sample of a Cyton).
    n_bytes_framed : int
        Bytes used so far: decoded frames, their tolerated trailers (e.g. a CRLF
        after an OpenEEG packet) and device text messages. Every byte seen is
        counted exactly once: ``n_bytes_framed + n_bytes_dropped + len(pending)``
        is the number of bytes passed to ``parse`` since ``init_state``.
    """

    pending: bytes = b""
    n_bytes_dropped: int = 0
    n_frames: int = 0
    last_counter: int | None = None
    extra: tuple[object, ...] = ()
    n_bytes_framed: int = 0


@dataclass(frozen=True, slots=True)
class ParsedChunk:
    """What one ``parse`` call produced.

    Parameters
    ----------
    samples : array, shape (n_channels, n_samples)
        EMG samples in volts.
    aux : array, shape (n_aux, n_samples)
        Auxiliary channels (e.g. accelerometer, in their own units); 0 rows if none.
    gaps : tuple of (int, int)
        ``(index, n_lost)``: ``n_lost`` samples were lost just before sample
        ``index`` of this chunk (from a counter jump). Lost samples are never
        fabricated.
    messages : tuple of str
        Text the device sent between frames (e.g. a dongle's ``Failure: ...``),
        verbatim.
    """

    samples: NDArray[np.float64]
    aux: NDArray[np.float64]
    gaps: tuple[tuple[int, int], ...] = ()
    messages: tuple[str, ...] = field(default=())

    @property
    def n_samples(self) -> int:
        """Number of samples in the chunk."""
        return int(self.samples.shape[1])


def empty_chunk(n_channels: int, n_aux: int = 0) -> ParsedChunk:
    """A chunk with no samples."""
    return ParsedChunk(samples=np.zeros((n_channels, 0)), aux=np.zeros((n_aux, 0)))


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """What is known about a board before opening it.

    Parameters
    ----------
    protocol : str
        Protocol name as used on the command line (``cyton``, ``openeeg``,
        ``chords``, ``spiker``, ``ascii``).
    sfreq : float
        Sampling rate the board streams at, Hz.
    ch_names : tuple of str
        EMG channel names, board order.
    aux_names : tuple of str
        Auxiliary channel names (``misc`` in MNE), may be empty.
    baudrate : int
        Serial baud rate.
    """

    protocol: str
    sfreq: float
    ch_names: tuple[str, ...]
    aux_names: tuple[str, ...] = ()
    baudrate: int = 115200

    @property
    def n_channels(self) -> int:
        """Number of EMG channels."""
        return len(self.ch_names)


class Parser(Protocol):
    """A pure protocol parser (structural type)."""

    spec: DeviceSpec

    def init_state(self) -> ParserState:
        """The state before any byte was seen."""
        ...

    def parse(self, data: bytes, state: ParserState) -> tuple[ParsedChunk, ParserState]:
        """Decode ``data`` after ``state``; never mutates ``state``."""
        ...
