"""The simulated amplifier's signal, and its needle sites labelled on the received stream.

:class:`SimFeeder` is the emulator's ``source(n)``: the next samples of
:mod:`twitchscope.signal.simulate`, keeping the first seconds so the received stream
can be lined up with the simulation. :class:`SimSiteLabeller` presses "Needle in" /
"Needle out" in a :class:`~twitchscope.signal.core.sites.SiteLog` at the scenario's
sites as the stream passes them; the live source runs it on a thread of its own, so
it happens once, where the samples arrive, and reading the stream changes nothing.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite
from twitchscope.signal.core.sites import SiteLog

if TYPE_CHECKING:  # imported lazily at run time (threads, pyserial, the simulator)
    from twitchscope.acquisition.emulation.pty_board import Emulator
    from twitchscope.acquisition.transport.ring_buffer import RingBuffer
    from twitchscope.signal.simulate import SimConfig, SimState

__all__ = ["SimFeeder", "SimSiteLabeller"]

log = logging.getLogger(__name__)

#: Seconds of the simulation's beginning kept to line the received stream up with it.
_SIM_HEAD_S = 10.0
#: Seconds of received samples matched against it.
_SIM_MATCH_S = 0.25


class SimFeeder:
    """``source(n)`` for the emulator: the next samples of an endless simulation.

    Called only from the emulator's thread. Needle sites of the scenario are
    complete once their offset has been generated; :meth:`sites_overlapping` lists
    those whose span meets a time range.
    """

    def __init__(self, config: SimConfig, *, seed: int) -> None:
        from twitchscope.signal import simulate

        self.config = config
        self._state: SimState = simulate.init_sim_state(config, seed=seed)
        self._lock = threading.Lock()
        self.head_capacity = int(round(_SIM_HEAD_S * config.sfreq))
        self._head: list[NDArray[np.float64]] = []
        self._n_head = 0

    def __call__(self, n: int) -> NDArray[np.float64]:
        from twitchscope.signal import simulate

        with self._lock:
            block, self._state = simulate.sim_step(self.config, int(n), self._state)
            if self._n_head < self.head_capacity:
                keep = block.data[:, : self.head_capacity - self._n_head]
                self._head.append(keep)
                self._n_head += keep.shape[1]
        return block.data

    def head(self) -> NDArray[np.float64]:
        """The first samples generated (up to ``head_capacity``), shape (n_channels, n)."""
        with self._lock:
            if not self._head:
                return np.zeros((self.config.n_channels, 0))
            return np.concatenate(self._head, axis=1)

    def sites_overlapping(self, t0: float, t1: float) -> list[NeedleSite]:
        """Scenario sites (repeating every cycle) whose span meets [t0, t1]."""
        cfg = self.config
        sites = getattr(cfg, "sites", ())
        if not sites:
            return []
        cycle = float(getattr(cfg, "cycle_s", None) or 0.0)
        if cycle <= 0:
            cycle = max(s.offset_s for s in sites) + 1.0
        out = []
        for k in range(max(0, int(t0 // cycle) - 1), int(t1 // cycle) + 2):
            for s in sites:
                site = s.needle_site(k * cycle)
                if site.onset_s <= t1 and site.offset_s >= t0:
                    out.append(site)
        return out


class SimSiteLabeller:
    """Label the scenario's needle sites in a site log as the received stream passes them.

    Parameters
    ----------
    feeder : SimFeeder
        The simulation the emulator streams.
    sites : SiteLog
        Where the presses go (the live source's log).
    buffer : RingBuffer
        The reader's ring buffer (read, never consumed).
    sfreq : float
        Sampling rate of the stream, Hz.
    n_emg : int
        EMG rows of the stream (the first rows of each block).
    emulator : Emulator or None
        The emulated board: the first sample it sent is the alignment when the data
        cannot tell (None: the stream starts at the simulation's start).

    Notes
    -----
    Drive it from one thread: :meth:`update` after samples arrive, or :meth:`run`.
    Site times are those of the simulation moved to the stream's clock: the
    emulator streams from its start and the reader drops what arrived before it
    opened the port, so the offset between the two is found from the data.
    """

    def __init__(
        self,
        feeder: SimFeeder,
        sites: SiteLog,
        buffer: RingBuffer,
        *,
        sfreq: float,
        n_emg: int,
        emulator: Emulator | None = None,
    ) -> None:
        self.feeder = feeder
        self.sites = sites
        self.buffer = buffer
        self.emulator = emulator
        self.sfreq = float(sfreq)
        self.n_emg = int(n_emg)
        self._offset_s: float | None = None  # simulation time of stream sample 0
        self._labelled_until_s = 0.0

    def run(self, stop: threading.Event) -> None:
        """Thread body: label new stretches of the stream until ``stop`` is set."""
        while not stop.is_set():
            self.buffer.wait_for(self.buffer.end_sample + 1, timeout=0.2)
            self.update()
            if self.buffer.closed:  # the board is gone: do not spin
                stop.wait(0.2)

    def update(self) -> None:
        """Press "Needle in"/"Needle out" at the scenario's sites the stream has passed."""
        now = self.buffer.end_sample / self.sfreq
        last = self._labelled_until_s
        if now <= last:
            return
        off = self._offset_s
        if off is None:
            off = self._offset_s = self._find_offset()
            if off is None:
                return  # too few samples received yet to tell
        presses = []
        for site in self.feeder.sites_overlapping(last + off, now + off):
            onset, offset = site.onset_s - off, site.offset_s - off
            if last < onset <= now:
                presses.append((onset, 1, site))
            if last < offset <= now:
                presses.append((offset, 0, site))
        for t, is_in, site in sorted(presses, key=lambda p: (p[0], p[1])):
            try:
                if is_in:
                    self.sites.needle_in(
                        site.label,
                        max(0.0, t),
                        muscle=site.muscle,
                        side=site.side,
                        point_id=site.point_id,
                    )
                elif self.sites.active == site.label:
                    self.sites.needle_out(t)
            except ConfigError as exc:  # a press of the clinician's came in between
                log.warning("simulated site %r not labelled: %s", site.label, exc)
        self._labelled_until_s = now

    def _find_offset(self) -> float | None:
        """Simulation time (s) of the first sample received, once enough have arrived.

        The stream starts at a sample of the simulation that only the data can tell:
        where the first received samples lie in its beginning.
        """
        from twitchscope.signal.analysis.alignment import locate_window

        n = max(32, int(round(_SIM_MATCH_S * self.sfreq)))
        got = self.buffer.read(0)
        if got.n_missed or got.n_samples < n:
            return None if not got.n_missed else self._sent_offset()
        received = np.concatenate([b.data[: self.n_emg] for b in got.blocks], axis=1)[:, :n]
        head = self.feeder.head()[: self.n_emg]
        index = locate_window(head, received)
        if index is None:
            if head.shape[1] < self.feeder.head_capacity:
                return None  # the simulation may not have produced the match yet
            log.warning("could not line the stream up with the simulation; site times may be off")
            return self._sent_offset()
        return index / self.sfreq

    def _sent_offset(self) -> float:
        """Fallback: the first sample the emulator wrote (exact when nothing was dropped)."""
        if self.emulator is None:
            return 0.0
        sent = self.emulator.sent()
        return (sent[0].first_index if sent else 0) / self.sfreq
