"""Read an EMG stream (and its markers) from an XDF file, as LabRecorder writes them.

An XDF file holds several LSL streams. :func:`read_xdf` takes

* the EMG stream: the one stream of type ``EMG`` (case-insensitive), or the stream
  named by ``stream=``. It must have a regular nominal rate and a numeric format.
  Channel labels, units and types come from ``desc/channels/channel``. Units
  ``microvolts``/``µV``/``uV`` (also the assumption when no unit is given: LSL
  EMG/EEG sources send µV), ``millivolts``/``mV`` and ``volts``/``V`` are
  converted to volts; a channel of type ``EEG``, ``ECG`` or ``EOG`` keeps that
  type, any other non-EMG type is ``misc`` and is not rescaled.
* every string stream (type ``Markers`` or any other) as events, timed from the
  first EMG sample (markers before it are dropped):

  ``needle:<label>``
      the needle goes in at a site (closing the site open until then);
  ``needle-out``
      the open site ends (a site still open at the end ends with the data);
  ``LTR channel=<ch> peak_uv=<µV> duration_ms=<ms> ...``
      a twitch, as :mod:`twitchscope.dashboard.services.lsl_outlet` publishes them (kept
      as an ``LTR`` annotation on that channel; an ``id=<n>`` field is ignored);
  ``LTR? ...`` and ``LTR-withdrawn ...``
      dropped: the publisher's provisional markers (a candidate that looked like a
      twitch while it was going on) and their withdrawals say nothing the decided
      ``LTR`` markers do not, and neither is a twitch;
  anything else
      an annotation with that description and zero duration.

Time stamps go through pyxdf's clock synchronisation and jitter removal. Where
pyxdf splits the EMG stream into segments (a break of at least 1 s and 500
samples, its defaults), the samples missing between two segments are zero-filled
and annotated ``BAD_ACQ_SKIP``; shorter interruptions are not detected.

pyxdf is an optional dependency (``pip install 'twitchscope[xdf]'``). Every
problem is a one-line :class:`~twitchscope.signal.core.errors.FileFormatError`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import re
from pathlib import Path
from typing import Any

import mne
import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import (
    TWITCH_DESCRIPTION,
    Gap,
    NeedleSite,
    RecordingEvents,
    Twitch,
)
from twitchscope.signal.core.sites import needle_marker, sites_from_actions
from twitchscope.signal.core.units import V_PER_UV, ms_to_s, uv_to_volts

__all__ = [
    "XDF_MISSING",
    "PROVISIONAL_MARKER",
    "WITHDRAWN_MARKER",
    "read_xdf",
    "parse_marker_fields",
]

log = logging.getLogger(__name__)

#: The extra that brings pyxdf.
XDF_MISSING = "reading XDF needs the optional extra: pip install 'twitchscope[xdf]'"
#: First words of the live-only twitch markers: provisional, and its withdrawal.
PROVISIONAL_MARKER = f"{TWITCH_DESCRIPTION}?"
WITHDRAWN_MARKER = f"{TWITCH_DESCRIPTION}-withdrawn"

_UNIT_SCALE = {
    "microvolts": V_PER_UV,
    "microvolt": V_PER_UV,
    "µv": V_PER_UV,
    "μv": V_PER_UV,
    "uv": V_PER_UV,
    "millivolts": 1e-3,
    "millivolt": 1e-3,
    "mv": 1e-3,
    "volts": 1.0,
    "volt": 1.0,
    "v": 1.0,
}
_VOLT_TYPES = {"emg": "emg", "eeg": "eeg", "ecg": "ecg", "eog": "eog"}
_FIELD = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|[^\s"=]+)')


def _load(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    try:
        import pyxdf
    except ImportError:
        raise FileFormatError(f"{path.name}: {XDF_MISSING}.") from None
    try:
        streams, header = pyxdf.load_xdf(str(path))
    except Exception as exc:  # a third-party parser on any file: report it in one line
        text = str(exc).strip().splitlines()
        why = text[0].rstrip(".") if text else type(exc).__name__
        raise FileFormatError(f"cannot read {path.name} as XDF: {why}.") from None
    return list(streams), dict(header or {})


def _first(info: dict[str, Any], key: str, default: str = "") -> str:
    value = info.get(key)
    if isinstance(value, list) and value:
        value = value[0]
    return default if value is None or isinstance(value, dict | list) else str(value)


def _stream_label(stream: dict[str, Any]) -> str:
    info = stream.get("info", {})
    return f"{_first(info, 'name', '?')!r} ({_first(info, 'type', '?')})"


def _pick_emg(path: Path, streams: list[dict[str, Any]], name: str | None) -> dict[str, Any]:
    listing = ", ".join(_stream_label(s) for s in streams) or "none"
    if name is not None:
        named = [s for s in streams if _first(s["info"], "name") == name]
        if len(named) != 1:
            raise FileFormatError(
                f"{path.name} has {len(named)} streams named {name!r}; expected one "
                f"(streams: {listing})."
            )
        return named[0]
    emg = [s for s in streams if _first(s["info"], "type").lower() == "emg"]
    if not emg:
        raise FileFormatError(
            f"{path.name} has no EMG stream (streams: {listing}); expected one of type 'EMG', "
            "or name the stream to read."
        )
    if len(emg) > 1:
        names = ", ".join(_stream_label(s) for s in emg)
        raise FileFormatError(
            f"{path.name} has {len(emg)} EMG streams ({names}); name the one to read."
        )
    return emg[0]


def _channels(path: Path, info: dict[str, Any], n: int) -> tuple[list[str], list[str], list[float]]:
    """Labels, MNE types and volts-per-unit of the ``n`` channels from the stream's desc."""
    entries: list[dict[str, Any]] = []
    desc = info.get("desc")
    if isinstance(desc, list) and desc and isinstance(desc[0], dict):
        chans = desc[0].get("channels")
        if isinstance(chans, list) and chans and isinstance(chans[0], dict):
            entries = [c for c in chans[0].get("channel", []) if isinstance(c, dict)]
    stream_type = _first(info, "type", "EMG").lower()
    names, types, scales = [], [], []
    for i in range(n):
        entry = entries[i] if i < len(entries) else {}
        label = _first(entry, "label").strip() or f"EMG{i + 1}"
        ch_type = _first(entry, "type", stream_type).strip().lower() or "emg"
        mne_type = _VOLT_TYPES.get(ch_type, "misc")
        unit = _first(entry, "unit").strip()
        if mne_type == "misc":
            scale = 1.0
        elif not unit:
            scale = V_PER_UV  # LSL EMG/EEG sources send µV
        elif unit.lower() in _UNIT_SCALE:
            scale = _UNIT_SCALE[unit.lower()]
        else:
            raise FileFormatError(
                f"{path.name}: channel {label!r} is in {unit!r}; expected microvolts, "
                "millivolts or volts."
            )
        names.append(label)
        types.append(mne_type)
        scales.append(scale)
    if len(set(names)) != len(names):
        dup = sorted({x for x in names if names.count(x) > 1})
        raise FileFormatError(f"{path.name}: channel labels {dup} repeat; expected unique labels.")
    return names, types, scales


