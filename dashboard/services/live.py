"""The live source: a board streaming into a ring buffer, or the simulated amplifier.

:class:`LiveSource` owns threads: a :class:`~twitchscope.acquisition.transport.reader.Reader`
on a serial port and, for the simulated amplifier, an
:class:`~twitchscope.acquisition.emulation.pty_board.Emulator` on a pty fed by
:mod:`twitchscope.dashboard.services.simulated_feed`. So the demo runs the real serial
path. One live source exists per server process, held by the
:class:`~twitchscope.dashboard.services.acquisition_owner.AcquisitionOwner` (in
``st.cache_resource``) and stopped explicitly.

A live source can also publish on Lab Streaming Layer (``LiveSpec.lsl``): a thread
of its own reads the ring buffer with its own cursor and feeds an
:class:`~twitchscope.dashboard.services.lsl_outlet.LslRelay` (EMG in µV, twitch markers
from a detector with the settings of the session that started it), and needle
spans as ``needle:<label>`` / ``needle-out`` markers.

Nothing here calls Streamlit, so it is tested without it.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twitchscope.dashboard.services.simulated_feed import SimFeeder, SimSiteLabeller
from twitchscope.dashboard.services.stream_source import SIMULATED
from twitchscope.signal.core.checks import check_ch_names
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import Gap, SampleBlock
from twitchscope.signal.core.sites import SiteLog
from twitchscope.signal.detect.config import DetectorConfig

if TYPE_CHECKING:  # imported lazily at run time (threads, pyserial, the simulator, pylsl)
    from twitchscope.acquisition.emulation.pty_board import Emulator
    from twitchscope.acquisition.recording.stream_recording import StreamRecording
    from twitchscope.acquisition.transport.reader import Reader
    from twitchscope.dashboard.services.lsl_outlet import LslPublisher, LslRelay
    from twitchscope.dashboard.services.session_files import FinalizeSummary

__all__ = [
    "COALESCE_S",
    "DEFAULT_SCENARIO",
    "SCENARIO_DETECTOR_PRESET",
    "default_scenario",
    "parse_channel_names",
    "suggested_preset",
    "LiveSpec",
    "LiveSource",
    "join_blocks",
]

log = logging.getLogger(__name__)

#: Shortest stretch of samples (s) the LSL relay detects on at a time: the serial reader
#: delivers 2-3 samples per read at 250 Hz (a read every 10 ms); the detector gives the same
#: events for any cut.
COALESCE_S = 0.02

#: How often the simulated amplifier's emulator sends what it has made (s).
EMULATOR_TICK_S = 0.01
#: The simulation scenario each emulated board plays unless another is chosen.
DEFAULT_SCENARIO: dict[str, str] = {"cyton": "cyton"}


#: The detector preset that suits a simulated scenario: the trunk preset where the
#: scenario's muscles pick up ECG (the infraspinatus of ``cyton``, the trapezius of
#: ``trunk_ecg``), as the signal-quality panel advises for such a stream.
SCENARIO_DETECTOR_PRESET: dict[str, str] = {"cyton": "trunk", "trunk_ecg": "trunk"}


def suggested_preset(spec: LiveSpec) -> str | None:
    """The detector preset that suits ``spec``'s simulated scenario (None: no advice)."""
    return SCENARIO_DETECTOR_PRESET.get(spec.scenario) if spec.simulated else None


def parse_channel_names(text: str, *, option: str = "channel names") -> tuple[str, ...]:
    """Comma-separated channel names (``--names`` of ``record``, the live page's field).

    Raises
    ------
    ConfigError
        An empty name or a name given twice; the count is checked against the board's
        channels when it answers (:class:`~twitchscope.acquisition.transport.reader.Reader`).
    """
    names = tuple(n.strip() for n in str(text).split(","))
    if any(not n for n in names):
        raise ConfigError(
            f"{option} {text!r} has an empty name; expected comma-separated names such as "
            "R-UpTrap,R-LevScap."
        )
    return check_ch_names(names)


