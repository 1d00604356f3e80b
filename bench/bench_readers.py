"""Benchmark block reading: speed and peak memory of streaming vs loading whole.

Writes one long recording (8 EMG channels at 2 kHz, 20 min by default) as CSV and
EDF+, then, each in a fresh Python process, reads it whole with ``read_recording``
and block by block with ``iter_blocks`` (1 s blocks), and reports the wall time and
the peak resident memory of that process. Streaming should stay near the baseline
memory (interpreter + numpy + MNE + pandas) however long the file is. Peak memory is
read from ``/proc/self/status`` (Linux). Prints the figures and writes ``bench/results/readers.json``.

Usage::

    .venv/bin/python bench/bench_readers.py [--minutes 20]
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.io.writers import write_recording

RESULTS = Path(__file__).resolve().parent / "results" / "readers.json"
SFREQ = 2000.0
N_CHANNELS = 8

_CHILD = r"""
import sys, time
from twitchscope.signal.io.readers import iter_blocks, read_recording
def hwm_kb():  # peak RSS of this process image (ru_maxrss would include the parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
path, mode = sys.argv[1], sys.argv[2]
base = hwm_kb()
t0 = time.perf_counter()
if mode == "whole":
    raw = read_recording(path, preload=True)
    n = raw.n_times
    total = float(raw.get_data().sum())
else:
    n, total = 0, 0.0
    for block in iter_blocks(path, block_samples=2000):
        n += block.n_samples
        total += float(block.data.sum())
dt = time.perf_counter() - t0
peak = hwm_kb()
print(n, dt, base / 1024, peak / 1024)
"""


def _measure(path: Path, mode: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), mode], capture_output=True, text=True, check=True
    )
    n, seconds, base_mb, peak_mb = out.stdout.split()
    return {
        "n_samples": int(n),
        "seconds": round(float(seconds), 3),
        "baseline_mb": round(float(base_mb), 1),
        "peak_mb": round(float(peak_mb), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=20.0)
    args = parser.parse_args()
    n = int(args.minutes * 60 * SFREQ)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((N_CHANNELS, n)) * 20e-6
    raw = make_raw(data, sfreq=SFREQ, ch_names=[f"EMG{k}" for k in range(N_CHANNELS)])
    data_mb = data.nbytes / 2**20
    del data
    results: dict[str, object] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "minutes": args.minutes,
        "sfreq": SFREQ,
        "n_channels": N_CHANNELS,
        "data_mb_float64": round(data_mb, 1),
    }
    with tempfile.TemporaryDirectory() as tmp:
        for ext in ("csv", "edf"):
            path = write_recording(raw, Path(tmp) / f"long.{ext}")
            size_mb = path.stat().st_size / 2**20
            for mode in ("whole", "blocks"):
                m = _measure(path, mode)
                m["file_mb"] = round(size_mb, 1)
                results[f"{ext}_{mode}"] = m
                print(
                    f"{ext:4s} {mode:6s}: {m['n_samples']} samples in {m['seconds']:.2f} s, "
                    f"peak {m['peak_mb']:.0f} MB (baseline {m['baseline_mb']:.0f} MB; "
                    f"file {size_mb:.0f} MB, data {data_mb:.0f} MB as float64)"
                )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
