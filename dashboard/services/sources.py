"""Where the dashboard's samples come from: live amplifier, replayed file, or whole file.

Every streaming source has the same small interface (:class:`StreamSource`):
``sfreq``, ``ch_names``, ``read_since(cursor) -> (blocks, cursor)`` (non-consuming, a
cursor per reader), ``now_s()`` (how far the stream has got), ``sites`` (its
:class:`SiteLog` of needle spans), ``gaps()`` and ``status()``.

* :class:`LiveSource` owns threads: a :class:`~twitchscope.acquisition.transport.reader.Reader`
  on a serial port and, for the simulated amplifier, an
  :class:`~twitchscope.acquisition.emulation.pty_board.Emulator` on a pty fed by
  :mod:`twitchscope.signal.simulate`. So the demo runs the real serial path. One
  live source exists per server process, held by the :class:`AcquisitionOwner`
  (in ``st.cache_resource``) and stopped explicitly.
* :class:`ReplaySource` plays a :class:`Recording` as if live against the wall clock
  (0.25×–8×, pause, seek). It has no thread; each browser session has its own.
* Review uses a :class:`Recording` directly.

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
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.errors import (
    ConfigError,
    DeviceError,
    FileFormatError,
    TwitchscopeError,
)
from twitchscope.signal.core.model import Gap, NeedleSite, RecordingEvents, SampleBlock
from twitchscope.signal.detect.config import DetectorConfig

if TYPE_CHECKING:  # imported lazily at run time (threads, pyserial, the simulator, pylsl)
    from twitchscope.acquisition.boards.handshake import Driver
    from twitchscope.acquisition.emulation.pty_board import Emulator
    from twitchscope.acquisition.transport.reader import Reader
    from twitchscope.dashboard.services.lsl_outlet import LslPublisher, LslRelay
    from twitchscope.signal.simulate import SimConfig, SimState

__all__ = [
    "SIMULATED",
    "ENV_SOURCE",
    "ENV_PROTOCOL",
    "REPLAY_SPEEDS",
    "UPLOAD_TYPES",
    "MAX_UPLOAD_MB",
    "Recording",
    "load_recording",
    "check_upload",
    "sample_recordings",
    "SiteLog",
    "StreamSource",
    "ReplaySource",
    "LiveSpec",
    "LiveSource",
    "AcquisitionOwner",
]

log = logging.getLogger(__name__)

#: The ``--source`` value (and port choice) of the simulated amplifier.
SIMULATED = "simulated"
#: Environment variables through which ``twitchscope dashboard`` passes its options.
ENV_SOURCE = "TWITCHSCOPE_DASHBOARD_SOURCE"
ENV_PROTOCOL = "TWITCHSCOPE_DASHBOARD_PROTOCOL"
#: The simulation scenario each emulated board plays unless another is chosen.
DEFAULT_SCENARIO: dict[str, str] = {"cyton": "cyton"}
#: Replay speeds offered.
REPLAY_SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
#: File extensions accepted for upload (what :mod:`twitchscope.signal.io.readers` reads).
UPLOAD_TYPES: tuple[str, ...] = ("edf", "bdf", "fif", "csv", "txt", "xdf", "xdfz")
#: Largest upload accepted, MB.
MAX_UPLOAD_MB = 200
#: Most samples one read of a replay returns (so a slow rerun never stalls the page).
_MAX_REPLAY_READ_S = 8.0
_RECORDING_SUFFIXES = (".edf", ".bdf", ".fif", ".csv", ".txt", ".xdf", ".xdfz")
_SIDE_CARS = (".sites.csv", ".truth.csv", ".confounders.csv", ".annotations.csv", ".events.csv")


# ------------------------------------------------------------------------------ recordings


@dataclass(frozen=True, eq=False, slots=True)
class Recording:
    """A whole recording in memory: EMG rows in volts and its annotated events.

    Parameters
    ----------
    name : str
        File name (for titles and export names).
    data : array, shape (n_channels, n_samples)
        EMG samples, volts (read-only).
    sfreq : float
        Sampling rate, Hz.
    ch_names : tuple of str
        EMG channel names.
    events : RecordingEvents
        Needle sites, twitches and gaps annotated in the file.
    """

    name: str
    data: NDArray[np.float64]
    sfreq: float
    ch_names: tuple[str, ...]
    events: RecordingEvents = field(default_factory=RecordingEvents)

    @property
    def n_samples(self) -> int:
        """Samples per channel."""
        return int(self.data.shape[1])

    @property
    def duration_s(self) -> float:
        """Length, s."""
        return self.n_samples / self.sfreq


def load_recording(path: str | Path) -> Recording:
    """Read a recording file (any format the readers know) with its EMG channels.

    Raises
    ------
    FileFormatError
        Missing, unsupported or malformed file, or a file without EMG channels.
    """
    from twitchscope.signal.core.annotations import recording_events
    from twitchscope.signal.io.readers import read_recording

    path = Path(path)
    raw = read_recording(path, preload=True)
    types = raw.get_channel_types()
    picks = [i for i, t in enumerate(types) if t == "emg"]
    if not picks:
        picks = [i for i, t in enumerate(types) if t not in ("misc", "stim")]
    if not picks:
        raise FileFormatError(f"{path.name} has no EMG channel; expected at least one.")
    data = raw.get_data(picks=picks)
    data.setflags(write=False)
    return Recording(
        name=path.name,
        data=data,
        sfreq=float(raw.info["sfreq"]),
        ch_names=tuple(raw.ch_names[i] for i in picks),
        events=recording_events(raw),
    )


def check_upload(name: str, size_bytes: int) -> str:
    """Check an uploaded file's name and size; return its extension.

    Raises
    ------
    FileFormatError
        A format the readers do not know, or a file over :data:`MAX_UPLOAD_MB`.
    """
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix not in UPLOAD_TYPES:
        allowed = ", ".join(f".{t}" for t in UPLOAD_TYPES)
        raise FileFormatError(f"{name}: unsupported file type; expected one of {allowed}.")
    if size_bytes > MAX_UPLOAD_MB * 1024 * 1024:
        raise FileFormatError(
            f"{name} is {size_bytes / 1024 / 1024:.0f} MB; uploads are limited to "
            f"{MAX_UPLOAD_MB} MB (open large files with `twitchscope dashboard --source FILE`)."
        )
    if size_bytes == 0:
        raise FileFormatError(f"{name} is empty; expected a recording.")
    return suffix


def sample_recordings() -> list[Path]:
    """The recordings bundled in ``twitchscope.sample_recordings``, sorted by name."""
    import importlib

    try:
        mod = importlib.import_module("twitchscope.sample_recordings")
    except ModuleNotFoundError:  # pragma: no cover - broken install
        return []
    # a namespace package: its __path__ may hold non-folders (editable-install hooks)
    folders = [Path(p) for p in getattr(mod, "__path__", []) if Path(p).is_dir()]
    out: dict[str, Path] = {}
    for folder in folders:
        for item in folder.iterdir():
            name = item.name.lower()
            if name.endswith(_RECORDING_SUFFIXES) and not name.endswith(_SIDE_CARS):
                out.setdefault(item.name, item)
    return [out[k] for k in sorted(out)]


# ------------------------------------------------------------------------------ needle sites


@dataclass(frozen=True, slots=True)
class _OpenSite:
    label: str
    onset_s: float
    muscle: str
    side: str
    point_id: str | None


class SiteLog:
    """Needle spans of one stream: closed spans plus at most one open ("needle in") span.

    Thread-safe, because the live source's log is shared by every browser session.
    """

    def __init__(self, sites: Sequence[NeedleSite] = ()) -> None:
        self._lock = threading.Lock()
        self._closed: list[NeedleSite] = sorted(sites, key=lambda s: s.onset_s)
        self._open: _OpenSite | None = None

    def needle_in(
        self,
        label: str,
        t_s: float,
        *,
        muscle: str = "",
        side: str = "",
        point_id: str | None = None,
    ) -> None:
        """Start a span at ``t_s`` (closing the open one there first)."""
        label = str(label).strip()
        if not label:
            raise ConfigError("a needle site needs a label; pick or type one.")
        NeedleSite(label=label, onset_s=max(0.0, t_s), duration_s=0.0)  # validates
        with self._lock:
            self._close(t_s)
            self._open = _OpenSite(label, max(0.0, float(t_s)), muscle, side, point_id)

    def needle_out(self, t_s: float) -> NeedleSite | None:
        """End the open span at ``t_s``; return it (None if no needle was in)."""
        with self._lock:
            return self._close(t_s)

    def _close(self, t_s: float) -> NeedleSite | None:
        o = self._open
        if o is None:
            return None
        site = NeedleSite(
            label=o.label,
            onset_s=o.onset_s,
            duration_s=max(0.0, float(t_s) - o.onset_s),
            muscle=o.muscle,
            side=o.side,
            point_id=o.point_id,
        )
        self._closed.append(site)
        self._closed.sort(key=lambda s: s.onset_s)
        self._open = None
        return site

    def add(self, site: NeedleSite) -> None:
        """Add a closed span (e.g. one annotated in the file)."""
        with self._lock:
            self._closed.append(site)
            self._closed.sort(key=lambda s: s.onset_s)

    @property
    def active(self) -> str | None:
        """Label of the open span, if the needle is in."""
        with self._lock:
            return self._open.label if self._open else None

    def sites(self, now_s: float | None = None) -> tuple[NeedleSite, ...]:
        """All spans; the open one runs to ``now_s`` (left out if ``now_s`` is None)."""
        with self._lock:
            out = list(self._closed)
            o = self._open
        if o is not None and now_s is not None:
            out.append(
                NeedleSite(
                    label=o.label,
                    onset_s=o.onset_s,
                    duration_s=max(0.0, now_s - o.onset_s),
                    muscle=o.muscle,
                    side=o.side,
                    point_id=o.point_id,
                )
            )
        return tuple(sorted(out, key=lambda s: s.onset_s))

    def clear(self) -> None:
        """Forget every span."""
        with self._lock:
            self._closed.clear()
            self._open = None


# ------------------------------------------------------------------------------ the interface


class StreamSource(Protocol):
    """What the live and replay panels read from (structural type)."""

    name: str
    sfreq: float
    ch_names: tuple[str, ...]
    sites: SiteLog

    def read_since(self, cursor: int) -> tuple[list[SampleBlock], int]:
        """Blocks at or after ``cursor`` (not consumed) and the next cursor."""
        ...

    def now_s(self) -> float:
        """Stream time reached so far, s."""
        ...

    def gaps(self) -> list[Gap]:
        """Samples lost so far."""
        ...

    def status(self) -> str:
        """One line for the status bar."""
        ...


# ------------------------------------------------------------------------------ replay


class ReplaySource:
    """Play a recording as if it were live, against a clock.

    Parameters
    ----------
    recording : Recording
        What to play.
    speed : float
        Playback speed, one of :data:`REPLAY_SPEEDS`.
    clock : callable
        Returns seconds (monotonic); injectable for tests.

    Notes
    -----
    The play position is ``position_at_last_change + speed * elapsed``; pausing,
    seeking or changing the speed re-bases it. :attr:`generation` goes up on every
    seek so a reader knows to restart its processing.
    """

    def __init__(
        self,
        recording: Recording,
        *,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.recording = recording
        self.name = recording.name
        self.sfreq = recording.sfreq
        self.ch_names = recording.ch_names
        self.sites = SiteLog(recording.events.sites)
        self._clock = clock
        self._speed = self._check_speed(speed)
        self._base_pos = 0.0  # samples
        self._base_t = clock()
        self._playing = False
        self.generation = 0

    @staticmethod
    def _check_speed(speed: float) -> float:
        if speed not in REPLAY_SPEEDS:
            options = ", ".join(f"{s:g}x" for s in REPLAY_SPEEDS)
            raise ConfigError(f"replay speed must be one of {options}, got {speed!r}.")
        return float(speed)

    def _position(self) -> float:
        pos = self._base_pos
        if self._playing:
            pos += (self._clock() - self._base_t) * self._speed * self.sfreq
        return min(pos, float(self.recording.n_samples))

    def _rebase(self) -> None:
        self._base_pos = self._position()
        self._base_t = self._clock()

    @property
    def playing(self) -> bool:
        """Whether the clock runs (False when paused or at the end)."""
        return self._playing and not self.at_end

    @property
    def speed(self) -> float:
        """Playback speed."""
        return self._speed

    @property
    def at_end(self) -> bool:
        """Whether the whole recording has been played."""
        return self._position() >= self.recording.n_samples

    def play(self) -> None:
        """Start or resume (from the start again when at the end)."""
        if self.at_end:
            self.seek(0.0)
        self._rebase()
        self._playing = True

    def pause(self) -> None:
        """Stop the clock."""
        self._rebase()
        self._playing = False

    def set_speed(self, speed: float) -> None:
        """Change the speed from now on."""
        self._rebase()
        self._speed = self._check_speed(speed)

    def seek(self, t_s: float) -> None:
        """Jump to ``t_s`` seconds; readers restart there."""
        if not math.isfinite(t_s):
            raise ConfigError(f"seek time must be a finite number of seconds, got {t_s!r}.")
        t_s = min(max(0.0, float(t_s)), self.recording.duration_s)
        self._base_pos = t_s * self.sfreq
        self._base_t = self._clock()
        self.generation += 1

    def now_s(self) -> float:
        """Play position, s."""
        return self._position() / self.sfreq

    def read_since(self, cursor: int) -> tuple[list[SampleBlock], int]:
        """The samples from ``cursor`` up to the play position (at most 8 s of them)."""
        cursor = max(0, int(cursor))
        end = int(self._position())
        end = min(end, cursor + int(_MAX_REPLAY_READ_S * self.sfreq))
        if end <= cursor:
            return [], cursor
        block = SampleBlock(
            data=self.recording.data[:, cursor:end],
            sfreq=self.sfreq,
            first_sample=cursor,
            ch_names=self.ch_names,
        )
        return [block], end

    def gaps(self) -> list[Gap]:
        """Gaps annotated in the file."""
        return list(self.recording.events.gaps)

    def status(self) -> str:
        """Play state, position and speed."""
        state = "playing" if self.playing else ("at the end" if self.at_end else "paused")
        return (
            f"{self.name}: {state} at {self.now_s():.1f} / {self.recording.duration_s:.1f} s, "
            f"{self._speed:g}x"
        )


# ------------------------------------------------------------------------------ live


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
    """

    port: str = SIMULATED
    protocol: str = "cyton"
    sim_preset: str = ""
    seed: int = 0
    label_sim_sites: bool = True
    lsl: bool = False
    lsl_name: str = "twitchscope"
    lsl_detector: DetectorConfig | None = None

    @property
    def scenario(self) -> str:
        """The simulation scenario actually used."""
        return self.sim_preset or DEFAULT_SCENARIO.get(self.protocol, "limb")

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


