"""Benchmark the EMG simulator: how many times faster than real time it streams.

The simulated amplifier needs at least 50x real time for 16 channels at 4 kHz. This
streams 60 s of the ``confounders`` preset (every kind of event on) in blocks of
40 samples (10 ms) and in one call, prints the figures and writes
``bench/results/simulate.json``.

Usage::

    .venv/bin/python bench/bench_simulate.py
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path

import numpy as np

from twitchscope.signal.simulate import init_sim_state, preset, sim_step, simulate

RESULTS = Path(__file__).resolve().parent / "results" / "simulate.json"


def stream_speed(n_channels: int, sfreq: float, block: int, seconds: float) -> float:
    """Return the real-time factor of streaming ``seconds`` in blocks of ``block`` samples."""
    cfg = preset("confounders", sfreq=sfreq, n_channels=n_channels)
    state = init_sim_state(cfg, seed=0)
    n_total = int(seconds * sfreq)
    t0 = time.perf_counter()
    done = 0
    while done < n_total:
        out, state = sim_step(cfg, min(block, n_total - done), state)
        done += out.n_samples
    return seconds / (time.perf_counter() - t0)


def main() -> None:
    """Run the benchmark, print it and write the results file."""
    results = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "cases": [],
    }
    for n_channels, sfreq, block in ((16, 4000.0, 40), (16, 4000.0, 4000), (8, 250.0, 1)):
        factor = stream_speed(n_channels, sfreq, block, 60.0)
        case = {"n_channels": n_channels, "sfreq": sfreq, "block": block, "x_real_time": factor}
        results["cases"].append(case)
        print(
            f"sim_step {n_channels} ch at {sfreq:g} Hz, blocks of {block}: {factor:.0f}x real time"
        )
    cfg = preset("confounders", sfreq=4000.0, n_channels=16)
    t0 = time.perf_counter()
    simulate(cfg, duration_s=90.0, seed=0)
    factor = 90.0 / (time.perf_counter() - t0)
    results["cases"].append({"simulate": "16 ch at 4000 Hz, 90 s", "x_real_time": factor})
    print(f"simulate 16 ch at 4000 Hz, 90 s: {factor:.0f}x real time")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
