"""BrainFlow recordings: ``DataFilter.write_file`` output.

Tab separated, no header, one row per sample and one column per board row (see
:data:`BRAINFLOW_BOARDS`); EXG rows in µV, read as channels ``EXG0``, ``EXG1``, ...
(only the EXG rows are read). The board is told by ``board=`` or detected from the
number of columns and, where two boards share a count, from the rate of the
timestamp column. A last line cut short is dropped with one warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.units import V_PER_UV
from twitchscope.signal.io.delimited import (
    PROBE_ROWS,
    TextLayout,
    check_last_line,
    leading_blank_lines,
)
from twitchscope.signal.io.formats import first_content_line

__all__ = ["BRAINFLOW_BOARDS", "BrainFlowBoard", "brainflow_layout"]


@dataclass(frozen=True, slots=True)
class BrainFlowBoard:
    """The row layout of one BrainFlow board (as in BrainFlow's board descriptions).

    Parameters
    ----------
    name : str
        Our name for the board (the ``board=`` value).
    board_id : int
        BrainFlow's board id (also accepted as ``board=``).
    sfreq : float
        The board's default sampling rate, Hz.
    n_rows : int
        Number of rows BrainFlow returns, i.e. columns in ``write_file`` output.
    exg_rows : tuple of int
        The rows that hold EXG data in µV.
    timestamp_row : int
        The row with the UNIX timestamp in seconds.
    """

    name: str
    board_id: int
    sfreq: float
    n_rows: int
    exg_rows: tuple[int, ...]
    timestamp_row: int


#: Supported BrainFlow layouts, by our name. Cyton and Cyton+Daisy from
#: brainflow_boards.cpp (boards 0 and 2); the Synthetic board (-1) has the same
#: column count as Cyton+Daisy but runs at 250 Hz.
BRAINFLOW_BOARDS: dict[str, BrainFlowBoard] = {
    "cyton": BrainFlowBoard("cyton", 0, 250.0, 24, tuple(range(1, 9)), 22),
    "cyton_daisy": BrainFlowBoard("cyton_daisy", 2, 125.0, 32, tuple(range(1, 17)), 30),
    "synthetic": BrainFlowBoard("synthetic", -1, 250.0, 32, tuple(range(1, 17)), 30),
}


def _resolve_board(board: str | int) -> BrainFlowBoard:
    for b in BRAINFLOW_BOARDS.values():
        if board == b.name or (
            isinstance(board, int) and not isinstance(board, bool) and board == b.board_id
        ):
            return b
    allowed = ", ".join(f"{b.name!r} ({b.board_id})" for b in BRAINFLOW_BOARDS.values())
    raise ConfigError(f"unknown BrainFlow board {board!r}; expected one of {allowed} or None.")


def brainflow_layout(path: Path, sfreq: float | None, board: str | int | None) -> TextLayout:
    """The layout of a BrainFlow file: the board from ``board=`` or detected, its EXG rows.

    ``sfreq`` overrides the board's default rate.
    """
    first = first_content_line(path)
    assert first is not None  # detect_format checked
    n_cols = len(first.rstrip("\r\n").split("\t"))
    counts = ", ".join(f"{b.name}: {b.n_rows}" for b in BRAINFLOW_BOARDS.values())
    if board is not None:
        chosen = _resolve_board(board)
        if chosen.n_rows != n_cols:
            raise FileFormatError(
                f"{path.name} has {n_cols} tab-separated columns but BrainFlow board "
                f"{chosen.name!r} writes {chosen.n_rows}; expected a file of that board "
                f"({counts})."
            )
    else:
        candidates = [b for b in BRAINFLOW_BOARDS.values() if b.n_rows == n_cols]
        if not candidates:
            raise FileFormatError(
                f"{path.name} has {n_cols} tab-separated columns, which matches no supported "
                f"BrainFlow board ({counts}); expected one of those layouts."
            )
        ts_rate = _timestamp_rate(path, candidates[0].timestamp_row)
        if ts_rate is not None:
            fitting = [b for b in candidates if abs(ts_rate - b.sfreq) <= 0.2 * b.sfreq]
        else:
            fitting = candidates if len(candidates) == 1 else []
        if len(fitting) != 1:
            names = " or ".join(repr(b.name) for b in candidates)
            seen = f"timestamps suggest {ts_rate:.4g} Hz" if ts_rate else "no usable timestamps"
            raise ConfigError(
                f"cannot tell which BrainFlow board wrote {path.name} ({n_cols} columns, "
                f"{seen}); pass board= ({names}) and, if needed, sfreq."
            )
        chosen = fitting[0]
    rate = sfreq if sfreq is not None else chosen.sfreq
    n = len(chosen.exg_rows)
    layout = TextLayout(
        path=path,
        kind="brainflow",
        sep="\t",
        skip_lines=leading_blank_lines(path),
        columns=chosen.exg_rows,
        col_labels=tuple(f"EXG row {r}" for r in chosen.exg_rows),
        ch_names=tuple(f"EXG{k}" for k in range(n)),
        ch_types=("emg",) * n,
        scales=(V_PER_UV,) * n,
        sfreq=rate,
        time_column=None,
        t0=0.0,
        skipinitialspace=False,
        n_fields=n_cols,
    )
    return check_last_line(layout)


def _timestamp_rate(path: Path, row: int) -> float | None:
    """Samples per second of the BrainFlow timestamp column over the first rows, if usable."""
    try:
        df = pd.read_csv(path, sep="\t", header=None, usecols=[row], nrows=PROBE_ROWS)
    except (ValueError, pd.errors.ParserError, pd.errors.EmptyDataError):
        return None
    t = pd.to_numeric(df[row], errors="coerce").to_numpy(dtype=np.float64)
    t = t[np.isfinite(t)]
    if t.size < 3 or not t[-1] > t[0]:
        return None
    return float((t.size - 1) / (t[-1] - t[0]))
