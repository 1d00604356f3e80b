"""The one registry of amplifier boards: name -> :class:`~twitchscope.acquisition.boards.base.Board`.

The names are those of the command line (``--protocol``). Everything the rest of
the package asks about a board goes through here: its parser
(:func:`make_parser`), its host-side driver (:func:`make_driver`), its probe and
baud rates (:data:`BOARDS`, :data:`PROBE_ORDER`), its emulated personality
(:func:`make_personality`) and the driver that reads a personality as configured
(:func:`driver_for`). Adding a board means writing its module (ending with a
``BOARD``) and listing it in :data:`BOARDS`.

Examples
--------
>>> parser = make_parser("chords", board="UNO-R3")
>>> parser.spec.sfreq, parser.spec.n_channels
(250.0, 6)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final

from twitchscope.acquisition.boards import ascii as ascii_lines
from twitchscope.acquisition.boards import chords, cyton, openeeg, spiker
from twitchscope.acquisition.boards.base import Board, KnownAdapter, Parser, Personality
from twitchscope.acquisition.boards.handshake import Driver, PassiveDriver
from twitchscope.signal.core.checks import check_option
from twitchscope.signal.core.errors import ConfigError

__all__ = [
    "BOARDS",
    "PROBE_ORDER",
    "BOARD_ADAPTERS",
    "get_board",
    "make_parser",
    "make_driver",
    "make_personality",
    "driver_for",
]

#: every board, in the order the command line lists them
BOARDS: Final[Mapping[str, Board]] = MappingProxyType(
    {b.name: b for b in (cyton.BOARD, openeeg.BOARD, chords.BOARD, spiker.BOARD, ascii_lines.BOARD)}
)

#: the order a port scan tries the boards in (by ``probe_rank``: boards whose probe
#: never writes first, since a command can disturb another kind of board)
PROBE_ORDER: Final = tuple(sorted(BOARDS, key=lambda name: BOARDS[name].probe_rank))

#: USB VID:PIDs that only one board uses, from the boards' modules
BOARD_ADAPTERS: Final[tuple[KnownAdapter, ...]] = tuple(
    adapter for b in BOARDS.values() for adapter in b.usb_adapters
)


def get_board(name: str) -> Board:
    """The board called ``name``.

    Raises
    ------
    ConfigError
        If no board has that name.
    """
    return BOARDS[check_option("protocol", name, tuple(BOARDS))]


def make_parser(name: str, **options: Any) -> Parser:
    """Build the parser of protocol ``name`` from keyword options.

    Raises
    ------
    ConfigError
        If the protocol is unknown or an option is not one of the parser's.
    """
    board = get_board(name)
    _refuse_unknown(board.parser, options, f"for protocol {name!r}")
    return board.parser(**options)


def make_driver(name: str, **options: Any) -> Driver:
    """The host-side driver of protocol ``name``, from keyword options.

    Cyton, Chords and Spiker take the options of their driver class
    (:class:`~twitchscope.acquisition.boards.cyton.CytonDriver`, …); OpenEEG and
    ASCII, which take no commands, take their parser's options (``sfreq``,
    ``n_channels``, ``scale``…, ``baudrate`` among them) and are read by a
    :class:`~twitchscope.acquisition.boards.handshake.PassiveDriver`.

    Raises
    ------
    ConfigError
        On an unknown protocol or option.
    """
    board = get_board(name)
    if board.driver is None:
        return PassiveDriver(make_parser(name, **options))
    _refuse_unknown(board.driver, options, f"for protocol {name!r}")
    return board.driver(**options)


def make_personality(name: str, *, n_channels: int | None = None, **options: Any) -> Personality:
    """The emulated board of protocol ``name`` in its power-up state.

    Parameters
    ----------
    name : str
        One of :data:`BOARDS`.
    n_channels : int or None
        Channels to emulate (Cyton 8 or 16; OpenEEG 1-6; Spiker 1-6; ASCII any;
        a Chords board has its own count, chosen by ``board``).
    **options
        The keyword options of the board module's ``emulate``: Cyton ``daisy``,
        ``board_off``; OpenEEG ``sfreq``, ``crlf``; Chords ``board``, ``gain``,
        ``sfreq``; Spiker ``power_up_channels``, ``banner``, ``gain``; ASCII
        ``sfreq``, ``gain``, ``counter``.

    Raises
    ------
    ConfigError
        On an unknown protocol or option, or an impossible channel count.
    """
    board = get_board(name)
    _refuse_unknown(board.emulate, options, f"for {name!r}", kind="emulator ", skip="n_channels")
    return board.emulate(n_channels=n_channels, **options)


def driver_for(personality: Personality) -> Driver:
    """The host-side driver that reads this emulated board as configured.

    OpenEEG and ASCII streams do not describe themselves, so their parser must be
    told the emulator's rate, channels and scale; the Chords, Spiker and ASCII
    boards' assumed gain must be told too. The personality says what
    (:meth:`~twitchscope.acquisition.boards.base.Personality.reader_options`).
    """
    return make_driver(personality.protocol, **personality.reader_options())


def _refuse_unknown(
    factory: Callable[..., Any],
    options: Mapping[str, Any],
    target: str,
    *,
    kind: str = "",
    skip: str = "",
) -> None:
    """Refuse keyword options ``factory`` does not take, naming the ones it does."""
    params = [p for p in inspect.signature(factory).parameters if p != skip]
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise ConfigError(
            f"unknown {kind}option(s) {unknown} {target}; expected some of: {', '.join(params)}."
        )
