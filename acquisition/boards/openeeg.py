"""OpenEEG ModularEEG "P2" packets, as sent by the Olimex SHIELD-EKG-EMG demo sketch.

Packet (17 bytes, 0-based offsets): ``0xA5 0x5A``, version ``0x02``, counter
(uint8, +1 per packet), 6 channels as uint16 big-endian holding a 10-bit ADC value
(0-1023), one "switches" byte. No end byte and no checksum: a packet is accepted
when sync, version and the 10-bit range of all six values check, and a packet
overlapping another is settled by the counter. Some forks send ``\\r\\n`` after
each packet; it is tolerated (and counted as framed, not dropped).

The rate (250 Hz real for the Olimex demo, whose header says 256; 125 Hz for
other sketches), the baud rate and the calibration (volts per count, midscale)
differ between sketches, so they are parameters.

The board takes no commands (a :class:`~twitchscope.acquisition.boards.handshake.PassiveDriver`
reads it); :func:`probe` listens for packets, :class:`OpenEEGEmulation` is the board the
pty emulator plays, and :data:`BOARD` describes it for the registry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import serial
from numpy.typing import NDArray

from twitchscope.acquisition.boards.base import Board, DeviceSpec
from twitchscope.acquisition.boards.fixed_frames import (
    Be16FrameParser,
    FrameLayout,
    split_packets,
)
from twitchscope.acquisition.boards.handshake import frames_check, listen
from twitchscope.signal.core.checks import check_ch_names, check_positive, check_sfreq
from twitchscope.signal.core.errors import ConfigError

__all__ = [
    "OPENEEG_BAUDRATE",
    "OPENEEG_PROBE_BAUDRATES",
    "OPENEEG_PACKET_LEN",
    "OPENEEG_HEADER",
    "OPENEEG_SLOTS",
    "OPENEEG_TRAILER",
    "OLIMEX_VOLTS_PER_COUNT",
    "OpenEEGParser",
    "encode",
    "probe",
    "OpenEEGEmulation",
    "emulate",
    "BOARD",
]

OPENEEG_BAUDRATE: Final = 57600
OPENEEG_PROBE_BAUDRATES: Final = (57600, 115200)
OPENEEG_PACKET_LEN: Final = 17
#: sync bytes and version 2
OPENEEG_HEADER: Final = b"\xa5\x5a\x02"
OPENEEG_SLOTS: Final = 6
OPENEEG_TRAILER: Final = b"\r\n"
#: 5 V AVR reference over 1024 counts and the shield's total gain of about 2848
#: (vendor figure, not verified: calibrate with the shield's calibration signal)
OLIMEX_VOLTS_PER_COUNT: Final = 5.0 / 1024 / 2848


def _layout(adc_bits: int) -> FrameLayout:
    max_high = (2**adc_bits - 1) >> 8

    def check(frames: NDArray[np.uint8]) -> NDArray[np.bool_]:
        return np.all(frames[:, 4:16:2] <= max_high, axis=1)

    return FrameLayout(
        length=OPENEEG_PACKET_LEN,
        header=OPENEEG_HEADER,
        counter_offset=3,
        trailer=OPENEEG_TRAILER,
        check=check,
        message_end=b"\n",
    )


class OpenEEGParser(Be16FrameParser):
    """Parse an OpenEEG P2 byte stream into volts.

    Parameters
    ----------
    sfreq : float
        Rate the sketch sends packets at, Hz (the P2 format does not say).
    n_channels : int
        Channels used, 1-6 (the first ones of the six in each packet).
    volts_per_count : float
        Calibration: volts at the electrodes per ADC count.
    offset_counts : float
        ADC count of 0 V (midscale, 512 for a 10-bit ADC).
    adc_bits : int
        ADC resolution; values above ``2**adc_bits - 1`` mark a corrupt packet.
    baudrate : int
        Serial baud rate (57600 for the Olimex demo, 115200 for forks).
    ch_names : sequence of str or None
        Channel names; ``ch1``... by default.
    """

    first_sample_byte = 4
    counter_byte = 3

    def __init__(
        self,
        *,
        sfreq: float,
        n_channels: int = OPENEEG_SLOTS,
        volts_per_count: float = OLIMEX_VOLTS_PER_COUNT,
        offset_counts: float = 512.0,
        adc_bits: int = 10,
        baudrate: int = OPENEEG_BAUDRATE,
        ch_names: Sequence[str] | None = None,
    ) -> None:
        if not 1 <= n_channels <= OPENEEG_SLOTS:
            raise ConfigError(f"n_channels must be in 1..6 for OpenEEG P2, got {n_channels!r}.")
        if not 8 <= adc_bits <= 16:
            raise ConfigError(f"adc_bits must be in 8..16, got {adc_bits!r}.")
        names = tuple(f"ch{i + 1}" for i in range(n_channels)) if ch_names is None else ch_names
        self.volts_per_count = check_positive("volts_per_count", volts_per_count)
        self.offset_counts = float(offset_counts)
        self.adc_bits = int(adc_bits)
        self.layout = _layout(self.adc_bits)
        self.spec = DeviceSpec(
            protocol="openeeg",
            sfreq=check_sfreq(sfreq),
            ch_names=check_ch_names(names, n_channels),
            baudrate=int(check_positive("baudrate", baudrate)),
        )


def encode(
    spec: DeviceSpec,
    samples_volts: NDArray[np.float64],
    *,
    first_counter: int = 0,
    volts_per_count: float = OLIMEX_VOLTS_PER_COUNT,
    offset_counts: float = 512.0,
    adc_bits: int = 10,
    switches: int = 0x01,
    crlf: bool = False,
) -> bytes:
    """Bytes an OpenEEG P2 sketch sends for these samples.

    Parameters
    ----------
    spec : DeviceSpec
        The board (1-6 channels; unused slots are sent as 0).
    samples_volts : array, shape (n_channels, n_samples)
        Samples in volts; rounded to the nearest count and clipped to the ADC range.
    first_counter : int
        Counter of the first packet.
    volts_per_count, offset_counts, adc_bits : float, float, int
        Calibration, as the parser's.
    switches : int
        Value of the last byte (the Olimex demo sends 0x01).
    crlf : bool
        Append ``\\r\\n`` after each packet, as some forks do.

    Returns
    -------
    bytes
        17 (or 19) bytes per sample.
    """
    x = np.asarray(samples_volts, dtype=float)
    n_ch = spec.n_channels
    if x.ndim != 2 or x.shape[0] != n_ch:
        raise ConfigError(f"samples_volts must have shape ({n_ch}, n_samples), got {x.shape}.")
    raw = (
        np.clip(np.rint(x / volts_per_count + offset_counts), 0, 2**adc_bits - 1).astype(np.int64).T
    )
    n = raw.shape[0]
    slots = np.zeros((n, OPENEEG_SLOTS), dtype=np.int64)
    slots[:, :n_ch] = raw
    length = OPENEEG_PACKET_LEN + (2 if crlf else 0)
    out = np.empty((n, length), dtype=np.uint8)
    out[:, :3] = np.frombuffer(OPENEEG_HEADER, dtype=np.uint8)
    out[:, 3] = (first_counter + np.arange(n)) % 256
    out[:, 4:16] = np.stack([(slots >> 8) & 0xFF, slots & 0xFF], axis=-1).reshape(n, 12)
    out[:, 16] = switches & 0xFF
    if crlf:
        out[:, 17:] = np.frombuffer(OPENEEG_TRAILER, dtype=np.uint8)
    return out.tobytes()


def probe(ser: serial.Serial, listen_s: float, _: float) -> tuple[bool, str]:
    """Listen without writing: at least 10 packets and 80 % of the bytes framed."""
    return frames_check(OpenEEGParser(sfreq=250.0), listen(ser, listen_s))


class OpenEEGEmulation:
    """An Olimex SHIELD-EKG-EMG running the OpenEEG P2 demo sketch: streams from power-up.

    Parameters
    ----------
    sfreq : float
        Packet rate (the Olimex demo really sends 250 Hz although it says 256).
    n_channels : int
        Channels in use (1-6).
    crlf : bool
        Append ``\\r\\n`` to each packet, as some forks do.
    """

    protocol = "openeeg"

    def __init__(self, *, sfreq: float = 250.0, n_channels: int = 6, crlf: bool = False) -> None:
        self.parser = OpenEEGParser(sfreq=sfreq, n_channels=n_channels)
        self.spec: DeviceSpec = self.parser.spec
        self.sfreq = self.spec.sfreq
        self.n_channels = self.spec.n_channels
        self.crlf = crlf
        self.streaming = True
        self.volts_per_count = float(self.parser.volts_per_count)
        self.zero_count = int(self.parser.offset_counts)

    def power_up(self) -> bytes:
        """It streams from power-up and prints nothing else."""
        self.streaming = True
        return b""

    def on_bytes(self, data: bytes) -> bytes:
        """The sketch ignores its input."""
        return b""

    def encode(self, block: NDArray[np.float64], first_index: int) -> list[bytes]:
        """One 17-byte packet (19 with CRLF) per sample; counter from the sample index."""
        data = encode(
            self.spec,
            block,
            first_counter=first_index % 256,
            volts_per_count=self.volts_per_count,
            offset_counts=self.zero_count,
            crlf=self.crlf,
        )
        return split_packets(data, block.shape[1])

    def corrupt(self, packet: bytes) -> bytes:
        """Break the ``A5`` sync byte."""
        return b"\x00" + packet[1:]

    def reader_options(self) -> dict[str, Any]:
        """The stream does not say its rate or channels: the reader must be told."""
        return {"sfreq": self.sfreq, "n_channels": self.n_channels}


def emulate(
    *, n_channels: int | None = None, sfreq: float = 250.0, crlf: bool = False
) -> OpenEEGEmulation:
    """The Olimex demo sketch in its power-up state (6 channels unless ``n_channels``)."""
    return OpenEEGEmulation(
        sfreq=float(sfreq), n_channels=6 if n_channels is None else n_channels, crlf=bool(crlf)
    )


BOARD: Final = Board(
    name="openeeg",
    description="OpenEEG P2 packets (Olimex SHIELD-EKG-EMG), rate set by the sketch",
    parser=OpenEEGParser,
    encode=encode,
    baudrate=OPENEEG_BAUDRATE,
    probe_baudrates=OPENEEG_PROBE_BAUDRATES,
    probe=probe,
    probe_rank=0,
    emulate=emulate,
    takes_channels=True,
    default_sfreq=250.0,
)
