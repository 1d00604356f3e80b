"""The board registry (the one place a board is found by name) and the chunk helpers."""

from __future__ import annotations

import numpy as np
import pytest

from tests.acquisition.boards.chunks import concat_chunks, parse_pieces, split_at
from twitchscope.acquisition.boards import cyton
from twitchscope.acquisition.boards.base import Board, ParsedChunk
from twitchscope.acquisition.boards.handshake import PassiveDriver
from twitchscope.acquisition.boards.registry import (
    BOARD_ADAPTERS,
    BOARDS,
    PROBE_ORDER,
    driver_for,
    get_board,
    make_driver,
    make_parser,
    make_personality,
)
from twitchscope.acquisition.transport.ports import KNOWN_ADAPTERS
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


def test_registry_lists_the_five_boards_and_never_1200_baud() -> None:
    assert tuple(BOARDS) == ("cyton", "openeeg", "chords", "spiker", "ascii")
    for name, board in BOARDS.items():
        assert board.name == name and get_board(name) is board
        assert 1200 not in board.probe_baudrates and board.baudrate != 1200
        assert board.baudrate in board.probe_baudrates
    with pytest.raises(ConfigError, match="1200"):
        Board("x", "bad", dict, bytes, 1200, (1200,), cyton.probe, 0, cyton.emulate)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", tuple(BOARDS))
def test_every_board_has_parser_driver_probe_and_personality(name: str) -> None:
    """The registry is the single source: each board brings all four, under its own name."""
    board = BOARDS[name]
    parser = make_parser(name, **OPTIONS[name])
    assert parser.spec.protocol == name and isinstance(parser, board.parser)
    personality = make_personality(name)
    assert personality.protocol == name and personality.spec.protocol == name
    assert personality.n_channels >= 1 and personality.sfreq > 0
    driver = driver_for(personality)
    assert driver.protocol == name and driver.baudrate == board.baudrate
    if board.driver is None:  # takes no commands: read by its parser, as emulated
        assert isinstance(driver, PassiveDriver)
        assert driver.parser.spec == personality.spec
    else:
        assert isinstance(driver, board.driver)
    # handshake, probe and emulation of a board live in its one module
    module = f"twitchscope.acquisition.boards.{name}"
    pieces = [board.probe, board.emulate, type(personality)]
    assert {p.__module__ for p in pieces + ([board.driver] if board.driver else [])} == {module}
    for adapter in board.usb_adapters:
        assert adapter.protocols == (name,)


def test_probe_order_lists_every_board_once_and_listens_before_it_writes() -> None:
    assert sorted(PROBE_ORDER) == sorted(BOARDS)
    passive = [n for n in PROBE_ORDER if BOARDS[n].driver is None]
    assert list(PROBE_ORDER[: len(passive)]) == passive == ["openeeg", "ascii"]
    assert PROBE_ORDER == ("openeeg", "ascii", "spiker", "cyton", "chords")


def test_board_specific_usb_adapters_are_in_the_port_table() -> None:
    assert {a.vid for a in BOARD_ADAPTERS} == {0x0403, 0x2E73}
    assert set(BOARD_ADAPTERS) <= set(KNOWN_ADAPTERS)


def test_drivers_and_personalities_refuse_unknown_names_and_options() -> None:
    with pytest.raises(ConfigError, match="'protocol' parameter"):
        make_driver("bluetooth")
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['gain'\] for protocol 'cyton'"):
        make_driver("cyton", gain=24)
    with pytest.raises(ConfigError, match=r"expected some of: sfreq, n_channels"):
        make_driver("openeeg", board="UNO-R4")
    with pytest.raises(
        ConfigError,
        match=r"unknown emulator option\(s\) \['crlf'\] for 'chords'; "
        r"expected some of: board, gain, sfreq\.",
    ):
        make_personality("chords", crlf=True)
    with pytest.raises(ConfigError, match="'protocol' parameter"):
        make_personality("bluetooth")


def test_host_options_follow_each_board_and_build_a_driver() -> None:
    """What the user gives (rate, channels, scale) reaches only the boards that take it."""
    assert BOARDS["cyton"].host_options(sfreq=500.0, n_channels=4, scale=2.0) == {}
    assert BOARDS["openeeg"].host_options() == {"sfreq": 250.0}
    assert BOARDS["openeeg"].host_options(sfreq=256.0, n_channels=2) == {
        "sfreq": 256.0,
        "n_channels": 2,
    }
    assert BOARDS["spiker"].host_options(sfreq=500.0, n_channels=3) == {"n_channels": 3}
    assert BOARDS["ascii"].host_options(sfreq=500.0) == {
        "sfreq": 500.0,
        "n_channels": 1,
        "scale": 1e-6,
    }
    with pytest.raises(ConfigError, match="--sfreq is required for the ascii protocol"):
        BOARDS["ascii"].host_options()
    for name, board in BOARDS.items():
        opts = board.host_options(sfreq=500.0) if board.needs_sfreq else board.host_options()
        assert make_driver(name, **opts) is not None


def test_emulator_flags_name_real_keywords_of_emulate() -> None:
    """Each simulate flag a board declares is accepted by its emulator."""
    declared = {name: dict(b.emulator_flags) for name, b in BOARDS.items() if b.emulator_flags}
    assert declared == {"chords": {"board": "board"}, "spiker": {"channels": "power_up_channels"}}
    assert make_personality("chords", board="UNO-R4").n_channels >= 1
    assert make_personality("spiker", n_channels=3, power_up_channels=3).n_channels == 3


@pytest.mark.parametrize("name", sorted(OPTIONS))
def test_factory_and_encoder_round_trip(name: str) -> None:
    parser = make_parser(name, **OPTIONS[name])
    assert parser.spec.protocol == name
    assert parser.spec.baudrate == BOARDS[name].baudrate
    x = np.zeros((parser.spec.n_channels, 20))
    data = BOARDS[name].encode(parser.spec, x, first_counter=0, **ENCODE_OPTIONS[name])
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
