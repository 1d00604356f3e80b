"""Publish EMG and twitch markers on Lab Streaming Layer (LSL), for LabRecorder and friends.

Two outlets per publisher:

* the EMG stream: type ``EMG``, float32, one channel per EMG row, at the board's
  nominal rate. LSL's convention is that samples are in the unit the channel
  metadata declares; we declare ``microvolts`` (``desc/channels/channel/unit``),
  so the values are µV, as most EMG/EEG LSL sources send them. Each channel also
  carries ``label`` and ``type`` (``EMG``).
* the marker stream: type ``Markers``, one string channel, irregular rate, named
  ``<name>-markers``. Its grammar (a first word, then ``key=value`` fields; a value
  with spaces, quotes or ``=`` is double-quoted, JSON string syntax; read them back
  with :func:`twitchscope.signal.io.xdf.parse_marker_fields`):

  ``LTR? channel=<ch> id=<n>``
      provisional: the detector holds a candidate open that already looks like a
      twitch (:mod:`twitchscope.signal.detect.provisional`), stamped at the
      candidate's onset (its on-threshold crossing), sent while the burst is still
      going on. ``n`` counts the provisional markers of the stream from 1.
  ``LTR channel=<ch> peak_uv=<µV> duration_ms=<ms> [site=<label>] [id=<n>]``
      a twitch, stamped at its (refined) onset, sent once the detector has decided it,
      about ``merge_gap_s`` after it ends. ``id=<n>`` confirms the provisional marker
      ``n``; a twitch that was never provisional has no ``id``.
  ``LTR-withdrawn id=<n> reason=<code>``
      the candidate of provisional marker ``n`` was decided not to be a twitch,
      stamped at the same time as that marker. ``code`` is the detector's reason
      (``short``, ``ecg``, ``low_freq_artifact``, ``pop``, ``sustained``, ``mains``,
      ``low_confidence``; see :class:`~twitchscope.signal.core.model.RejectReason`)
      or ``below_threshold`` (measured over the whole burst, its likelihood ratio
      did not pass the threshold).

  Every provisional marker is followed by exactly one ``LTR ... id=<n>`` or
  ``LTR-withdrawn id=<n>``, before the next provisional marker. A consumer that
  only wants decided twitches reads the ``LTR`` markers and ignores the others;
  one that wants them early acts on ``LTR?`` and undoes on ``LTR-withdrawn``. The
  dashboard's live page also sends ``needle:<label>`` / ``needle-out``.

Timestamps are explicit, derived from the sample index: sample ``i`` is stamped
``start_time + i / sfreq``. ``start_time`` is fixed when the first block is pushed
(``local_clock()`` minus the stream time of that block's last sample, unless given),
so blocks pushed in bursts or faster than real time keep exact, monotonic times and
samples lost before a block show as a jump in the timestamps. Twitches use the same
time base, so markers line up with the EMG in LabRecorder's XDF file. Every sample of a
block carries its own timestamp: liblsl would otherwise send the block's later samples
as "deduced" from the one before, and an inlet that connects in the middle of a block
(LabRecorder started while the stream runs) would deduce them from zero.

pylsl is an optional dependency (``pip install 'twitchscope[lsl]'``); it is imported
when a publisher is created, and its absence is a one-line :class:`ConfigError`.
Which network LSL announces streams on is liblsl's business: its ``lsl_api.cfg``
(or the ``LSLAPICFG`` environment variable) sets it, e.g. ``ResolveScope = machine``
to keep the streams on this computer.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from twitchscope.signal.core.checks import check_ch_names, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import TWITCH_DESCRIPTION, SampleBlock, Twitch
from twitchscope.signal.core.units import s_to_ms, volts_to_uv
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.detector import DetectionOutput
from twitchscope.signal.detect.provisional import looks_like_twitch, open_candidates
from twitchscope.signal.detect.run import StreamingDetector
from twitchscope.signal.io.xdf import PROVISIONAL_MARKER, WITHDRAWN_MARKER, parse_marker_fields

__all__ = [
    "LSL_MISSING",
    "EMG_TYPE",
    "MARKER_TYPE",
    "EMG_UNIT",
    "import_pylsl",
    "PROVISIONAL_MARKER",
    "WITHDRAWN_MARKER",
    "BELOW_THRESHOLD",
    "format_twitch_marker",
    "format_provisional_marker",
    "format_withdrawn_marker",
    "parse_marker_fields",
    "StreamMarker",
    "TwitchMarkers",
    "LslPublisher",
    "LslRelay",
]

log = logging.getLogger(__name__)

#: The one-line message when pylsl (or its liblsl) cannot be loaded.
LSL_MISSING = "LSL needs the optional extra: pip install 'twitchscope[lsl]'"
#: LSL content types of the two streams.
EMG_TYPE = "EMG"
MARKER_TYPE = "Markers"
#: The unit the EMG stream declares (and sends).
EMG_UNIT = "microvolts"
#: Withdrawal reason when the decided burst's likelihood ratio fell short of its threshold.
BELOW_THRESHOLD = "below_threshold"
_PLAIN_VALUE = re.compile(r"[^\s\"=]+")


def import_pylsl() -> ModuleType:
    """Import pylsl, or raise a one-line :class:`ConfigError` naming the extra to install."""
    try:
        import pylsl
    except (ImportError, OSError, RuntimeError):  # no package, or its liblsl will not load
        raise ConfigError(LSL_MISSING) from None
    return pylsl


def _quote(value: str) -> str:
    return value if _PLAIN_VALUE.fullmatch(value) else json.dumps(value, ensure_ascii=False)


def format_twitch_marker(twitch: Twitch, *, marker_id: int | None = None) -> str:
    """The marker string of a twitch: ``LTR channel=<ch> peak_uv=<µV> duration_ms=<ms>``.

    ``site=<label>`` follows when the twitch has a needle site, then ``id=<n>`` when it
    confirms the provisional marker ``n``. Values with spaces, quotes or ``=`` are
    double-quoted (JSON string syntax).
    """
    parts = [TWITCH_DESCRIPTION, f"channel={_quote(twitch.channel)}"]
    if math.isfinite(twitch.peak_v):
        parts.append(f"peak_uv={volts_to_uv(twitch.peak_v):.1f}")
    parts.append(f"duration_ms={s_to_ms(twitch.duration_s):.1f}")
    if twitch.site is not None:
        parts.append(f"site={_quote(twitch.site)}")
    if marker_id is not None:
        parts.append(f"id={int(marker_id)}")
    return " ".join(parts)


def format_provisional_marker(channel: str, marker_id: int) -> str:
    """``LTR? channel=<ch> id=<n>``: a candidate that already looks like a twitch."""
    return f"{PROVISIONAL_MARKER} channel={_quote(channel)} id={int(marker_id)}"


def format_withdrawn_marker(marker_id: int, reason: str) -> str:
    """``LTR-withdrawn id=<n> reason=<code>``: provisional marker ``n`` was no twitch."""
    return f"{WITHDRAWN_MARKER} id={int(marker_id)} reason={_quote(str(reason))}"


@dataclass(frozen=True, slots=True)
class StreamMarker:
    """One marker for the marker stream, and what it stands for.

    Parameters
    ----------
    text : str
        The marker string (see the module docstring).
    t_s : float
        Stream time it is stamped at, s from sample 0.
    kind : str
        ``"provisional"``, ``"twitch"`` or ``"withdrawn"``.
    marker_id : int or None
        The provisional marker it opens, confirms or withdraws (None: a twitch that was
        never provisional).
    twitch : Twitch or None
        The twitch of a ``"twitch"`` marker.
    reason : str
        The reason code of a ``"withdrawn"`` marker, else ``""``.
    """

    text: str
    t_s: float
    kind: str
    marker_id: int | None = None
    twitch: Twitch | None = None
    reason: str = ""


class TwitchMarkers:
    """The streaming detector run over one stream, as twitch markers (no LSL needed).

    Fed every block, it returns the markers to send: a provisional ``LTR?`` as soon as
    the candidate the detector holds open looks like a twitch
    (:func:`~twitchscope.signal.detect.provisional.looks_like_twitch`), then that
    candidate's decision, the twitch (``LTR ... id=<n>``) or ``LTR-withdrawn id=<n> reason=<code>``; twitches of
    candidates that never looked like one before they were decided as plain ``LTR``
    markers. Blocks longer than ``merge_gap_s`` are fed to the detector in pieces of
    at most that length, so that no candidate opens and is decided unseen between two
    looks: the markers, provisional ones included, are then the same however the
    stream is cut into blocks.

    Parameters
    ----------
    config : DetectorConfig
    sfreq : float
        Sampling rate, Hz.
    ch_names : sequence of str
        The channels of every block.
    provisional : bool
        Send provisional markers (default); without, only the decided twitches, as
        plain ``LTR`` markers.
    """

    def __init__(
        self,
        config: DetectorConfig,
        *,
        sfreq: float,
        ch_names: Sequence[str],
        provisional: bool = True,
    ) -> None:
        self.detector = StreamingDetector(config, sfreq=sfreq, ch_names=ch_names)
        self.provisional = provisional
        design = self.detector.state.design
        self._piece_n = max(1, design.merge_n)
        self._min_duration_n = design.min_duration_n
        self._open: int | None = None  # onset sample of the candidate open at the last look
        self._open_id: int | None = None  # its provisional marker, once sent
        self._next_id = 1
        self.twitches: list[Twitch] = []
        self.n_provisional = 0
        self.n_confirmed = 0
        self.withdrawn: dict[str, int] = {}  # reason -> count

    @property
    def n_withdrawn(self) -> int:
        """Provisional markers withdrawn so far."""
        return sum(self.withdrawn.values())

    def feed(self, block: SampleBlock) -> list[StreamMarker]:
        """Process the next block; return the markers it gives, in the order to send."""
        markers: list[StreamMarker] = []
        for piece in block.pieces(self._piece_n):
            markers.extend(self._look(self.detector.feed(piece)))
        return markers

    def finish(self) -> list[StreamMarker]:
        """End of stream: decide what the detector still holds."""
        return self._look(self.detector.finish())

    def _look(self, out: DetectionOutput) -> list[StreamMarker]:
        """The markers of one detector step: the decision of the candidate that was open
        at the last look, if it was decided, then a provisional marker for the one open
        now, if it looks like a twitch."""
        twitches, rejected = out.twitches, out.rejected
        sfreq = self.detector.state.sfreq
        opened = open_candidates(self.detector.state)
        now = opened[0] if opened else None
        markers: list[StreamMarker] = []
        decided = self._open is not None and (now is None or now.onset_sample != self._open)
        # at most one candidate is decided per piece: the one open at the last look (a
        # candidate opened in a piece cannot also be decided in it), or, for the stretch
        # held back to estimate the mains frequency, candidates no look could see
        marker_id = self._open_id if decided else None
        for tw in twitches:
            text = format_twitch_marker(tw, marker_id=marker_id)
            markers.append(StreamMarker(text, tw.onset_s, "twitch", marker_id, tw))
        self.twitches.extend(twitches)
        if marker_id is not None and self._open is not None:
            if twitches:
                self.n_confirmed += 1
            else:
                reason = str(rejected[-1].reason) if rejected else BELOW_THRESHOLD
                self.withdrawn[reason] = self.withdrawn.get(reason, 0) + 1
                text = format_withdrawn_marker(marker_id, reason)
                t_s = self._open / sfreq
                markers.append(StreamMarker(text, t_s, "withdrawn", marker_id, reason=reason))
        if now is None or now.onset_sample != self._open:
            self._open, self._open_id = (None if now is None else now.onset_sample), None
        if (
            self.provisional
            and now is not None
            and self._open_id is None
            and looks_like_twitch(now, min_duration_n=self._min_duration_n)
        ):
            self._open_id = self._next_id
            self._next_id += 1
            self.n_provisional += 1
            text = format_provisional_marker(now.channel, self._open_id)
            t_s = now.onset_sample / sfreq
            markers.append(StreamMarker(text, t_s, "provisional", self._open_id))
        return markers


class LslPublisher:
    """An EMG outlet and a twitch-marker outlet, fed with :class:`SampleBlock` s and twitches.

    Parameters
    ----------
    sfreq : float
        Nominal sampling rate, Hz.
    ch_names : sequence of str
        The EMG channels, one per row of every block pushed.
    name : str
        Name of the EMG stream; the marker stream is ``<name>-markers``.
    source_id : str or None
        LSL source id (lets a recorder reconnect to the same stream); by default
        ``"twitchscope-" + name``. The markers use ``<source_id>-markers``.
    start_time : float or None
        LSL time (``pylsl.local_clock()`` base, s) of sample 0. By default set at the
        first push so that its last sample is "now". Must be > 0 (LSL reads a zero
        timestamp as "now").
    device : str
        Free text for the stream's ``desc/acquisition/device`` (e.g. the port).

    Notes
    -----
    Thread-safe: a lock serialises pushes, so the reader's consumer and a detector
    thread may share a publisher. Call :meth:`close` (or use ``with``) to take the
    streams off the network.
    """

    def __init__(
        self,
        *,
        sfreq: float,
        ch_names: Sequence[str],
        name: str = "twitchscope",
        source_id: str | None = None,
        start_time: float | None = None,
        device: str = "",
    ) -> None:
        self.sfreq = check_sfreq(sfreq)
        self.ch_names = check_ch_names(ch_names)
        name = str(name).strip()
        if not name:
            raise ConfigError("the LSL stream name must not be empty.")
        if start_time is not None and not (math.isfinite(start_time) and start_time > 0):
            raise ConfigError(f"start_time must be a positive LSL time in s, got {start_time!r}.")
        pylsl = import_pylsl()
        self.name = name
        self.source_id = source_id or f"twitchscope-{name}"
        self.start_time: float | None = start_time
        self._clock = pylsl.local_clock
        self._lock = threading.Lock()
        self._closed = False
        self._next_sample = 0
        self.n_pushed = 0
        self.n_markers = 0
        emg = pylsl.StreamInfo(
            name, EMG_TYPE, len(self.ch_names), self.sfreq, pylsl.cf_float32, self.source_id
        )
        desc = emg.desc()
        desc.append_child_value("manufacturer", "twitchscope")
        channels = desc.append_child("channels")
        for ch in self.ch_names:
            c = channels.append_child("channel")
            c.append_child_value("label", ch)
            c.append_child_value("unit", EMG_UNIT)
            c.append_child_value("type", EMG_TYPE)
        acq = desc.append_child("acquisition")
        acq.append_child_value("manufacturer", "twitchscope")
        if device:
            acq.append_child_value("device", device)
        markers = pylsl.StreamInfo(
            f"{name}-markers",
            MARKER_TYPE,
            1,
            pylsl.IRREGULAR_RATE,
            pylsl.cf_string,
            f"{self.source_id}-markers",
        )
        self._emg: Any = pylsl.StreamOutlet(emg)
        self._markers: Any = pylsl.StreamOutlet(markers)
        log.info("LSL: publishing %r (%d ch EMG) and %r", name, len(self.ch_names), markers.name())

    # ----------------------------------------------------------------------------- pushing

    def _base(self, block: SampleBlock) -> float:
        if self.start_time is None:
            self.start_time = float(self._clock()) - (block.end_sample - 1) / self.sfreq
        return self.start_time

    def timestamp(self, sample: float) -> float:
        """LSL time of sample index ``sample`` (s); the time base must be set."""
        if self.start_time is None:
            raise ConfigError("the LSL time base is set by the first block pushed; push one first.")
        return self.start_time + sample / self.sfreq

    def push_block(self, block: SampleBlock) -> None:
        """Send one block (volts in, µV out), stamped by its sample indexes.

        Raises
        ------
        ConfigError
            Other channels or rate than the stream's, or a block that overlaps one
            already sent.
        """
        if block.ch_names != self.ch_names:
            raise ConfigError(
                f"block channels {list(block.ch_names)} differ from the LSL stream's "
                f"{list(self.ch_names)}."
            )
        if not math.isclose(block.sfreq, self.sfreq):
            raise ConfigError(
                f"block sfreq {block.sfreq:g} Hz differs from the LSL stream's {self.sfreq:g} Hz."
            )
        if block.n_samples == 0:
            return
        with self._lock:
            if self._closed:
                return
            if block.first_sample < self._next_sample:
                raise ConfigError(
                    f"block starts at sample {block.first_sample}, before the next expected "
                    f"sample {self._next_sample}; blocks must come in order without overlap."
                )
            base = self._base(block)
            values = np.ascontiguousarray(volts_to_uv(block.data).T, dtype=np.float32)
            # one timestamp per sample (see the module's notes: no deduced timestamps)
            index = np.arange(block.first_sample, block.end_sample, dtype=np.float64)
            self._emg.push_chunk(values, (base + index / self.sfreq).tolist())
            self._next_sample = block.end_sample
            self.n_pushed += block.n_samples

    def push_twitches(self, twitches: Iterable[Twitch]) -> None:
        """Send one plain ``LTR`` marker per twitch, stamped at its onset (after the first block)."""
        self.push_markers(
            StreamMarker(format_twitch_marker(tw), tw.onset_s, "twitch", twitch=tw)
            for tw in twitches
        )

    def push_markers(self, markers: Iterable[StreamMarker]) -> None:
        """Send markers from :class:`TwitchMarkers`, in order, each at its stream time."""
        with self._lock:
            if self._closed:
                return
            for m in markers:
                if self.start_time is None:
                    raise ConfigError(
                        "a marker cannot be stamped before the first EMG block is pushed."
                    )
                self._markers.push_sample([m.text], self.start_time + m.t_s)
                self.n_markers += 1

    def push_marker(self, marker: str, t_s: float) -> None:
        """Send any marker string at stream time ``t_s`` (s from sample 0)."""
        with self._lock:
            if self._closed:
                return
            if self.start_time is None:
                raise ConfigError(
                    "a marker cannot be stamped before the first EMG block is pushed."
                )
            self._markers.push_sample([str(marker)], self.start_time + float(t_s))
            self.n_markers += 1

    # ----------------------------------------------------------------------------- lifetime

    def have_consumers(self) -> bool:
        """Whether some inlet (e.g. LabRecorder) is connected to the EMG stream."""
        return not self._closed and bool(self._emg.have_consumers())

    def close(self, *, linger_s: float = 0.5) -> None:
        """Take both streams off the network (idempotent).

        liblsl drops what it has not sent yet when an outlet is destroyed, so when an
        inlet is connected the outlets are kept ``linger_s`` seconds more for the
        last samples and markers to reach it.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if linger_s > 0 and (self._emg.have_consumers() or self._markers.have_consumers()):
                time.sleep(linger_s)
            self._emg = None
            self._markers = None
        log.info("LSL: stopped publishing %r", self.name)

    def __enter__(self) -> LslPublisher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<LslPublisher {self.name!r} | {len(self.ch_names)} ch at {self.sfreq:g} Hz, "
            f"{self.n_pushed} samples, {self.n_markers} markers>"
        )


