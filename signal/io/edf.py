"""EDF/EDF+ and BDF/BDF+ recordings, through MNE, with the header checked first.

:func:`mne.io.read_raw_edf` / :func:`mne.io.read_raw_bdf` with ``infer_types=True``:
a label ``EMG R-UpTrap`` gives channel ``R-UpTrap`` of type ``emg``; a label without
a type prefix (which MNE types ``eeg``) is EMG for us; ``EEG``, ``MISC``, ``STIM`` ...
prefixes keep their type. The header is checked first, and what is wrong with a
file is said in its own terms: a data-record duration that is not positive, a
channel with no samples per record or whose physical (or digital) minimum equals
its maximum (no scale from counts to volts) are errors naming the field and the
channel. A truncated file (the last data records cut off, e.g. by a crash while
writing) is read up to its last whole record, with a warning saying how much is
missing and a ``TRUNCATED`` annotation at the end; a file without one whole
record is an error.

EDF/BDF files written by MNE are padded to whole data records and the padding is
marked ``BAD_ACQ_SKIP``; such a padding annotation (the last one, ending exactly at
the end of the file and shorter than one data record) is removed and the padding
cropped, so a round trip gives back the original number of samples. (A genuine
acquisition gap with exactly that shape would be cropped the same way; it holds no
samples worth keeping.)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import mne
import numpy as np

from twitchscope.signal.core.annotations import relative_onsets
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import GAP_DESCRIPTION
from twitchscope.signal.io.formats import error_summary, split_type_prefix

__all__ = ["read_edf_bdf"]

log = logging.getLogger(__name__)


#: annotation at the end of a truncated file (its description goes on with what is missing)
TRUNCATED_DESCRIPTION = "TRUNCATED"


@dataclass(frozen=True, slots=True)
class _EdfHeader:
    labels: tuple[str, ...]
    record_duration: float
    n_records: int
    n_missing: int


def _numbers(rest: bytes, at: int, ns: int, path: Path, what: str, field: str) -> list[float]:
    """The ``ns`` 8-byte numeric fields starting at ``at`` of the signal headers."""
    try:
        return [float(rest[at + 8 * i : at + 8 * (i + 1)].decode("ascii")) for i in range(ns)]
    except (ValueError, UnicodeDecodeError):
        raise FileFormatError(
            f"{path.name} is a corrupt {what} file: its {field} fields are not numbers."
        ) from None


def _read_edf_header(path: Path, kind: str) -> _EdfHeader:
    """Parse the fixed EDF/BDF header and check the file holds what it promises."""
    what = kind.upper()
    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(256)
        if len(head) < 256:
            raise FileFormatError(
                f"{path.name} is not a valid {what} file: {size} bytes, shorter than the "
                f"256-byte {what} header."
            )
        try:
            header_bytes = int(head[184:192].decode("ascii"))
            n_records = int(head[236:244].decode("ascii"))
            record_duration = float(head[244:252].decode("ascii"))
            n_signals = int(head[252:256].decode("ascii"))
        except (ValueError, UnicodeDecodeError):
            raise FileFormatError(
                f"{path.name} is not a valid {what} file: the header's size fields are not "
                f"numbers; expected an {what} header."
            ) from None
        if n_signals < 1 or header_bytes != 256 * (n_signals + 1):
            raise FileFormatError(
                f"{path.name} is a corrupt {what} file: header says {n_signals} signals and "
                f"{header_bytes} header bytes; expected 256 * (signals + 1) bytes."
            )
        rest = f.read(header_bytes - 256)
    if len(rest) < header_bytes - 256:
        raise FileFormatError(
            f"{path.name} is a truncated {what} file: {size} bytes, shorter than its "
            f"{header_bytes}-byte header."
        )
    ns = n_signals
    labels = tuple(rest[16 * i : 16 * (i + 1)].decode("latin-1").strip() for i in range(ns))
    annot = ("EDF Annotations", "BDF Annotations")
    has_signals = any(lab not in annot for lab in labels)
    if has_signals and not record_duration > 0:  # 0 is allowed for annotations only
        raise FileFormatError(
            f"{path.name} is a corrupt {what} file: its data-record duration is "
            f"{record_duration:g} s; expected a positive number of seconds."
        )
    spr = _numbers(rest, ns * 216, ns, path, what, "samples-per-record")
    samples_per_record = [int(x) for x in spr]
    for label, n in zip(labels, samples_per_record, strict=True):
        if n < 1:
            raise FileFormatError(
                f"{path.name} is a corrupt {what} file: channel {label!r} has {n} samples per "
                "data record; expected at least 1."
            )
    pmin = _numbers(rest, ns * 104, ns, path, what, "physical minimum")
    pmax = _numbers(rest, ns * 112, ns, path, what, "physical maximum")
    dmin = _numbers(rest, ns * 120, ns, path, what, "digital minimum")
    dmax = _numbers(rest, ns * 128, ns, path, what, "digital maximum")
    for i, label in enumerate(labels):
        if label in annot:
            continue
        for field, lo, hi in (("physical", pmin[i], pmax[i]), ("digital", dmin[i], dmax[i])):
            if lo == hi:
                raise FileFormatError(
                    f"{path.name}: channel {label!r} has {field} minimum = maximum = {lo:g}, "
                    "so its counts cannot be scaled to volts; expected a minimum below the "
                    "maximum."
                )
    bytes_per_sample = 3 if kind == "bdf" else 2
    record_bytes = sum(samples_per_record) * bytes_per_sample
    n_missing = 0
    if n_records > 0:
        expected = header_bytes + n_records * record_bytes
        if size < expected:
            intact = (size - header_bytes) // record_bytes
            if intact < 1:
                raise FileFormatError(
                    f"{path.name} is a truncated {what} file: the header promises {n_records} "
                    f"data records ({expected} bytes) but the file has {size} bytes, not one "
                    "whole record."
                )
            n_missing = n_records - intact
            n_records = intact
        if size > expected:
            log.warning("%s has %d bytes after its last data record", path.name, size - expected)
    elif size == header_bytes:
        raise FileFormatError(f"{path.name} has an {what} header but no data records.")
    return _EdfHeader(
        labels=labels, record_duration=record_duration, n_records=n_records, n_missing=n_missing
    )


def read_edf_bdf(path: Path, kind: str, *, preload: bool) -> mne.io.BaseRaw:
    """Read an EDF (``kind="edf"``) or BDF (``"bdf"``) file, its header checked first.

    Raises
    ------
    FileFormatError
        Truncated or corrupt header or data, no signal channels, duplicated names, or
        any error of MNE's reader (as one line).
    """
    header = _read_edf_header(path, kind)
    annot_label = "EDF Annotations" if kind == "edf" else "BDF Annotations"
    labels = [lab for lab in header.labels if lab not in (annot_label, "EDF Annotations")]
    if not labels:
        raise FileFormatError(
            f"{path.name} has no signal channels (only annotations); expected at least one."
        )
    names = [split_type_prefix(lab)[1] for lab in labels]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FileFormatError(
            f"{path.name} has duplicated channel names {dupes!r}; expected unique labels."
        )
    reader = mne.io.read_raw_edf if kind == "edf" else mne.io.read_raw_bdf
    try:
        raw = reader(path, preload=preload, infer_types=True, verbose="error")
    except Exception as exc:  # MNE's many parse errors become one of ours
        raise FileFormatError(
            f"cannot read {path.name} as {kind.upper()}: {error_summary(exc)}; expected a valid "
            f"{kind.upper()}/{kind.upper()}+ file."
        ) from None
    if len(raw.ch_names) != len(labels):
        raise FileFormatError(
            f"{path.name}: MNE read {len(raw.ch_names)} channels but the header lists "
            f"{len(labels)}; expected one channel per signal label."
        )
    new_types = {}
    for label, name, ch_type in zip(labels, raw.ch_names, raw.get_channel_types(), strict=True):
        prefix = split_type_prefix(label)[0]
        if prefix is None and ch_type == "eeg":
            new_types[name] = "emg"
    if new_types:
        raw.set_channel_types(new_types, verbose="error")
    if header.n_missing:
        _mark_truncation(raw, header, path)
    else:
        _crop_export_padding(raw, header.record_duration)
    return raw


def _mark_truncation(raw: mne.io.BaseRaw, header: _EdfHeader, path: Path) -> None:
    """Keep the whole records of a truncated file, warn, and annotate its end."""
    sfreq = float(raw.info["sfreq"])
    n_keep = int(round(header.n_records * header.record_duration * sfreq))
    if raw.n_times > n_keep:
        raw.crop(tmin=0.0, tmax=(n_keep - 1) / sfreq, include_tmax=True, verbose="error")
    missing_s = header.n_missing * header.record_duration
    total = header.n_records + header.n_missing
    what = f"{header.n_missing} of {total} data records missing ({missing_s:g} s)"
    first = raw.first_time if raw.annotations.orig_time is not None else 0.0
    raw.annotations.append(
        onset=first + (raw.n_times - 1) / sfreq,
        duration=0.0,
        description=f"{TRUNCATED_DESCRIPTION}: {what}",
    )
    log.warning(
        "%s is truncated: read its %d whole data records (%g s); %s at the end",
        path.name,
        header.n_records,
        header.n_records * header.record_duration,
        what,
    )


def _crop_export_padding(raw: mne.io.BaseRaw, record_duration: float) -> None:
    """Drop the ``BAD_ACQ_SKIP`` padding MNE's EDF/BDF export adds, and crop it off."""
    ann = raw.annotations
    if len(ann) == 0 or raw.n_times < 2:
        return
    sfreq = float(raw.info["sfreq"])
    onsets = relative_onsets(ann, float(raw.first_time))
    ends = onsets + np.asarray(ann.duration, dtype=float)
    cand = [
        i
        for i, desc in enumerate(ann.description)
        if desc == GAP_DESCRIPTION
        and abs(ends[i] * sfreq - raw.n_times) < 0.5
        and 0 < ann.duration[i] < record_duration
        and onsets[i] > 0
    ]
    if not cand:
        return
    i = cand[-1]
    n_keep = int(round(onsets[i] * sfreq))
    if not 0 < n_keep < raw.n_times:
        return
    raw.annotations.delete(i)
    raw.crop(tmin=0.0, tmax=(n_keep - 1) / sfreq, include_tmax=True, verbose="error")
    log.debug("cropped %d samples of EDF/BDF record padding", raw.n_times - n_keep)