def make_driver(protocol: str, **options: Any) -> Driver:
    """The host-side driver of a protocol (see :mod:`twitchscope.acquisition.boards.handshake`)."""
    from twitchscope.acquisition.boards.handshake import make_driver as _make

    return _make(protocol, **options)


def protocols() -> tuple[str, ...]:
    """Protocols the live page offers for a real port."""
    from twitchscope.acquisition.boards.registry import PROTOCOLS

    return tuple(PROTOCOLS)


def emulated_protocols() -> tuple[str, ...]:
    """Protocols the simulated amplifier can play."""
    from twitchscope.acquisition.emulation.devices import EMULATED_PROTOCOLS

    return tuple(EMULATED_PROTOCOLS)


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
    Owns threads (the reader's, and the emulator's when simulated): keep exactly one
    per process (see :class:`AcquisitionOwner`) and call :meth:`stop`.
    """

    def __init__(self, spec: LiveSpec, *, buffer_s: float = 900.0) -> None:
        self.spec = spec
        self.name = spec.describe()
        self.sites = SiteLog()
        self._buffer_s = buffer_s
        self._emulator: Emulator | None = None
        self._reader: Reader | None = None
        self._sim: _SimFeeder | None = None
        self._sim_offset_s: float | None = None  # simulation time of stream sample 0
        self._labelled_until_s = 0.0
        self._lock = threading.Lock()
        self.sfreq = math.nan
        self.ch_names: tuple[str, ...] = ()
        self._n_emg = 0
        self.started_at = time.time()
        self._lsl_thread: threading.Thread | None = None
        self._lsl_stop = threading.Event()
        self.lsl_publisher: LslPublisher | None = None
        self.lsl_error = ""

    def start(self) -> LiveSource:
        """Open the port (starting the emulator first when simulated) and stream.

        Raises
        ------
        DeviceError, ConfigError
            One line saying why it could not start.
        """
        from twitchscope.acquisition.transport.reader import Reader

        port = self.spec.port
        options: dict[str, Any] = {}
        if self.spec.simulated:
            port, options = self._start_emulator()
        try:
            driver = make_driver(self.spec.protocol, **options)
            reader = Reader(port, driver, buffer_s=self._buffer_s)
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
            # channel names: the scenario's (the wire carries none)
            self.ch_names = tuple(self._sim.config.ch_names[: self._n_emg])
        if self.spec.lsl:
            try:
                self._start_lsl()
            except BaseException:
                self.stop()
                raise
        log.info("live source started: %s", self.name)
        return self

    def _start_lsl(self) -> None:
        """Create the LSL outlets and the thread that feeds them from the ring buffer."""
        from twitchscope.dashboard.services.lsl_outlet import LslPublisher, LslRelay

        publisher = LslPublisher(
            sfreq=self.sfreq, ch_names=self.ch_names, name=self.spec.lsl_name, device=self.name
        )
        config = self.spec.lsl_detector or DetectorConfig()
        relay = LslRelay(publisher, ch_names=self.ch_names, config=config)
        self.lsl_publisher = publisher
        self._lsl_stop.clear()
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
        try:
            while not self._lsl_stop.is_set():
                reader.buffer.wait_for(cursor + 1, timeout=0.2)
                blocks, cursor = self.read_since(cursor)
                if not blocks and reader.buffer.closed:  # the board is gone: do not spin
                    self._lsl_stop.wait(0.2)
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
        from twitchscope.acquisition.emulation.devices import make_personality, reader_options
        from twitchscope.acquisition.emulation.pty_board import Emulator
        from twitchscope.signal import simulate

        personality = make_personality(self.spec.protocol)
        cfg = simulate.preset(
            self.spec.scenario, sfreq=personality.sfreq, n_channels=personality.n_channels
        )
        feeder = _SimFeeder(cfg, seed=self.spec.seed)
        self._sim = feeder
        emu = Emulator(personality, feeder)
        emu.start()
        self._emulator = emu
        return emu.path, dict(reader_options(personality))

    def _stop_emulator(self) -> None:
        emu, self._emulator = self._emulator, None
        if emu is not None:
            emu.stop()

    def stop(self) -> None:
        """Stop LSL publishing, the reader (sending the board's stop command), the emulator."""
        self._lsl_stop.set()
        thread, self._lsl_thread = self._lsl_thread, None
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
        """EMG blocks at or after ``cursor`` from the ring buffer (not consumed)."""
        reader = self._reader
        if reader is None:
            return [], cursor
        blocks, new_cursor = reader.buffer.read_since(cursor)
        self._label_sim_sites()
        if self._n_emg == len(reader.ch_names):
            return [replace_names(b, self.ch_names) for b in blocks], new_cursor
        out = [
            SampleBlock(
                data=b.data[: self._n_emg],
                sfreq=b.sfreq,
                first_sample=b.first_sample,
                ch_names=self.ch_names,
                n_lost_before=b.n_lost_before,
            )
            for b in blocks
        ]
        return out, new_cursor

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

    def _find_sim_offset(self) -> float | None:
        """Simulation time (s) of the first sample received, once enough have arrived.

        The emulator streams from its start and the reader drops what arrived before
        it opened the port, so the stream starts at a sample of the simulation that
        only the data can tell: where the first received samples lie in its beginning.
        """
        from twitchscope.signal.analysis.alignment import locate_window

        reader, sim = self._reader, self._sim
        if reader is None or sim is None:
            return 0.0
        n = max(32, int(round(_SIM_MATCH_S * self.sfreq)))
        got = reader.buffer.read(0)
        if got.n_missed or got.n_samples < n:
            return None if not got.n_missed else self._sent_offset()
        received = np.concatenate([b.data[: self._n_emg] for b in got.blocks], axis=1)[:, :n]
        head = sim.head()[: self._n_emg]
        index = locate_window(head, received)
        if index is None:
            if head.shape[1] < sim.head_capacity:
                return None  # the simulation may not have produced the match yet
            log.warning("could not line the stream up with the simulation; site times may be off")
            return self._sent_offset()
        return index / self.sfreq

    def _sent_offset(self) -> float:
        """Fallback: the first sample the emulator wrote (exact when nothing was dropped)."""
        assert self._emulator is not None
        sent = self._emulator.sent()
        return (sent[0].first_index if sent else 0) / self.sfreq

    def _label_sim_sites(self) -> None:
        """Press "Needle in"/"Needle out" at the scenario's sites as the stream passes them."""
        if self._sim is None or not self.spec.label_sim_sites:
            return
        now = self.now_s()
        with self._lock:
            last = self._labelled_until_s
            if now <= last:
                return
            off = self._sim_offset_s
            if off is None:
                off = self._sim_offset_s = self._find_sim_offset()
                if off is None:
                    return  # too few samples received yet to tell
            presses = []
            for site in self._sim.sites_overlapping(last + off, now + off):
                onset, offset = site.onset_s - off, site.offset_s - off
                if last < onset <= now:
                    presses.append((onset, 1, site))
                if last < offset <= now:
                    presses.append((offset, 0, site))
            for t, is_in, site in sorted(presses, key=lambda p: (p[0], p[1])):
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
            self._labelled_until_s = now


def replace_names(block: SampleBlock, ch_names: tuple[str, ...]) -> SampleBlock:
    """The same block with other channel names (no copy)."""
    if block.ch_names == ch_names:
        return block
    return SampleBlock(
        data=block.data,
        sfreq=block.sfreq,
        first_sample=block.first_sample,
        ch_names=ch_names,
        n_lost_before=block.n_lost_before,
    )


#: Seconds of the simulation's beginning kept to line the received stream up with it.
_SIM_HEAD_S = 10.0
#: Seconds of received samples matched against it.
_SIM_MATCH_S = 0.25


class _SimFeeder:
    """``source(n)`` for the emulator: the next samples of an endless simulation.

    Called only from the emulator's thread. Needle sites of the scenario are
    complete once their offset has been generated; :meth:`sites_between` lists
    those whose span ended within a time range.
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


class AcquisitionOwner:
    """The one live source of a server process (kept in ``st.cache_resource``).

    Sessions never own threads: they ask the owner to start or stop the live source
    and read it with their own cursor. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._source: LiveSource | None = None
        self.last_error: str = ""
        self.autostarted = False

    @property
    def source(self) -> LiveSource | None:
        """The live source, if one was started (it may have stopped on its own)."""
        with self._lock:
            return self._source

    def start(self, spec: LiveSpec) -> LiveSource:
        """Start ``spec`` (stopping a different running source first); return it.

        Raises
        ------
        TwitchscopeError
            One line, also kept in :attr:`last_error`.
        """
        with self._lock:
            current = self._source
            if current is not None and current.spec == spec and current.running:
                return current
            if current is not None:
                current.stop()
                self._source = None
            try:
                source = LiveSource(spec).start()
            except TwitchscopeError as exc:
                self.last_error = str(exc)
                raise
            except OSError as exc:
                self.last_error = f"{spec.describe()}: {exc}"
                raise DeviceError(self.last_error) from None
            self.last_error = ""
            self._source = source
            return source

    def stop(self) -> None:
        """Stop the live source, if any."""
        with self._lock:
            source, self._source = self._source, None
        if source is not None:
            source.stop()
