"""Write recordings (MNE Raw, volts) to FIF, EDF+, BDF+ or twitchscope CSV.

The format follows the extension:

``.fif``, ``.fif.gz``
    MNE's FIF (:meth:`mne.io.Raw.save`): keeps everything, including the
    annotation ``extras`` (a twitch's features).
``.edf``
    EDF+ via :func:`mne.export.export_raw` with ``add_ch_type=True``: 16-bit
    samples, physical range per channel (so a railed channel does not cost the
    others their resolution); labels ``<TYPE> <name>``
    (``EMG R-UpTrap``) so types survive. Annotations keep onset, duration and
    description: **one** EDF+ annotation per twitch (``LTR``), as MNE, EDFbrowser
    and any EDF+ viewer show it (MNE's own export would write one ``LTR@@<channel>``
    per channel). The channels of an annotation go to the sibling
    ``<name>.annotations.csv`` (``onset_s,duration_s,description,channels``, channels
    joined by ``;``; written only when some annotation has channels), which
    :func:`twitchscope.signal.io.readers.read_recording` reads back onto the
    matching annotations (same description, onset within half a sample). EDF+
    keeps neither the ``extras`` nor, without that file, the channels.
``.bdf``
    BDF+ the same way, with 24-bit samples.
``.csv``
    ``time_s`` (seconds from the first sample, 6 decimals) and one column per
    channel: EMG channels under their bare name, others as ``<TYPE> <name>``
    (e.g. ``MISC accel``); volt-typed channels in µV with 9 significant digits,
    other types as they are. Next to it, ``<name>.sites.csv``
    (``onset_s,duration_s,label`` with labels ``needle:<label>``, the corpus
    convention) and ``<name>.annotations.csv`` (``onset_s,duration_s,description,
    channels`` for every other annotation, channels joined by ``;``). Both
    siblings are always written (header only when empty).

EDF label rule: an EDF/BDF signal label holds at most 16 characters, and the label
is the type prefix, a space and the channel name (``"EMG "`` + name). A channel
whose label would be longer is **not** abbreviated: :func:`write_recording` raises
:class:`~twitchscope.signal.core.errors.FileFormatError` naming the channel and the
number of characters allowed (12 for an EMG channel), so names never change
silently. Rename the channel (``raw.rename_channels``) or write FIF/CSV.

EDF/BDF keep whole-number sampling rates only (samples per one-second data record):
a recording at, say, 487.5 Hz is refused with a clear error rather than written with
shifted sample times.

EDF+ needs a start date: a Raw without ``meas_date`` is written with
1985-01-01 00:00:00 UTC, the date EDF+ uses for "unknown" (what reading it back
gives anyway). EDF/BDF data records last one second, so MNE pads the data to a
whole second and marks the padding ``BAD_ACQ_SKIP``;
:func:`twitchscope.signal.io.readers.read_recording` removes that padding again.

Existing files are never replaced unless ``overwrite=True``.
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
from pathlib import Path

import mne
import numpy as np

from twitchscope.signal.core.annotations import relative_onsets
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import SITE_PREFIX
from twitchscope.signal.core.units import UV_PER_V
from twitchscope.signal.io.formats import TIME_COLUMN, VOLT_TYPES, sibling_path, type_prefix

__all__ = ["WRITABLE_EXTENSIONS", "EDF_LABEL_LENGTH", "EDF_UNKNOWN_DATE", "write_recording"]

log = logging.getLogger(__name__)

#: Extensions :func:`write_recording` accepts.
WRITABLE_EXTENSIONS: tuple[str, ...] = (".fif", ".fif.gz", ".edf", ".bdf", ".csv")
#: Characters in an EDF/BDF signal label, type prefix included.
EDF_LABEL_LENGTH = 16
#: The start date written to EDF+/BDF+ when the Raw has no ``meas_date``.
EDF_UNKNOWN_DATE = dt.datetime(1985, 1, 1, tzinfo=dt.UTC)

_CSV_BLOCK = 65536  # samples per block when writing CSV


def _output_kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(".fif.gz") or name.endswith(".fif"):
        return "fif"
    for ext in (".edf", ".bdf", ".csv"):
        if name.endswith(ext):
            return ext[1:]
    supported = ", ".join(WRITABLE_EXTENSIONS)
    raise FileFormatError(
        f"cannot write {path.name}: unsupported extension {path.suffix or '(none)'!r}; "
        f"expected one of {supported}."
    )


def write_recording(raw: mne.io.BaseRaw, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``raw`` with its annotations to ``path`` in the format its extension names.

    Parameters
    ----------
    raw : mne.io.BaseRaw
        The recording (volts). Not modified.
    path : str or Path
        Output file ending in ``.fif``, ``.fif.gz``, ``.edf``, ``.bdf`` or ``.csv``.
    overwrite : bool
        Replace existing files (for CSV also the sibling ``.sites.csv`` and
        ``.annotations.csv``).

    Returns
    -------
    path : Path
        The file written.

    Raises
    ------
    FileFormatError
        Unsupported extension, file exists and ``overwrite`` is false, missing
        directory, a channel name too long for EDF/BDF, or the write failed.
    """
    path = Path(path)
    kind = _output_kind(path)
    targets = [path]
    if kind == "csv":
        targets += [sibling_path(path, "sites"), sibling_path(path, "annotations")]
    elif kind in ("edf", "bdf") and any(raw.annotations.ch_names):
        targets.append(sibling_path(path, "annotations"))
    if not overwrite:
        for target in targets:
            if target.exists():
                raise FileFormatError(
                    f"{target} already exists; pass overwrite=True (--overwrite on the command "
                    "line) to replace it."
                )
    if not path.parent.is_dir():
        raise FileFormatError(
            f"cannot write {path.name}: directory {path.parent} does not exist; expected an "
            "existing directory."
        )
    sources = {Path(f).resolve() for f in (getattr(raw, "filenames", ()) or ()) if f}
    if not raw.preload and any(t.resolve() in sources for t in targets):
        raise FileFormatError(
            f"cannot write {path.name} over the file the recording is read from; expected a "
            "different output path."
        )
    if len(raw.ch_names) == 0:
        raise FileFormatError(f"cannot write {path.name}: the recording has no channels.")
    if kind in ("edf", "bdf"):
        _check_edf_labels(raw, kind)
        sfreq = float(raw.info["sfreq"])
        if not sfreq.is_integer():
            raise FileFormatError(
                f"cannot write {path.name}: {kind.upper()} keeps whole-number sampling rates "
                f"(samples per 1 s data record) and this recording is sampled at {sfreq:g} Hz; "
                "write FIF or CSV, or resample to a whole number of Hz."
            )
    try:
        if kind == "fif":
            raw.save(path, overwrite=True, verbose="error")
        elif kind in ("edf", "bdf"):
            _write_edf_bdf(raw, path, kind)
        else:
            _write_csv(raw, path)
    except FileFormatError:
        raise
    except Exception as exc:  # MNE / edfio / OS errors become one of ours
        for target in targets:
            target.unlink(missing_ok=True)
        msg = str(exc).strip().splitlines()
        detail = msg[0].rstrip(".") if msg else type(exc).__name__
        raise FileFormatError(f"cannot write {path.name} as {kind.upper()}: {detail}.") from None
    log.info("wrote %s", path)
    return path


