"""Publish EMG and twitch markers on Lab Streaming Layer (LSL), for LabRecorder and friends.

Two outlets per publisher:

* the EMG stream: type ``EMG``, float32, one channel per EMG row, at the board's
  nominal rate. LSL's convention is that samples are in the unit the channel
  metadata declares; we declare ``microvolts`` (``desc/channels/channel/unit``),
  so the values are µV, as most EMG/EEG LSL sources send them. Each channel also
  carries ``label`` and ``type`` (``EMG``).
* the marker stream: type ``Markers``, one string channel, irregular rate, named
  ``<name>-markers``. A twitch is ``LTR channel=<ch> peak_uv=<µV> duration_ms=<ms>``
  (plus ``site=<label>`` when a needle site is known), stamped at its onset. A value
  with spaces is written in double quotes (JSON string syntax); see
  :func:`format_twitch_marker` and
  :func:`twitchscope.signal.io.xdf.parse_marker_fields`.

Timestamps are explicit, derived from the sample index: sample ``i`` is stamped
``start_time + i / sfreq``. ``start_time`` is fixed when the first block is pushed
(``local_clock()`` minus the stream time of that block's last sample, unless given),
so blocks pushed in bursts or faster than real time keep exact, monotonic times and
samples lost before a block show as a jump in the timestamps. Twitches use the same
time base, so markers line up with the EMG in LabRecorder's XDF file.

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
from types import ModuleType
from typing import Any

import numpy as np

from twitchscope.signal.core.checks import check_ch_names, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import TWITCH_DESCRIPTION, SampleBlock, Twitch
from twitchscope.signal.core.units import s_to_ms, volts_to_uv
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.run import StreamingDetector
from twitchscope.signal.io.xdf import parse_marker_fields

__all__ = [
    "LSL_MISSING",
    "EMG_TYPE",
    "MARKER_TYPE",
    "EMG_UNIT",
    "import_pylsl",
    "format_twitch_marker",
    "parse_marker_fields",
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


def format_twitch_marker(twitch: Twitch) -> str:
    """The marker string of a twitch: ``LTR channel=<ch> peak_uv=<µV> duration_ms=<ms>``.

    ``site=<label>`` follows when the twitch has a needle site. Values with spaces,
    quotes or ``=`` are double-quoted (JSON string syntax).
    """
    parts = [TWITCH_DESCRIPTION, f"channel={_quote(twitch.channel)}"]
    if math.isfinite(twitch.peak_v):
        parts.append(f"peak_uv={volts_to_uv(twitch.peak_v):.1f}")
    parts.append(f"duration_ms={s_to_ms(twitch.duration_s):.1f}")
    if twitch.site is not None:
        parts.append(f"site={_quote(twitch.site)}")
    return " ".join(parts)


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
            # the time of the newest sample; liblsl derives the others from the rate
            self._emg.push_chunk(values, base + (block.end_sample - 1) / self.sfreq)
            self._next_sample = block.end_sample
            self.n_pushed += block.n_samples

    def push_twitches(self, twitches: Iterable[Twitch]) -> None:
        """Send one marker per twitch, stamped at its onset (after the first block)."""
        with self._lock:
            if self._closed:
                return
            for tw in twitches:
                if self.start_time is None:
                    raise ConfigError(
                        "a twitch cannot be stamped before the first EMG block is pushed."
                    )
                marker = format_twitch_marker(tw)
                self._markers.push_sample([marker], self.start_time + tw.onset_s)
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
    """Publish a board's EMG rows and the twitches a streaming detector finds in them.

    Feed it every block of the stream (all channels); it picks the EMG rows, pushes
    them, runs the streaming detector
    (:class:`~twitchscope.signal.detect.run.StreamingDetector`) on them and pushes
    each twitch as a marker once the detector decides it (about ``merge_gap_s``
    after the twitch ends). :meth:`finish` flushes the detector at the end.

    Parameters
    ----------
    publisher : LslPublisher
        Its ``ch_names`` are the EMG channels, in the order of ``ch_names`` here.
    ch_names : sequence of str
        Every channel of the blocks that will be fed.
    config : DetectorConfig or None
        Detector settings; ``None`` publishes the EMG without twitch markers.
    """

    def __init__(
        self,
        publisher: LslPublisher,
        *,
        ch_names: Sequence[str],
        config: DetectorConfig | None,
    ) -> None:
        names = list(ch_names)
        missing = [c for c in publisher.ch_names if c not in names]
        if missing:
            raise ConfigError(f"EMG channels {missing} are not among the stream's {names}.")
        self.publisher = publisher
        self._rows = [names.index(c) for c in publisher.ch_names]
        self._all = tuple(names)
        self._detector: StreamingDetector | None = None
        if config is not None:
            self._detector = StreamingDetector(
                config, sfreq=publisher.sfreq, ch_names=publisher.ch_names
            )
        self.twitches: list[Twitch] = []

    def feed(self, block: SampleBlock) -> None:
        """Publish one block (all channels) and any twitch it completes."""
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
        if self._detector is not None:
            self._emit(self._detector.feed(emg).twitches)

    def _emit(self, twitches: Sequence[Twitch]) -> None:
        if twitches:
            self.publisher.push_twitches(twitches)
            self.twitches.extend(twitches)

    def finish(self) -> None:
        """End of stream: decide what the detector still holds and publish it.

        The streams stay open (an inlet may still be pulling); close the publisher
        when done.
        """
        if self._detector is not None:
            out = self._detector.finish()
            if self.publisher.start_time is not None:
                self._emit(out.twitches)
