"""OpenBCI Cyton packets: framing, resync, gaps, Daisy pairing, the accelerometer, pyserial.

The resync property runs derandomized: with heavy damage (several packets cut, next
to one another), a real packet can in rare cases (about 1 in 10^5 streams in a
fuzz run) lose to a look-alike; a fixed example set keeps CI deterministic.
"""

from __future__ import annotations

import numpy as np
from hypothesis import example, given, settings
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
from twitchscope.acquisition.boards.cyton_packets import (
    ACCEL_G_PER_COUNT,
    CytonParser,
    encode,
    volts_per_count,
)

PARSER = CytonParser()
DAISY = CytonParser(daisy=True)
LSB = volts_per_count(24)
FAILURE = b"Failure: Communications timeout - Device failed to poll Host$$$"
cuts_st = st.lists(st.integers(min_value=0, max_value=3000), max_size=8)


def _counts(seed: int, n: int, n_ch: int = 8) -> np.ndarray:
    return np.random.default_rng(seed).integers(-(2**23), 2**23, size=(n_ch, n))


def _packets(
    counts: np.ndarray, first_counter: int = 0, parser: CytonParser = PARSER
) -> list[bytes]:
    data = encode(parser.spec, counts * LSB, first_counter=first_counter)
    return [data[i : i + 33] for i in range(0, len(data), 33)]


def _damaged_stream(seed: int, n: int) -> bytes:
    """Packets with dropped, inserted and flipped bytes, counter jumps and dongle text."""
    packets = _packets(_counts(seed, n))
    return damage_packets(packets, seed=seed, counter_byte=1, message=FAILURE, flip_bit=True)


def _conserved(state, n_bytes: int) -> None:
    assert state.n_bytes_framed + state.n_bytes_dropped + len(state.pending) == n_bytes


@given(seed=st.integers(0, 2**16), n=st.integers(0, 40), cuts=cuts_st)
@settings(max_examples=50, deadline=None)
def test_any_split_gives_the_same_result(seed: int, n: int, cuts: list[int]) -> None:
    data = _damaged_stream(seed, n)
    for parser in (PARSER, DAISY):  # the same packets read as Daisy pairs
        assert_split_invariant(parser, data, cuts)


@given(data=st.binary(max_size=3000), cuts=cuts_st)
@settings(max_examples=50, deadline=None)
def test_random_garbage_never_raises_and_every_byte_is_counted(
    data: bytes, cuts: list[int]
) -> None:
    for parser in (PARSER, DAISY):
        chunk, state = parse_pieces(parser, split_at(data, cuts))
        assert chunk.samples.shape[0] == parser.spec.n_channels
        assert chunk.aux.shape == (3, chunk.n_samples)
        _conserved(state, len(data))


@given(
    seed=st.integers(0, 2**16),
    damaged=st.sets(st.integers(1, 28), max_size=6),
    kind=st.sampled_from(["delete", "end", "header", "truncate"]),
)
@settings(max_examples=50, deadline=None, derandomize=True)  # see the module docstring
def test_damaged_packets_are_lost_alone_and_become_gaps(
    seed: int, damaged: set[int], kind: str
) -> None:
    counts = _counts(seed, 30)
    rng = np.random.default_rng(seed)
    parts = []
    for i, pkt in enumerate(_packets(counts)):
        if i in damaged:
            b = bytearray(pkt)
            if kind == "delete":
                del b[int(rng.integers(33))]
            elif kind == "end":
                b[32] = 0xB0
            elif kind == "header":
                b[0] = 0x00
            else:
                b = b[: int(rng.integers(1, 33))]
            pkt = bytes(b)
        parts.append(pkt)
    chunk, state = parse_pieces(PARSER, [b"".join(parts)])
    kept = placed_packets([i for i in range(30) if i not in damaged])
    # the last packets may wait for the next ones to settle an overlap or confirm a jump
    assert len(kept) - 1 - LOOKAHEAD <= chunk.n_samples <= len(kept)
    np.testing.assert_array_equal(chunk.samples, counts[:, kept[: chunk.n_samples]] * LSB)
    assert chunk.gaps == expected_gaps(kept[: chunk.n_samples])
    assert state.n_bytes_dropped > 0 or not damaged or chunk.n_samples < len(kept)


