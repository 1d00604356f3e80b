"""Needle sites marked while recording: typed lines and marker streams, at the stream time.

:class:`SiteInput` turns what a clinician types in the terminal (:func:`read_key_lines`)
or what another program sends as markers (:func:`read_markers`, e.g. an LSL marker
stream) into needle in / needle out on a
:class:`~twitchscope.acquisition.recording.recorder.Recorder`, so the sites go into
its crash-safe partial folder (the one
:class:`~twitchscope.signal.core.sites.SiteLog`) and survive ``kill -9``.

Times are the recording's stream time: samples recorded so far (lost ones included)
divided by the rate, at the moment the line or marker arrives; a marker that says
when it was sent (a time stamp) is placed that much earlier. Times never go back: an
action is never placed before the previous one.

Typed lines (:data:`KEYS_HELP`): a label and Enter is needle in at that site (an open
site ends there first); Enter on an empty line, or ``.``, is needle out; ``?`` shows
the help again. Markers: ``needle:<label>`` and ``needle-out``
(:func:`~twitchscope.signal.core.sites.needle_marker`), any other marker is ignored.
"""

from __future__ import annotations

import errno
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import TextIO

from twitchscope.acquisition.recording.recorder import Recorder
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite
from twitchscope.signal.core.sites import needle_marker

__all__ = ["KEYS_HELP", "SiteInput", "read_key_lines", "read_markers"]

log = logging.getLogger(__name__)

#: The one-line help for typed needle sites.
KEYS_HELP = (
    "needle sites: type a label and Enter = needle in; Enter on an empty line (or '.') "
    "= needle out; '?' = this help"
)
#: How long a reader waits before trying a terminal that refused a read again, s.
_RETRY_S = 0.5


class SiteInput:
    """Needle in / out on a recorder at the stream time, with one line reported per action.

    Parameters
    ----------
    recorder : Recorder
        The recording the sites go into (its site log is written to the partial folder).
    report : callable
        Called with one line per action (a confirmation or why nothing was marked).

    Notes
    -----
    Thread-safe: typed lines and markers may arrive from several threads.
    """

    def __init__(self, recorder: Recorder, *, report: Callable[[str], None]) -> None:
        self.recorder = recorder
        self.report = report
        self._lock = threading.Lock()
        self._last_s = 0.0  # the time of the last action: times never go back

    def key_line(self, line: str) -> NeedleSite | None:
        """Act on one typed line (see :data:`KEYS_HELP`); returns the site opened or closed."""
        text = line.strip()
        if text == "?":
            self.report(KEYS_HELP)
            return None
        if text in ("", "."):
            return self.needle_out()
        return self.needle_in(text)

    def marker(self, text: str, *, age_s: float = 0.0) -> NeedleSite | None:
        """Act on a marker sent ``age_s`` seconds ago; other markers are ignored (None)."""
        needle = needle_marker(text)
        if needle is None:
            log.debug("marker %r is not a needle site; ignored", text)
            return None
        if needle[0] == "in":
            return self.needle_in(needle[1], age_s=age_s)
        return self.needle_out(age_s=age_s)

    def needle_in(self, label: str, *, age_s: float = 0.0) -> NeedleSite | None:
        """Needle in at ``label``, ``age_s`` before now (None, reported, if it cannot be)."""
        with self._lock:
            if self.recorder.closed:
                return None
            t = self._time(age_s)
            try:
                site = self.recorder.needle_in(label, onset_s=t)
            except ConfigError as exc:
                self.report(f"not marked: {exc}")
                return None
            self._last_s = t
        self.report(f"needle in  {site.label!r} at {t:.3f} s")
        return site

    def needle_out(self, *, age_s: float = 0.0) -> NeedleSite | None:
        """Needle out, ``age_s`` before now (None, reported, if no needle is in)."""
        with self._lock:
            if self.recorder.closed:
                return None
            if self.recorder.open_site is None:
                self.report("not marked: needle out with no needle in; type a label first.")
                return None
            t = self._time(age_s)
            try:
                site = self.recorder.needle_out(offset_s=t)
            except ConfigError as exc:
                self.report(f"not marked: {exc}")
                return None
            self._last_s = t
        self.report(f"needle out {site.label!r} at {t:.3f} s ({site.duration_s:.3f} s)")
        return site

    def _time(self, age_s: float) -> float:
        """Stream time now minus ``age_s``, never before the last action nor after now."""
        now = self.recorder.duration_s
        age = age_s if math.isfinite(age_s) else 0.0
        return min(now, max(self._last_s, now - max(0.0, age)))


def read_key_lines(stream: TextIO, sites: SiteInput, stop: threading.Event) -> threading.Thread:
    """Read typed lines from ``stream`` in a daemon thread until ``stop`` or end of input.

    A terminal read that fails (e.g. ``EIO`` while the process is in the background
    with ``SIGTTIN`` ignored) is tried again every half second.
    """

    def run() -> None:
        while not stop.is_set():
            try:
                line = stream.readline()
            except OSError as exc:
                if exc.errno != errno.EIO:
                    log.warning("typed needle sites stopped (the recording goes on): %s", exc)
                    return
                time.sleep(_RETRY_S)
                continue
            except ValueError:  # the stream was closed
                return
            if not line or stop.is_set():  # end of input: the recording goes on
                return
            sites.key_line(line)

    thread = threading.Thread(target=run, name="site-keys", daemon=True)
    thread.start()
    return thread


def read_markers(
    pull: Callable[[float], tuple[str | None, float]],
    sites: SiteInput,
    stop: threading.Event,
    *,
    on_error: Callable[[BaseException], None],
) -> threading.Thread:
    """Apply markers from ``pull`` in a daemon thread until ``stop``.

    ``pull(timeout)`` returns ``(marker, age_s)`` (how long ago it was sent), or
    ``(None, 0.0)`` when none came within ``timeout``. An exception ends the thread
    and goes to ``on_error`` (the recording goes on).
    """

    def run() -> None:
        try:
            while not stop.is_set():
                text, age = pull(0.2)
                if text is not None and not stop.is_set():
                    sites.marker(text, age_s=age)
        except Exception as exc:  # a side channel: never stops the recording
            on_error(exc)

    thread = threading.Thread(target=run, name="site-markers", daemon=True)
    thread.start()
    return thread
