"""The contract every amplifier board implements, and the :class:`Board` that describes one.

A parser turns bytes into samples in volts. It is pure: ``parse(data, state)``
returns ``(ParsedChunk, new_state)`` and never mutates ``state``; bytes that do not
yet make a whole frame stay in ``state.pending``. Splitting a byte stream at any
points and passing the state on gives exactly the samples of one call on the whole
stream. Every byte is framed, dropped (counted in ``n_bytes_dropped``) or pending.

The thread, the port and the ring buffer live elsewhere (``transport/reader.py``);
a parser knows nothing about them.

Each board module (``cyton``, ``openeeg``, ``chords``, ``spiker``, ``ascii``) ends
with one :class:`Board`: its parser and encoder, its host-side driver
(:class:`~twitchscope.acquisition.boards.handshake.Driver`), its probe, its
emulated :class:`Personality` (what the pty emulator plays), its baud rates and
the USB adapters only it uses. :mod:`twitchscope.acquisition.boards.registry`
lists them by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.errors import ConfigError

if TYPE_CHECKING:
    import serial

    from twitchscope.acquisition.boards.handshake import Driver

__all__ = [
    "ParserState",
    "ParsedChunk",
    "DeviceSpec",
    "Parser",
    "empty_chunk",
    "Personality",
    "KnownAdapter",
    "ProbeFunction",
    "Board",
    "FORBIDDEN_BAUDRATE",
    "EMULATOR_GAIN",
]

#: Opening a native-USB Arduino (Leonardo, R4, Pico…) at 1200 baud reboots it into its
#: bootloader (the "1200-bps touch"), so this package never does.
FORBIDDEN_BAUDRATE: Final = 1200

#: amplifier gain the emulator assumes in front of the Chords, Spiker and ASCII boards'
#: ADCs (the reference code does not give it), so that microvolt EMG spans many counts
EMULATOR_GAIN: Final = 1000.0


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


class Personality(Protocol):
    """How one kind of board behaves on the wire, for the pty emulator (structural type).

    Each personality also says how its samples are quantised (``volts = (count -
    zero_count) * volts_per_count``), so tests and the ``simulate`` command can
    state what "bit-exact within quantisation" means, and which options a reader
    must be given to read it as configured (:meth:`reader_options`).

    Attributes
    ----------
    protocol : str
        Protocol name.
    spec : DeviceSpec
        What the board streams now.
    sfreq : float
        Rate the board samples at now, Hz (may change on a command).
    n_channels : int
        Source rows the board sends now.
    streaming : bool
        Whether it streams now (boards without start/stop stream at power-up).
    volts_per_count, zero_count : float, int
        The quantisation of its samples.
    """

    protocol: str
    spec: DeviceSpec
    sfreq: float
    n_channels: int
    streaming: bool
    volts_per_count: float
    zero_count: int

    def power_up(self) -> bytes:
        """Reset to the power-up state; return what the board prints at boot."""
        ...

    def on_bytes(self, data: bytes) -> bytes:
        """Handle bytes from the host; return the reply (may change ``streaming``)."""
        ...

    def encode(self, block: NDArray[np.float64], first_index: int) -> list[bytes]:
        """Encode samples ``first_index…`` (volts, (n_channels, n)) as one packet per sample."""
        ...

    def corrupt(self, packet: bytes) -> bytes:
        """Return ``packet`` with its framing broken so no parser accepts it."""
        ...

    def reader_options(self) -> dict[str, Any]:
        """Options of the board's ``make_driver`` that read it as configured."""
        ...


@dataclass(frozen=True, slots=True)
class KnownAdapter:
    """A USB VID:PID and what it probably is.

    Parameters
    ----------
    vid : int
        USB vendor id.
    pid : int or None
        USB product id, or None for any product of that vendor.
    label : str
        What a port with this id probably is.
    protocols : tuple of str
        Protocols worth probing on it, most likely first.
    """

    vid: int
    pid: int | None
    label: str
    protocols: tuple[str, ...]


#: ``probe(port, listen_s, reply_timeout_s) -> (ok, detail)`` on a port opened at one
#: of the board's probe baud rates; ``detail`` identifies what answered or says why not
ProbeFunction = Callable[["serial.Serial", float, float], tuple[bool, str]]


