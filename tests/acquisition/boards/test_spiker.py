"""SpikerShield parser: bit-7 framing, escaped messages, resync, round trip, pyserial."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.acquisition.boards.chunks import parse_pieces, split_at
from tests.acquisition.boards.parser_checks import assert_same_chunks, assert_split_invariant
from twitchscope.acquisition.boards.spiker import (
    SPIKER_BAUDRATE,
    SPIKER_VOLTS_PER_COUNT,
    SpikerParser,
    board_type,
    channels_command,
    encode,
    encode_message,
)
from twitchscope.signal.core.errors import ConfigError

VPC = SPIKER_VOLTS_PER_COUNT
PARSERS = {n: SpikerParser(n_channels=n) for n in (1, 2, 3, 6)}
cuts_st = st.lists(st.integers(min_value=0, max_value=2000), max_size=8)


def _codes(seed: int, n: int, n_ch: int) -> np.ndarray:
    """Random codes; up to 1024 frames, all different on channel 1 (a sample names its frame)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 1024, size=(n_ch, n))
    if n <= 1024:
        codes[0] = rng.permutation(1024)[:n]
    return codes


def _volts(codes: np.ndarray) -> np.ndarray:
    return (codes - 512.0) * VPC


def _frames(codes: np.ndarray) -> list[bytes]:
    n_ch = codes.shape[0]
    data = encode(PARSERS[n_ch].spec, _volts(codes))
    return [data[i : i + 2 * n_ch] for i in range(0, len(data), 2 * n_ch)]


def _damaged_stream(seed: int, n: int, n_ch: int) -> bytes:
    """Frames with deleted bytes, junk and messages spliced in anywhere (even mid-frame)."""
    rng = np.random.default_rng(seed)
    out = bytearray()
    for frame in _frames(_codes(seed, n, n_ch)):
        frame = bytearray(frame)
        r = rng.random()
        if r < 0.1:
            del frame[int(rng.integers(len(frame)))]
        elif r < 0.2:
            out += rng.integers(0, 256, int(rng.integers(1, 4)), dtype=np.uint8).tobytes()
        elif r < 0.3:
            at = int(rng.integers(len(frame) + 1))
            frame[at:at] = encode_message("HWT:MUSCLESS;")
        elif r < 0.33:
            out += b"\xff\xff\x01\x01\x80\xff" + b"x" * 5  # a message start never ended
        out += frame
    return bytes(out)


@given(
    seed=st.integers(0, 2**16),
    n=st.integers(0, 60),
    n_ch=st.sampled_from([1, 2, 3, 6]),
    cuts=cuts_st,
)
@settings(max_examples=50, deadline=None)
def test_any_split_gives_the_same_result(seed: int, n: int, n_ch: int, cuts: list[int]) -> None:
    parser = PARSERS[n_ch]
    data = _damaged_stream(seed, n, n_ch)
    assert_split_invariant(parser, data, cuts)


@given(data=st.binary(max_size=2000), cuts=cuts_st)
@settings(max_examples=50, deadline=None)
def test_random_garbage_never_raises_and_every_byte_is_counted(
    data: bytes, cuts: list[int]
) -> None:
    for parser in PARSERS.values():
        chunk, state = parse_pieces(parser, split_at(data, cuts))
        assert chunk.samples.shape == (parser.spec.n_channels, chunk.n_samples)
        assert state.n_bytes_framed + state.n_bytes_dropped + len(state.pending) == len(data)


@given(
    seed=st.integers(0, 2**16),
    n_ch=st.sampled_from([1, 2, 6]),
    damaged=st.dictionaries(st.integers(1, 38), st.integers(0, 11), max_size=6),
)
@settings(max_examples=50, deadline=None)
def test_deleted_bytes_lose_only_their_frames(
    seed: int, n_ch: int, damaged: dict[int, int]
) -> None:
    """A frame is lost with its deleted byte; losing a frame's first byte also costs the
    frame before it (that one can no longer be confirmed by a frame start after it).

    Damage is kept to frames at least two apart: a frame missing its tail next to one
    missing its head splice into a well-formed frame, which no check can tell from a
    real one in a format without counter or checksum (see the module docstring).
    """
    codes = _codes(seed, 40, n_ch)
    frames = _frames(codes)
    lost = set()
    damaged = {i: at for i, at in damaged.items() if i - 1 not in damaged}
    for i, at in damaged.items():
        at %= 2 * n_ch
        frames[i] = frames[i][:at] + frames[i][at + 1 :]
        lost.add(i)
        if at == 0:
            lost.add(i - 1)
    chunk, state = parse_pieces(PARSERS[n_ch], [b"".join(frames)])
    kept = [i for i in range(39) if i not in lost]  # the last frame waits for a next start
    np.testing.assert_array_equal(chunk.samples, _volts(codes[:, kept]))
    assert chunk.gaps == ()  # no counter in this format: losses cannot be counted
    assert state.n_bytes_dropped >= len(damaged)