def default_scenario(protocol: str) -> str:
    """The simulation scenario ``protocol``'s emulated board plays unless another is chosen."""
    return DEFAULT_SCENARIO.get(protocol, "limb")


@dataclass(frozen=True, slots=True)
class LiveSpec:
    """What to stream live.

    Parameters
    ----------
    port : str
        :data:`SIMULATED`, or a serial port path / pyserial URL.
    protocol : str
        Protocol name (``cyton``, ``chords``, …).
    sim_preset : str
        Scenario of :mod:`twitchscope.signal.simulate` for the simulated amplifier
        (empty: the board's usual one, :data:`DEFAULT_SCENARIO`).
    seed : int
        Seed of the simulated signal.
    label_sim_sites : bool
        With the simulated amplifier, label the scenario's needle sites
        automatically (as if the clinician pressed "Needle in"/"Needle out").
    lsl : bool
        Also publish the EMG, twitch markers and needle markers on Lab Streaming
        Layer (needs pylsl), under the name ``lsl_name``.
    lsl_detector : DetectorConfig or None
        Detector settings of the twitch markers (None: the default preset).
    ch_names : tuple of str
        Names of the EMG channels, one per channel the board streams (empty: the
        board's own, or the simulated scenario's muscles).
    """

    port: str = SIMULATED
    protocol: str = "cyton"
    sim_preset: str = ""
    seed: int = 0
    label_sim_sites: bool = True
    lsl: bool = False
    lsl_name: str = "twitchscope"
    lsl_detector: DetectorConfig | None = None
    ch_names: tuple[str, ...] = ()

    @property
    def scenario(self) -> str:
        """The simulation scenario actually used."""
        return self.sim_preset or default_scenario(self.protocol)

    @property
    def simulated(self) -> bool:
        """Whether this is the simulated amplifier."""
        return self.port == SIMULATED

    def describe(self) -> str:
        """One line for the status bar."""
        lsl = f", published on LSL as {self.lsl_name!r}" if self.lsl else ""
        if self.simulated:
            return f"simulated {self.protocol} amplifier ({self.scenario} scenario){lsl}"
        return f"{self.protocol} on {self.port}{lsl}"