@given(
    seed=st.integers(0, 2**16),
    gains=st.lists(st.sampled_from([1, 2, 4, 6, 8, 12, 24]), min_size=8, max_size=8),
)
@example(seed=152, gains=[1] * 8)  # header bytes in payloads delay two packets
@settings(max_examples=30, deadline=None)
def test_encoder_parser_round_trip_is_bit_exact(seed: int, gains: list[int]) -> None:
    parser = CytonParser(gains=gains)
    scale = np.array([volts_per_count(g) for g in gains])[:, None]
    x = np.random.default_rng(seed).uniform(-1, 1, (8, 50)) * scale * 2**22
    acc = np.random.default_rng(seed + 1).uniform(-3.9, 3.9, (3, 50))
    data = encode(parser.spec, x, gains=gains, aux=acc, first_counter=seed % 256)
    # three more packets: a packet whose payload holds a header byte waits until the
    # bytes after it settle where the next frame starts (a delay, never a loss)
    tail = encode(
        parser.spec, x[:, :3], gains=gains, aux=acc[:, :3], first_counter=(seed + 50) % 256
    )
    chunk, state = parser.parse(data + tail, parser.init_state())
    assert 50 <= chunk.n_samples <= 53
    got, got_aux = chunk.samples[:, :50], chunk.aux[:, :50]
    assert np.max(np.abs(got - x) / scale) <= 0.5
    assert np.max(np.abs(got_aux - acc)) <= ACCEL_G_PER_COUNT / 2
    assert encode(parser.spec, got, gains=gains, aux=got_aux, first_counter=seed % 256) == data
    assert state.n_bytes_dropped == 0 and chunk.gaps == ()
    assert len(state.pending) == 33 * (53 - chunk.n_samples)


def test_a_clean_stream_is_delayed_never_cut_by_header_bytes_in_payloads() -> None:
    """Regression (seed 152): two packets wait for the third; nothing is lost."""
    gains = [1] * 8
    parser = CytonParser(gains=gains)
    scale = np.array([volts_per_count(g) for g in gains])[:, None]
    x = np.random.default_rng(152).uniform(-1, 1, (8, 53)) * scale * 2**22
    data = encode(parser.spec, x, gains=gains, first_counter=152)
    first, state = parser.parse(data[: 51 * 33], parser.init_state())
    rest, state = parser.parse(data[51 * 33 :], state)
    assert first.n_samples + rest.n_samples >= 51
    both = np.concatenate([first.samples, rest.samples], axis=1)
    assert np.max(np.abs(both - x[:, : both.shape[1]]) / scale) <= 0.5
    assert state.n_bytes_dropped == 0


def test_last_packet_waits_only_when_a_header_byte_could_start_inside_it(pty_roundtrip) -> None:
    quiet = encode(PARSER.spec, np.zeros((8, 3)))  # no 0xA0 inside: out at once
    chunk, state = PARSER.parse(quiet, PARSER.init_state())
    assert chunk.n_samples == 3 and state.pending == b""
    loud = encode(PARSER.spec, np.full((8, 3), 0xA0A0A0 - 2**24) * LSB)  # 0xA0 everywhere
    chunk, state = PARSER.parse(loud, PARSER.init_state())
    assert chunk.n_samples == 2 and state.pending == loud[66:]
    chunk, state = PARSER.parse(encode(PARSER.spec, np.zeros((8, 1)), first_counter=3), state)
    assert chunk.n_samples == 2 and chunk.gaps == ()


def test_counter_jumps_and_wraparound_give_gaps() -> None:
    c = _counts(1, 12)
    data = (
        encode(PARSER.spec, c[:, :4] * LSB, first_counter=250)  # 250..253
        + encode(PARSER.spec, c[:, 4:8] * LSB, first_counter=1)  # 254, 255, 0 lost
        + encode(PARSER.spec, c[:, 8:] * LSB, first_counter=5)  # continues after 4
    )
    chunk, state = PARSER.parse(data, PARSER.init_state())
    assert chunk.gaps == ((4, 3),)
    assert state.last_counter == 8
    # the gap is measured against the counter carried in the state
    more, _ = PARSER.parse(encode(PARSER.spec, c[:, :2] * LSB, first_counter=20), state)
    assert more.gaps == ((0, 11),)


def test_dongle_text_between_packets_is_reported_verbatim_in_any_split() -> None:
    pkts = _packets(_counts(2, 4))
    data = pkts[0] + FAILURE + pkts[1] + b"\xc0\x00" + FAILURE + b"".join(pkts[2:])
    text = "Failure: Communications timeout - Device failed to poll Host"
    for cut in range(len(data) + 1):
        chunk, state = parse_pieces(PARSER, [data[:cut], data[cut:]])
        assert chunk.messages == (text, text)
        assert chunk.n_samples == 4
        assert state.n_bytes_dropped == 2  # the two binary junk bytes, not the text