@given(
    seed=st.integers(0, 2**16),
    n_ch=st.sampled_from([1, 2, 6]),
    junk=st.dictionaries(
        st.integers(0, 39 * 12),
        st.one_of(st.integers(0, 0x7F), st.integers(0x88, 0xFF)),
        max_size=6,
    ),
)
@settings(max_examples=50, deadline=None)
def test_inserted_bytes_never_make_a_wrong_sample(
    seed: int, n_ch: int, junk: dict[int, int]
) -> None:
    codes = _codes(seed, 40, n_ch)
    stream = bytearray(b"".join(_frames(codes)))
    for at in sorted(junk, reverse=True):
        stream[at:at] = bytes([junk[at]])
    chunk, _ = parse_pieces(PARSERS[n_ch], [bytes(stream)])
    lookup = {_volts(codes[:, i]).tobytes(): i for i in range(40)}
    index = [lookup.get(col.tobytes(), -1) for col in chunk.samples.T]
    assert -1 not in index and index == sorted(set(index))
    assert len(index) >= 39 - 2 * len(junk)


@given(seed=st.integers(0, 2**16), n_ch=st.sampled_from([1, 2, 3, 4, 5, 6]))
@settings(max_examples=30, deadline=None)
def test_encoder_parser_round_trip_is_bit_exact(seed: int, n_ch: int) -> None:
    parser = SpikerParser(n_channels=n_ch, volts_per_count=1e-6, offset_counts=500.0)
    assert parser.spec.sfreq == 10000.0 / n_ch
    x = np.random.default_rng(seed).uniform(-500, 523, (n_ch, 50)) * 1e-6
    data = encode(parser.spec, x, volts_per_count=1e-6, offset_counts=500.0)
    chunk, state = parser.parse(data + b"\x80", parser.init_state())  # a next frame start
    assert chunk.n_samples == 50
    assert np.max(np.abs(chunk.samples - x)) <= 0.5e-6 * (1 + 1e-9)
    assert encode(parser.spec, chunk.samples, volts_per_count=1e-6, offset_counts=500.0) == data
    assert state.pending == b"\x80" and state.n_bytes_dropped == 0


def test_byte_layout_matches_the_firmware(pty_roundtrip) -> None:
    # s = 0x2A5 = 0b10_1010_0101: high 3 bits 0b101, low 7 bits 0b0100101; first byte flagged
    data = encode(PARSERS[2].spec, _volts(np.array([[0x2A5], [0x07F]])))
    assert data == bytes([0x80 | 0b101, 0b0100101, 0x00, 0x7F])


def test_messages_are_removed_wherever_they_fall_and_reported() -> None:
    frames = _frames(_codes(1, 6, 2))
    msg = encode_message("HWT:MUSCLESS;")
    data = frames[0] + frames[1][:3] + msg + frames[1][3:] + b"".join(frames[2:])
    for cut in range(len(data) + 1):
        chunk, state = parse_pieces(PARSERS[2], [data[:cut], data[cut:]])
        assert chunk.messages == ("HWT:MUSCLESS;",)
        assert chunk.n_samples == 5 and state.n_bytes_dropped == 0
    assert board_type("HWT:MUSCLESS;") == "MUSCLESS" and board_type("StartUp!") is None


def test_commands_and_options() -> None:
    assert channels_command(3) == b"c:3;\n"
    with pytest.raises(ConfigError, match="1..6"):
        channels_command(7)
    with pytest.raises(ConfigError, match="1..6"):
        SpikerParser(n_channels=0)
    assert SPIKER_BAUDRATE == 222222


def test_parse_is_pure() -> None:
    parser = PARSERS[2]
    data = _damaged_stream(4, 40, 2)
    s0 = parser.parse(data[:33], parser.init_state())[1]
    a, sa = parser.parse(data[33:], s0)
    b, sb = parser.parse(data[33:], s0)
    assert_same_chunks(a, b)
    assert sa == sb and parser.parse(b"", s0)[1] is s0


def test_stream_through_a_real_pty_and_pyserial(pty_roundtrip) -> None:
    parser = PARSERS[2]
    data = _damaged_stream(7, 2000, 2)
    received = pty_roundtrip(data, baudrate=SPIKER_BAUDRATE)
    assert received == data
    direct, s_direct = parser.parse(data, parser.init_state())
    chunks, s_port = parse_pieces(parser, split_at(received, range(0, len(received), 257)))
    assert_same_chunks(direct, chunks)
    assert s_direct == s_port and direct.n_samples > 1000 and direct.messages