class LslRelay:
    """Publish a board's EMG rows and the twitch markers a streaming detector gives for them.

    Feed it every block of the stream (all channels); it picks the EMG rows, pushes
    them, runs the streaming detector on them (:class:`TwitchMarkers`) and pushes its
    markers: ``LTR?`` as soon as an open candidate looks like a twitch, then ``LTR ...
    id=<n>`` or ``LTR-withdrawn id=<n>`` once it is decided (about ``merge_gap_s``
    after it ends); a twitch that never looked like one before is a plain ``LTR``
    marker when decided. :meth:`finish` flushes the detector at the end.

    Parameters
    ----------
    publisher : LslPublisher
        Its ``ch_names`` are the EMG channels, in the order of ``ch_names`` here.
    ch_names : sequence of str
        Every channel of the blocks that will be fed.
    config : DetectorConfig or None
        Detector settings; ``None`` publishes the EMG without twitch markers.
    provisional : bool
        Send the provisional markers (default).
    """

    def __init__(
        self,
        publisher: LslPublisher,
        *,
        ch_names: Sequence[str],
        config: DetectorConfig | None,
        provisional: bool = True,
    ) -> None:
        names = list(ch_names)
        missing = [c for c in publisher.ch_names if c not in names]
        if missing:
            raise ConfigError(f"EMG channels {missing} are not among the stream's {names}.")
        self.publisher = publisher
        self._rows = [names.index(c) for c in publisher.ch_names]
        self._all = tuple(names)
        self.markers: TwitchMarkers | None = None
        if config is not None:
            self.markers = TwitchMarkers(
                config,
                sfreq=publisher.sfreq,
                ch_names=publisher.ch_names,
                provisional=provisional,
            )

    @property
    def twitches(self) -> list[Twitch]:
        """The twitches published so far."""
        return [] if self.markers is None else self.markers.twitches

    def feed(self, block: SampleBlock) -> None:
        """Publish one block (all channels) and the markers it gives."""
        if block.n_samples == 0:
            return
        if block.ch_names != self._all:
            raise ConfigError(
                f"block channels {list(block.ch_names)} differ from the relay's {list(self._all)}."
            )
        if self._all == self.publisher.ch_names:  # every channel is EMG: the block as it is
            emg = block
        else:
            emg = SampleBlock(
                data=block.data[self._rows],
                sfreq=block.sfreq,
                first_sample=block.first_sample,
                ch_names=self.publisher.ch_names,
                n_lost_before=block.n_lost_before,
            )
        self.publisher.push_block(emg)
        if self.markers is not None:
            self.publisher.push_markers(self.markers.feed(emg))

    def finish(self) -> None:
        """End of stream: decide what the detector still holds and publish it.

        The streams stay open (an inlet may still be pulling); close the publisher
        when done.
        """
        if self.markers is not None:
            markers = self.markers.finish()
            if self.publisher.start_time is not None:
                self.publisher.push_markers(markers)
