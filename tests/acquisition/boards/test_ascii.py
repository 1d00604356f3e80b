"""ASCII-lines parser: formats, junk lines, counters and timestamps, round trip, pyserial."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.acquisition.boards.chunks import parse_pieces, split_at
from tests.acquisition.boards.parser_checks import assert_same_chunks, assert_split_invariant
from twitchscope.acquisition.boards.ascii import ASCII_PROBE_BAUDRATES, AsciiLinesParser, encode
from twitchscope.signal.core.errors import ConfigError

SCALE = 5.0 / 1024 / 200  # raw 10-bit MyoWare RAW output, gain 200
OPTS = dict(sfreq=500.0, n_channels=3, scale=SCALE, offset=512.0)
PLAIN = AsciiLinesParser(**OPTS, discard_first_line=False)
COUNTED = AsciiLinesParser(**OPTS, index_column="counter", discard_first_line=False)
cuts_st = st.lists(st.integers(min_value=0, max_value=3000), max_size=8)
formats = st.sampled_from([(" ", False), (",", False), ("\t", False), (",", True), (" ", True)])


def _codes(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 1024, size=(3, n))


def _volts(codes: np.ndarray) -> np.ndarray:
    return (codes - 512.0) * SCALE


def _lines(
    parser: AsciiLinesParser, codes: np.ndarray, sep: str, labels: bool, **kw
) -> list[bytes]:
    text = encode(
        parser.spec,
        _volts(codes),
        scale=SCALE,
        offset=512.0,
        sep=sep,
        labels=labels,
        index_column=parser.index_column,
        **kw,
    )
    return text.splitlines(keepends=True)


def _damaged_stream(seed: int, n: int, sep: str, labels: bool) -> bytes:
    rng = np.random.default_rng(seed)
    out = []
    for line in _lines(COUNTED, _codes(seed, n), sep, labels):
        r = rng.random()
        if r < 0.1:
            at = int(rng.integers(len(line)))
            line = line[:at] + line[at + 1 :]
        elif r < 0.2:
            out.append(rng.integers(0, 256, int(rng.integers(1, 20)), dtype=np.uint8).tobytes())
        elif r < 0.25:
            out.append(b"MyoWare Single Sensor Example 01\r\n")
        elif r < 0.28:
            out.append(b"9" * 1500)  # a runaway line, longer than max_line_len
        out.append(line)
    return b"".join(out)


@given(seed=st.integers(0, 2**16), n=st.integers(0, 40), fmt=formats, cuts=cuts_st)
@settings(max_examples=50, deadline=None)
def test_any_split_gives_the_same_result(seed: int, n: int, fmt, cuts: list[int]) -> None:
    data = _damaged_stream(seed, n, *fmt)
    for parser in (COUNTED, AsciiLinesParser(**OPTS, index_column="counter")):
        assert_split_invariant(parser, data, cuts)


@given(data=st.binary(max_size=3000), cuts=cuts_st)
@settings(max_examples=50, deadline=None)
def test_random_garbage_never_raises_and_every_byte_is_counted(
    data: bytes, cuts: list[int]
) -> None:
    for parser in (PLAIN, COUNTED):
        chunk, state = parse_pieces(parser, split_at(data, cuts))
        assert chunk.samples.shape == (3, chunk.n_samples)
        assert np.all(np.isfinite(chunk.samples))
        assert state.n_bytes_framed + state.n_bytes_dropped + len(state.pending) == len(data)


@given(
    text=st.text(alphabet="0123456789 ,\t:.-+eE\r\nabc", max_size=400),
    cuts=st.lists(st.integers(0, 400), max_size=6),
)
@settings(max_examples=50, deadline=None)
def test_number_like_garbage_never_raises_and_splits_alike(text: str, cuts: list[int]) -> None:
    data = text.encode("ascii")
    whole, s_whole = parse_pieces(PLAIN, [data])
    split, s_split = parse_pieces(PLAIN, split_at(data, cuts))
    assert_same_chunks(whole, split)
    assert s_whole == s_split
    assert np.all(np.isfinite(whole.samples))


@given(
    seed=st.integers(0, 2**16),
    damaged=st.dictionaries(
        st.integers(1, 28), st.sampled_from(["newline", "sep", "letter"]), max_size=6
    ),
    fmt=formats,
)
@settings(max_examples=50, deadline=None)
def test_broken_lines_are_lost_alone_and_counter_jumps_are_gaps(
    seed: int, damaged: dict, fmt
) -> None:
    codes = _codes(seed, 30)
    lines = _lines(COUNTED, codes, *fmt)
    lost = set()
    for i, kind in damaged.items():
        line = lines[i]
        if kind == "newline":  # two lines merge: both are lost
            lines[i] = line.rstrip(b"\r\n")
            lost |= {i, i + 1}
        elif kind == "sep":  # two fields merge
            at = line.index(fmt[0].encode())
            lines[i] = line[:at] + line[at + 1 :]
            lost.add(i)
        else:
            lines[i] = line[:2] + b"x" + line[2:]
            lost.add(i)
    chunk, _ = parse_pieces(COUNTED, [b"".join(lines)])
    kept = [i for i in range(30) if i not in lost]
    np.testing.assert_allclose(chunk.samples, _volts(codes[:, kept]), rtol=0, atol=1e-15)
    expected = tuple(
        (j, i - (kept[j - 1] if j else -1) - 1)
        for j, i in enumerate(kept)
        if i - (kept[j - 1] if j else -1) - 1
    )
    assert chunk.gaps == expected


@given(
    seed=st.integers(0, 2**16), fmt=formats, decimals=st.integers(0, 3), first=st.integers(0, 10**6)
)
@settings(max_examples=30, deadline=None)
def test_encoder_parser_round_trip_is_bit_exact(seed: int, fmt, decimals: int, first: int) -> None:
    x = np.random.default_rng(seed).normal(0, 2e-3, (3, 40))
    kw = dict(scale=SCALE, offset=512.0, sep=fmt[0], labels=fmt[1], decimals=decimals)
    data = encode(COUNTED.spec, x, index_column="counter", first_counter=first, **kw)
    chunk, state = COUNTED.parse(data, COUNTED.init_state())
    assert chunk.n_samples == 40 and chunk.gaps == ()
    assert np.max(np.abs(chunk.samples - x)) <= SCALE * 0.5 * 10**-decimals * (1 + 1e-9)
    again = encode(COUNTED.spec, chunk.samples, index_column="counter", first_counter=first, **kw)
    assert again == data
    assert state.pending == b"" and state.n_bytes_dropped == 0 and state.n_bytes_framed == len(data)


def test_timestamp_column_gives_gaps_and_wraps(pty_roundtrip) -> None:
    parser = AsciiLinesParser(
        **OPTS, index_column="timestamp", counter_modulo=2**32, discard_first_line=False
    )
    t0 = 2**32 // 2000 * 1000 - 6  # micros() wraps at 2**32 during this stream
    x = _volts(_codes(1, 10))
    lines = encode(
        parser.spec, x, scale=SCALE, offset=512.0, index_column="timestamp", first_counter=t0
    )
    lines = lines.splitlines(keepends=True)
    fixed = []
    for line in lines:
        us, rest = line.split(b" ", 1)
        fixed.append(b"%d %s" % (int(us) % 2**32, rest))
    chunk, state = parser.parse(b"".join(fixed[:4] + fixed[7:]), parser.init_state())
    assert chunk.gaps == ((4, 3),)
    assert state.extra[2] == int(fixed[-1].split()[0])


def test_counter_modulo_and_state_carry() -> None:
    parser = AsciiLinesParser(
        **OPTS, index_column="counter", counter_modulo=256, discard_first_line=False
    )
    x = _volts(_codes(2, 6))
    a = encode(
        parser.spec, x[:, :3], scale=SCALE, offset=512.0, index_column="counter", first_counter=254
    )
    a = a.replace(b"256 ", b"0 ")
    b = encode(
        parser.spec, x[:, 3:], scale=SCALE, offset=512.0, index_column="counter", first_counter=3
    )
    chunk, state = parser.parse(a, parser.init_state())
    assert chunk.gaps == () and state.last_counter == 0
    chunk, state = parser.parse(b, state)
    assert chunk.gaps == ((0, 2),)


def test_first_line_banner_and_runaway_lines() -> None:
    parser = AsciiLinesParser(**OPTS)  # discards the first (partial) line
    body = encode(parser.spec, _volts(_codes(3, 4)), scale=SCALE, offset=512.0)
    data = (
        b"23 511 600\r\n"
        + b"MyoWare Single Sensor Example 01\r\n"
        + body
        + b"7" * 2000
        + b" 1 2\r\n"
        + body
    )
    for cut in (0, 5, 12, 40, 100, 1000, len(data)):
        chunk, state = parse_pieces(parser, [data[:cut], data[cut:]])
        assert chunk.n_samples == 8
        assert chunk.messages == ("MyoWare Single Sensor Example 01",)
        assert state.n_bytes_dropped == len(b"23 511 600\r\n") + 2000 + len(b" 1 2\r\n")


def test_serial_plotter_labels_are_dropped_and_values_kept_in_order() -> None:
    data = b"emg:512,env:600,raw:100\nemg:513 env:601 raw:101\r\nnan 1 2\r\novf,1,2\n1e999 1 2\n"
    chunk, state = PLAIN.parse(data, PLAIN.init_state())
    np.testing.assert_allclose(
        chunk.samples, _volts(np.array([[512, 513], [600, 601], [100, 101]]))
    )
    assert chunk.messages == ()  # "nan", "ovf" are junk, not text
    assert state.n_bytes_dropped == len(b"nan 1 2\r\novf,1,2\n1e999 1 2\n")


def test_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="sfreq"):
        AsciiLinesParser(sfreq=None, n_channels=1, scale=1.0)
    with pytest.raises(ConfigError, match="index_column"):
        AsciiLinesParser(sfreq=100.0, n_channels=1, scale=1.0, index_column="time")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="scale"):
        AsciiLinesParser(sfreq=100.0, n_channels=1, scale=0.0)
    assert 1200 not in ASCII_PROBE_BAUDRATES


def test_parse_is_pure() -> None:
    data = _damaged_stream(4, 20, ",", True)
    s0 = COUNTED.parse(data[:70], COUNTED.init_state())[1]
    a, sa = COUNTED.parse(data[70:], s0)
    b, sb = COUNTED.parse(data[70:], s0)
    assert_same_chunks(a, b)
    assert sa == sb and COUNTED.parse(b"", s0)[1] is s0


def test_stream_through_a_real_pty_and_pyserial(pty_roundtrip) -> None:
    parser = AsciiLinesParser(**OPTS, index_column="counter")
    data = _damaged_stream(7, 600, ",", True)
    received = pty_roundtrip(data, baudrate=115200)
    assert received == data
    direct, s_direct = parser.parse(data, parser.init_state())
    chunks, s_port = parse_pieces(parser, split_at(received, range(0, len(received), 97)))
    assert_same_chunks(direct, chunks)
    assert s_direct == s_port and direct.n_samples > 400 and direct.gaps