def _check_edf_labels(raw: mne.io.BaseRaw, kind: str) -> None:
    for name, ch_type in zip(raw.ch_names, raw.get_channel_types(), strict=True):
        prefix = ch_type.upper()
        label = f"{prefix} {name}"
        if len(label) > EDF_LABEL_LENGTH:
            allowed = EDF_LABEL_LENGTH - len(prefix) - 1
            raise FileFormatError(
                f"channel {name!r} is too long for {kind.upper()}: its label {label!r} has "
                f"{len(label)} characters, {kind.upper()} allows {EDF_LABEL_LENGTH} including "
                f"the {prefix + ' '!r} prefix; rename it to at most {allowed} characters or "
                "write FIF/CSV."
            )
        if not label.isascii():
            raise FileFormatError(
                f"channel {name!r} has non-ASCII characters, which {kind.upper()} labels cannot "
                "hold; rename it or write FIF/CSV."
            )


def _write_edf_bdf(raw: mne.io.BaseRaw, path: Path, kind: str) -> None:
    out = raw.copy()
    if out.info["meas_date"] is None:
        out.set_meas_date(EDF_UNKNOWN_DATE)
    ann = out.annotations
    if any(ann.ch_names):
        _write_channels_table(raw, sibling_path(path, "annotations"))
        # one EDF+ annotation per event: MNE would write one ``<desc>@@<ch>`` per channel
        out.set_annotations(
            mne.Annotations(ann.onset, ann.duration, ann.description, orig_time=ann.orig_time),
            verbose="error",
        )
    # one physical range per channel: with one per channel type, a single railed or
    # lead-off EMG channel (hundreds of mV) would cost every other EMG channel its
    # microvolt resolution in 16-bit EDF
    try:
        mne.export.export_raw(
            path,
            out,
            fmt=kind,
            physical_range="channelwise",
            add_ch_type=True,
            overwrite=True,
            verbose="error",
        )
    except ValueError as exc:
        if "channelwise" not in str(exc):
            raise
        log.warning("this MNE cannot set EDF ranges per channel; one range per channel type")
        mne.export.export_raw(
            path, out, fmt=kind, add_ch_type=True, overwrite=True, verbose="error"
        )


