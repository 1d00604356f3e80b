"""The protocol registry and the chunk helpers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.acquisition.boards.chunks import concat_chunks, parse_pieces, split_at
from twitchscope.acquisition.boards.base import ParsedChunk
from twitchscope.acquisition.boards.registry import PROTOCOLS, ProtocolInfo, make_parser
from twitchscope.signal.core.errors import ConfigError

OPTIONS = {
    "cyton": {},
    "openeeg": {"sfreq": 250.0},
    "chords": {"board": "UNO-R4"},
    "spiker": {"n_channels": 2},
    "ascii": {"sfreq": 500.0, "n_channels": 2, "scale": 1e-6, "discard_first_line": False},
}
ENCODE_OPTIONS = {
    "cyton": {},
    "openeeg": {},
    "chords": {"adc_bits": 14, "vref": 5.0},
    "spiker": {},
    "ascii": {"scale": 1e-6},
}


def test_registry_lists_the_five_protocols_and_never_1200_baud() -> None:
    assert set(PROTOCOLS) == {"cyton", "openeeg", "chords", "spiker", "ascii"}
    for name, info in PROTOCOLS.items():
        assert info.name == name
        assert 1200 not in info.probe_baudrates and info.baudrate != 1200
        assert info.baudrate in info.probe_baudrates
    with pytest.raises(ConfigError, match="1200"):
        ProtocolInfo("x", dict, bytes, 1200, (1200,), "bad")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_factory_and_encoder_round_trip(name: str) -> None:
    parser = make_parser(name, **OPTIONS[name])
    assert parser.spec.protocol == name
    assert parser.spec.baudrate == PROTOCOLS[name].baudrate
    x = np.zeros((parser.spec.n_channels, 20))
    data = PROTOCOLS[name].encode(parser.spec, x, first_counter=0, **ENCODE_OPTIONS[name])
    chunk, state = parse_pieces(parser, [data, b"\x80" if name == "spiker" else b""])
    assert chunk.n_samples == 20
    assert np.max(np.abs(chunk.samples)) < 1e-2  # zero volts, within one count of any scale
    assert state.n_bytes_dropped == 0


def test_make_parser_rejects_unknown_names_and_options() -> None:
    with pytest.raises(ConfigError, match="'protocol' parameter"):
        make_parser("bluetooth")
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['baud'\]"):
        make_parser("spiker", baud=9600)


def test_concat_chunks_shifts_gap_indices() -> None:
    a = ParsedChunk(np.ones((2, 3)), np.zeros((0, 3)), gaps=((1, 4),), messages=("hi",))
    b = ParsedChunk(np.ones((2, 2)), np.zeros((0, 2)), gaps=((0, 2),))
    out = concat_chunks([a, b], 2)
    assert out.n_samples == 5 and out.gaps == ((1, 4), (3, 2)) and out.messages == ("hi",)
    assert concat_chunks([], 2, 1).samples.shape == (2, 0)
    assert split_at(b"abcdef", [4, 2, 2, 99]) == [b"ab", b"", b"cd", b"ef", b""]
