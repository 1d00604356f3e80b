"""OpenBCI Cyton (ADS1299) packets through its USB dongle: 33 bytes, 8 or 16 channels.

Packet (0-based offsets): ``0xA0``, counter (uint8, +1 per packet), 8 channels as
int24 big-endian two's complement, 6 aux bytes, end byte ``0xC0``-``0xC6`` (the
packet type). Volts per count: ``4.5 / gain / (2**23 - 1)``; the stream carries
no gain, so the gain of each channel is a parameter.

With the Daisy board (16 channels) packets still come at 250 Hz: an even counter
carries channels 9-16 and the next (odd) counter channels 1-8, one 16-channel
sample per pair, so 125 Hz. A half without its partner is dropped and shows as a
gap.

The accelerometer (``0xC0`` packets: three int16 in bytes 26-31, 0.002/16 g per
count) is sampled at 25 Hz and sent as zeros in the other packets; the aux rows
hold the last reading (0 before the first). ``0xC3``/``0xC4`` packets carry one
axis in bytes 26-27 chosen by ``counter % 10`` (7: X, 8: Y, 9: Z). Aux bytes of
the other packet types (analog, digital, marker modes) are not decoded.

Text from the dongle between packets (``Failure: ...$$$``) is reported verbatim
in the chunk's messages, without its ``$$$``.

The board's commands, handshake, probe and emulation are in
:mod:`twitchscope.acquisition.boards.cyton`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
from numpy.typing import NDArray

from twitchscope.acquisition.boards.base import DeviceSpec, ParsedChunk, ParserState, empty_chunk
from twitchscope.acquisition.boards.counters import counter_gaps, settle_frames
from twitchscope.acquisition.boards.fixed_frames import FrameLayout, scan_frames
from twitchscope.signal.core.checks import check_ch_names, check_option, check_sfreq
from twitchscope.signal.core.errors import ConfigError

__all__ = [
    "CYTON_BAUDRATE",
    "CYTON_SFREQ",
    "CYTON_DAISY_SFREQ",
    "CYTON_PACKET_LEN",
    "CYTON_HEADER",
    "CYTON_REPLY_END",
    "CYTON_GAINS",
    "ACCEL_G_PER_COUNT",
    "volts_per_count",
    "CytonParser",
    "encode",
]

CYTON_BAUDRATE: Final = 115200
CYTON_SFREQ: Final = 250.0
CYTON_DAISY_SFREQ: Final = 125.0
CYTON_PACKET_LEN: Final = 33
CYTON_HEADER: Final = b"\xa0"

#: every text reply of the board or the dongle ends with this
CYTON_REPLY_END: Final = b"$$$"

#: gain -> code digit of the ``x...X`` channel-settings command
CYTON_GAINS: Final = {1: "0", 2: "1", 4: "2", 6: "3", 8: "4", 12: "5", 24: "6"}
ACCEL_G_PER_COUNT: Final = 0.002 / 16
_FULL_SCALE_V: Final = 4.5
_INT24_MAX: Final = 2**23 - 1
_ACCEL_NAMES: Final = ("accel_x", "accel_y", "accel_z")

LAYOUT: Final = FrameLayout(
    length=CYTON_PACKET_LEN,
    header=CYTON_HEADER,
    end_range=(0xC0, 0xC6),
    counter_offset=1,
    message_end=CYTON_REPLY_END,
)


def volts_per_count(gain: int) -> float:
    """Volts per ADS1299 count at a programmable gain (``4.5 / gain / (2**23 - 1)``)."""
    check_option("gain", gain, tuple(CYTON_GAINS))
    return _FULL_SCALE_V / gain / _INT24_MAX


def _gains(gains: int | Sequence[int], n: int) -> tuple[int, ...]:
    out = (gains,) * n if isinstance(gains, int) else tuple(gains)
    if len(out) != n:
        raise ConfigError(f"gains must have one value per channel ({n}), got {len(out)}.")
    for g in out:
        check_option("gain", g, tuple(CYTON_GAINS))
    return out


def _decode_int24(frames: NDArray[np.uint8]) -> NDArray[np.int64]:
    """Channel counts of packets, shape (n_packets, 8)."""
    b = frames[:, 2:26].reshape(-1, 8, 3).astype(np.int64)
    v = (b[..., 0] << 16) | (b[..., 1] << 8) | b[..., 2]
    return v - ((v & 0x800000) << 1)


def _accel_updates(frames: NDArray[np.uint8]) -> NDArray[np.float64]:
    """New accelerometer readings in g per packet, NaN where the packet has none."""
    n = frames.shape[0]
    raw = frames[:, 26:32].reshape(n, 3, 2).astype(np.int64)
    a = (raw[..., 0] << 8) | raw[..., 1]
    a = a - ((a & 0x8000) << 1)
    g = a * ACCEL_G_PER_COUNT
    out = np.full((n, 3), np.nan)
    footer = frames[:, 32]
    c0 = (footer == 0xC0) & np.any(a != 0, axis=1)
    out[c0] = g[c0]
    ts = (footer == 0xC3) | (footer == 0xC4)
    if ts.any():
        axis = frames[:, 1].astype(np.int64) % 10 - 7
        for k in range(3):
            sel = ts & (axis == k)
            out[sel, k] = g[sel, 0]
    return out


def _hold(updates: NDArray[np.float64], start: tuple[float, float, float]) -> NDArray[np.float64]:
    """Forward-fill NaNs column by column, starting from ``start``; shape (n, 3)."""
    filled = np.vstack([np.asarray(start, dtype=float)[None, :], updates])
    idx = np.where(np.isnan(filled), 0, np.arange(filled.shape[0])[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    return filled[idx, np.arange(3)][1:]


class CytonParser:
    """Parse a Cyton (optionally with Daisy) byte stream into volts.

    Parameters
    ----------
    daisy : bool
        16 channels (Daisy attached, 125 Hz) instead of 8 (250 Hz).
    gains : int or sequence of int
        Programmable gain of each channel (1, 2, 4, 6, 8, 12 or 24; 24 after ``d``).
    ch_names : sequence of str or None
        Channel names; ``ch1``... by default.
    sfreq : float or None
        Rate of the stream, Hz; None means what the dongle streams at (250, or 125
        with Daisy).

    Examples
    --------
    >>> parser = CytonParser()
    >>> data = encode(parser.spec, np.zeros((8, 3)))
    >>> chunk, state = parser.parse(data, parser.init_state())
    >>> chunk.samples.shape, state.n_bytes_dropped
    ((8, 3), 0)
    """

    def __init__(
        self,
        *,
        daisy: bool = False,
        gains: int | Sequence[int] = 24,
        ch_names: Sequence[str] | None = None,
        sfreq: float | None = None,
    ) -> None:
        n = 16 if daisy else 8
        if sfreq is None:
            sfreq = CYTON_DAISY_SFREQ if daisy else CYTON_SFREQ
        names = tuple(f"ch{i + 1}" for i in range(n)) if ch_names is None else ch_names
        self.daisy = bool(daisy)
        self.gains = _gains(gains, n)
        self.scale = np.array([volts_per_count(g) for g in self.gains])
        self.spec = DeviceSpec(
            protocol="cyton",
            sfreq=check_sfreq(sfreq),
            ch_names=check_ch_names(names, n),
            aux_names=_ACCEL_NAMES,
            baudrate=CYTON_BAUDRATE,
        )

    def init_state(self) -> ParserState:
        """The state before any byte: no Daisy half, accelerometer 0 g."""
        return ParserState(extra=(None, (0.0, 0.0, 0.0), None, False, b"", None))

    def parse(self, data: bytes, state: ParserState) -> tuple[ParsedChunk, ParserState]:
        """Decode ``data`` after ``state`` (never mutates ``state``)."""
        if not data:
            return empty_chunk(self.spec.n_channels, 3), state
        half, accel, last_pair, after_frame, waiting, settled = state.extra
        buf = state.pending + bytes(data)
        scan = scan_frames(
            buf, LAYOUT, after_frame=bool(after_frame), last_counter=state.last_counter
        )
        frames, counters, waiting = settle_frames(scan.frames, waiting, 1, settled)  # type: ignore[arg-type]
        counts = _decode_int24(frames)
        held = _hold(_accel_updates(frames), accel)  # type: ignore[arg-type]
        new_accel = tuple(float(x) for x in held[-1]) if held.shape[0] else accel
        scanned = scan.frames
        last_counter = int(scanned[-1, 1]) if scanned.shape[0] else state.last_counter
        if self.daisy:
            chunk, half, last_pair = self._pair(counts, counters, held, half, last_pair)  # type: ignore[arg-type]
            chunk = ParsedChunk(chunk.samples, chunk.aux, chunk.gaps, scan.messages)
        else:
            gaps, _ = counter_gaps(counters, settled)  # type: ignore[arg-type]
            samples = counts.T * self.scale[:, None]
            chunk = ParsedChunk(
                samples=samples, aux=held.T.copy(), gaps=gaps, messages=scan.messages
            )
        if counters.size:
            settled = int(counters[-1])
        new_state = ParserState(
            pending=buf[scan.rest :],
            n_bytes_dropped=state.n_bytes_dropped + scan.n_dropped,
            n_frames=state.n_frames + scanned.shape[0],
            last_counter=last_counter,
            extra=(half, new_accel, last_pair, scan.after_frame, waiting, settled),
            n_bytes_framed=state.n_bytes_framed + scan.n_used,
        )
        return chunk, new_state

    def _pair(
        self,
        counts: NDArray[np.int64],
        counters: NDArray[np.int64],
        held: NDArray[np.float64],
        half: tuple[int, tuple[int, ...], tuple[float, ...]] | None,
        last_pair: int | None,
    ) -> tuple[ParsedChunk, tuple[int, tuple[int, ...], tuple[float, ...]] | None, int | None]:
        """Join each even packet (ch 9-16) with the next odd one (ch 1-8)."""
        if half is not None:
            counters = np.concatenate(([half[0]], counters))
            counts = np.vstack([np.asarray(half[1], dtype=np.int64)[None, :], counts])
            held = np.vstack([np.asarray(half[2], dtype=float)[None, :], held])
        m = counters.size
        even = counters % 2 == 0
        ok = even[:-1] & (counters[1:] == counters[:-1] + 1)
        i = np.flatnonzero(ok)
        samples = np.hstack([counts[i + 1], counts[i]]).T * self.scale[:, None]
        aux = held[i + 1].T.copy()
        gaps, last_pair = counter_gaps(counters[i] // 2, last_pair, 128)
        new_half = None
        if m and even[-1]:
            new_half = (
                int(counters[-1]),
                tuple(int(x) for x in counts[-1]),
                tuple(float(x) for x in held[-1]),
            )
        return ParsedChunk(samples=samples, aux=aux, gaps=gaps), new_half, last_pair


def encode(
    spec: DeviceSpec,
    samples_volts: NDArray[np.float64],
    *,
    first_counter: int = 0,
    gains: int | Sequence[int] = 24,
    aux: NDArray[np.float64] | None = None,
    footer: int = 0xC0,
) -> bytes:
    """Bytes a Cyton dongle sends for these samples.

    Parameters
    ----------
    spec : DeviceSpec
        The board (8 channels, or 16 for Daisy).
    samples_volts : array, shape (n_channels, n_samples)
        Samples in volts; rounded to the nearest count and clipped to int24.
    first_counter : int
        Counter of the first packet (even for Daisy, whose packets go in pairs).
    gains : int or sequence of int
        Gain of each channel, as the parser's.
    aux : array, shape (3, n_samples) or None
        Accelerometer in g (None: zeros, i.e. "no new reading").
    footer : int
        End byte (packet type), 0xC0-0xC6.

    Returns
    -------
    bytes
        33 bytes per sample (two packets per sample with Daisy).
    """
    x = np.asarray(samples_volts, dtype=float)
    n_ch = spec.n_channels
    if x.ndim != 2 or x.shape[0] != n_ch:
        raise ConfigError(f"samples_volts must have shape ({n_ch}, n_samples), got {x.shape}.")
    if not 0xC0 <= footer <= 0xC6:
        raise ConfigError(f"footer must be in 0xC0..0xC6, got {footer!r}.")
    scale = np.array([volts_per_count(g) for g in _gains(gains, n_ch)])
    counts = np.clip(np.rint(x / scale[:, None]), -(2**23), _INT24_MAX).astype(np.int64).T
    n = counts.shape[0]
    acc = np.zeros((n, 3), dtype=np.int64)
    if aux is not None:
        a = np.asarray(aux, dtype=float)
        if a.shape != (3, n):
            raise ConfigError(f"aux must have shape (3, {n}), got {a.shape}.")
        acc = np.clip(np.rint(a / ACCEL_G_PER_COUNT), -(2**15), 2**15 - 1).astype(np.int64).T
    if n_ch == 16:
        if first_counter % 2:
            raise ConfigError(f"first_counter must be even for Daisy, got {first_counter!r}.")
        # even packet: ch 9-16, odd packet: ch 1-8
        counts = np.stack([counts[:, 8:], counts[:, :8]], axis=1).reshape(2 * n, 8)
        acc = np.repeat(acc, 2, axis=0)
    n_packets = counts.shape[0]
    out = np.empty((n_packets, CYTON_PACKET_LEN), dtype=np.uint8)
    out[:, 0] = CYTON_HEADER[0]
    out[:, 1] = (first_counter + np.arange(n_packets)) % 256
    u = counts & 0xFFFFFF
    out[:, 2:26] = np.stack([(u >> 16) & 0xFF, (u >> 8) & 0xFF, u & 0xFF], axis=-1).reshape(
        n_packets, 24
    )
    ua = acc & 0xFFFF
    out[:, 26:32] = np.stack([(ua >> 8) & 0xFF, ua & 0xFF], axis=-1).reshape(n_packets, 6)
    out[:, 32] = footer
    return out.tobytes()
