"""OpenBCI GUI recordings (``OpenBCI-RAW-*.txt``).

``%`` header lines with ``%Sample Rate = 250 Hz``, then (GUI v5) a column-name row
``Sample Index, EXG Channel 0, ..., Timestamp (Formatted)`` and comma-separated rows
with EXG values in µV. GUI v3/v4 files without the column-name row are read from
``%Number of channels``. The EXG channels are named ``EXG0``, ``EXG1``, ... as in
the GUI's ``EXG Channel 0``; only they are read.
"""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path

from twitchscope.signal.core.checks import check_sfreq
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.units import V_PER_UV
from twitchscope.signal.io.delimited import TextLayout
from twitchscope.signal.io.formats import is_number

__all__ = ["openbci_layout"]

log = logging.getLogger(__name__)

_RATE_RE = re.compile(r"^%\s*sample\s*rate\s*=\s*([0-9.eE+-]+)", re.IGNORECASE)
_NCH_RE = re.compile(r"^%\s*number\s*of\s*channels\s*=\s*(\d+)", re.IGNORECASE)
_EXG_RE = re.compile(r"^(?:EXG|EEG)\s*Channel\s*(\d+)$", re.IGNORECASE)


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
    else:  # GUI v3/v4: index, n channels, accel/aux ...
        if n_channels is None:
            raise FileFormatError(
                f"{path.name} has neither a column-name row nor a '%Number of channels' line; "
                "expected an OpenBCI GUI header."
            )
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
    return TextLayout(
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
    )
