"""A board on a pseudo-terminal: handshake, real packet format, real rate, faults on demand.

:class:`Emulator` opens a pty pair (``os.openpty()``, both ends in raw mode), and
a daemon thread plays the device on the master end: it answers the protocol's
host commands, and while streaming it writes packets in the board's own format
(made by the protocol module's encoder) at the board's rate, paced by the host
clock. Any program opens :attr:`Emulator.path` as if it were the board.

The board's clock runs from :meth:`Emulator.start` whether or not it streams:
the ``source`` callable is asked for every sample period, and samples produced
while not streaming or while disconnected are thrown away, as on a real board.
So the *source index* of a sample is its time since start times the rate, and
:meth:`Emulator.sent` tells which source indices went out on the wire.

Faults, each applied to the next packets the board produces (after any still
queued for the wire; :meth:`Emulator.wait_faults` returns once they are in):

* :meth:`Emulator.drop_packets` leaves out whole packets (a counter jump for
  protocols with a counter);
* :meth:`Emulator.corrupt_packets` breaks the framing of whole packets so the
  parser must resynchronise and lose exactly those samples;
* :meth:`Emulator.inject_junk` writes bytes between packets (nothing lost);
* :meth:`Emulator.disconnect` closes the pty (the reader sees the cable pulled)
  and :meth:`Emulator.reconnect` opens a new one behind the same ``link`` path.

If nobody reads the port, the pty fills up and the emulator never blocks: it
keeps at most ``max_backlog_s`` of packets and drops the oldest whole packets
(:attr:`Emulator.n_overflow`), as a USB bridge's buffer would; a packet is never
cut in two on the wire.

The protocol behaviours ("personalities",
:class:`~twitchscope.acquisition.boards.base.Personality`) live in the board
modules; :func:`twitchscope.acquisition.boards.registry.make_personality` builds
one by protocol name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time
import tty
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from twitchscope.acquisition.boards.base import Personality
from twitchscope.signal.core.checks import check_positive
from twitchscope.signal.core.errors import ConfigError, DeviceError

__all__ = ["Emulator", "SentSpan", "Source"]

log = logging.getLogger(__name__)

#: Returns the next ``n`` samples of every channel, shape (n_channels, n), in volts.
Source = Callable[[int], NDArray[np.float64]]


@dataclass(frozen=True, slots=True)
class SentSpan:
    """Consecutive source samples that went out on the wire.

    Parameters
    ----------
    first_index : int
        Source index of the first sample.
    n_samples : int
        How many followed it without a break.
    """

    first_index: int
    n_samples: int

    @property
    def end_index(self) -> int:
        """One past the last source index."""
        return self.first_index + self.n_samples


class Emulator:
    """Play a board on a pty.

    Parameters
    ----------
    personality : Personality
        The board's behaviour (see :func:`twitchscope.acquisition.boards.registry.make_personality`).
    source : callable
        ``source(n) -> array (n_channels, n)`` in volts: the next samples of the
        signal. Called for every sample period, streamed or not.
    link : str or path or None
        A symlink to (re)point at the slave end, so the path survives
        :meth:`reconnect` (the reader reopens "the same device").
    rate_factor : float
        Stream this much faster (> 1) or slower (< 1) than the declared rate, to
        test the rate check.
    tick_s : float
        Pacing period of the streaming thread.
    max_backlog_s : float
        Data older than this that the host has not read is dropped (like a USB
        bridge's buffer overflowing), whole packets at a time.
    """

    def __init__(
        self,
        personality: Personality,
        source: Source,
        *,
        link: str | os.PathLike[str] | None = None,
        rate_factor: float = 1.0,
        tick_s: float = 0.005,
        max_backlog_s: float = 2.0,
    ) -> None:
        self.personality = personality
        self.source = source
        self.link = None if link is None else Path(link)
        self.rate_factor = check_positive("rate_factor", rate_factor)
        self.tick_s = check_positive("tick_s", tick_s)
        self.max_backlog_s = check_positive("max_backlog_s", max_backlog_s)

        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe()
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_name = ""
        self._connected = False
        # bumped whenever the pty is opened or closed: the thread checks it under the lock
        # before it reads a descriptor number it took before select (the number may have
        # been closed and handed to another file since, e.g. the new pty's blocking slave)
        self._pty_generation = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

        self._t0 = 0.0
        self._clock_index = 0  # source samples produced so far (sent or not)
        self._clock_base_t = 0.0
        self._clock_base_index = 0
        self._queue: deque[tuple[bytes, int]] = deque()  # (bytes, source index or -1)
        self._queued_bytes = 0
        self._partial = b""  # the unwritten tail of a packet, written first next time
        self._drop_next = 0
        self._corrupt_next = 0
        self._junk = b""
        self._sent: list[SentSpan] = []
        self._dropped: list[int] = []
        self._corrupted: list[int] = []
        self._n_overflow = 0
        self._n_bytes_written = 0
        self._received = bytearray()
        self._sent_cond = threading.Condition(self._lock)

    # -- life cycle -------------------------------------------------------------------------

    @property
    def path(self) -> str:
        """What to open: the ``link`` if given, else the slave pty (``/dev/pts/N``)."""
        return str(self.link) if self.link is not None else self._slave_name

    @property
    def slave_name(self) -> str:
        """The current slave pty path."""
        return self._slave_name

    def start(self) -> Emulator:
        """Open the pty, power the board up and start its thread."""
        if self._thread is not None:
            raise DeviceError("this emulator was already started; make a new one.")
        if self.link is not None:
            if self.link.exists() and not self.link.is_symlink():
                raise ConfigError(
                    f"link {str(self.link)!r} exists and is not a symlink; expected a free path "
                    "or an old emulator link to replace."
                )
            if not self.link.parent.is_dir():
                raise ConfigError(f"the folder of link {str(self.link)!r} does not exist.")
        self._open_pty()
        boot = self.personality.power_up()
        self._t0 = self._clock_base_t = time.monotonic()
        if boot:
            self._enqueue([(boot, -1)])
        self._thread = threading.Thread(
            target=self._run, name=f"twitchscope-emulator {self.personality.protocol}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread and close the pty (and remove the link)."""
        self._stop.set()
        os.write(self._wake_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=10.0)
        with self._lock:
            self._close_pty()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.link is not None:
            with contextlib.suppress(OSError):
                self.link.unlink()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- faults -----------------------------------------------------------------------------

    def drop_packets(self, n: int) -> None:
        """Leave out the next ``n`` sample packets (their samples are lost)."""
        with self._lock:
            self._drop_next += int(n)

    def corrupt_packets(self, n: int) -> None:
        """Break the framing of the next ``n`` sample packets (their samples are lost)."""
        with self._lock:
            self._corrupt_next += int(n)

    def inject_junk(self, data: bytes) -> None:
        """Write ``data`` between two packets (no sample is lost)."""
        with self._lock:
            self._junk += bytes(data)

    def disconnect(self) -> None:
        """Pull the cable: close the pty. The board's clock runs on; its samples are lost."""
        with self._lock:
            self._close_pty()
            self._queue.clear()
            self._queued_bytes = 0
            self._partial = b""
        os.write(self._wake_w, b"x")

    def reconnect(self) -> None:
        """Plug it back: a new pty behind the same ``link``, the board in its power-up state."""
        if self.link is None:
            raise ConfigError("reconnect needs a link path (Emulator(link=...)) to reappear at.")
        with self._lock:
            if self._connected:
                return
            self._open_pty()
            boot = self.personality.power_up()
            if boot:
                self._enqueue([(boot, -1)])
        os.write(self._wake_w, b"x")

    # -- what happened ----------------------------------------------------------------------

    def sent(self) -> list[SentSpan]:
        """Runs of source indices that went out on the wire, in order."""
        with self._lock:
            return list(self._sent)

    @property
    def n_sent(self) -> int:
        """Samples written to the wire."""
        with self._lock:
            return sum(s.n_samples for s in self._sent)

    @property
    def dropped(self) -> list[int]:
        """Source indices of the samples left out by :meth:`drop_packets`."""
        with self._lock:
            return list(self._dropped)

    @property
    def corrupted(self) -> list[int]:
        """Source indices of the samples sent with broken framing."""
        with self._lock:
            return list(self._corrupted)

    @property
    def n_overflow(self) -> int:
        """Samples dropped because the host did not read them in time."""
        with self._lock:
            return self._n_overflow

    @property
    def received(self) -> bytes:
        """Every byte the host sent to the board."""
        with self._lock:
            return bytes(self._received)

    @property
    def source_index(self) -> int:
        """Source samples produced since start (the board's clock, in samples)."""
        with self._lock:
            return self._clock_index

    def wait_faults(self, timeout: float) -> bool:
        """Block until every fault asked for has been applied to the stream."""
        deadline = time.monotonic() + timeout
        with self._sent_cond:
            while self._drop_next or self._corrupt_next or self._junk:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._sent_cond.wait(remaining)
            return True

    def wait_received(self, data: bytes, timeout: float) -> bool:
        """Block until the bytes the host sent so far end with ``data``."""
        deadline = time.monotonic() + timeout
        with self._sent_cond:
            while not self._received.endswith(data):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._sent_cond.wait(remaining)
            return True

    def wait_sent(self, n: int, timeout: float) -> bool:
        """Block until at least ``n`` samples were written to the wire."""
        deadline = time.monotonic() + timeout
        with self._sent_cond:
            while sum(s.n_samples for s in self._sent) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._sent_cond.wait(remaining)
            return True

    # -- internals --------------------------------------------------------------------------

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._slave_name = os.ttyname(slave)
        self._connected = True
        self._pty_generation += 1
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + f".tmp{os.getpid()}")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            os.symlink(self._slave_name, tmp)
            os.replace(tmp, self.link)

    def _close_pty(self) -> None:
        for fd in (self._master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        self._connected = False
        self._pty_generation += 1

    def _enqueue(self, items: list[tuple[bytes, int]]) -> None:
        for data, index in items:
            self._queue.append((data, index))
            self._queued_bytes += len(data)

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                with self._lock:
                    master, generation = self._master, self._pty_generation
                fds = [self._wake_r] + ([master] if master is not None else [])
                try:
                    readable, _, _ = select.select(fds, [], [], self.tick_s)
                except (OSError, ValueError):  # the master was closed under us
                    continue
                if self._wake_r in readable:
                    os.read(self._wake_r, 4096)
                if master is not None and master in readable:
                    self._read_host(master, generation)
                self._produce()
                self._flush()
        except Exception:  # pragma: no cover - a bug in the emulator: say so, loudly
            log.exception("emulator thread crashed")
            raise

    def _read_host(self, master: int, generation: int) -> None:
        with self._lock:
            if self._pty_generation != generation:  # closed under us since the select
                return
            try:  # under the lock: the number cannot be closed and reused during the read
                data = os.read(master, 4096)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # EIO: no slave open right now
                return
        if not data:
            return
        self._produce()  # samples due before the command are made at the old rate
        with self._lock:
            self._received.extend(data)
            self._sent_cond.notify_all()
            if self._pty_generation != generation:
                return
            sfreq = self.personality.sfreq
            reply = self.personality.on_bytes(data)
            if self.personality.sfreq != sfreq:  # e.g. Spiker "c:N;": restart the clock
                self._clock_base_t = time.monotonic()
                self._clock_base_index = self._clock_index
            if reply:
                self._enqueue([(reply, -1)])

    def _produce(self) -> None:
        """Ask the source for every sample period elapsed; queue the ones to send."""
        now = time.monotonic()
        with self._lock:
            sfreq = self.personality.sfreq * self.rate_factor
            due = self._clock_base_index + int((now - self._clock_base_t) * sfreq)
            n = due - self._clock_index
            if n <= 0:
                return
            first = self._clock_index
            self._clock_index = due
            streaming = self.personality.streaming and self._connected
            n_channels = self.personality.n_channels
        block = np.asarray(self.source(n), dtype=np.float64)
        if block.shape != (n_channels, n):
            raise ConfigError(
                f"the emulator's source returned shape {block.shape}, expected ({n_channels}, {n})."
            )
        if not streaming:
            return
        packets = self.personality.encode(block, first)
        if len(packets) != n:
            raise ConfigError(f"encoder returned {len(packets)} packets for {n} samples.")
        items: list[tuple[bytes, int]] = []
        with self._lock:
            for k, packet in enumerate(packets):
                if self._junk:
                    items.append((self._junk, -1))
                    self._junk = b""
                if self._drop_next > 0:
                    self._drop_next -= 1
                    self._dropped.append(first + k)
                    continue
                if self._corrupt_next > 0:
                    self._corrupt_next -= 1
                    self._corrupted.append(first + k)
                    items.append((self.personality.corrupt(packet), -2))
                    continue
                items.append((packet, first + k))
            self._enqueue(items)
            self._trim_backlog(sfreq)
            self._sent_cond.notify_all()  # for wait_faults

    def _trim_backlog(self, sfreq: float) -> None:
        limit = max(4096, int(self.max_backlog_s * sfreq * 64))
        while self._queued_bytes > limit and self._queue:
            data, index = self._queue.popleft()
            self._queued_bytes -= len(data)
            if index >= 0:
                self._n_overflow += 1

    def _flush(self) -> None:
        with self._lock:
            master = self._master
            if master is None:
                return
            out: list[bytes] = []
            indices: list[int] = []
            if self._partial:
                out.append(self._partial)
                self._partial = b""
            total = sum(len(b) for b in out)
            while self._queue and total < 65536:
                data, index = self._queue.popleft()
                self._queued_bytes -= len(data)
                out.append(data)
                indices.append(index)
                total += len(data)
            payload = b"".join(out)
            if not payload:
                return
            try:
                written = os.write(master, payload)
            except (BlockingIOError, InterruptedError):
                written = 0
            except OSError:  # closed under us
                return
            self._n_bytes_written += written
            if written < len(payload):
                # keep what did not fit: whole items back at the head of the queue,
                # the cut one as a partial tail so no frame is ever split on the wire
                rest = payload[written:]
                pos = len(payload)
                back: list[tuple[bytes, int]] = []
                for data, index in zip(
                    reversed(out[-len(indices) :]), reversed(indices), strict=False
                ):
                    start = pos - len(data)
                    if start >= written:
                        back.append((data, index))
                        pos = start
                    else:
                        break
                back.reverse()
                cut = len(rest) - sum(len(d) for d, _ in back)
                self._partial = rest[:cut]
                for data, index in reversed(back):
                    self._queue.appendleft((data, index))
                    self._queued_bytes += len(data)
                indices = indices[: len(indices) - len(back)]
            self._record_sent(indices)

    def _record_sent(self, indices: list[int]) -> None:
        changed = False
        for index in indices:
            if index < 0:
                continue
            changed = True
            if self._sent and self._sent[-1].end_index == index:
                last = self._sent[-1]
                self._sent[-1] = SentSpan(last.first_index, last.n_samples + 1)
            else:
                self._sent.append(SentSpan(index, 1))
        if changed:
            self._sent_cond.notify_all()
