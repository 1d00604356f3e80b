"""Samples no amplifier can give: not finite, or beyond any amplifier's range.

A file may hold ``NaN``, ``inf`` or a value like ``1e308`` (a broken export, a
corrupt cell). One such sample poisons every filter after it: the detector finds
nothing, and numpy floods the terminal with overflow warnings. So each reader's
Raw goes through :func:`mask_bad_values`: the bad samples are named in one
warning, annotated as ``BAD_VALUES`` spans (per channel), and replaced by the last
good value of their channel (the first good one for a leading run, 0 if there is
none), so that detection goes on around them without a step at the start of a span.

"Beyond any amplifier's range" is :data:`ABSURD_V`: no biopotential amplifier input
passes 10 V (the Cyton at gain 1 rails at 4.5 V).
"""

from __future__ import annotations

import logging
from typing import Final

import mne
import numpy as np
from numpy.typing import NDArray

from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.masks import true_runs

__all__ = [
    "ABSURD_V",
    "BAD_VALUES_DESCRIPTION",
    "bad_samples",
    "mask_bad_values",
]

log = logging.getLogger(__name__)

#: volts beyond which a sample is not a measurement
ABSURD_V: Final = 10.0
#: annotation of a span of masked samples
BAD_VALUES_DESCRIPTION: Final = "BAD_VALUES"
#: values (samples x channels) read at a time by the scan of a Raw that is not preloaded
_SCAN_VALUES: Final = 1_000_000


def bad_samples(data: NDArray[np.float64]) -> NDArray[np.bool_]:
    """True where a sample is not finite or beyond :data:`ABSURD_V` (no warnings raised)."""
    x = np.asarray(data)
    with np.errstate(invalid="ignore", over="ignore"):
        return ~np.isfinite(x) | (np.abs(x) > ABSURD_V)


def _hold_last_good(row: NDArray[np.float64], bad: NDArray[np.bool_]) -> None:
    """Replace the bad samples of ``row`` in place by the last good one before them."""
    good = np.flatnonzero(~bad)
    if good.size == 0:
        row[:] = 0.0
        return
    idx = np.where(bad, 0, np.arange(row.size))
    idx[: good[0]] = good[0]
    np.maximum.accumulate(idx, out=idx)
    row[:] = row[idx]


def _any_bad(raw: mne.io.BaseRaw, name: str) -> bool:
    block = max(1, _SCAN_VALUES // max(1, len(raw.ch_names)))
    for start in range(0, raw.n_times, block):
        stop = min(raw.n_times, start + block)
        try:
            with np.errstate(invalid="ignore", over="ignore"):
                data = raw.get_data(start=start, stop=stop)
        except (ValueError, OSError, RuntimeError):
            raise FileFormatError(
                f"{name} is cut short or corrupt: its samples from {start / raw.info['sfreq']:g} s "
                "on cannot be read; expected as many samples as its header promises."
            ) from None
        if bad_samples(data).any():
            return True
    return False


def mask_bad_values(raw: mne.io.BaseRaw, name: str) -> mne.io.BaseRaw:
    """Mask and annotate the samples no amplifier can give (see the module docstring).

    Parameters
    ----------
    raw : mne.io.BaseRaw
        A recording just read (volts). A Raw that is not preloaded is scanned block by
        block and loaded only when it holds bad samples.
    name : str
        The file's name, for the warning.

    Returns
    -------
    mne.io.BaseRaw
        ``raw``, masked and annotated in place when it held bad samples.

    Raises
    ------
    FileFormatError
        The samples of a Raw that is not preloaded cannot be read (a file cut short).
    """
    if not raw.preload:
        if not _any_bad(raw, name):
            return raw
        raw.load_data()
    data = raw._data  # the loaded samples, masked in place
    bad = bad_samples(data)
    if not bad.any():
        return raw
    sfreq = float(raw.info["sfreq"])
    onsets: list[float] = []
    durations: list[float] = []
    names: list[tuple[str, ...]] = []
    found: list[str] = []
    with np.errstate(invalid="ignore", over="ignore"):
        for ch in np.flatnonzero(bad.any(axis=1)):
            row_bad = bad[ch]
            row = data[ch]
            kinds = []
            if np.isnan(row).any():
                kinds.append("NaN")
            if np.isinf(row).any():
                kinds.append("inf")
            if (np.isfinite(row) & row_bad).any():
                kinds.append(f"beyond ±{ABSURD_V:g} V")
            starts, ends = true_runs(row_bad)
            ch_name = raw.ch_names[ch]
            found.append(
                f"{ch_name}: {int(row_bad.sum())} ({', '.join(kinds)}) from "
                f"{starts[0] / sfreq:.3f} s"
            )
            onsets.extend((starts / sfreq).tolist())
            durations.extend(((ends - starts) / sfreq).tolist())
            names.extend([(ch_name,)] * starts.size)
            _hold_last_good(row, row_bad)
    first = raw.first_time if raw.annotations.orig_time is not None else 0.0
    raw.annotations.append(
        onset=np.asarray(onsets) + first,
        duration=durations,
        description=[BAD_VALUES_DESCRIPTION] * len(onsets),
        ch_names=names,
    )
    log.warning(
        "%s: samples no amplifier can give, masked as %s spans (detection goes on around them): %s",
        name,
        BAD_VALUES_DESCRIPTION,
        "; ".join(found),
    )
    return raw
