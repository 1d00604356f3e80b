"""Text lines of numbers from an Arduino sketch (MyoWare, BioAmp, ``Serial.println``).

One line is one sample: numbers separated by spaces, commas or tabs (any run of
them), or Arduino Serial-Plotter pairs ``label:value`` (labels are dropped, values
taken in order). Lines end in ``\\n`` or ``\\r\\n``. An optional first column is a
counter (lost lines show as gaps) or a timestamp (a jump of more than one sample
period shows as a gap). Lines that are not exactly the expected numbers (a
banner, ``ovf``, a line cut by a reset) are skipped and their bytes counted as
dropped, except lines that read as text (a word of four letters or more, so not
``nan`` or ``ovf``): those are reported as messages. The first line after opening
the port is discarded by default: it is usually a partial line.

Nothing in the text says the rate or the units, so ``sfreq`` and ``scale``
(volts per unit printed) are parameters.

The numbers of all lines of a buffer are parsed at once with numpy.

The sketch takes no commands (a :class:`~twitchscope.acquisition.boards.handshake.PassiveDriver`
reads it); :func:`probe` listens for lines of numbers, :class:`AsciiEmulation` is the
sketch the pty emulator plays, and :data:`BOARD` describes it for the registry.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final, Literal

import numpy as np
import serial
from numpy.typing import NDArray

from twitchscope.acquisition.boards.base import (
    EMULATOR_GAIN,
    Board,
    DeviceSpec,
    ParsedChunk,
    ParserState,
    empty_chunk,
)
from twitchscope.acquisition.boards.handshake import frames_check, listen
from twitchscope.signal.core.checks import check_ch_names, check_option, check_positive, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.units import V_PER_UV

__all__ = [
    "ASCII_BAUDRATE",
    "ASCII_PROBE_BAUDRATES",
    "IndexColumn",
    "AsciiLinesParser",
    "encode",
    "probe",
    "AsciiEmulation",
    "emulate",
    "BOARD",
]

ASCII_BAUDRATE: Final = 115200
#: common sketch bauds; never 1200 (the "1200-bps touch" reboots native-USB boards)
ASCII_PROBE_BAUDRATES: Final = (115200, 9600, 57600, 230400, 250000, 500000)
IndexColumn = Literal["none", "counter", "timestamp"]
_INDEX_COLUMNS: Final = ("none", "counter", "timestamp")

_WS: Final = np.zeros(256, dtype=bool)
_WS[[9, 10, 11, 12, 13, 32, ord(",")]] = True
_NUMERIC: Final = np.zeros(256, dtype=bool)
_NUMERIC[[ord(c) for c in "0123456789+-.eE"]] = True
_TO_SPACE: Final = bytes.maketrans(b",", b" ")
_TEXT: Final = re.compile(r"[A-Za-z]{4}")


class AsciiLinesParser:
    """Parse lines of numbers into volts.

    Parameters
    ----------
    sfreq : float
        Rate the sketch prints lines at, Hz.
    n_channels : int
        Numbers per line, index column not included.
    scale : float
        Volts per printed unit (e.g. ``5 / 1024 / 200`` for raw 10-bit MyoWare RAW).
    offset : float
        Printed value of 0 V (e.g. 512 for raw 10-bit codes).
    index_column : {"none", "counter", "timestamp"}
        What the first column is, if anything.
    counter_modulo : int or None
        The counter or timestamp wraps at this value (e.g. ``2**32`` for ``micros()``).
    timestamp_unit : float
        Seconds per timestamp unit (1e-6 for ``micros()``).
    discard_first_line : bool
        Skip the first line (usually partial after opening the port).
    max_line_len : int
        Longer lines are junk.
    baudrate : int
        Serial baud rate.
    ch_names : sequence of str or None
        Channel names; ``ch1``... by default.
    """

    def __init__(
        self,
        *,
        sfreq: float,
        n_channels: int,
        scale: float,
        offset: float = 0.0,
        index_column: IndexColumn = "none",
        counter_modulo: int | None = None,
        timestamp_unit: float = 1e-6,
        discard_first_line: bool = True,
        max_line_len: int = 1024,
        baudrate: int = ASCII_BAUDRATE,
        ch_names: Sequence[str] | None = None,
    ) -> None:
        if not 1 <= n_channels <= 256:
            raise ConfigError(f"n_channels must be in 1..256, got {n_channels!r}.")
        check_option("index_column", index_column, _INDEX_COLUMNS)
        if counter_modulo is not None and counter_modulo < 2:
            raise ConfigError(f"counter_modulo must be >= 2 or None, got {counter_modulo!r}.")
        if max_line_len < 8:
            raise ConfigError(f"max_line_len must be >= 8, got {max_line_len!r}.")
        names = tuple(f"ch{i + 1}" for i in range(n_channels)) if ch_names is None else ch_names
        self.scale = check_positive("scale", scale)
        self.offset = float(offset)
        self.index_column = index_column
        self.counter_modulo = counter_modulo
        self.timestamp_unit = check_positive("timestamp_unit", timestamp_unit)
        self.discard_first_line = bool(discard_first_line)
        self.max_line_len = int(max_line_len)
        self.n_fields = n_channels + (index_column != "none")
        self.spec = DeviceSpec(
            protocol="ascii",
            sfreq=check_sfreq(sfreq),
            ch_names=check_ch_names(names, n_channels),
            baudrate=int(check_positive("baudrate", baudrate)),
        )

    def init_state(self) -> ParserState:
        """The state before any byte: (first line done, discarding a long line, last timestamp)."""
        return ParserState(extra=(not self.discard_first_line, False, None))

    def parse(self, data: bytes, state: ParserState) -> tuple[ParsedChunk, ParserState]:
        """Decode ``data`` after ``state`` (never mutates ``state``)."""
        n_ch = self.spec.n_channels
        if not data:
            return empty_chunk(n_ch), state
        first_done, discarding, last_ts = state.extra
        buf = state.pending + bytes(data)
        end = buf.rfind(b"\n") + 1
        dropped = 0
        if end == 0:
            if len(buf) > self.max_line_len:  # a runaway line: drop it and the rest of it
                new = _replace(
                    state, pending=b"", dropped=len(buf), extra=(first_done, True, last_ts)
                )
                return empty_chunk(n_ch), new
            return empty_chunk(n_ch), _replace(state, pending=buf)
        start = 0
        if discarding or not first_done:
            start = buf.find(b"\n") + 1
            dropped += start
        values, used, messages = self._lines(buf[start:end])
        dropped += end - start - used
        samples = (values[:, int(self.n_fields > n_ch) :].T - self.offset) * self.scale
        gaps, last_counter, last_ts = self._gaps(values, state.last_counter, last_ts)  # type: ignore[arg-type]
        chunk = ParsedChunk(
            samples=samples, aux=np.zeros((0, values.shape[0])), gaps=gaps, messages=messages
        )
        new_state = ParserState(
            pending=buf[end:],
            n_bytes_dropped=state.n_bytes_dropped + dropped,
            n_frames=state.n_frames + values.shape[0],
            last_counter=last_counter,
            extra=(True, False, last_ts),
            n_bytes_framed=state.n_bytes_framed + used,
        )
        return chunk, new_state

    def _lines(self, region: bytes) -> tuple[NDArray[np.float64], int, tuple[str, ...]]:
        """Numbers of the good lines of ``region`` (whole lines); bytes used; text lines."""
        k = self.n_fields
        if not region:
            return np.zeros((0, k)), 0, ()
        arr = np.frombuffer(region, dtype=np.uint8)
        nl = np.flatnonzero(arr == 10)
        n_lines = nl.size
        line_start = np.concatenate(([0], nl[:-1] + 1))
        line_id = np.cumsum(arr == 10) - (arr == 10)
        colon = np.flatnonzero(arr == ord(":"))
        if colon.size:  # blank Serial-Plotter labels: the token up to its last colon
            arr = arr.copy()
            ws = _WS[arr]
            tok_id = np.cumsum(~ws & np.concatenate(([True], ws[:-1]))) - 1
            last_colon = np.full(int(tok_id[-1]) + 2, -1, dtype=np.int64)
            np.maximum.at(last_colon, tok_id[colon], colon)
            pos = np.arange(arr.size)
            arr[~ws & (pos <= last_colon[tok_id])] = 32
        ws = _WS[arr]
        tok = ~ws & np.concatenate(([True], ws[:-1]))
        count = np.bincount(line_id[tok], minlength=n_lines)
        bad = np.bincount(line_id[~ws & ~_NUMERIC[arr]], minlength=n_lines) > 0
        good = (count == k) & ~bad & (nl - line_start <= self.max_line_len)
        tokens = arr.tobytes().translate(_TO_SPACE).split()
        tok_good = good[line_id[tok]]
        picked = [t for t, g in zip(tokens, tok_good.tolist(), strict=True) if g]
        values = _to_float(picked)
        finite = np.isfinite(values).reshape(-1, k).all(axis=1)
        good_idx = np.flatnonzero(good)
        if not finite.all():
            good[good_idx[~finite]] = False
            good_idx = good_idx[finite]
        values = values.reshape(-1, k)[finite]
        used = int(np.sum(nl[good_idx] - line_start[good_idx] + 1))
        messages: list[str] = []
        for i in np.flatnonzero(~good & (nl - line_start <= self.max_line_len)).tolist():
            raw = region[line_start[i] : nl[i]]
            text = raw.decode("ascii", errors="replace").rstrip("\r")
            if text.isprintable() and text.isascii() and _TEXT.search(text):
                messages.append(text)
                used += len(raw) + 1
        return values, used, tuple(messages)

    def _gaps(
        self, values: NDArray[np.float64], last_counter: int | None, last_ts: float | None
    ) -> tuple[tuple[tuple[int, int], ...], int | None, float | None]:
        if self.index_column == "none" or values.shape[0] == 0:
            return (), last_counter, last_ts
        index = values[:, 0]
        prev = np.empty_like(index)
        prev[1:] = index[:-1]
        mod = self.counter_modulo
        if self.index_column == "counter":
            prev[0] = index[0] - 1 if last_counter is None else last_counter
            step = np.rint(index - prev)
            if mod is not None:
                step = np.mod(step, mod)
            lost = np.where(step > 1, step - 1, 0)
        else:
            prev[0] = index[0] if last_ts is None else last_ts
            step = index - prev
            if mod is not None:
                step = np.mod(step, mod)
            periods = np.rint(step * self.timestamp_unit * self.spec.sfreq)
            lost = np.where(periods > 1, periods - 1, 0)
            if last_ts is None:
                lost[0] = 0
        gaps = tuple((int(i), int(lost[i])) for i in np.flatnonzero(lost))
        if self.index_column == "counter":
            return gaps, int(np.rint(index[-1])), last_ts
        return gaps, last_counter, float(index[-1])


def _to_float(tokens: list[bytes]) -> NDArray[np.float64]:
    """Parse tokens; malformed ones (``1-2``, ``e``) become NaN."""
    if not tokens:
        return np.zeros(0)
    try:
        return np.array(tokens).astype(np.float64)
    except ValueError:
        out = np.empty(len(tokens))
        for i, t in enumerate(tokens):
            try:
                out[i] = float(t)
            except ValueError:
                out[i] = np.nan
        return out


def _replace(
    state: ParserState, *, pending: bytes, dropped: int = 0, extra: tuple[object, ...] | None = None
) -> ParserState:
    return ParserState(
        pending=pending,
        n_bytes_dropped=state.n_bytes_dropped + dropped,
        n_frames=state.n_frames,
        last_counter=state.last_counter,
        extra=state.extra if extra is None else extra,
        n_bytes_framed=state.n_bytes_framed,
    )


def encode(
    spec: DeviceSpec,
    samples_volts: NDArray[np.float64],
    *,
    first_counter: int = 0,
    scale: float,
    offset: float = 0.0,
    decimals: int = 0,
    sep: str = " ",
    labels: bool = False,
    index_column: IndexColumn = "none",
    timestamp_unit: float = 1e-6,
    line_end: str = "\r\n",
) -> bytes:
    """Text a sketch prints for these samples (one line per sample).

    Parameters
    ----------
    spec : DeviceSpec
        The stream (channel names are the labels).
    samples_volts : array, shape (n_channels, n_samples)
        Samples in volts, printed as ``value / scale + offset`` with ``decimals``.
    first_counter : int
        Counter of the first line (index column "counter"), or its sample index
        (index column "timestamp": printed as ``index / sfreq / timestamp_unit``).
    scale, offset : float
        As the parser's.
    decimals : int
        Digits after the decimal point (0: integers, as ``analogRead``).
    sep : str
        Field separator (space, comma or tab).
    labels : bool
        Print Serial-Plotter ``name:value`` pairs.
    index_column : {"none", "counter", "timestamp"}
        Print a first column.
    timestamp_unit : float
        Seconds per timestamp unit.
    line_end : str
        ``"\\r\\n"`` (``Serial.println``) or ``"\\n"``.

    Returns
    -------
    bytes
        ASCII text.
    """
    x = np.asarray(samples_volts, dtype=float)
    n_ch = spec.n_channels
    if x.ndim != 2 or x.shape[0] != n_ch:
        raise ConfigError(f"samples_volts must have shape ({n_ch}, n_samples), got {x.shape}.")
    check_option("sep", sep, (" ", ",", "\t"))
    check_option("index_column", index_column, _INDEX_COLUMNS)
    vals = np.round(x / scale + offset, decimals).T
    n = vals.shape[0]
    fmt = f"{{:.{decimals}f}}"
    idx = first_counter + np.arange(n)
    if index_column == "timestamp":
        idx = np.rint(idx / spec.sfreq / timestamp_unit).astype(np.int64)
    lines = []
    for i in range(n):
        fields = [fmt.format(v) for v in vals[i]]
        if labels:
            fields = [f"{name}:{v}" for name, v in zip(spec.ch_names, fields, strict=True)]
        if index_column != "none":
            fields.insert(0, f"t:{idx[i]}" if labels else str(idx[i]))
        lines.append(sep.join(fields) + line_end)
    return "".join(lines).encode("ascii")


def probe(ser: serial.Serial, listen_s: float, _: float) -> tuple[bool, str]:
    """Listen without writing: the commonest number of fields per line decides the
    parser to check with (at least 10 lines and 80 % of the bytes framed)."""
    data = listen(ser, listen_s)
    lines = [ln for ln in data.split(b"\n")[1:-1] if ln.strip()]
    if not lines:
        return False, f"no text lines in {len(data)} bytes"
    widths = [len(ln.replace(b",", b" ").replace(b"\t", b" ").split()) for ln in lines]
    n_fields = max(set(widths), key=widths.count)
    if not 1 <= n_fields <= 256:
        return False, f"lines of {n_fields} fields"
    parser = AsciiLinesParser(sfreq=1.0, n_channels=n_fields, scale=1.0)
    ok, detail = frames_check(parser, data)
    return ok, f"{n_fields} numbers per line; {detail}"


class AsciiEmulation:
    """An Arduino sketch printing ``counter v1 v2 ...`` lines of raw ADC codes.

    The defaults describe a BioAmp-style sketch: 500 lines a second, 10-bit codes
    around 512, a counter first so lost lines can be counted, and a banner line at
    power-up. :attr:`parser_options` are what a reader needs to be told, since
    nothing in the text says rate or units.

    Parameters
    ----------
    sfreq : float
        Lines per second.
    n_channels : int
        Values per line (counter not included).
    gain : float
        Amplifier gain in front of the 5 V 10-bit ADC.
    counter : bool
        Print a counter column.
    """

    protocol = "ascii"

    def __init__(
        self,
        *,
        sfreq: float = 500.0,
        n_channels: int = 2,
        gain: float = EMULATOR_GAIN,
        counter: bool = True,
    ) -> None:
        self.parser_options: dict[str, Any] = {
            "sfreq": float(sfreq),
            "n_channels": int(n_channels),
            "scale": 5.0 / 1024 / float(gain),
            "offset": 512.0,
            "index_column": "counter" if counter else "none",
        }
        self.parser = AsciiLinesParser(**self.parser_options)
        self.spec: DeviceSpec = self.parser.spec
        self.sfreq = self.spec.sfreq
        self.n_channels = self.spec.n_channels
        self.streaming = True
        self.volts_per_count = float(self.parser.scale)
        self.zero_count = 512

    def power_up(self) -> bytes:
        """A banner line, as most sketches print in ``setup()``."""
        self.streaming = True
        return b"twitchscope emulated EMG sketch\r\n"

    def on_bytes(self, data: bytes) -> bytes:
        """The sketch ignores its input."""
        return b""

    def encode(self, block: NDArray[np.float64], first_index: int) -> list[bytes]:
        """One ``Serial.println`` line per sample, codes clipped to 0..1023 as an ADC does."""
        counts = np.clip(np.rint(block / self.volts_per_count), -512, 511) * self.volts_per_count
        data = encode(
            self.spec,
            counts,
            first_counter=first_index,
            scale=self.volts_per_count,
            offset=512.0,
            index_column=self.parser_options["index_column"],
        )
        return data.splitlines(keepends=True)

    def corrupt(self, packet: bytes) -> bytes:
        """Garble the line so it is not a line of numbers."""
        return b"#" + packet[1:]

    def reader_options(self) -> dict[str, Any]:
        """Nothing in the text says rate, channels or units: all the parser's options."""
        return dict(self.parser_options)


def emulate(
    *,
    n_channels: int | None = None,
    sfreq: float = 500.0,
    gain: float = EMULATOR_GAIN,
    counter: bool = True,
) -> AsciiEmulation:
    """The sketch in its power-up state, printing ``n_channels`` values (2 by default)."""
    return AsciiEmulation(
        sfreq=float(sfreq),
        n_channels=2 if n_channels is None else n_channels,
        gain=float(gain),
        counter=bool(counter),
    )


BOARD: Final = Board(
    name="ascii",
    description="Text lines of numbers (Arduino, MyoWare, BioAmp sketches, Serial Plotter)",
    parser=AsciiLinesParser,
    encode=encode,
    baudrate=ASCII_BAUDRATE,
    probe_baudrates=ASCII_PROBE_BAUDRATES,
    probe=probe,
    probe_rank=1,
    emulate=emulate,
    takes_channels=True,
    default_channels=1,
    needs_sfreq=True,
    default_scale=V_PER_UV,
)