def _samples(
    path: Path, stream: dict[str, Any], sfreq: float
) -> tuple[NDArray[np.float64], list[tuple[int, int]], float]:
    """The samples (n_channels, n_samples) with gaps zero-filled, the gaps, and t0."""
    values = np.asarray(stream["time_series"])
    stamps = np.asarray(stream["time_stamps"], dtype=np.float64)
    if values.ndim != 2 or values.shape[0] == 0 or values.shape[0] != stamps.shape[0]:
        raise FileFormatError(f"{path.name}: the EMG stream holds no samples; expected some.")
    if not np.issubdtype(values.dtype, np.number):
        raise FileFormatError(
            f"{path.name}: the EMG stream holds {values.dtype} values; expected numbers."
        )
    segments = stream["info"].get("segments") or [(0, values.shape[0] - 1)]
    parts: list[NDArray[np.float64]] = []
    gaps: list[tuple[int, int]] = []
    n_out = 0
    prev_end: int | None = None
    for start, end in segments:
        if prev_end is not None:
            lost = int(round((stamps[start] - stamps[prev_end]) * sfreq)) - 1
            if lost >= 1:
                parts.append(np.zeros((lost, values.shape[1])))
                gaps.append((n_out, lost))
                n_out += lost
        seg = values[start : end + 1].astype(np.float64)
        parts.append(seg)
        n_out += seg.shape[0]
        prev_end = end
    data = np.concatenate(parts, axis=0).T
    if not np.all(np.isfinite(data)):
        raise FileFormatError(f"{path.name}: the EMG stream holds NaN or infinite samples.")
    return data, gaps, float(stamps[0])


