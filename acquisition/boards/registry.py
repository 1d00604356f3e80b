"""Registry of the amplifier protocols: name -> parser factory, encoder and baud rates.

The names are those of the command line (``--protocol``). ``probe_baudrates`` are
the rates a port scan may try for the protocol; 1200 is never among them (opening
a native-USB Arduino at 1200 baud reboots it into its bootloader).

Examples
--------
>>> parser = make_parser("chords", board="UNO-R3")
>>> parser.spec.sfreq, parser.spec.n_channels
(250.0, 6)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

from twitchscope.acquisition.boards import ascii as ascii_lines
from twitchscope.acquisition.boards import chords, cyton, openeeg, spiker
from twitchscope.acquisition.boards.base import Parser
from twitchscope.signal.core.checks import check_option
from twitchscope.signal.core.errors import ConfigError

__all__ = ["ProtocolInfo", "PROTOCOLS", "make_parser", "FORBIDDEN_BAUDRATES"]

#: never open a port at these rates (1200: the Arduino bootloader "touch")
FORBIDDEN_BAUDRATES: Final = frozenset({1200})


@dataclass(frozen=True, slots=True)
class ProtocolInfo:
    """What the rest of the package needs to know about one protocol.

    Parameters
    ----------
    name : str
        Protocol name (``--protocol``).
    factory : callable
        ``factory(**options) -> Parser``; the parser class.
    encode : callable
        ``encode(spec, samples_volts, *, first_counter=0, ...) -> bytes``.
    baudrate : int
        Default baud rate.
    probe_baudrates : tuple of int
        Rates to try when probing a port, most likely first (never 1200).
    description : str
        One line for ``--help`` and port listings.
    """

    name: str
    factory: Callable[..., Parser]
    encode: Callable[..., bytes]
    baudrate: int
    probe_baudrates: tuple[int, ...]
    description: str

    def __post_init__(self) -> None:
        bad = FORBIDDEN_BAUDRATES.intersection(self.probe_baudrates)
        if bad or self.baudrate in FORBIDDEN_BAUDRATES:
            raise ConfigError(
                f"protocol {self.name!r} must not use baud rate 1200, got {self.probe_baudrates}."
            )


PROTOCOLS: Final = MappingProxyType(
    {
        "cyton": ProtocolInfo(
            "cyton",
            cyton.CytonParser,
            cyton.encode,
            cyton.CYTON_BAUDRATE,
            cyton.CYTON_PROBE_BAUDRATES,
            "OpenBCI Cyton (+Daisy) via USB dongle, 250 Hz (125 Hz with Daisy)",
        ),
        "openeeg": ProtocolInfo(
            "openeeg",
            openeeg.OpenEEGParser,
            openeeg.encode,
            openeeg.OPENEEG_BAUDRATE,
            openeeg.OPENEEG_PROBE_BAUDRATES,
            "OpenEEG P2 packets (Olimex SHIELD-EKG-EMG), rate set by the sketch",
        ),
        "chords": ProtocolInfo(
            "chords",
            chords.ChordsParser,
            chords.encode,
            chords.CHORDS_BAUDRATE,
            chords.CHORDS_PROBE_BAUDRATES,
            "Upside Down Labs Chords firmware (BioAmp), board identified by WHORU",
        ),
        "spiker": ProtocolInfo(
            "spiker",
            spiker.SpikerParser,
            spiker.encode,
            spiker.SPIKER_BAUDRATE,
            spiker.SPIKER_PROBE_BAUDRATES,
            "Backyard Brains SpikerShield, 10 kHz shared by 1-6 channels",
        ),
        "ascii": ProtocolInfo(
            "ascii",
            ascii_lines.AsciiLinesParser,
            ascii_lines.encode,
            ascii_lines.ASCII_BAUDRATE,
            ascii_lines.ASCII_PROBE_BAUDRATES,
            "Text lines of numbers (Arduino, MyoWare, BioAmp sketches, Serial Plotter)",
        ),
    }
)


def make_parser(name: str, **options: Any) -> Parser:
    """Build the parser of protocol ``name`` from keyword options.

    Raises
    ------
    ConfigError
        If the protocol is unknown or an option is not one of the parser's.
    """
    info = PROTOCOLS[check_option("protocol", name, tuple(PROTOCOLS))]
    params = inspect.signature(info.factory).parameters
    unknown = sorted(set(options) - set(params))
    if unknown:
        allowed = ", ".join(params)
        raise ConfigError(
            f"unknown option(s) {unknown} for protocol {name!r}; expected some of: {allowed}."
        )
    return info.factory(**options)
