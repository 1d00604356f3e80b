"""Text recordings written in their real layouts, for the reader tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: A deliberately odd sampling rate, Hz.
SFREQ = 487.0
#: Samples in the test recordings.
N = 1500

#: BrainFlow boards: name -> (n_rows, n_exg, sfreq, timestamp row), as in brainflow_boards.cpp.
BRAINFLOW_LAYOUTS = {
    "cyton": (24, 8, 250.0, 22),
    "cyton_daisy": (32, 16, 125.0, 30),
    "synthetic": (32, 16, 250.0, 30),
}


def write_csv(path: Path, data_uv: np.ndarray, names: list[str], *, sfreq: float | None) -> None:
    """A twitchscope CSV: optional ``time_s`` then one µV column per channel."""
    header = (["time_s"] if sfreq else []) + names
    lines = [",".join(header)]
    for i in range(data_uv.shape[1]):
        cells = [f"{i / sfreq:.6f}"] if sfreq else []
        cells += [f"{v:.4f}" for v in data_uv[:, i]]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")


def write_openbci_v5(path: Path, data_uv: np.ndarray, *, rate_line: bool = True) -> None:
    """An OpenBCI GUI v5 Cyton file, laid out as DataWriterODF writes it."""
    n_exg = data_uv.shape[0]
    head = ["%OpenBCI Raw EXG Data", f"%Number of channels = {n_exg}"]
    if rate_line:
        head.append("%Sample Rate = 250 Hz")
    head.append("%Board = OpenBCI_GUI$BoardCytonSerial")
    cols = ["Sample Index", *[f"EXG Channel {k}" for k in range(n_exg)]]
    cols += ["Accel Channel 0", "Accel Channel 1", "Accel Channel 2", "Not Used"]
    cols += [f"Digital Channel {k} (D1{k})" for k in range(3)]
    cols += ["Analog Channel 0", "Timestamp", "Marker Channel", "Timestamp (Formatted)"]
    lines = [*head, ", ".join(cols)]
    for i in range(data_uv.shape[1]):
        row = [f"{float(i % 256)}", *[f"{v}" for v in data_uv[:, i]]]
        row += ["0.0", "0.0", "0.0", "192.0", "0.0", "0.0", "0.0", "0.0"]
        row += [f"{1.7e9 + i / 250:.6f}", "0.0", "2024-05-01 10:00:00.000"]
        lines.append(", ".join(row))
    path.write_text("\n".join(lines) + "\n")


def write_brainflow(path: Path, board: str, exg_uv: np.ndarray) -> None:
    """BrainFlow DataFilter.write_file: rows transposed, '%lf' tab separated, no header."""
    n_rows, n_exg, sfreq, ts_row = BRAINFLOW_LAYOUTS[board]
    n = exg_uv.shape[1]
    table = np.zeros((n_rows, n))
    table[0] = np.arange(n) % 256
    table[1 : 1 + n_exg] = exg_uv
    table[ts_row] = 1.7e9 + np.arange(n) / sfreq
    lines = ["\t".join(f"{v:f}" for v in table[:, i]) for i in range(n)]
    path.write_text("\n".join(lines) + "\n")
