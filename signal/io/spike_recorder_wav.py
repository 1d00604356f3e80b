"""Backyard Brains Spike Recorder recordings: ``.wav`` plus ``<name>-events.txt`` markers.

Spike Recorder (SpikerBox, SpikerShield) saves 16-bit PCM WAV, usually 10 kHz, one or
more channels (named ``CH1``, ``CH2``, ...). The samples are ADC counts, not volts:
Spike Recorder stores no calibration. They are read at
:data:`SPIKE_RECORDER_VOLTS_PER_COUNT` volts per count unless ``scale`` (``--scale``,
volts per count) is given; the Raw's ``info["description"]`` says which (and
``twitchscope info`` prints it). Calibrate once with a known signal and pass the
result as ``--scale``.

Next to the recording, Spike Recorder writes the markers typed during recording to
``<name>-events.txt``::

    # Marker IDs can be arbitrary strings.
    # Marker ID,	Time (in s)
    1,	0.6282
    needle:R-UpTrap-1,	12.5

Markers and needle sites:

``needle:<label>`` (a non-blank label)
    starts a needle site with that label;
a marker the user maps to a site (``site_markers``, ``--site-marker 1="R UpTrap 1"``)
    starts a needle site with the mapped label. Spike Recorder's users press number
    keys while recording, so the markers are ``1``, ``2``, ...; the marker's text is
    compared exactly (spaces around it ignored) and a key may be pressed again to
    start another site with the same label;
``needle-out``, or a marker the user maps to ``needle-out``
    ends the open site (nothing is open: the marker is dropped);
anything else
    an annotation at its time (duration 0) with the marker as its description.

A site lasts until the next site starts, a ``needle-out`` marker, or the end of the
recording, whichever comes first (as in XDF files, :mod:`~twitchscope.signal.io.xdf`).
A marker that starts a site or ends one becomes the site, not a plain annotation.
"""

from __future__ import annotations

import logging
import wave
from collections.abc import Mapping
from pathlib import Path

import mne
import numpy as np

from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.checks import check_positive
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import SITE_PREFIX
from twitchscope.signal.core.sites import NEEDLE_OUT, needle_marker, sites_from_actions
from twitchscope.signal.io.formats import error_summary

__all__ = [
    "SPIKE_RECORDER_VOLTS_PER_COUNT",
    "check_site_markers",
    "events_path",
    "parse_site_marker",
    "is_events_file",
    "read_spike_recorder_wav",
    "read_spike_recorder_events",
]

log = logging.getLogger(__name__)

#: Default volts per count: 1 µV. Spike Recorder stores counts without a calibration;
#: this keeps their numbers as microvolts (the order of magnitude of a SpikerBox's
#: counts referred to its input) so thresholds and plots are readable. Pass
#: ``--scale`` for real units.
SPIKE_RECORDER_VOLTS_PER_COUNT = 1e-6

_SAMPLE_BYTES = 2  # 16-bit PCM
_EVENTS_SUFFIX = "-events.txt"


def parse_site_marker(text: str) -> tuple[str, str]:
    """Split ``MARKER=LABEL`` (the ``--site-marker`` option) into ``(marker, label)``.

    The marker is the text before the first ``=``; both sides are stripped.

    Raises
    ------
    ConfigError
        No ``=``, or an empty marker or label.
    """
    marker, sep, label = str(text).partition("=")
    marker, label = marker.strip(), label.strip()
    if not sep or not marker or not label:
        raise ConfigError(
            f"--site-marker {text!r} is not MARKER=LABEL; expected e.g. "
            '--site-marker 1="R upper trapezius TrP1" (or 0=needle-out).'
        )
    return marker, label


def check_site_markers(
    site_markers: Mapping[str, str] | None,
) -> dict[str, str]:
    """Check a marker -> site label mapping; returns it with its texts stripped.

    A label ``needle-out`` (any case) makes the marker end the open site.

    Raises
    ------
    ConfigError
        A blank marker or label, a marker starting with ``needle:`` (it already starts
        a site) or ``needle-out`` (it already ends one), or two markers that are the
        same once stripped.
    """
    checked: dict[str, str] = {}
    for marker, label in (site_markers or {}).items():
        key, value = str(marker).strip(), str(label).strip()
        if not key or not value:
            raise ConfigError(
                f"site marker {marker!r} -> {label!r}: expected a marker text and a site "
                "label (or needle-out)."
            )
        if key.lower().startswith(SITE_PREFIX) or key.lower() == NEEDLE_OUT:
            raise ConfigError(
                f"site marker {key!r} needs no mapping: '{SITE_PREFIX}<label>' markers start "
                f"a site and '{NEEDLE_OUT}' ends one; expected another marker text."
            )
        if key in checked:
            raise ConfigError(f"site marker {key!r} is mapped twice; expected one label each.")
        checked[key] = value
    return checked


def events_path(path: Path) -> Path:
    """``<name>-events.txt`` next to the recording ``<name>.wav``."""
    return path.with_name(f"{path.stem}{_EVENTS_SUFFIX}")


def is_events_file(path: Path) -> bool:
    """Whether ``path`` is the ``<name>-events.txt`` of a ``<name>.wav`` beside it."""
    name = path.name
    if not name.lower().endswith(_EVENTS_SUFFIX):
        return False
    return path.with_name(name[: -len(_EVENTS_SUFFIX)] + ".wav").is_file()