def _write_channels_table(raw: mne.io.BaseRaw, path: Path) -> None:
    """The annotations of ``raw`` that have channels, as ``<name>.annotations.csv``."""
    ann = raw.annotations
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["onset_s", "duration_s", "description", "channels"])
        for onset, duration, desc, chs in zip(
            _relative_onsets(raw), ann.duration, ann.description, ann.ch_names, strict=True
        ):
            if len(chs):
                out.writerow(
                    [f"{max(0.0, onset):.6f}", f"{duration:.6f}", str(desc), ";".join(chs)]
                )


def _relative_onsets(raw: mne.io.BaseRaw) -> np.ndarray:
    """Annotation onsets in seconds from the first sample of ``raw``."""
    return relative_onsets(raw.annotations, float(raw.first_time))


def _write_csv(raw: mne.io.BaseRaw, path: Path) -> None:
    sfreq = float(raw.info["sfreq"])
    types = raw.get_channel_types()
    header = [TIME_COLUMN]
    scales = []
    for name, ch_type in zip(raw.ch_names, types, strict=True):
        header.append(name if ch_type == "emg" else f"{type_prefix(ch_type)} {name}")
        scales.append(UV_PER_V if ch_type in VOLT_TYPES else 1.0)
        if ch_type != "emg" and type_prefix(ch_type).lower() not in (ch_type, "temp"):
            log.warning("channel %s of type %s is written as MISC", name, ch_type)
    scale = np.asarray(scales)[:, None]
    fmt = ["%.6f"] + ["%.9g"] * len(raw.ch_names)
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerow(header)
        for start in range(0, raw.n_times, _CSV_BLOCK):
            stop = min(raw.n_times, start + _CSV_BLOCK)
            data = raw.get_data(start=start, stop=stop) * scale
            times = np.arange(start, stop) / sfreq
            np.savetxt(f, np.column_stack([times, data.T]), fmt=fmt, delimiter=",")
    onsets = _relative_onsets(raw)
    ann = raw.annotations
    with (
        sibling_path(path, "sites").open("w", newline="", encoding="utf-8") as fs,
        sibling_path(path, "annotations").open("w", newline="", encoding="utf-8") as fa,
    ):
        sites = csv.writer(fs, lineterminator="\n")
        other = csv.writer(fa, lineterminator="\n")
        sites.writerow(["onset_s", "duration_s", "label"])
        other.writerow(["onset_s", "duration_s", "description", "channels"])
        for onset, duration, desc, chs in zip(
            onsets, ann.duration, ann.description, ann.ch_names, strict=True
        ):
            o, d = f"{max(0.0, onset):.6f}", f"{duration:.6f}"
            if str(desc).lower().startswith(SITE_PREFIX):
                sites.writerow([o, d, SITE_PREFIX + str(desc)[len(SITE_PREFIX) :]])
            else:
                other.writerow([o, d, str(desc), ";".join(chs)])
