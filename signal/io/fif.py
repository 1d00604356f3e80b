"""FIF recordings (MNE's own format), through :func:`mne.io.read_raw_fif`."""

from __future__ import annotations

from pathlib import Path

import mne

from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.io.formats import error_summary

__all__ = ["read_fif"]


def read_fif(path: Path, *, preload: bool) -> mne.io.BaseRaw:
    """Read a raw FIF file; any error of MNE's reader becomes one :class:`FileFormatError`."""
    if path.stat().st_size == 0:
        raise FileFormatError(f"{path.name} is empty (0 bytes); expected a raw FIF file.")
    try:
        raw = mne.io.read_raw_fif(path, preload=preload, verbose="error")
    except (AttributeError, TypeError, KeyError, IndexError):
        # MNE's internals tripping over missing parts: say what is wrong with the file
        raise FileFormatError(
            f"{path.name} is not a complete raw FIF file (truncated, corrupt or not FIF); "
            "expected a raw FIF file written by MNE."
        ) from None
    except Exception as exc:  # MNE's many parse errors become one of ours
        raise FileFormatError(
            f"cannot read {path.name} as FIF: {error_summary(exc)}; expected a raw FIF file "
            "written by MNE."
        ) from None
    if len(raw.ch_names) == 0:
        raise FileFormatError(f"{path.name} has no channels; expected at least one.")
    return raw