@dataclass(frozen=True, slots=True)
class Board:
    """Everything the package knows about one kind of board.

    Parameters
    ----------
    name : str
        Protocol name (``--protocol``).
    description : str
        One line for ``--help`` and port listings.
    parser : callable
        ``parser(**options) -> Parser``; the parser class.
    encode : callable
        ``encode(spec, samples_volts, *, first_counter=0, ...) -> bytes``.
    baudrate : int
        Default baud rate.
    probe_baudrates : tuple of int
        Rates to try when probing a port, most likely first (never 1200).
    probe : ProbeFunction
        Tells whether an open port speaks this protocol (the board's handshake, or
        for a board that takes no commands, whether its bytes frame).
    probe_rank : int
        Place in a port scan, lowest first: boards whose probe never writes come
        first, since a command can disturb another kind of board.
    emulate : callable
        ``emulate(*, n_channels=None, **options) -> Personality``: the board in its
        power-up state, for the pty emulator. Its keyword options are the
        emulator options of the board.
    driver : callable or None
        ``driver(**options) -> Driver``: the host-side handshake. None for a board
        that takes no commands: it is read by a
        :class:`~twitchscope.acquisition.boards.handshake.PassiveDriver` around its
        parser, built from the parser's options.
    usb_adapters : tuple of KnownAdapter
        USB VID:PIDs used only by this board (e.g. the Cyton dongle's FT231X).
    takes_channels : bool
        Whether the user gives the channel count (``--channels``) to the host side:
        a board that does not announce it.
    default_channels : int or None
        The channel count when the user gives none and the board needs one.
    default_sfreq : float or None
        The rate assumed when the user gives none (``--sfreq``); None: the board
        says its rate, or (with ``needs_sfreq``) the user must.
    needs_sfreq : bool
        The user must give the rate: nothing on the wire says it.
    default_scale : float or None
        Volts per printed unit when the user gives none (``--scale``); None: the
        board's own units are known and no scale is taken.
    emulator_flags : tuple of (str, str)
        ``(flag, keyword)`` pairs: a ``twitchscope simulate`` flag (without ``--``)
        passed to ``emulate`` as that keyword for this board, e.g. Chords'
        ``("board", "board")`` or SpikerShield's ``("channels", "power_up_channels")``.
    """

    name: str
    description: str
    parser: Callable[..., Parser]
    encode: Callable[..., bytes]
    baudrate: int
    probe_baudrates: tuple[int, ...]
    probe: ProbeFunction
    probe_rank: int
    emulate: Callable[..., Personality]
    driver: Callable[..., Driver] | None = None
    usb_adapters: tuple[KnownAdapter, ...] = ()
    takes_channels: bool = False
    default_channels: int | None = None
    default_sfreq: float | None = None
    needs_sfreq: bool = False
    default_scale: float | None = None
    emulator_flags: tuple[tuple[str, str], ...] = ()

    def host_options(
        self,
        *,
        sfreq: float | None = None,
        n_channels: int | None = None,
        scale: float | None = None,
    ) -> dict[str, Any]:
        """The driver options this board takes from what the user gave.

        Options the board does not take are left out; defaults are filled in.

        Raises
        ------
        ConfigError
            The board needs the rate and none was given.
        """
        options: dict[str, Any] = {}
        if self.takes_channels:
            n = self.default_channels if n_channels is None else n_channels
            if n is not None:
                options["n_channels"] = int(n)
        if self.needs_sfreq and sfreq is None:
            raise ConfigError(
                f"--sfreq is required for the {self.name} protocol: its stream does not say its rate."
            )
        if self.needs_sfreq or self.default_sfreq is not None:
            options["sfreq"] = self.default_sfreq if sfreq is None else sfreq
        if self.default_scale is not None:
            options["scale"] = self.default_scale if scale is None else scale
        return options

    def __post_init__(self) -> None:
        if FORBIDDEN_BAUDRATE in self.probe_baudrates or self.baudrate == FORBIDDEN_BAUDRATE:
            raise ConfigError(
                f"protocol {self.name!r} must not use baud rate 1200, got {self.probe_baudrates}."
            )
