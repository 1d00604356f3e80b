"""Upside Down Labs Chords firmware: ``C7 7C counter <N x uint16 BE> 01`` packets.

Packet (``2 N + 4`` bytes): sync ``0xC7 0x7C``, counter (uint8, +1 per packet), N
raw ADC codes as uint16 big-endian, end byte ``0x01``. The board answers
``WHORU\\n`` with its name, which fixes its rate, channel count and ADC resolution
(:data:`CHORDS_BOARDS`). ``START\\n`` / ``STOP\\n`` start and stop streaming; the
firmware stops as soon as any byte arrives while it streams, so never write to a
streaming board.

Volts at the amplifier input: ``(code - 2**(bits-1)) * vref / 2**bits / gain``.
The BioAmp gain is in no reference code, so it is a parameter (1 by default:
volts at the ADC input).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from twitchscope.acquisition.boards.base import DeviceSpec
from twitchscope.acquisition.boards.fixed_frames import Be16FrameParser, FrameLayout
from twitchscope.signal.core.checks import check_ch_names, check_option, check_positive, check_sfreq
from twitchscope.signal.core.errors import ConfigError, DeviceError

__all__ = [
    "CHORDS_BAUDRATE",
    "CHORDS_PROBE_BAUDRATES",
    "CHORDS_SYNC",
    "CHORDS_END",
    "CHORDS_WHORU",
    "CHORDS_START",
    "CHORDS_STOP",
    "CHORDS_STATUS",
    "CHORDS_REPLY_END",
    "CHORDS_STATUS_REPLIES",
    "ChordsBoard",
    "CHORDS_BOARDS",
    "board_from_whoru",
    "ChordsParser",
    "encode",
]

CHORDS_BAUDRATE: Final = 230400
#: ``detect_hardware`` of chordspy tries 230400 then 115200 (UNO-CLONE firmware)
CHORDS_PROBE_BAUDRATES: Final = (230400, 115200)
CHORDS_SYNC: Final = b"\xc7\x7c"
CHORDS_END: Final = 0x01
CHORDS_WHORU: Final = b"WHORU\n"
CHORDS_START: Final = b"START\n"
CHORDS_STOP: Final = b"STOP\n"
CHORDS_STATUS: Final = b"STATUS\n"
#: replies are ``Serial.println`` lines: the board name to WHORU, START or STOP to STATUS
CHORDS_REPLY_END: Final = b"\r\n"
CHORDS_STATUS_REPLIES: Final = ("START", "STOP")


@dataclass(frozen=True, slots=True)
class ChordsBoard:
    """What the ``WHORU`` answer tells about a board.

    Parameters
    ----------
    name : str
        The board's answer to ``WHORU``.
    sfreq : float
        Packet rate, Hz.
    n_channels : int
        Channels per packet.
    adc_bits : int
        ADC resolution.
    vref : float
        ADC reference voltage (our assumption from the MCU's supply; not in the
        reference code).
    """

    name: str
    sfreq: float
    n_channels: int
    adc_bits: int
    vref: float


def _boards(*rows: tuple[str, float, int, int, float]) -> dict[str, ChordsBoard]:
    return {r[0]: ChordsBoard(*r) for r in rows}


#: ``WHORU`` answer -> board (rate, channels and bits from chordspy's supported_boards)
CHORDS_BOARDS: Final = _boards(
    ("UNO-R3", 250.0, 6, 10, 5.0),
    ("UNO-CLONE", 250.0, 6, 10, 5.0),
    ("GENUINO-UNO", 250.0, 6, 10, 5.0),
    ("UNO-R4", 500.0, 6, 14, 5.0),
    ("RPI-PICO-RP2040", 500.0, 3, 12, 3.3),
    ("NANO-CLONE", 250.0, 8, 10, 5.0),
    ("NANO-CLASSIC", 250.0, 8, 10, 5.0),
    ("STM32F4-BLACK-PILL", 500.0, 8, 12, 3.3),
    ("STM32G4-CORE-BOARD", 500.0, 16, 12, 3.3),
    ("MEGA-2560-R3", 250.0, 16, 10, 5.0),
    ("MEGA-2560-CLONE", 250.0, 16, 10, 5.0),
    ("GIGA-R1", 500.0, 6, 16, 3.3),
    ("NPG-LITE", 500.0, 3, 12, 3.3),
    ("NPG-LITE-3CH", 500.0, 3, 12, 3.3),
    ("NPG-LITE-6CH", 500.0, 6, 12, 3.3),
)


def board_from_whoru(reply: bytes) -> ChordsBoard:
    """The board named in a ``WHORU`` reply (e.g. ``b"UNO-R3\\r\\n"``).

    Raises
    ------
    DeviceError
        If no line of the reply names a known board.
    """
    for line in reply.decode("ascii", errors="replace").splitlines():
        name = line.strip()
        if name in CHORDS_BOARDS:
            return CHORDS_BOARDS[name]
    known = ", ".join(CHORDS_BOARDS)
    raise DeviceError(
        f"unknown Chords board in the WHORU reply {reply[:60]!r}; expected one of {known}."
    )


def _layout(n_channels: int, adc_bits: int) -> FrameLayout:
    max_high = (2**adc_bits - 1) >> 8
    stop = 3 + 2 * n_channels

    def check(frames: NDArray[np.uint8]) -> NDArray[np.bool_]:
        return np.all(frames[:, 3:stop:2] <= max_high, axis=1)

    return FrameLayout(
        length=2 * n_channels + 4,
        header=CHORDS_SYNC,
        end_range=(CHORDS_END, CHORDS_END),
        counter_offset=2,
        check=check if adc_bits < 16 else None,
        message_end=b"\n",
    )


class ChordsParser(Be16FrameParser):
    """Parse a Chords byte stream into volts.

    Parameters
    ----------
    board : str or None
        The board's ``WHORU`` name (see :data:`CHORDS_BOARDS`); sets ``sfreq``,
        ``n_channels``, ``adc_bits`` and ``vref``. With None, give all four.
    sfreq, n_channels, adc_bits, vref : float, int, int, float or None
        Override (or, without ``board``, define) the board's values.
    gain : float
        Amplifier gain between electrodes and ADC (1: volts at the ADC input).
    baudrate : int
        Serial baud rate (230400; 115200 for UNO-CLONE firmware).
    ch_names : sequence of str or None
        Channel names; ``ch1``... by default.
    """

    first_sample_byte = 3
    counter_byte = 2

    def __init__(
        self,
        board: str | None = None,
        *,
        sfreq: float | None = None,
        n_channels: int | None = None,
        adc_bits: int | None = None,
        vref: float | None = None,
        gain: float = 1.0,
        baudrate: int = CHORDS_BAUDRATE,
        ch_names: Sequence[str] | None = None,
    ) -> None:
        if board is not None:
            b = CHORDS_BOARDS[check_option("board", board, tuple(CHORDS_BOARDS))]
            sfreq = b.sfreq if sfreq is None else sfreq
            n_channels = b.n_channels if n_channels is None else n_channels
            adc_bits = b.adc_bits if adc_bits is None else adc_bits
            vref = b.vref if vref is None else vref
        if n_channels is None or adc_bits is None or vref is None:
            raise ConfigError(
                "a Chords parser needs board= (a WHORU name) or all of sfreq, n_channels, "
                f"adc_bits and vref; got n_channels={n_channels!r}, adc_bits={adc_bits!r}, vref={vref!r}."
            )
        if not 1 <= n_channels <= 64:
            raise ConfigError(f"n_channels must be in 1..64, got {n_channels!r}.")
        if not 8 <= adc_bits <= 16:
            raise ConfigError(f"adc_bits must be in 8..16, got {adc_bits!r}.")
        names = tuple(f"ch{i + 1}" for i in range(n_channels)) if ch_names is None else ch_names
        self.board = board
        self.adc_bits = int(adc_bits)
        self.volts_per_count = (
            check_positive("vref", vref) / 2**adc_bits / check_positive("gain", gain)
        )
        self.offset_counts = float(2 ** (adc_bits - 1))
        self.layout = _layout(n_channels, self.adc_bits)
        self.spec = DeviceSpec(
            protocol="chords",
            sfreq=check_sfreq(sfreq),
            ch_names=check_ch_names(names, n_channels),
            baudrate=int(check_positive("baudrate", baudrate)),
        )


def encode(
    spec: DeviceSpec,
    samples_volts: NDArray[np.float64],
    *,
    first_counter: int = 0,
    adc_bits: int,
    vref: float,
    gain: float = 1.0,
) -> bytes:
    """Bytes a Chords board sends for these samples.

    Parameters
    ----------
    spec : DeviceSpec
        The board.
    samples_volts : array, shape (n_channels, n_samples)
        Samples in volts; rounded to the nearest code and clipped to the ADC range.
    first_counter : int
        Counter of the first packet.
    adc_bits, vref, gain : int, float, float
        As the parser's (see :data:`CHORDS_BOARDS`).

    Returns
    -------
    bytes
        ``2 * n_channels + 4`` bytes per sample.
    """
    x = np.asarray(samples_volts, dtype=float)
    n_ch = spec.n_channels
    if x.ndim != 2 or x.shape[0] != n_ch:
        raise ConfigError(f"samples_volts must have shape ({n_ch}, n_samples), got {x.shape}.")
    vpc = vref / 2**adc_bits / gain
    raw = np.clip(np.rint(x / vpc + 2 ** (adc_bits - 1)), 0, 2**adc_bits - 1).astype(np.int64).T
    n = raw.shape[0]
    out = np.empty((n, 2 * n_ch + 4), dtype=np.uint8)
    out[:, :2] = np.frombuffer(CHORDS_SYNC, dtype=np.uint8)
    out[:, 2] = (first_counter + np.arange(n)) % 256
    out[:, 3:-1] = np.stack([(raw >> 8) & 0xFF, raw & 0xFF], axis=-1).reshape(n, 2 * n_ch)
    out[:, -1] = CHORDS_END
    return out.tobytes()
