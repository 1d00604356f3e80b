"""Chords parser: board table, framing, resync, gaps, WHORU helpers, pyserial.

The resync property runs derandomized (see test_cyton.py for why).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.acquisition.boards.chunks import parse_pieces, split_at
from tests.acquisition.boards.parser_checks import (
    assert_same_chunks,
    assert_split_invariant,
    damage_packets,
    expected_gaps,
    placed_packets,
)
from twitchscope.acquisition.boards.chords import (
    CHORDS_BOARDS,
    CHORDS_PROBE_BAUDRATES,
    ChordsParser,
    board_from_whoru,
    encode,
)
from twitchscope.acquisition.boards.counters import LOOKAHEAD
from twitchscope.signal.core.errors import ConfigError, DeviceError

PARSER = ChordsParser("UNO-R3")
BOARD = CHORDS_BOARDS["UNO-R3"]
VPC = BOARD.vref / 2**BOARD.adc_bits
SIZE = 2 * 6 + 4
cuts_st = st.lists(st.integers(min_value=0, max_value=2000), max_size=8)


def _codes(seed: int, n: int, n_ch: int = 6, bits: int = 10) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2**bits, size=(n_ch, n))


def _volts(codes: np.ndarray, bits: int = 10, vref: float = 5.0) -> np.ndarray:
    return (codes - 2.0 ** (bits - 1)) * vref / 2**bits


def _enc(x: np.ndarray, first_counter: int = 0) -> bytes:
    return encode(PARSER.spec, x, adc_bits=10, vref=5.0, first_counter=first_counter)


def _damaged_stream(seed: int, n: int) -> bytes:
    data = _enc(_volts(_codes(seed, n)))
    packets = [data[i * SIZE : (i + 1) * SIZE] for i in range(n)]
    return damage_packets(packets, seed=seed, counter_byte=2, message=b"UNO-R3\r\n")


@given(seed=st.integers(0, 2**16), n=st.integers(0, 40), cuts=cuts_st)
@settings(max_examples=50, deadline=None)
def test_any_split_gives_the_same_result(seed: int, n: int, cuts: list[int]) -> None:
    data = _damaged_stream(seed, n)
    assert_split_invariant(PARSER, data, cuts)


@given(data=st.binary(max_size=2000), cuts=cuts_st)
@settings(max_examples=50, deadline=None)
def test_random_garbage_never_raises_and_every_byte_is_counted(
    data: bytes, cuts: list[int]
) -> None:
    for parser in (PARSER, ChordsParser("GIGA-R1")):
        chunk, state = parse_pieces(parser, split_at(data, cuts))
        assert chunk.samples.shape[0] == parser.spec.n_channels
        assert state.n_bytes_framed + state.n_bytes_dropped + len(state.pending) == len(data)


@given(
    seed=st.integers(0, 2**16),
    damaged=st.sets(st.integers(1, 27), max_size=5),
    kind=st.sampled_from(["delete", "end", "sync", "truncate", "range"]),
)
@settings(max_examples=50, deadline=None, derandomize=True)
def test_damaged_packets_are_lost_alone_and_become_gaps(
    seed: int, damaged: set[int], kind: str
) -> None:
    codes = _codes(seed, 30)
    rng = np.random.default_rng(seed)
    data = _enc(_volts(codes))
    parts = []
    for i in range(30):
        pkt = bytearray(data[i * SIZE : (i + 1) * SIZE])
        if i in damaged:
            if kind == "delete":
                del pkt[int(rng.integers(SIZE))]
            elif kind == "end":
                pkt[-1] = 0x02
            elif kind == "sync":
                pkt[0] = 0x00
            elif kind == "truncate":
                pkt = pkt[: int(rng.integers(1, SIZE))]
            else:
                pkt[3] = 0x80  # channel 1 above 10 bits
        parts.append(bytes(pkt))
    chunk, _ = parse_pieces(PARSER, [b"".join(parts)])
    kept = placed_packets([i for i in range(30) if i not in damaged])
    assert len(kept) - 1 - LOOKAHEAD <= chunk.n_samples <= len(kept)
    np.testing.assert_array_equal(chunk.samples, _volts(codes[:, kept[: chunk.n_samples]]))
    assert chunk.gaps == expected_gaps(kept[: chunk.n_samples])


@given(seed=st.integers(0, 2**16), board=st.sampled_from(sorted(CHORDS_BOARDS)))
@settings(max_examples=30, deadline=None)
def test_encoder_parser_round_trip_is_bit_exact_for_every_board(seed: int, board: str) -> None:
    b = CHORDS_BOARDS[board]
    parser = ChordsParser(board, gain=100.0)
    vpc = b.vref / 2**b.adc_bits / 100.0
    x = (
        np.random.default_rng(seed).uniform(
            -(2 ** (b.adc_bits - 1)), 2 ** (b.adc_bits - 1) - 1, (b.n_channels, 30)
        )
        * vpc
    )
    kw = dict(adc_bits=b.adc_bits, vref=b.vref, gain=100.0, first_counter=seed % 256)
    data = encode(parser.spec, x, **kw)
    nxt = encode(parser.spec, x[:, :1], **{**kw, "first_counter": (seed + 30) % 256})
    chunk, state = parser.parse(data + nxt, parser.init_state())
    assert parser.spec.sfreq == b.sfreq and parser.spec.n_channels == b.n_channels
    assert chunk.n_samples in (30, 31)
    got = chunk.samples[:, :30]
    assert np.max(np.abs(got - x)) <= vpc / 2 * (1 + 1e-9)
    assert encode(parser.spec, got, **kw) == data
    assert state.n_bytes_dropped == 0 and chunk.gaps == ()


def test_counter_jumps_give_gaps_and_board_text_is_a_message(pty_roundtrip) -> None:
    c = _codes(2, 8)
    data = _enc(_volts(c[:, :4]), 100) + b"UNO-R3\r\n" + _enc(_volts(c[:, 4:]), 110)
    for cut in range(0, len(data) + 1, 3):
        chunk, state = parse_pieces(PARSER, [data[:cut], data[cut:]])
        assert chunk.messages == ("UNO-R3",)
        assert chunk.n_samples + len(state.pending) // SIZE == 8
        assert chunk.gaps == ((4, 6),)
        assert state.n_bytes_dropped == 0


def test_board_table_and_whoru() -> None:
    assert board_from_whoru(b"UNO-R4\r\n") == CHORDS_BOARDS["UNO-R4"]
    assert CHORDS_BOARDS["UNO-R4"].sfreq == 500.0 and CHORDS_BOARDS["UNO-R4"].adc_bits == 14
    assert CHORDS_BOARDS["STM32G4-CORE-BOARD"].n_channels == 16
    assert board_from_whoru(b"\r\nNPG-LITE-6CH\r\n").n_channels == 6
    with pytest.raises(DeviceError, match="unknown Chords board"):
        board_from_whoru(b"HELLO\r\n")
    assert 1200 not in CHORDS_PROBE_BAUDRATES and CHORDS_PROBE_BAUDRATES[0] == 230400
    with pytest.raises(ConfigError, match="board"):
        ChordsParser("UNO-R5")
    with pytest.raises(ConfigError, match="all of sfreq"):
        ChordsParser(sfreq=250.0, n_channels=3)
    custom = ChordsParser(sfreq=1000.0, n_channels=2, adc_bits=12, vref=3.3)
    assert custom.spec.n_channels == 2 and custom.layout.length == 8


def test_parse_is_pure() -> None:
    data = _damaged_stream(4, 20)
    s0 = PARSER.parse(data[:40], PARSER.init_state())[1]
    a, sa = PARSER.parse(data[40:], s0)
    b, sb = PARSER.parse(data[40:], s0)
    assert_same_chunks(a, b)
    assert sa == sb
    assert PARSER.parse(b"", s0)[1] is s0


def test_stream_through_a_real_pty_and_pyserial(pty_roundtrip) -> None:
    data = _damaged_stream(7, 400)
    received = pty_roundtrip(data, baudrate=230400)
    assert received == data
    direct, s_direct = PARSER.parse(data, PARSER.init_state())
    chunks, s_port = parse_pieces(PARSER, split_at(received, range(0, len(received), 301)))
    assert_same_chunks(direct, chunks)
    assert s_direct == s_port and direct.n_samples > 250
