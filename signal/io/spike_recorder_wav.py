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

Each marker becomes an annotation at its time (duration 0) with the marker as its
description; a marker ``needle:<label>`` starts a needle site, which lasts until the
next one (or the end of the recording).
"""

from __future__ import annotations

import logging
import wave
from pathlib import Path

import mne
import numpy as np

from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.checks import check_positive
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import SITE_PREFIX, NeedleSite
from twitchscope.signal.io.formats import error_summary

__all__ = [
    "SPIKE_RECORDER_VOLTS_PER_COUNT",
    "events_path",
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


def events_path(path: Path) -> Path:
    """``<name>-events.txt`` next to the recording ``<name>.wav``."""
    return path.with_name(f"{path.stem}{_EVENTS_SUFFIX}")


def is_events_file(path: Path) -> bool:
    """Whether ``path`` is the ``<name>-events.txt`` of a ``<name>.wav`` beside it."""
    name = path.name
    if not name.lower().endswith(_EVENTS_SUFFIX):
        return False
    return path.with_name(name[: -len(_EVENTS_SUFFIX)] + ".wav").is_file()


def read_spike_recorder_wav(path: Path, *, scale: float | None = None) -> mne.io.BaseRaw:
    """Read a Spike Recorder ``.wav`` (and its ``-events.txt`` markers) into a Raw in volts.

    Parameters
    ----------
    path : Path
        The recording.
    scale : float or None
        Volts per count; None uses :data:`SPIKE_RECORDER_VOLTS_PER_COUNT`.

    Raises
    ------
    FileFormatError
        Not a 16-bit PCM WAV, no samples, or a malformed events file.
    ConfigError
        A bad ``scale``.
    """
    factor = SPIKE_RECORDER_VOLTS_PER_COUNT if scale is None else check_positive("scale", scale)
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
    ann = read_spike_recorder_events(events_path(path), duration_s=usable / rate)
    if ann is not None:
        raw.set_annotations(ann, verbose="error")
    return raw


def read_spike_recorder_events(path: Path, *, duration_s: float) -> mne.Annotations | None:
    """The markers of a ``-events.txt`` file as annotations (None when there is no file).

    ``needle:<label>`` markers become needle sites lasting until the next one (or
    ``duration_s``, the end of the recording).
    """
    if not path.exists():
        return None
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
    markers.sort()
    site_onsets = [o for o, m in markers if m.lower().startswith(SITE_PREFIX)]
    onset_l: list[float] = []
    duration_l: list[float] = []
    desc_l: list[str] = []
    for onset, marker in markers:
        if marker.lower().startswith(SITE_PREFIX):
            later = [o for o in site_onsets if o > onset]
            end = later[0] if later else max(duration_s, onset)
            try:
                site = NeedleSite(label=marker, onset_s=onset, duration_s=end - onset)
            except ConfigError as exc:
                raise FileFormatError(f"{path.name}: {exc}") from None
            onset_l.append(site.onset_s)
            duration_l.append(site.duration_s)
            desc_l.append(site.description)
        else:
            onset_l.append(onset)
            duration_l.append(0.0)
            desc_l.append(marker)
    if not onset_l:
        return None
    return mne.Annotations(onset_l, duration_l, desc_l)