def _marker_events(
    streams: list[dict[str, Any]],
    emg: dict[str, Any],
    *,
    t0: float,
    duration_s: float,
    ch_names: list[str],
) -> tuple[list[NeedleSite], list[Twitch], list[tuple[float, float, str]]]:
    markers: list[tuple[float, str]] = []
    for s in streams:
        if s is emg or _first(s["info"], "channel_format") != "string":
            continue
        for value, ts in zip(s["time_series"], s["time_stamps"], strict=True):
            text = str(value[0] if isinstance(value, list | tuple) and value else value).strip()
            onset = float(ts) - t0
            if not text or not math.isfinite(onset) or onset < 0 or onset > duration_s:
                continue
            markers.append((onset, text))
    markers.sort(key=lambda m: m[0])
    actions: list[tuple[float, tuple[str, str]]] = []
    twitches: list[Twitch] = []
    other: list[tuple[float, float, str]] = []
    for onset, text in markers:
        head = text.split(" ", 1)[0]
        if head in (PROVISIONAL_MARKER, WITHDRAWN_MARKER):
            continue
        if (needle := needle_marker(text)) is not None:
            actions.append((onset, needle))
        elif head == TWITCH_DESCRIPTION and (tw := _twitch(text, onset)):
            if tw.channel in ch_names:
                twitches.append(tw)
            else:
                other.append((onset, 0.0, text))
        else:
            other.append((onset, 0.0, text))
    sites = sites_from_actions(actions, end_s=duration_s)
    return sites, twitches, other


def parse_marker_fields(marker: str) -> tuple[str, dict[str, str]]:
    """Split a marker into its first word and its ``key=value`` fields.

    ``parse_marker_fields('LTR channel=EMG1 peak_uv=80.0')`` gives
    ``("LTR", {"channel": "EMG1", "peak_uv": "80.0"})``. A value may be
    double-quoted (JSON string syntax) to hold spaces, quotes or ``=``. Text that is
    not a ``key=value`` field after the first word is ignored.
    """
    head, _, rest = marker.strip().partition(" ")
    fields: dict[str, str] = {}
    for m in _FIELD.finditer(rest):
        value = m.group(2)
        if value.startswith('"'):
            try:
                value = str(json.loads(value))
            except json.JSONDecodeError:
                value = value.strip('"')
        fields[m.group(1)] = value
    return head, fields


def _twitch(text: str, onset: float) -> Twitch | None:
    _, fields = parse_marker_fields(text)
    if "channel" not in fields:
        return None
    try:
        duration = ms_to_s(float(fields.get("duration_ms", "0")))
        peak = uv_to_volts(float(fields["peak_uv"])) if "peak_uv" in fields else math.nan
        return Twitch(
            onset_s=onset,
            offset_s=onset + max(0.0, duration),
            channel=fields["channel"],
            peak_v=peak,
            site=fields.get("site"),
        )
    except (ValueError, ConfigError):
        return None


def _meas_date(header: dict[str, Any]) -> dt.datetime | None:
    info = header.get("info", {}) if isinstance(header, dict) else {}
    text = _first(info, "datetime") if isinstance(info, dict) else ""
    try:
        when = dt.datetime.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        return None
    if when is not None and when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return None if when is None else when.astimezone(dt.UTC)


def read_xdf(path: str | Path, *, stream: str | None = None) -> mne.io.RawArray:
    """Read the EMG stream of an XDF file, with its markers, into an MNE Raw (volts).

    Parameters
    ----------
    path : str or Path
        The ``.xdf`` (or gzip-compressed ``.xdfz``) file.
    stream : str or None
        Name of the stream to read; by default the one stream of type ``EMG``.

    Returns
    -------
    raw : mne.io.RawArray
        The channels at the stream's nominal rate, needle sites, twitches, gaps and
        other markers as annotations (see the module docstring).

    Raises
    ------
    FileFormatError
        pyxdf missing, an unreadable file, no (or several) EMG streams, an irregular
        rate, a non-numeric format, an unknown unit, or no samples.
    """
    path = Path(path)
    streams, header = _load(path)
    emg = _pick_emg(path, streams, stream)
    info = emg["info"]
    label = _stream_label(emg)
    try:
        sfreq = float(_first(info, "nominal_srate", "0"))
    except ValueError:
        sfreq = 0.0
    if not (math.isfinite(sfreq) and sfreq > 0):
        raise FileFormatError(
            f"{path.name}: stream {label} has an irregular rate; expected a regular nominal rate."
        )
    data, gap_spans, t0 = _samples(path, emg, sfreq)
    names, types, scales = _channels(path, info, data.shape[0])
    data *= np.asarray(scales)[:, None]
    duration_s = data.shape[1] / sfreq
    sites, twitches, other = _marker_events(
        streams, emg, t0=t0, duration_s=duration_s, ch_names=names
    )
    gaps = tuple(Gap(onset_s=a / sfreq, n_samples=n, sfreq=sfreq) for a, n in gap_spans)
    events = RecordingEvents(
        sites=tuple(sites), twitches=tuple(twitches), gaps=gaps, other=tuple(other)
    )
    try:
        raw = make_raw(
            data,
            sfreq=sfreq,
            ch_names=names,
            ch_types=types,
            events=events,
            meas_date=_meas_date(header),
        )
    except ConfigError as exc:
        raise FileFormatError(f"{path.name}: {exc}") from None
    log.info("read %s: stream %s, %d ch x %d samples", path.name, label, *data.shape)
    return raw
