"""Recordings as the dashboard opens them: a whole file in memory, uploads, bundled samples.

:func:`load_recording` reads any format :mod:`twitchscope.signal.io.readers` knows into a
:class:`Recording` (EMG rows in volts plus the annotated events); Review uses it
directly and :class:`~twitchscope.dashboard.services.replay.ReplaySource` plays it.
:func:`check_upload` vets an uploaded file's name and size, and
:func:`sample_recordings` lists the recordings shipped in ``twitchscope.sample_recordings``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import RecordingEvents

__all__ = [
    "UPLOAD_TYPES",
    "MAX_UPLOAD_MB",
    "Recording",
    "load_recording",
    "check_upload",
    "sample_recordings",
]

#: File extensions accepted for upload (what :mod:`twitchscope.signal.io.readers` reads).
UPLOAD_TYPES: tuple[str, ...] = ("edf", "bdf", "fif", "csv", "tsv", "txt", "xdf", "xdfz", "wav")
#: Largest upload accepted, MB.
MAX_UPLOAD_MB = 200
_RECORDING_SUFFIXES = (".edf", ".bdf", ".fif", ".csv", ".tsv", ".txt", ".xdf", ".xdfz", ".wav")
_SIDE_CARS = (".sites.csv", ".truth.csv", ".confounders.csv", ".annotations.csv", ".events.csv")


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


def load_recording(
    path: str | Path, *, sfreq: float | None = None, scale: float | None = None
) -> Recording:
    """Read a recording file (any format the readers know) with its EMG channels.

    ``sfreq`` and ``scale`` are passed to
    :func:`~twitchscope.signal.io.readers.read_recording` (for the files that do not
    say their rate or units: a CSV without ``time_s``, a headerless numeric log, a
    Spike Recorder ``.wav``).

    Raises
    ------
    FileFormatError
        Missing, unsupported or malformed file, or a file without EMG channels.
    """
    from twitchscope.signal.core.annotations import recording_events
    from twitchscope.signal.io.readers import read_recording

    path = Path(path)
    raw = read_recording(path, sfreq=sfreq, scale=scale, preload=True)
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
