"""OpenEEG P2 parser: framing with and without CRLF, resync, gaps, calibration, pyserial.

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
from twitchscope.acquisition.boards.counters import LOOKAHEAD
from twitchscope.acquisition.boards.openeeg import OLIMEX_VOLTS_PER_COUNT, OpenEEGParser, encode
from twitchscope.signal.core.errors import ConfigError

PARSER = OpenEEGParser(sfreq=256.0)
VPC = OLIMEX_VOLTS_PER_COUNT
cuts_st = st.lists(st.integers(min_value=0, max_value=2000), max_size=8)


def _codes(seed: int, n: int, n_ch: int = 6) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1024, size=(n_ch, n))


def _volts(codes: np.ndarray) -> np.ndarray:
    return (codes - 512.0) * VPC


def _damaged_stream(seed: int, n: int, crlf: bool) -> bytes:
    data = encode(PARSER.spec, _volts(_codes(seed, n)), crlf=crlf)
    size = 19 if crlf else 17
    packets = [data[i * size : (i + 1) * size] for i in range(n)]
    message = b"Olimex EKG-EMG demo\r\n"
    return damage_packets(packets, seed=seed, counter_byte=3, message=message)


@given(seed=st.integers(0, 2**16), n=st.integers(0, 40), crlf=st.booleans(), cuts=cuts_st)
@settings(max_examples=50, deadline=None)
def test_any_split_gives_the_same_result(seed: int, n: int, crlf: bool, cuts: list[int]) -> None:
    data = _damaged_stream(seed, n, crlf)
    assert_split_invariant(PARSER, data, cuts)


@given(data=st.binary(max_size=2000), cuts=cuts_st)
@settings(max_examples=50, deadline=None)
def test_random_garbage_never_raises_and_every_byte_is_counted(
    data: bytes, cuts: list[int]
) -> None:
    chunk, state = parse_pieces(PARSER, split_at(data, cuts))
    assert chunk.samples.shape[0] == 6 and chunk.aux.shape == (0, chunk.n_samples)
    assert state.n_bytes_framed + state.n_bytes_dropped + len(state.pending) == len(data)


@given(
    seed=st.integers(0, 2**16),
    damaged=st.sets(st.integers(1, 27), max_size=5),
    kind=st.sampled_from(["delete", "version", "sync", "truncate", "range"]),
    crlf=st.booleans(),
)
@settings(max_examples=50, deadline=None, derandomize=True)
def test_damaged_packets_are_lost_alone_and_become_gaps(
    seed: int, damaged: set[int], kind: str, crlf: bool
) -> None:
    codes = _codes(seed, 30)
    rng = np.random.default_rng(seed)
    data = encode(PARSER.spec, _volts(codes), crlf=crlf)
    size = 19 if crlf else 17
    parts = []
    for i in range(30):
        pkt = bytearray(data[i * size : (i + 1) * size])
        if i in damaged:
            if kind == "delete":
                del pkt[int(rng.integers(17))]
            elif kind == "version":
                pkt[2] = 3
            elif kind == "sync":
                pkt[1] = 0x55
            elif kind == "truncate":
                pkt = pkt[: int(rng.integers(1, 17))]
            else:
                pkt[4] = 0x04  # channel 1 above 10 bits
        parts.append(bytes(pkt))
    chunk, _ = parse_pieces(PARSER, [b"".join(parts)])
    # every sample is one of the packets sent, in order, with its true values: a damaged
    # packet may survive only when its data did (e.g. only its unused switches byte was
    # lost); every undamaged packet but the last two (they may wait) is there
    lookup = {_volts(codes[:, i]).tobytes(): i for i in range(30)}
    index = [lookup.get(col.tobytes(), -1) for col in chunk.samples.T]
    assert -1 not in index
    assert index == sorted(set(index))
    kept = placed_packets([i for i in range(30) if i not in damaged])
    assert set(kept[: -1 - LOOKAHEAD]) <= set(index)
    assert chunk.gaps == expected_gaps(index)


@given(seed=st.integers(0, 2**16), n_ch=st.integers(1, 6), crlf=st.booleans())
@settings(max_examples=30, deadline=None)
def test_encoder_parser_round_trip_is_bit_exact(seed: int, n_ch: int, crlf: bool) -> None:
    vpc, offset = 3.3 / 1024 / 1000, 500.0
    parser = OpenEEGParser(sfreq=125.0, n_channels=n_ch, volts_per_count=vpc, offset_counts=offset)
    x = np.random.default_rng(seed).uniform(-500, 523, (n_ch, 40)) * vpc
    kw = dict(volts_per_count=vpc, offset_counts=offset, crlf=crlf, first_counter=seed % 256)
    data = encode(parser.spec, x, **kw)
    chunk, state = parser.parse(data, parser.init_state())
    assert chunk.n_samples == 40  # the sync is 3 bytes long: no look-alike inside a packet
    assert np.max(np.abs(chunk.samples - x)) <= vpc / 2 + 1e-15
    assert encode(parser.spec, chunk.samples, **kw) == data
    assert state.n_bytes_dropped == 0 and state.n_bytes_framed == len(data)


def test_crlf_after_packets_is_framed_not_dropped_in_any_split(pty_roundtrip) -> None:
    data = encode(PARSER.spec, _volts(_codes(1, 5)), crlf=True)
    for cut in range(len(data) + 1):
        chunk, state = parse_pieces(PARSER, [data[:cut], data[cut:]])
        assert chunk.n_samples == 5
        assert state.n_bytes_dropped == 0 and state.n_bytes_framed == len(data)


def test_counter_jumps_give_gaps_and_text_lines_are_messages() -> None:
    c = _codes(2, 9)
    data = (
        encode(PARSER.spec, _volts(c[:, :3]), first_counter=254)
        + b"OpenEEG P2 stream at 256 Hz\r\n"
        + encode(PARSER.spec, _volts(c[:, 3:]), first_counter=3)
    )
    chunk, state = PARSER.parse(data, PARSER.init_state())
    assert chunk.gaps == ((3, 2),)  # 1 and 2 lost after 0
    assert chunk.messages == ("OpenEEG P2 stream at 256 Hz",)
    assert state.n_bytes_dropped == 0 and state.last_counter == 8


def test_fewer_channels_read_the_first_slots() -> None:
    parser = OpenEEGParser(sfreq=250.0, n_channels=2)
    full = encode(PARSER.spec, _volts(_codes(3, 4)))
    chunk, _ = parser.parse(full, parser.init_state())
    np.testing.assert_array_equal(chunk.samples, _volts(_codes(3, 4))[:2])


def test_parse_is_pure() -> None:
    data = _damaged_stream(4, 20, True)
    s0 = PARSER.parse(data[:50], PARSER.init_state())[1]
    a, sa = PARSER.parse(data[50:], s0)
    b, sb = PARSER.parse(data[50:], s0)
    assert_same_chunks(a, b)
    assert sa == sb and s0.n_frames == PARSER.parse(data[:50], PARSER.init_state())[1].n_frames
    assert PARSER.parse(b"", s0)[1] is s0


def test_bad_options_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="n_channels must be in 1..6"):
        OpenEEGParser(sfreq=256.0, n_channels=7)
    with pytest.raises(ConfigError, match="sfreq"):
        OpenEEGParser(sfreq=0)


def test_stream_through_a_real_pty_and_pyserial(pty_roundtrip) -> None:
    data = _damaged_stream(7, 400, True)
    received = pty_roundtrip(data, baudrate=57600)
    assert received == data
    direct, s_direct = PARSER.parse(data, PARSER.init_state())
    chunks, s_port = parse_pieces(PARSER, split_at(received, range(0, len(received), 513)))
    assert_same_chunks(direct, chunks)
    assert s_direct == s_port and direct.n_samples > 250