def test_daisy_pairs_even_and_odd_packets_into_16_channels() -> None:
    counts = _counts(3, 20, 16)
    x = counts * LSB
    data = encode(DAISY.spec, x, first_counter=254)
    packets = [data[i : i + 33] for i in range(0, len(data), 33)]
    assert packets[0][1] == 254 and packets[1][1] == 255 and packets[2][1] == 0
    # even packet carries channels 9-16
    assert int.from_bytes(packets[0][2:5], "big", signed=True) == counts[8, 0]
    chunk, state = DAISY.parse(data, DAISY.init_state())
    np.testing.assert_array_equal(chunk.samples, x)
    assert DAISY.spec.sfreq == 125.0 and chunk.gaps == ()
    # lose the odd half of sample 5 and both halves of sample 9: 1 + 1 lost pairs
    broken = b"".join(p for i, p in enumerate(packets) if i not in (11, 18, 19))
    split, _ = parse_pieces(DAISY, split_at(broken, [33 * 10 + 5, 33 * 10 + 5, 400]))
    keep = [i for i in range(20) if i not in (5, 9)]
    np.testing.assert_array_equal(split.samples, x[:, keep])
    assert split.gaps == ((5, 1), (8, 1))


def test_daisy_half_sample_waits_in_the_state() -> None:
    data = encode(DAISY.spec, _counts(4, 3, 16) * LSB)
    chunk, state = DAISY.parse(data[: 3 * 33 + 7], DAISY.init_state())
    assert chunk.n_samples == 1 and state.extra[0] is not None
    chunk, state = DAISY.parse(data[3 * 33 + 7 :], state)
    assert chunk.n_samples == 2 and state.extra[0] is None


def test_accelerometer_holds_the_last_reading() -> None:
    acc = np.zeros((3, 12))
    acc[:, 0] = [0.5, -0.25, 1.0]
    acc[:, 10] = [0.0, 0.125, -1.0]
    chunk, state = PARSER.parse(
        encode(PARSER.spec, np.zeros((8, 12)), aux=acc), PARSER.init_state()
    )
    np.testing.assert_allclose(chunk.aux[:, :10], np.repeat([[0.5], [-0.25], [1.0]], 10, axis=1))
    np.testing.assert_allclose(chunk.aux[:, 10:], np.repeat([[0.0], [0.125], [-1.0]], 2, axis=1))
    assert state.extra[1] == (0.0, 0.125, -1.0)


def test_time_stamped_packets_carry_one_axis_by_counter() -> None:
    acc = np.zeros((3, 10))
    acc[0, 7] = 0.25  # counter 7 -> X (encoded as the first aux int16)
    acc[0, 9] = -0.5  # counter 9 -> Z
    chunk, _ = PARSER.parse(
        encode(PARSER.spec, np.zeros((8, 10)), aux=acc, footer=0xC4), PARSER.init_state()
    )
    np.testing.assert_allclose(chunk.aux[:, 9], [0.25, 0.0, -0.5])
    np.testing.assert_allclose(chunk.aux[:, 6], [0.0, 0.0, 0.0])


def test_parse_is_pure_and_never_mutates_state() -> None:
    data = _damaged_stream(5, 20)
    s0 = PARSER.parse(data[:100], PARSER.init_state())[1]
    before = (
        s0.pending,
        s0.n_bytes_dropped,
        s0.n_frames,
        s0.last_counter,
        s0.extra,
        s0.n_bytes_framed,
    )
    a, sa = PARSER.parse(data[100:], s0)
    b, sb = PARSER.parse(data[100:], s0)
    assert before == (
        s0.pending,
        s0.n_bytes_dropped,
        s0.n_frames,
        s0.last_counter,
        s0.extra,
        s0.n_bytes_framed,
    )
    assert_same_chunks(a, b)
    assert sa == sb
    empty, same = PARSER.parse(b"", s0)
    assert same is s0 and empty.n_samples == 0


def test_stream_through_a_real_pty_and_pyserial(pty_roundtrip) -> None:
    data = _damaged_stream(7, 300)
    received = pty_roundtrip(data, baudrate=115200)
    assert received == data
    direct, s_direct = PARSER.parse(data, PARSER.init_state())
    port_chunks, s_port = parse_pieces(PARSER, split_at(received, range(0, len(received), 777)))
    assert_same_chunks(direct, port_chunks)
    assert s_direct == s_port and direct.n_samples > 200