def read_spike_recorder_wav(
    path: Path,
    *,
    scale: float | None = None,
    site_markers: Mapping[str, str] | None = None,
) -> mne.io.BaseRaw:
    """Read a Spike Recorder ``.wav`` (and its ``-events.txt`` markers) into a Raw in volts.

    Parameters
    ----------
    path : Path
        The recording.
    scale : float or None
        Volts per count; None uses :data:`SPIKE_RECORDER_VOLTS_PER_COUNT`.
    site_markers : mapping of str to str, or None
        Marker text -> needle-site label (or ``needle-out``); see the module docstring.

    Raises
    ------
    FileFormatError
        Not a 16-bit PCM WAV, no samples, or a malformed events file.
    ConfigError
        A bad ``scale`` or ``site_markers``.
    """
    factor = SPIKE_RECORDER_VOLTS_PER_COUNT if scale is None else check_positive("scale", scale)
    mapping = check_site_markers(site_markers)
    try:
        with wave.open(str(path), "rb") as w:
            n_ch, width, rate, n = (
                w.getnchannels(),
                w.getsampwidth(),
                w.getframerate(),
                w.getnframes(),
            )
            frames = w.readframes(n)
    except (wave.Error, EOFError, OSError) as exc:
        raise FileFormatError(
            f"cannot read {path.name}: {error_summary(exc)}; expected a Spike Recorder "
            "16-bit PCM WAV file."
        ) from None
    if width != _SAMPLE_BYTES:
        raise FileFormatError(
            f"{path.name} holds {8 * width}-bit samples; expected 16-bit PCM as Spike "
            "Recorder writes."
        )
    usable = len(frames) // (_SAMPLE_BYTES * n_ch)
    if usable == 0 or rate <= 0:
        raise FileFormatError(f"{path.name} holds no samples; expected a recording.")
    if usable < n:
        log.warning("%s: the file ends early; kept its %d complete samples", path.name, usable)
    counts = np.frombuffer(frames[: usable * _SAMPLE_BYTES * n_ch], dtype="<i2")
    data = counts.reshape(usable, n_ch).T.astype(np.float64) * factor
    raw = make_raw(data, sfreq=float(rate), ch_names=[f"CH{k + 1}" for k in range(n_ch)])
    how = "the default" if scale is None else "given by --scale"
    raw.info["description"] = (
        f"Spike Recorder counts read at {factor:g} V per count ({how}; the file holds no "
        "calibration, pass --scale VOLTS_PER_COUNT)"
    )
    events = events_path(path)
    if mapping and not events.exists():
        log.warning("%s: no %s; the site markers given are not used", path.name, events.name)
    ann = read_spike_recorder_events(events, duration_s=usable / rate, site_markers=mapping)
    if ann is not None:
        raw.set_annotations(ann, verbose="error")
    return raw


def read_spike_recorder_events(
    path: Path,
    *,
    duration_s: float,
    site_markers: Mapping[str, str] | None = None,
) -> mne.Annotations | None:
    """The markers of a ``-events.txt`` file as annotations (None when there is none).

    ``needle:<label>`` markers and those mapped by ``site_markers`` start needle sites;
    a site lasts until the next one starts, a ``needle-out`` marker (or one mapped to
    it), or ``duration_s``, the end of the recording.

    Raises
    ------
    FileFormatError
        A line that is not ``marker, time``.
    ConfigError
        A bad ``site_markers``.
    """
    mapping = check_site_markers(site_markers)
    if not path.exists():
        return None
    markers = _read_markers(path)
    unused = sorted(set(mapping) - {m for _, m in markers})
    if unused:
        log.warning("%s holds no marker %s of those mapped to sites", path.name, ", ".join(unused))
    actions: list[tuple[float, tuple[str, str]]] = []
    other: list[tuple[float, str]] = []
    for onset, marker in markers:
        said: tuple[str, str] | None
        if marker in mapping:  # a mapped label is a site's, or needle-out
            said = needle_marker(mapping[marker]) or ("in", mapping[marker])
        else:
            said = needle_marker(marker)
        if said is None:
            other.append((onset, marker))
        else:
            actions.append((onset, said))
    try:
        sites = sites_from_actions(actions, end_s=duration_s)
    except ConfigError as exc:
        raise FileFormatError(f"{path.name}: {exc}") from None
    rows = [(s.onset_s, s.duration_s, s.description) for s in sites]
    rows += [(o, 0.0, m) for o, m in other]
    if not rows:
        return None
    rows.sort(key=lambda r: r[0])
    onsets, durations, descriptions = zip(*rows, strict=True)
    return mne.Annotations(list(onsets), list(durations), list(descriptions))


def _read_markers(path: Path) -> list[tuple[float, str]]:
    """``(time_s, marker)`` of each line of an events file, sorted by time."""
    markers: list[tuple[float, str]] = []
    try:
        lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()
    except OSError as exc:
        raise FileFormatError(f"cannot read {path.name}: {exc.strerror or exc}.") from None
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        marker, sep, time_text = text.rpartition(",")
        try:
            onset = float(time_text)
        except ValueError:
            onset = float("nan")
        if not sep or not marker.strip() or not np.isfinite(onset) or onset < 0:
            raise FileFormatError(
                f"{path.name}: line {number} holds {text!r}; expected 'marker, time in s'."
            )
        markers.append((onset, marker.strip()))
    markers.sort(key=lambda m: m[0])
    return markers
