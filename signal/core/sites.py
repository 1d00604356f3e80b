"""The needle-site log: "needle in" / "needle out" presses become labelled spans.

One log holds the closed spans of a stream or recording plus at most one open span
(the needle is in). It is used by the crash-safe recorder
(:class:`~twitchscope.acquisition.recording.recorder.Recorder`) and by the dashboard's
stream sources, with one behaviour:

* :meth:`SiteLog.needle_in` while a span is open closes that span at the new onset,
  then opens the new one.
* :meth:`SiteLog.needle_out` with no span open raises :class:`ConfigError` (a press
  that cannot mean anything is reported, never ignored).
* Times never go back: a needle in or out before the open span's onset raises
  :class:`ConfigError`; a negative or non-finite time raises too.
* A label must not be blank.

Callers show the error's one line (the dashboard) or let it propagate (the
recorder's API).

Marker streams (an XDF file's, a live LSL stream read by ``twitchscope record``) say
the same with text: ``needle:<label>`` is a needle in at a site, ``needle-out`` (
:data:`NEEDLE_OUT`) the needle out; :func:`needle_marker` is the one reading of them. The log is thread-safe: a live stream's log is shared by every
browser session and by the thread that labels the simulated amplifier's sites.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Sequence

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import SITE_PREFIX, NeedleSite

__all__ = ["NEEDLE_OUT", "SiteLog", "needle_marker", "sites_from_actions"]

#: The marker that ends the open needle site (``needle:<label>`` starts one).
NEEDLE_OUT = "needle-out"


def needle_marker(text: str) -> tuple[str, str] | None:
    """What a marker says about needle sites, or ``None`` for any other marker.

    ``needle:<label>`` (any case, a non-blank label) gives ``("in", label)``;
    ``needle-out`` gives ``("out", "")``.

    Examples
    --------
    >>> needle_marker("needle:R trapezius TrP1")
    ('in', 'R trapezius TrP1')
    >>> needle_marker(" NEEDLE-OUT ")
    ('out', '')
    >>> needle_marker("LTR channel=EMG1") is None
    True
    """
    text = str(text).strip()
    if text.lower().startswith(SITE_PREFIX) and (label := text[len(SITE_PREFIX) :].strip()):
        return "in", label
    if text.lower() == NEEDLE_OUT:
        return "out", ""
    return None


def sites_from_actions(
    actions: Iterable[tuple[float, tuple[str, str]]], *, end_s: float
) -> list[NeedleSite]:
    """Needle sites from time-ordered ``(time, action)`` pairs of :func:`needle_marker`.

    A site starts at ``("in", label)`` and ends at the next action of either kind, or at
    ``end_s`` (never before its onset); an ``("out", "")`` with no site open does nothing.

    Raises
    ------
    ConfigError
        A site that is not valid (e.g. a negative onset).
    """
    sites: list[NeedleSite] = []
    open_site: tuple[str, float] | None = None
    for at, (kind, label) in [*actions, (end_s, ("out", ""))]:
        if open_site is not None:
            name, onset = open_site
            sites.append(NeedleSite(label=name, onset_s=onset, duration_s=max(0.0, at - onset)))
            open_site = None
        if kind == "in":
            open_site = (label, at)
    return sites


def _by_onset(site: NeedleSite) -> float:
    return site.onset_s


class SiteLog:
    """Needle spans of one stream: closed spans plus at most one open ("needle in") span.

    Parameters
    ----------
    sites : sequence of NeedleSite
        Closed spans known from the start (e.g. annotated in a file).

    Notes
    -----
    Thread-safe. See the module docstring for the rules every caller relies on.

    Examples
    --------
    >>> log = SiteLog()
    >>> log.needle_in("R upper trapezius TrP1", 2.0).duration_s
    0.0
    >>> log.needle_out(5.5).duration_s
    3.5
    """

    def __init__(self, sites: Sequence[NeedleSite] = ()) -> None:
        self._lock = threading.Lock()
        self._closed: list[NeedleSite] = sorted(sites, key=_by_onset)
        self._open: NeedleSite | None = None

    def needle_in(
        self,
        label: str,
        onset_s: float,
        *,
        muscle: str = "",
        side: str = "",
        point_id: str | None = None,
        note: str = "",
    ) -> NeedleSite:
        """Open a span at ``onset_s`` s, closing the open one there first.

        Returns
        -------
        site : NeedleSite
            The open span (duration 0 until :meth:`needle_out`).

        Raises
        ------
        ConfigError
            A blank label, a negative or non-finite time, or a time before the
            open span's onset.
        """
        label = str(label).strip()
        if not label:
            raise ConfigError("a needle site needs a label; pick or type one.")
        site = NeedleSite(
            label=label,
            onset_s=float(onset_s),
            duration_s=0.0,
            muscle=muscle,
            side=side,
            point_id=point_id,
            note=note,
        )  # validates the time
        with self._lock:
            if self._open is not None:
                self._close(site.onset_s)
            self._open = site
        return site

    def needle_out(self, offset_s: float) -> NeedleSite:
        """Close the open span at ``offset_s`` s and return it.

        Raises
        ------
        ConfigError
            No needle is in, or ``offset_s`` is before the open span's onset.
        """
        with self._lock:
            if self._open is None:
                raise ConfigError("needle out with no needle in; press Needle in first.")
            return self._close(float(offset_s))

    def _close(self, offset_s: float) -> NeedleSite:
        """Close the open span at ``offset_s`` (lock held, a span open)."""
        open_ = self._open
        assert open_ is not None
        if not offset_s >= open_.onset_s:  # also catches NaN
            raise ConfigError(
                f"needle out at {offset_s:.3f} s is before needle in at {open_.onset_s:.3f} s "
                f"({open_.label!r}); times must not go back."
            )
        site = dataclasses.replace(open_, duration_s=offset_s - open_.onset_s)
        self._closed.append(site)
        self._closed.sort(key=_by_onset)
        self._open = None
        return site

    def add(self, site: NeedleSite) -> None:
        """Add a closed span (e.g. one annotated in a file); the open span is not touched."""
        if not isinstance(site, NeedleSite):
            raise ConfigError(f"a site log takes NeedleSite spans, got {type(site).__name__}.")
        with self._lock:
            self._closed.append(site)
            self._closed.sort(key=_by_onset)

    @property
    def active(self) -> str | None:
        """Label of the open span, if the needle is in."""
        with self._lock:
            return self._open.label if self._open is not None else None

    @property
    def open_site(self) -> NeedleSite | None:
        """The open span (duration 0), if the needle is in."""
        with self._lock:
            return self._open

    def sites(self, now_s: float | None = None) -> tuple[NeedleSite, ...]:
        """All spans sorted by onset; the open one runs to ``now_s`` (left out if None)."""
        with self._lock:
            out = list(self._closed)
            open_ = self._open
        if open_ is not None and now_s is not None:
            out.append(dataclasses.replace(open_, duration_s=max(0.0, now_s - open_.onset_s)))
        return tuple(sorted(out, key=_by_onset))

    def clear(self) -> None:
        """Forget every span."""
        with self._lock:
            self._closed.clear()
            self._open = None

    def __repr__(self) -> str:
        with self._lock:
            n, active = len(self._closed), self._open
        state = f"needle in at {active.label!r}" if active is not None else "needle out"
        return f"<SiteLog | {n} closed spans, {state}>"
