"""OpenBCI GUI recordings (``OpenBCI-RAW-*.txt``), every GUI version.

``%`` header lines with ``%Sample Rate = 250 Hz``, then comma-separated rows with EXG
values in µV. The EXG channels are named ``EXG0``, ``EXG1``, ... as in the GUI's
``EXG Channel 0``; only they are read. The variants:

GUI v6 and later
    A column-name row ``Sample Index, EXG Channel 0, ..., Timestamp (Formatted)``.
GUI v5 (and v3/v4)
    No column-name row; ``%Number of channels = 8`` gives the channels (sample index
    first). GUI v5 writes an all-zero row before the data: it is not a sample and is
    skipped.
GUI before 2018 (``%OpenBCI Raw EEG Data``, Cyton and Ganglion)
    Neither a column-name row nor ``%Number of channels``: the layout follows from the
    number of columns of the first row: the sample index, 4 (Ganglion), 8 (Cyton) or
    16 (Cyton+Daisy) channels, optionally 3 accelerometer columns, optionally a
    clock-time column (``10:30:31.035``).

A last line cut short (the GUI was closed or crashed mid-write) is dropped with one
warning; every complete row is kept.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

from twitchscope.signal.core.checks import check_sfreq
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.units import V_PER_UV
from twitchscope.signal.io.delimited import TextLayout, check_last_line
from twitchscope.signal.io.formats import is_number

__all__ = ["OPENBCI_CHANNEL_COUNTS", "openbci_layout"]

log = logging.getLogger(__name__)

_RATE_RE = re.compile(r"^%\s*sample\s*rate\s*=\s*([0-9.eE+-]+)", re.IGNORECASE)
_NCH_RE = re.compile(r"^%\s*number\s*of\s*channels\s*=\s*(\d+)", re.IGNORECASE)
_EXG_RE = re.compile(r"^(?:EXG|EEG)\s*Channel\s*(\d+)$", re.IGNORECASE)

#: EXG channels of the boards the GUI records: Ganglion, Cyton, Cyton+Daisy.
OPENBCI_CHANNEL_COUNTS: tuple[int, ...] = (4, 8, 16)
#: Accelerometer columns that follow the channels in GUI files before v6.
_N_ACCEL = 3


def openbci_layout(path: Path, sfreq: float | None) -> TextLayout:
    """Read the ``%`` header and column names of an OpenBCI GUI file.

    ``sfreq`` overrides the header's ``%Sample Rate`` (with a warning when they differ)
    and is required when the header has none.
    """
    header_rate: float | None = None
    n_channels: int | None = None
    skip = 0
    first: str | None = None
    with path.open(encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("%"):
                if m := _RATE_RE.match(line):
                    try:
                        header_rate = float(m.group(1))
                    except ValueError:
                        header_rate = None
                elif m := _NCH_RE.match(line):
                    n_channels = int(m.group(1))
                skip += 1
                continue
            if not line.strip():
                skip += 1
                continue
            if _is_zero_row(line):  # GUI v5: an all-zero row before the data
                log.debug("%s: skipped the all-zero row before the data", path.name)
                skip += 1
                continue
            first = line
            break
    if first is None:
        raise FileFormatError(
            f"{path.name} has an OpenBCI header but no samples; expected comma-separated rows."
        )
    fields = [x.strip() for x in first.split(",")]
    if not is_number(fields[0]):  # GUI v5: a column-name row
        skip += 1
        exg = [(i, m.group(1)) for i, name in enumerate(fields) if (m := _EXG_RE.match(name))]
        columns = [i for i, _ in exg]
        ch_names = [f"EXG{k}" for _, k in exg]
        col_labels = [fields[i] for i in columns]
    else:  # GUI v3-v5 and before 2018: index, n channels, accel/aux ...
        if n_channels is None:
            n_channels = _channels_from_columns(fields, path)
        if len(fields) < 1 + n_channels:
            raise FileFormatError(
                f"{path.name}: rows have {len(fields)} fields for {n_channels} channels; "
                "expected the sample index followed by one column per channel."
            )
        columns = list(range(1, 1 + n_channels))
        ch_names = [f"EXG{k}" for k in range(n_channels)]
        col_labels = [f"EXG Channel {k}" for k in range(n_channels)]
    if not columns:
        raise FileFormatError(
            f"{path.name} has no 'EXG Channel <n>' columns; expected an OpenBCI GUI file "
            "with EXG channels."
        )
    dupes = sorted({n for n in ch_names if ch_names.count(n) > 1})
    if dupes:
        raise FileFormatError(
            f"{path.name} has duplicated channel names {dupes!r}; expected unique columns."
        )
    if sfreq is None:
        if header_rate is None:
            raise ConfigError(
                f"{path.name} has no '%Sample Rate = <n> Hz' header line, so sfreq is "
                "required; pass sfreq (--sfreq on the command line)."
            )
        sfreq = check_sfreq(header_rate)
    elif header_rate is not None and not math.isclose(sfreq, header_rate, rel_tol=1e-6):
        log.warning(
            "%s: using sfreq=%g Hz instead of the header's %g Hz", path.name, sfreq, header_rate
        )
    layout = TextLayout(
        path=path,
        kind="openbci",
        sep=",",
        skip_lines=skip,
        columns=tuple(columns),
        col_labels=tuple(col_labels),
        ch_names=tuple(ch_names),
        ch_types=("emg",) * len(columns),
        scales=(V_PER_UV,) * len(columns),
        sfreq=sfreq,
        time_column=None,
        t0=0.0,
        skipinitialspace=True,
        n_fields=len(fields),
    )
    return check_last_line(layout)


def _is_zero_row(line: str) -> bool:
    """Whether every field of ``line`` is the number 0 (GUI v5's row before the data)."""
    fields = [x.strip() for x in line.split(",")]
    return len(fields) > 1 and all(is_number(x) and float(x) == 0.0 for x in fields)


def _channels_from_columns(fields: list[str], path: Path) -> int:
    """The channel count of a GUI file without ``%Number of channels``, from its first row.

    The row is: the sample index, the channels, optionally 3 accelerometer columns and
    optionally trailing clock-time columns (not numbers).
    """
    n_numeric = len(fields)
    while n_numeric > 0 and not is_number(fields[n_numeric - 1]):
        n_numeric -= 1
    fits = [n for n in (n_numeric - 1 - _N_ACCEL, n_numeric - 1) if n in OPENBCI_CHANNEL_COUNTS]
    if len(fits) != 1:
        counts = "/".join(str(n) for n in OPENBCI_CHANNEL_COUNTS)
        raise FileFormatError(
            f"{path.name} has neither a column-name row nor a '%Number of channels' line, and "
            f"its {n_numeric} numeric columns do not fit the OpenBCI GUI layout; expected the "
            f"sample index, {counts} channels, optionally 3 accelerometer columns and a clock "
            "time (or add a '%Number of channels = <n>' line)."
        )
    log.debug("%s: %d channels from %d numeric columns", path.name, fits[0], n_numeric)
    return fits[0]