class LiveSource:
    """A board streaming into a ring buffer, or the simulated amplifier on a pty.

    Parameters
    ----------
    spec : LiveSpec
        What to stream.
    buffer_s : float
        Seconds the ring buffer keeps (what a late reader and the export can see).

    Notes
    -----
    Owns threads (the reader's; when simulated, the emulator's and the one labelling
    the scenario's needle sites; the LSL publisher's): keep exactly one per process
    (see :class:`~twitchscope.dashboard.services.acquisition_owner.AcquisitionOwner`)
    and call :meth:`stop`. Reading (:meth:`read_since`, :meth:`now_s`) changes nothing.
    """

    def __init__(self, spec: LiveSpec, *, buffer_s: float = 900.0) -> None:
        self.spec = spec
        self.name = spec.describe()
        self.sites = SiteLog()
        self._buffer_s = buffer_s
        self._emulator: Emulator | None = None
        self._reader: Reader | None = None
        self._sim: SimFeeder | None = None
        self._label_thread: threading.Thread | None = None
        self.sfreq = math.nan
        self.ch_names: tuple[str, ...] = ()
        self._n_emg = 0
        self.started_at = time.time()
        self._lsl_thread: threading.Thread | None = None
        self._stop = threading.Event()  # tells the LSL and labelling threads to end
        self.lsl_publisher: LslPublisher | None = None
        self.lsl_error = ""
        self._recording: StreamRecording | None = None
        self._recording_lock = threading.Lock()

    def start(self) -> LiveSource:
        """Open the port (starting the emulator first when simulated) and stream.

        Raises
        ------
        DeviceError, ConfigError
            One line saying why it could not start.
        """
        from twitchscope.acquisition.boards.registry import make_driver
        from twitchscope.acquisition.transport.reader import Reader

        self._stop.clear()
        port = self.spec.port
        options: dict[str, Any] = {}
        names: tuple[str, ...] | None = self.spec.ch_names or None
        if self.spec.simulated:
            port, options = self._start_emulator()
            assert self._sim is not None
            # the scenario's muscles (the wire carries no names), unless the user named them
            names = names or tuple(self._sim.config.ch_names)
        try:
            driver = make_driver(self.spec.protocol, **options)
            reader = Reader(port, driver, buffer_s=self._buffer_s, ch_names=names)
            reader.start()
        except BaseException:
            self._stop_emulator()
            raise
        self._reader = reader
        assert reader.spec is not None  # set once streaming
        self.sfreq = float(reader.spec.sfreq)
        self._n_emg = int(reader.spec.n_channels)
        self.ch_names = tuple(reader.ch_names[: self._n_emg])
        if self._sim is not None:
            if self.spec.label_sim_sites:
                self._start_labelling(self._sim, reader)
        if self.spec.lsl:
            try:
                self._start_lsl()
            except BaseException:
                self.stop()
                raise
        log.info("live source started: %s", self.name)
        return self

    def _start_labelling(self, feeder: SimFeeder, reader: Reader) -> None:
        """Label the scenario's needle sites on a thread of its own, as samples arrive."""
        labeller = SimSiteLabeller(
            feeder,
            self.sites,
            reader.buffer,
            sfreq=self.sfreq,
            n_emg=self._n_emg,
            emulator=self._emulator,
        )
        thread = threading.Thread(
            target=labeller.run,
            args=(self._stop,),
            name="twitchscope-sim-sites",
            daemon=True,
        )
        self._label_thread = thread
        thread.start()

    def _start_lsl(self) -> None:
        """Create the LSL outlets and the thread that feeds them from the ring buffer."""
        from twitchscope.dashboard.services.lsl_outlet import LslPublisher, LslRelay

        publisher = LslPublisher(
            sfreq=self.sfreq, ch_names=self.ch_names, name=self.spec.lsl_name, device=self.name
        )
        config = self.spec.lsl_detector or DetectorConfig()
        relay = LslRelay(publisher, ch_names=self.ch_names, config=config)
        self.lsl_publisher = publisher
        thread = threading.Thread(
            target=self._publish_lsl, args=(relay,), name="twitchscope-lsl", daemon=True
        )
        self._lsl_thread = thread
        thread.start()

    def _publish_lsl(self, relay: LslRelay) -> None:
        """Thread: relay every new block, and the needle spans, until stopped. No st.* here."""
        reader = self._reader
        assert reader is not None
        cursor = reader.buffer.start_sample
        announced: dict[tuple[str, float], bool] = {}  # (label, onset) -> closed already
        # detect on at least COALESCE_S of samples at a time, not on each serial read
        min_n = max(1, int(math.ceil(COALESCE_S * self.sfreq)))
        try:
            while not self._stop.is_set():
                if reader.buffer.wait_for(cursor + 1, timeout=0.2):
                    reader.buffer.wait_for(cursor + min_n, timeout=COALESCE_S)
                blocks, cursor = self.read_since(cursor)
                if not blocks and reader.buffer.closed:  # the board is gone: do not spin
                    self._stop.wait(0.2)
                for block in blocks:
                    relay.feed(block)
                if relay.publisher.start_time is not None:
                    self._publish_sites(relay.publisher, announced)
            relay.finish()
        except Exception as exc:  # LSL is a side channel: the live view goes on
            self.lsl_error = f"LSL publishing stopped: {exc}"
            log.error("%s", self.lsl_error)
        finally:
            relay.publisher.close()

    def _publish_sites(
        self, publisher: LslPublisher, announced: dict[tuple[str, float], bool]
    ) -> None:
        """``needle:<label>`` at each span's onset, ``needle-out`` at its end, once each."""
        now = self.now_s()
        closed = self.sites.sites()
        shown = self.sites.sites(now)
        open_keys = {(s.label, s.onset_s) for s in shown} - {(s.label, s.onset_s) for s in closed}
        for site in shown:
            key = (site.label, site.onset_s)
            if key not in announced:
                publisher.push_marker(site.description, site.onset_s)
                announced[key] = False
            if key not in open_keys and not announced[key]:
                publisher.push_marker("needle-out", site.offset_s)
                announced[key] = True

    def _start_emulator(self) -> tuple[str, dict[str, Any]]:
        from twitchscope.acquisition.boards.registry import make_personality
        from twitchscope.acquisition.emulation.pty_board import Emulator
        from twitchscope.signal import simulate

        personality = make_personality(self.spec.protocol)
        cfg = simulate.preset(
            self.spec.scenario, sfreq=personality.sfreq, n_channels=personality.n_channels
        )
        feeder = SimFeeder(cfg, seed=self.spec.seed)
        self._sim = feeder
        # the bytes come every 10 ms, as from a USB serial adapter (an FTDI chip sends
        # what it holds every 1-16 ms, its latency timer): a thread woken for every
        # packet cost the 2-core machine that runs the dashboard and the browser ~8 %
        emu = Emulator(personality, feeder, tick_s=EMULATOR_TICK_S)
        emu.start()
        self._emulator = emu
        return emu.path, personality.reader_options()

    def _stop_emulator(self) -> None:
        emu, self._emulator = self._emulator, None
        if emu is not None:
            emu.stop()

    @property
    def recording(self) -> StreamRecording | None:
        """The recording to disk in progress, if any."""
        return self._recording

    def start_recording(self, out: str | os.PathLike[str]) -> StreamRecording:
        """Record the stream from now on to ``out`` (``.fif`` or ``.edf``).

        The samples go to a crash-safe partial folder beside ``out`` (``<out>.partial``,
        which ``twitchscope recover`` rebuilds after a crash) until :meth:`stop_recording`.

        Raises
        ------
        ConfigError
            Not streaming, already recording, or a bad file name.
        FileFormatError
            ``out`` or its partial folder exists, or its folder does not.
        """
        from twitchscope.acquisition.recording.partial_format import partial_path_for
        from twitchscope.acquisition.recording.stream_recording import StreamRecording
        from twitchscope.signal.core.errors import FileFormatError

        out = Path(out)
        if not out.name.lower().endswith((".fif", ".edf")):
            raise ConfigError(f"a recording is written as .fif or .edf, got {out.name!r}.")
        if out.exists():
            raise FileFormatError(f"{str(out)!r} already exists; choose another name.")
        if not out.parent.is_dir():
            raise FileFormatError(f"cannot write {str(out)!r}: its folder does not exist.")
        with self._recording_lock:
            reader = self._reader
            if reader is None:
                raise ConfigError("start the source before recording it.")
            if self._recording is not None:
                raise ConfigError(f"already recording to {self._recording.target.name}.")
            self._recording = StreamRecording(
                reader.buffer,
                partial_path_for(out),
                target=out,
                sfreq=self.sfreq,
                ch_names=tuple(reader.ch_names),
                ch_types=tuple(reader.ch_types),
                device=self.spec.describe(),
                protocol=self.spec.protocol,
                sites=self.sites,
            ).start()
            log.info("recording %s to %s", self.name, out)
            return self._recording

    def stop_recording(self, *, detector: DetectorConfig | None = None) -> FinalizeSummary:
        """End the recording and write its file (with the twitches ``detector`` finds).

        Raises
        ------
        ConfigError
            No recording in progress.
        DeviceError
            Nothing arrived while recording (the partial folder is removed).
        FileFormatError
            The file could not be written (the partial folder is kept: ``twitchscope
            recover``).
        """
        import shutil

        from twitchscope.dashboard.services.session_files import finalize
        from twitchscope.signal.core.errors import DeviceError

        with self._recording_lock:
            rec, self._recording = self._recording, None
        if rec is None:
            raise ConfigError("not recording.")
        recorder = rec.stop()
        if recorder.n_samples == 0:
            shutil.rmtree(rec.partial, ignore_errors=True)
            raise DeviceError("no samples arrived while recording; nothing was written.")
        return finalize(rec.partial, rec.target, detector=detector, remove_partial=True)

    def stop(self) -> None:
        """Stop LSL publishing and site labelling, the reader (sending the board's stop
        command), the emulator; a recording in progress is written first (without
        detection: its partial folder is kept if that fails)."""
        if self._recording is not None:
            try:
                summary = self.stop_recording()
                log.info("recording written to %s", summary.out_path)
            except Exception as exc:  # the stream must stop whatever the disk says
                log.error("the recording could not be written: %s", exc)
        self._stop.set()
        threads = (self._lsl_thread, self._label_thread)
        self._lsl_thread = self._label_thread = None
        for thread in threads:
            if thread is not None:
                thread.join(timeout=10)
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.stop()
        self._stop_emulator()
        log.info("live source stopped: %s", self.name)

    @property
    def running(self) -> bool:
        """Whether the reader is connected or reconnecting."""
        reader = self._reader
        return reader is not None and reader.state.value != "stopped"

    def read_since(self, cursor: int) -> tuple[list[SampleBlock], int]:
        """EMG blocks at or after ``cursor`` from the ring buffer (not consumed; changes nothing).

        The board's blocks (one per serial read: 1-2 samples at 250 Hz) are joined into one
        block per stretch without lost samples, with the EMG channels only; a single block
        with no auxiliary channels is returned as the reader made it.
        """
        reader = self._reader
        if reader is None:
            return [], cursor
        blocks, new_cursor = reader.buffer.read_since(cursor)
        return join_blocks(blocks, n_rows=self._n_emg, ch_names=self.ch_names), new_cursor

    def start_sample(self) -> int:
        """Oldest sample still in the ring buffer."""
        reader = self._reader
        return 0 if reader is None else int(reader.buffer.start_sample)

    def now_s(self) -> float:
        """Time of the newest sample, s from the start of the stream."""
        reader = self._reader
        if reader is None or not math.isfinite(self.sfreq):
            return 0.0
        return reader.buffer.end_sample / self.sfreq

    def gaps(self) -> list[Gap]:
        """Samples lost so far (counter jumps and reconnects)."""
        reader = self._reader
        return [] if reader is None else reader.gaps

    def status(self) -> str:
        """Connection state and stream position."""
        reader = self._reader
        if reader is None:
            return f"{self.name}: stopped"
        err = reader.error
        state = reader.state.value
        extra = f" ({err})" if err else ""
        return (
            f"{self.name}: {state}{extra}, {self.now_s():.1f} s, {len(self.ch_names)} ch at "
            f"{self.sfreq:g} Hz"
        )


def join_blocks(
    blocks: list[SampleBlock], *, n_rows: int, ch_names: tuple[str, ...]
) -> list[SampleBlock]:
    """One block per run of contiguous ``blocks`` (a lost stretch starts a new one), with the
    first ``n_rows`` rows named ``ch_names``; a block that needs no change is kept as is."""
    runs: list[list[SampleBlock]] = []
    for block in blocks:
        if runs and block.n_lost_before == 0 and block.first_sample == runs[-1][-1].end_sample:
            runs[-1].append(block)
        else:
            runs.append([block])
    out: list[SampleBlock] = []
    for run in runs:
        first = run[0]
        if len(run) == 1 and first.n_channels == n_rows and first.ch_names == ch_names:
            out.append(first)
            continue
        data = (
            first.data[:n_rows]
            if len(run) == 1
            else np.concatenate([b.data[:n_rows] for b in run], axis=1)
        )
        out.append(
            SampleBlock(
                data=data,
                sfreq=first.sfreq,
                first_sample=first.first_sample,
                ch_names=ch_names,
                n_lost_before=first.n_lost_before,
            )
        )
    return out
