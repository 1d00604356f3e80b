"""Read a board on a serial port into a ring buffer, and survive a pulled cable.

The pieces, from the port inwards:

* a :class:`~twitchscope.acquisition.boards.handshake.Driver` speaks the protocol's host-side
  handshake (Cyton ``s``/``v``/``d``/``b``, Chords ``WHORU``/``START``, Spiker
  ``c:N;``…) and returns the pure parser for what answered;
* pyserial's :class:`serial.threaded.ReaderThread` owns the read loop
  (:mod:`~twitchscope.acquisition.transport.read_loop`: a read at most every
  ``read_interval_s``), and one :class:`ParserProtocol` adapter per connection feeds the
  bytes to that parser;
* the :class:`Reader` turns parsed chunks into :class:`SampleBlock`\\ s with absolute
  sample indices and writes them to a :class:`RingBuffer` that any number of
  consumers read with their own cursor.

A supervisor thread watches the connection. A ``SerialException`` or ``OSError``
(EIO when a USB adapter is unplugged), or no sample for ``silence_timeout_s``,
moves the reader to ``disconnected``; it then reopens the same device (the same
path: a ``/dev/serial/by-id`` link, which carries the USB serial number, or the
pty/symlink given; if that path is gone, the port that now has the same USB
serial number and VID:PID) every ``reconnect_interval_s``, redoes the start handshake and
streams on. The samples the board produced meanwhile are estimated from the host
clock and reported as a :class:`~twitchscope.signal.core.model.Gap` (``BAD_ACQ_SKIP``);
the first block after it carries the count in ``n_lost_before``. Counter jumps
that the parser reports become gaps the same way, with exact counts.

The host clock also checks the board's rate: every ``rate_check_s`` the samples
received since the connection began are compared with the declared ``sfreq``,
and a warning is logged when they differ by more than ``rate_tolerance``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import numpy as np
import serial

from twitchscope.acquisition.boards.base import DeviceSpec, ParsedChunk
from twitchscope.acquisition.boards.handshake import Driver
from twitchscope.acquisition.transport.ports import (
    find_port,
    is_url,
    open_port,
    stable_path,
    usb_identity,
)
from twitchscope.acquisition.transport.read_loop import ParserProtocol, PortReadThread
from twitchscope.acquisition.transport.ring_buffer import RingBuffer
from twitchscope.signal.core.checks import check_ch_names, check_positive
from twitchscope.signal.core.errors import ConfigError, DeviceError, TwitchscopeError
from twitchscope.signal.core.model import Gap, SampleBlock

__all__ = ["ReaderState", "Reader"]

log = logging.getLogger(__name__)

try:  # pyserial's POSIX back end lets termios.error (not an OSError) through on tcflush
    import termios

    _PORT_ERRORS: tuple[type[BaseException], ...] = (
        serial.SerialException,
        OSError,
        termios.error,
    )
except ImportError:  # pragma: no cover - Windows
    _PORT_ERRORS = (serial.SerialException, OSError)


class ReaderState(StrEnum):
    """Where a :class:`Reader` is in its life."""

    CONNECTING = "connecting"
    STREAMING = "streaming"
    DISCONNECTED = "disconnected"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


class Reader:
    """Stream one board into a ring buffer, reconnecting on faults.

    Parameters
    ----------
    port : str
        Serial port path, ``/dev/serial/by-id/…`` link, pty, or pyserial URL. A
        ``/dev/ttyUSB*`` with a by-id link is reopened by its link after an unplug.
    driver : Driver
        The protocol's host-side handshake; it makes the parser.
    buffer_s : float
        Seconds of data the ring buffer keeps (ignored if ``buffer`` is given).
    buffer : RingBuffer or None
        A ring buffer to write to instead of a new one.
    silence_timeout_s : float
        No sample for this long counts as a disconnect.
    reconnect : bool
        Reopen the device after a fault (otherwise stop).
    reconnect_interval_s : float
        Pause between two reopen attempts.
    connect_timeout_s : float
        How long :meth:`start` (and ``with``) waits for the first connection.
    rate_check_s : float
        How often the rate received since the connection began is compared with
        the declared one.
    rate_tolerance : float
        Relative difference in rate that triggers a warning (0.02 = 2 %).
    ch_names : sequence of str or None
        Names of the EMG channels (None: the board's); blocks are made with them, so no
        consumer renames blocks. A wrong count fails :meth:`start` with one line.
    read_interval_s : float
        The port is read at most this often (what arrives meanwhile waits in the port's
        buffer and is parsed at once): each read costs the parser a fixed overhead, and a
        board that sends a packet every few milliseconds (a 250 Hz Cyton: every 4 ms,
        through a USB adapter whose latency timer is set to 1 ms) would otherwise wake the
        thread for each one. 0: read as soon as bytes arrive. The default, 10 ms, adds at
        most that to when a sample reaches the ring buffer.

    Notes
    -----
    ``with Reader(...) as reader:`` starts it, waits until it streams, and raises
    :class:`DeviceError` with one line if it cannot connect (missing port, wrong
    handshake reply, dongle ``Failure: ...`` text). Consumers read
    ``reader.buffer`` with :meth:`RingBuffer.read_since`. Nothing here prints or
    touches a UI; everything goes to logging and to these attributes.
    """

    def __init__(
        self,
        port: str,
        driver: Driver,
        *,
        buffer_s: float = 60.0,
        buffer: RingBuffer | None = None,
        silence_timeout_s: float = 2.0,
        reconnect: bool = True,
        reconnect_interval_s: float = 0.5,
        connect_timeout_s: float = 10.0,
        rate_check_s: float = 10.0,
        rate_tolerance: float = 0.02,
        ch_names: Sequence[str] | None = None,
        read_interval_s: float = 0.01,
    ) -> None:
        self.port = str(port)
        self._emg_names = None if ch_names is None else check_ch_names(ch_names)
        self.reopen_path = stable_path(self.port)
        self.driver = driver
        self._buffer_s = check_positive("buffer_s", buffer_s)
        self._buffer = buffer
        self.silence_timeout_s = check_positive("silence_timeout_s", silence_timeout_s)
        self.reconnect = bool(reconnect)
        self.reconnect_interval_s = check_positive("reconnect_interval_s", reconnect_interval_s)
        self.connect_timeout_s = check_positive("connect_timeout_s", connect_timeout_s)
        self.rate_check_s = check_positive("rate_check_s", rate_check_s)
        self.rate_tolerance = check_positive("rate_tolerance", rate_tolerance)
        self.read_interval_s = check_positive("read_interval_s", read_interval_s, allow_zero=True)
        if self.read_interval_s > 1:
            raise ConfigError(f"read_interval_s must be at most 1 s, got {read_interval_s!r}.")

        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._state = ReaderState.STOPPED
        self._stop = threading.Event()
        self._supervisor: threading.Thread | None = None
        self._thread: PortReadThread | None = None
        self._adapter: ParserProtocol | None = None
        self._error: TwitchscopeError | None = None
        self._started_once = False
        self._usb_identity: tuple[str, int, int] | None = None

        self.spec: DeviceSpec | None = None
        self._ch_names: tuple[str, ...] = ()
        self._n_emg = 0
        self._next_sample = 0
        self._gaps: list[Gap] = []
        self._messages: list[str] = []
        self._n_connections = 0
        self._n_bytes_dropped = 0
        self._last_sample_t = 0.0
        self._reconnect_from_t: float | None = None  # host time of the last sample before a fault
        self._carry_lost = 0  # lost samples reported at the very end of a chunk
        self._rate_t0: float | None = None
        self._rate_n = 0
        self._rate_next = 0.0
        self.measured_sfreq: float | None = None

    # -- public API -------------------------------------------------------------------------

    @property
    def state(self) -> ReaderState:
        """The current :class:`ReaderState`."""
        with self._lock:
            return self._state

    @property
    def buffer(self) -> RingBuffer:
        """The ring buffer the blocks go to (exists once connected)."""
        if self._buffer is None:
            raise DeviceError(f"{self.port}: not connected yet, so there is no buffer to read.")
        return self._buffer

    @property
    def ch_names(self) -> tuple[str, ...]:
        """Row names of the blocks: EMG channels in board order, then aux channels."""
        return self._ch_names

    @property
    def ch_types(self) -> tuple[str, ...]:
        """``emg`` for each EMG row, ``misc`` for each aux row."""
        n_aux = len(self._ch_names) - self._n_emg
        return ("emg",) * self._n_emg + ("misc",) * n_aux

    @property
    def gaps(self) -> list[Gap]:
        """Gaps so far (counter jumps and reconnects), in stream order."""
        with self._lock:
            return list(self._gaps)

    @property
    def messages(self) -> list[str]:
        """Text the device sent (e.g. a dongle's ``Failure: ...``), verbatim."""
        with self._lock:
            return list(self._messages)

    @property
    def n_connections(self) -> int:
        """How many times the device was opened and started (1 + reconnections)."""
        with self._lock:
            return self._n_connections

    @property
    def n_bytes_dropped(self) -> int:
        """Bytes the parsers could not frame, over every connection."""
        with self._lock:
            adapter = self._adapter
            extra = adapter.state.n_bytes_dropped if adapter is not None else 0
            return self._n_bytes_dropped + extra

    @property
    def error(self) -> TwitchscopeError | None:
        """Why the reader stopped on its own, if it did."""
        with self._lock:
            return self._error

    def start(self) -> Reader:
        """Connect and start streaming; return once streaming.

        Raises
        ------
        DeviceError
            One line saying why the device could not be started.
        """
        if self._started_once:
            raise DeviceError(f"{self.port}: this reader was already started; make a new one.")
        self._started_once = True
        self._set_state(ReaderState.CONNECTING)
        self._supervisor = threading.Thread(
            target=self._supervise, name=f"twitchscope-reader {self.port}", daemon=True
        )
        self._supervisor.start()
        deadline = time.monotonic() + self.connect_timeout_s
        with self._changed:
            while self._state == ReaderState.CONNECTING:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            state, error = self._state, self._error
        if state == ReaderState.STREAMING:
            return self
        self.stop()
        if error is not None:
            raise error
        raise DeviceError(
            f"{self.port}: no {self.driver.protocol} device started within "
            f"{self.connect_timeout_s:g} s; check the port, the protocol and that the board is on."
        )

    def stop(self) -> None:
        """Stop streaming (sending the protocol's stop command), close the port, end threads."""
        self._stop.set()
        sup = self._supervisor
        if sup is not None and sup is not threading.current_thread():
            sup.join(timeout=10.0)
        self._set_state(ReaderState.STOPPED)
        if self._buffer is not None:
            self._buffer.close()

    def wait_for_state(self, state: ReaderState | str, timeout: float) -> bool:
        """Block until the reader is in ``state``; False on timeout."""
        want = ReaderState(state)
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._state != want:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(remaining)
            return True

    def wait_for_connections(self, n: int, timeout: float) -> bool:
        """Block until the device was (re)started ``n`` times in all and streams."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not (self._n_connections >= n and self._state == ReaderState.STREAMING):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._state == ReaderState.STOPPED:
                    return False
                self._changed.wait(remaining)
            return True

    def __enter__(self) -> Reader:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<Reader | {self.driver.protocol} on {self.port}, {self.state.value}>"

    # -- supervisor -------------------------------------------------------------------------

    def _set_state(self, state: ReaderState) -> None:
        with self._changed:
            if self._state != state:
                log.info("%s: %s", self.port, state.value)
            self._state = state
            self._changed.notify_all()

    def _supervise(self) -> None:
        first = True
        try:
            while not self._stop.is_set():
                path = self.port if first else self._reopen_target()
                try:
                    self._connect(path)
                except TwitchscopeError as exc:
                    if first:
                        with self._lock:
                            self._error = exc
                        return
                    log.debug("%s: reopen failed: %s", path, exc)
                    self._stop.wait(self.reconnect_interval_s)
                    continue
                first = False
                self._set_state(ReaderState.STREAMING)
                reason = self._watch()
                self._disconnect(send_stop=self._stop.is_set())
                if self._stop.is_set():
                    break
                log.warning("%s: disconnected: %s", self.port, reason)
                self._set_state(ReaderState.DISCONNECTED)
                if not self.reconnect:
                    with self._lock:
                        self._error = DeviceError(f"{self.port}: disconnected: {reason}")
                    break
                self._set_state(ReaderState.RECONNECTING)
                self._stop.wait(self.reconnect_interval_s)
        finally:
            self._set_state(ReaderState.STOPPED)

    def _connect(self, path: str) -> None:
        ser = open_port(path, baudrate=self.driver.baudrate, timeout=None)
        try:
            parser = self.driver.start(ser)
            self._adopt_spec(parser.spec)
        except TwitchscopeError:
            ser.close()
            raise
        except _PORT_ERRORS as exc:
            ser.close()  # the port failed under the handshake (e.g. unplugged again)
            raise DeviceError(
                f"{path}: the port failed during the handshake: {_one_line(exc)}"
            ) from None
        except BaseException:
            ser.close()
            raise
        if self._usb_identity is None:
            self._usb_identity = usb_identity(path)
        adapter = ParserProtocol(parser, self._on_chunk)
        thread = PortReadThread(ser, lambda: adapter, read_interval_s=self.read_interval_s)
        thread.name = f"twitchscope-serial {path}"
        now = time.monotonic()
        with self._lock:
            self._adapter = adapter
            self._thread = thread
            self._n_connections += 1
            self._last_sample_t = now
            self._rate_t0, self._rate_n = None, 0
        thread.start()
        thread.connect()

    def _reopen_target(self) -> str:
        """The stable path, or else the port now holding the same USB serial number."""
        path = self.reopen_path
        if is_url(path) or os.path.exists(path) or self._usb_identity is None:
            return path
        found = find_port(*self._usb_identity)
        if found is not None and found != path:
            log.info("%s: the device came back as %s", self.port, found)
            return found
        return path

    def _adopt_spec(self, spec: DeviceSpec) -> None:
        if self.spec is None:
            emg = self._emg_names or tuple(spec.ch_names)
            if len(emg) != spec.n_channels:
                raise ConfigError(
                    f"{self.port}: got {len(emg)} channel names ({', '.join(emg)}) for the "
                    f"{spec.n_channels} channels the board streams; give one name per channel."
                )
            names = check_ch_names(emg + tuple(spec.aux_names))
            self.spec = spec
            self._n_emg = spec.n_channels
            self._ch_names = names
            if self._buffer is None:
                self._buffer = RingBuffer(capacity=max(1, round(self._buffer_s * spec.sfreq)))
        elif (spec.sfreq, spec.ch_names, spec.aux_names) != (
            self.spec.sfreq,
            self.spec.ch_names,
            self.spec.aux_names,
        ):
            raise DeviceError(
                f"{self.port}: a different device answered after reconnecting "
                f"({spec.n_channels} channels at {spec.sfreq:g} Hz, expected "
                f"{self.spec.n_channels} at {self.spec.sfreq:g} Hz)."
            )

    def _watch(self) -> str:
        """Wait until stop or a fault; return the reason for a fault."""
        adapter, thread = self._adapter, self._thread
        assert adapter is not None and thread is not None
        while not self._stop.is_set():
            if adapter.lost.wait(0.05):
                exc = adapter.error
                return _one_line(exc) if exc is not None else "the port was closed"
            with self._lock:
                silent_for = time.monotonic() - self._last_sample_t
            if silent_for > self.silence_timeout_s:
                return (
                    f"no data for {silent_for:.1f} s (silence timeout {self.silence_timeout_s:g} s)"
                )
            if not thread.is_alive():
                return "the serial read thread ended"
        return "stopped"

    def _disconnect(self, *, send_stop: bool) -> None:
        thread, adapter = self._thread, self._adapter
        if thread is None:
            return
        if send_stop and thread.alive:
            try:
                self.driver.stop(thread.serial)
            except (serial.SerialException, OSError, TwitchscopeError) as exc:
                log.debug("%s: stop command failed: %s", self.port, exc)
        try:
            thread.close()
        except (serial.SerialException, OSError) as exc:
            log.debug("%s: close failed: %s", self.port, exc)
        with self._lock:
            if adapter is not None:
                self._n_bytes_dropped += adapter.state.n_bytes_dropped
            self._thread = None
            self._adapter = None
            if not send_stop:
                self._reconnect_from_t = self._last_sample_t

    # -- data path (runs in the serial thread) ----------------------------------------------

    def _on_chunk(self, chunk: ParsedChunk, now: float) -> None:
        spec = self.spec
        assert spec is not None and self._buffer is not None
        if chunk.messages:
            for text in chunk.messages:
                log.warning("%s: device says: %s", self.port, text)
            with self._lock:
                self._messages.extend(chunk.messages)
        n = chunk.n_samples
        lost_at = dict(_merge_gaps(chunk.gaps))
        if n == 0:
            # a gap reported after the last sample (none here) belongs to the next one
            self._carry_lost += sum(lost_at.values())
            return
        rows = chunk.samples if chunk.aux.shape[0] == 0 else np.vstack([chunk.samples, chunk.aux])
        if self._carry_lost:
            lost_at[0] = lost_at.get(0, 0) + self._carry_lost
            self._carry_lost = 0
        if n in lost_at:
            self._carry_lost = lost_at.pop(n)
        with self._lock:
            from_t = self._reconnect_from_t
            self._reconnect_from_t = None
        if from_t is not None:
            # samples the board made while we were away, from the host clock: the time
            # since the last sample before the fault, less this chunk's own duration
            est = round((now - from_t) * spec.sfreq) - n
            lost_at[0] = lost_at.get(0, 0) + max(1, est)
        cuts = sorted(i for i in lost_at if 0 < i < n)
        edges = [0, *cuts, n]
        blocks, gaps = [], []
        next_sample = self._next_sample
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            lost = lost_at.get(a, 0)
            if lost:
                gaps.append(Gap(onset_s=next_sample / spec.sfreq, n_samples=lost, sfreq=spec.sfreq))
                log.warning(
                    "%s: %d samples lost before sample %d", self.port, lost, next_sample + lost
                )
            blocks.append(
                SampleBlock(
                    data=rows[:, a:b],
                    sfreq=spec.sfreq,
                    first_sample=next_sample + lost,
                    ch_names=self._ch_names,
                    n_lost_before=lost,
                )
            )
            next_sample += lost + (b - a)
        self._next_sample = next_sample
        with self._lock:
            self._gaps.extend(gaps)
            self._last_sample_t = now
        for block in blocks:
            self._buffer.write(block)
        self._check_rate(n, now, spec.sfreq)

    def _check_rate(self, n: int, now: float, sfreq: float) -> None:
        """Compare the samples received since the connection began with the declared rate.

        The count runs from the first chunk of the connection, so a stall of the
        host followed by a catch-up burst averages out, while a board whose clock
        is really off shows more clearly the longer it streams.
        """
        if self._rate_t0 is None:  # the first chunk only starts the clock
            self._rate_t0, self._rate_n = now, 0
            self._rate_next = now + self.rate_check_s
            return
        self._rate_n += n
        if now < self._rate_next:
            return
        self._rate_next = now + self.rate_check_s
        elapsed = now - self._rate_t0
        measured = self._rate_n / elapsed
        self.measured_sfreq = measured
        if abs(measured - sfreq) > self.rate_tolerance * sfreq:
            log.warning(
                "%s: the board streams at %.1f Hz by the host clock but declares %g Hz "
                "(%+.1f %% over %.1f s)",
                self.port,
                measured,
                sfreq,
                100.0 * (measured / sfreq - 1.0),
                elapsed,
            )


def _merge_gaps(gaps: tuple[tuple[int, int], ...]) -> list[tuple[int, int]]:
    merged: dict[int, int] = {}
    for index, n_lost in gaps:
        if n_lost > 0:
            merged[int(index)] = merged.get(int(index), 0) + int(n_lost)
    return sorted(merged.items())


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
