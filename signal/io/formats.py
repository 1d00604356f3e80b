"""What a recording file looks like: the extensions we read and the conventions all formats share.

Shared by the readers of every format and by the writers:

- :data:`SUPPORTED_EXTENSIONS` and :func:`recording_extension`: the file names
  :func:`twitchscope.signal.io.readers.read_recording` accepts;
- :data:`TIME_COLUMN`, the ``time_s`` column of a twitchscope CSV;
- channel-type label prefixes (``EMG R-UpTrap``, ``MISC accel``) as EDF/BDF
  labels and CSV headers carry them, and :data:`VOLT_TYPES`, the channel types
  whose MNE unit is the volt (text files hold them in µV);
- :func:`sibling_path`, the ``<name>.sites.csv`` / ``<name>.annotations.csv``
  files next to a text recording;
- small text helpers for the readers' one-line error messages.
"""

from __future__ import annotations

from pathlib import Path

from twitchscope.signal.core.errors import FileFormatError

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "TIME_COLUMN",
    "VOLT_TYPES",
    "recording_extension",
    "sibling_path",
    "type_prefix",
    "split_type_prefix",
    "first_content_line",
    "is_number",
    "error_summary",
]

#: File extensions :func:`~twitchscope.signal.io.readers.read_recording` accepts.
SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    ".edf",
    ".bdf",
    ".fif",
    ".fif.gz",
    ".csv",
    ".tsv",
    ".txt",
    ".xdf",
    ".xdfz",
    ".wav",
)

#: The column of a twitchscope CSV that holds the sample times.
TIME_COLUMN = "time_s"

#: Channel types whose MNE unit is the volt: CSV files hold them in µV.
VOLT_TYPES = frozenset({"emg", "eeg", "eog", "ecg", "bio", "seeg", "ecog", "dbs"})

#: Label prefixes that give a channel type (as MNE's EDF reader knows them).
_PREFIX_TO_TYPE = {
    "EEG": "eeg",
    "SEEG": "seeg",
    "ECOG": "ecog",
    "DBS": "dbs",
    "EOG": "eog",
    "ECG": "ecg",
    "EMG": "emg",
    "BIO": "bio",
    "RESP": "resp",
    "TEMP": "temperature",
    "MISC": "misc",
    "SAO2": "bio",
    "STIM": "stim",
}
_TYPE_TO_PREFIX = {
    "eeg": "EEG",
    "seeg": "SEEG",
    "ecog": "ECOG",
    "dbs": "DBS",
    "eog": "EOG",
    "ecg": "ECG",
    "emg": "EMG",
    "bio": "BIO",
    "resp": "RESP",
    "temperature": "TEMP",
    "misc": "MISC",
    "stim": "STIM",
}


def recording_extension(path: Path) -> str:
    """The lower-case extension of ``path`` (``.fif.gz`` as one)."""
    name = path.name.lower()
    if name.endswith(".fif.gz"):
        return ".fif.gz"
    return path.suffix.lower()


def type_prefix(ch_type: str) -> str:
    """The label prefix for a channel type, e.g. ``"MISC"`` for ``"misc"`` (EDF, CSV)."""
    return _TYPE_TO_PREFIX.get(ch_type, "MISC")


def split_type_prefix(label: str) -> tuple[str | None, str]:
    """``"EMG R-UpTrap"`` -> ``("emg", "R-UpTrap")``; ``"R-UpTrap"`` -> ``(None, ...)``."""
    parts = label.split(" ")
    if len(parts) > 1 and parts[0].upper() in _PREFIX_TO_TYPE:
        return _PREFIX_TO_TYPE[parts[0].upper()], " ".join(parts[1:])
    return None, label


def sibling_path(path: str | Path, kind: str) -> Path:
    """``<name>.<kind>.csv`` next to ``path``, ``<name>`` being its name without extension."""
    path = Path(path)
    name = path.name
    for ext in sorted(SUPPORTED_EXTENSIONS, key=len, reverse=True):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    return path.with_name(f"{name}.{kind}.csv")


def first_content_line(path: Path) -> str | None:
    """The first non-blank line of a text file (None if there is none)."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace") as f:
            for line in f:
                if line.strip():
                    return line
    except OSError as exc:
        raise FileFormatError(f"cannot read {path}: {exc.strerror or exc}.") from None
    return None


def is_number(text: str) -> bool:
    """Whether ``text`` parses as a float."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def error_summary(exc: BaseException) -> str:
    """The first line of an exception's text (without a final period), for our messages."""
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__
