"""Headerless numeric logs: one or more columns of numbers per line, nothing else.

What an Arduino, BioAmp or MyoWare sketch prints over serial and a terminal saves
(``.txt``, ``.csv`` or ``.tsv``): no header row, no time column, one sample per line,
the columns separated by commas, semicolons, tabs or spaces. Every column is a
channel, named ``CH1``, ``CH2``, ... The file says nothing about its rate or units,
so:

- ``sfreq`` (``--sfreq``) is required;
- values are read as µV unless ``scale`` (``--scale``, volts per unit of the file) is
  given, e.g. ``--scale 4.8828125e-3`` for raw 10-bit counts of a 5 V ADC, or the
  volts per count at the electrodes once the amplifier's gain is divided out.

A tab-separated file with as many columns as a BrainFlow board writes is BrainFlow
output (:mod:`~twitchscope.signal.io.brainflow`), not a log. A last line cut short is
dropped with one warning.
"""

from __future__ import annotations

from pathlib import Path

from twitchscope.signal.core.checks import check_positive, check_sfreq
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.units import V_PER_UV
from twitchscope.signal.io.delimited import (
    TextLayout,
    check_last_line,
    leading_blank_lines,
    split_fields,
)
from twitchscope.signal.io.formats import first_content_line, is_number

__all__ = ["log_separator", "headerless_layout"]

_WHITESPACE = r"\s+"


def log_separator(line: str) -> str | None:
    """The separator of a line of numbers (``","``, ``";"``, tab or whitespace), else None."""
    text = line.strip()
    if not text:
        return None
    for sep in ("\t", ",", ";"):
        if sep in text:
            break
    else:
        sep = _WHITESPACE
    fields = [f.strip() for f in split_fields(text, sep)]
    if fields and all(is_number(f) for f in fields):
        return sep
    return None


def headerless_layout(path: Path, sfreq: float | None, scale: float | None) -> TextLayout:
    """The layout of a headerless numeric log: every column a channel.

    Parameters
    ----------
    path : Path
        The log.
    sfreq : float or None
        Sampling rate, Hz: required (the file does not say).
    scale : float or None
        Volts per unit of the file; None reads the values as µV.

    Raises
    ------
    ConfigError
        ``sfreq`` missing, or a bad ``scale``.
    FileFormatError
        The first line is not numbers.
    """
    first = first_content_line(path)
    sep = log_separator(first or "")
    if first is None or sep is None:
        raise FileFormatError(
            f"{path.name} is not a headerless numeric log; expected lines of numbers "
            "separated by commas, semicolons, tabs or spaces."
        )
    if sfreq is None:
        raise ConfigError(
            f"{path.name} is a headerless numeric log (no header, no time column), so sfreq "
            "is required; pass sfreq (--sfreq on the command line)."
        )
    sfreq = check_sfreq(sfreq)
    factor = V_PER_UV if scale is None else check_positive("scale", scale)
    n = len(split_fields(first.strip(), sep))
    layout = TextLayout(
        path=path,
        kind="headerless",
        sep=sep,
        skip_lines=leading_blank_lines(path),
        columns=tuple(range(n)),
        col_labels=tuple(f"column {k + 1}" for k in range(n)),
        ch_names=tuple(f"CH{k + 1}" for k in range(n)),
        ch_types=("emg",) * n,
        scales=(factor,) * n,
        sfreq=sfreq,
        time_column=None,
        t0=0.0,
        skipinitialspace=sep != _WHITESPACE,
        n_fields=n,
    )
    return check_last_line(layout)
