"""Benchmark: from a twitch's onset to its LSL marker, through the real serial path.

``twitchscope simulate`` plays a board on a pseudo-terminal; ``twitchscope record
--lsl`` reads it, records it and publishes the EMG and one marker per twitch on Lab
Streaming Layer. This script pulls the markers as an LSL consumer would. A marker is
stamped at its twitch's onset on the stream's clock (LSL's ``local_clock`` at the first
sample plus the onset), so the time from the onset to the marker's arrival is the local
clock at arrival minus the marker's timestamp. What it includes: the twitch itself (the
detector decides once the burst has ended, ``merge_gap_s`` after its last active
sample), the detector's block, the serial reads and LSL.

Target of issue #13: median <= 150 ms, p90 <= 250 ms. The figures are also given from
the twitch's end (the marker's ``duration_ms``) to the marker: what the detector and the
transport add to the twitch itself. Prints the figures and writes
``bench/results/lsl_latency.json``. Needs pylsl with liblsl.

Usage::

    .venv/bin/python bench/bench_lsl_latency.py [--seconds 90] [--protocol cyton]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "lsl_latency.json"
TWITCHSCOPE = [sys.executable, "-m", "twitchscope.dashboard"]


def _start_simulator(
    protocol: str, seconds: float, preset: str
) -> tuple[subprocess.Popen[str], str]:
    sim = subprocess.Popen(
        [
            *TWITCHSCOPE,
            "simulate",
            "--protocol",
            protocol,
            "--preset",
            preset,
            "--duration",
            str(seconds + 30),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert sim.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = sim.stdout.readline()
        m = re.search(r"(/dev/pts/\d+)", line)
        if m:
            return sim, m.group(1)
    sim.kill()
    raise RuntimeError("the simulator printed no pty path")


def measure(seconds: float, protocol: str, preset: str) -> dict[str, object]:
    """Run simulate + record --lsl for ``seconds``; return the latency figures."""
    import pylsl

    name = f"twitchscope-bench-{os.getpid()}"
    sim, port = _start_simulator(protocol, seconds, preset)
    with tempfile.TemporaryDirectory() as tmp:
        rec = subprocess.Popen(
            [
                *TWITCHSCOPE,
                "record",
                "--port",
                port,
                "--protocol",
                protocol,
                "--lsl",
                "--lsl-name",
                name,
                "--duration",
                str(seconds),
                "--out",
                str(Path(tmp) / "r.fif"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            found = pylsl.resolve_byprop("name", f"{name}-markers", timeout=20)
            if not found:
                found = pylsl.resolve_byprop("type", "Markers", timeout=10)
            if not found:
                raise RuntimeError("no marker stream appeared on LSL")
            inlet = pylsl.StreamInlet(found[0], recover=False)
            inlet.open_stream(timeout=10)
            delays: list[float] = []
            markers: list[str] = []
            end = time.monotonic() + seconds + 5
            while time.monotonic() < end and rec.poll() is None:
                try:
                    sample, ts = inlet.pull_sample(timeout=0.005)
                except pylsl.util.LostError:  # the recording ended and closed its streams
                    break
                if sample is None:
                    continue
                now = pylsl.local_clock()
                if str(sample[0]).startswith("LTR"):
                    delays.append(now - ts - inlet.time_correction())
                    markers.append(str(sample[0]))
            rec.wait(timeout=60)
        finally:
            if rec.poll() is None:
                rec.kill()
            sim.kill()
            sim.wait()
    d = np.asarray(delays) * 1e3
    durations = np.asarray(
        [
            float(m.group(1)) if (m := re.search(r"duration_ms=([0-9.]+)", x)) else np.nan
            for x in markers
        ]
    )
    after = d - durations  # from the twitch's end to its marker
    out: dict[str, object] = {
        "protocol": protocol,
        "preset": preset,
        "seconds": seconds,
        "n_markers": int(d.size),
    }
    if d.size:
        out |= {
            "median_ms": round(float(np.median(d)), 1),
            "p90_ms": round(float(np.percentile(d, 90)), 1),
            "min_ms": round(float(d.min()), 1),
            "max_ms": round(float(d.max()), 1),
            "twitch_duration_median_ms": round(float(np.nanmedian(durations)), 1),
            "after_offset_median_ms": round(float(np.nanmedian(after)), 1),
            "after_offset_p90_ms": round(float(np.nanpercentile(after, 90)), 1),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=90.0)
    p.add_argument("--protocol", default="cyton")
    p.add_argument("--preset", default="cyton")
    args = p.parse_args(argv)
    result = measure(args.seconds, args.protocol, args.preset)
    result |= {
        "target": "median <= 150 ms, p90 <= 250 ms",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}",
        "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
