"""Choosing a recording: a bundled sample, the file given on the command line, or an upload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from twitchscope.dashboard.app.state import K, cli_source, cli_source_kind, read_cached
from twitchscope.dashboard.services.recordings import (
    UPLOAD_TYPES,
    Recording,
    check_upload,
    sample_recordings,
)
from twitchscope.dashboard.services.uploads import session_upload_folder
from twitchscope.signal.core.errors import TwitchscopeError
from twitchscope.signal.core.units import uv_to_volts

__all__ = ["choose_recording", "load_choice"]

_NONE = "— choose —"
#: The bundled sample opened first (clear twitches that habituate), when present.
PREFERRED_SAMPLE = "gastrocnemius"


def _save_upload(name: str, data: bytes) -> Path:
    """Write an uploaded file into this session's own temporary folder."""
    uploads: dict[str, str] = st.session_state[K.UPLOADS]
    folder = Path(uploads.get("__dir__") or session_upload_folder())
    uploads["__dir__"] = str(folder)
    path = folder / Path(name).name
    path.write_bytes(data)
    uploads[path.name] = str(path)
    return path


def choose_recording(*, key: str) -> Path | None:
    """Offer the recordings; return the chosen file's path (None until one is chosen)."""
    options: dict[str, Path] = {}
    if cli_source_kind() == "replay":
        cli_path = Path(cli_source())
        options[f"{cli_path.name} (command line)"] = cli_path
    for sample in sample_recordings():
        options[f"{sample.name} (sample)"] = sample
    uploads: dict[str, str] = st.session_state[K.UPLOADS]
    for name, saved in uploads.items():
        if not name.startswith("__"):
            options[f"{name} (uploaded)"] = Path(saved)
    cols = st.columns([3, 2])
    up = cols[1].file_uploader(
        f"…or upload (≤ 200 MB: {', '.join('.' + t for t in UPLOAD_TYPES)})",
        type=list(UPLOAD_TYPES),
        key=f"{key}_upload",
    )
    told = _read_options(cols[1], key=key)
    ss = st.session_state
    choice_key = f"{key}_choice"
    if up is not None and uploads.get(f"__last_{key}__") != up.file_id:
        uploads[f"__last_{key}__"] = up.file_id  # handle each upload once
        try:
            check_upload(up.name, up.size)
            path = _save_upload(up.name, up.getvalue())
            ss[K.READ_OPTIONS][str(path)] = told
            try:
                read_cached(path)  # a file the readers refuse is not offered at all
            except TwitchscopeError:
                path.unlink(missing_ok=True)
                uploads.pop(path.name, None)
                ss[K.READ_OPTIONS].pop(str(path), None)
                raise
            options[f"{path.name} (uploaded)"] = path
            ss[choice_key] = f"{path.name} (uploaded)"
        except TwitchscopeError as exc:
            hint = ""
            if "sfreq" in str(exc) and told[0] is None:
                hint = " Set its sampling rate under *Rate and units* and upload it again."
            cols[1].error(f"{exc}{hint}", icon=":material/warning:")
    names = [_NONE, *options]
    if ss.get(choice_key) not in names:
        ss[choice_key] = _default_choice(names)
    choice = cols[0].selectbox("Recording", names, key=choice_key)
    if choice == _NONE or choice not in options:
        return None
    return options[choice]


def _read_options(container: Any, *, key: str) -> tuple[float | None, float | None]:
    """What the user tells about a file that does not say it: ``(sfreq, volts per unit)``.

    A headerless log, a CSV without ``time_s`` or a word-cue CSV needs its rate; a log or
    a Spike Recorder ``.wav`` may need its units. 0 means "from the file".
    """
    with container.expander("Rate and units, for a file that does not say them"):
        sfreq = st.number_input(
            "Sampling rate, Hz (0: from the file)",
            min_value=0.0,
            max_value=100_000.0,
            value=0.0,
            step=50.0,
            key=f"{key}_sfreq",
        )
        uv = st.number_input(
            "µV per unit (0: from the file, or µV for a numeric log)",
            min_value=0.0,
            value=0.0,
            format="%g",
            key=f"{key}_uv_per_unit",
        )
    return (float(sfreq) or None, uv_to_volts(float(uv)) or None)


def _default_choice(names: list[str]) -> str:
    """The file given on the command line, else the clearest bundled sample, else none."""
    if cli_source_kind() == "replay" and len(names) > 1:
        return names[1]
    for name in names:
        if name.startswith(PREFERRED_SAMPLE):
            return name
    return _NONE


def load_choice(path: Path) -> Recording | None:
    """Read a chosen file (cached); show its one-line error and return None if it fails."""
    try:
        return read_cached(path)
    except TwitchscopeError as exc:
        st.error(str(exc), icon=":material/warning:")
        return None
    except (OSError, ValueError) as exc:
        st.error(f"{path.name}: cannot read it ({exc}).", icon=":material/warning:")
        return None
