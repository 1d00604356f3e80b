"""Benchmark the serial path: 16 channels x 4 kHz through a pty, nothing lost, CPU share.

A child process plays a Chords STM32G4-CORE-BOARD (16 channels, 12 bit) in the
emulator's generous mode at 4 kHz (the firmware really streams 500 Hz; no board
speaks 16 x 4 kHz, and a pty has no baud limit), with samples that carry their
own index. This process reads it with the real reader (pyserial ReaderThread,
Chords parser, ring buffer) while a consumer thread copies the blocks out like a
dashboard session would, for ``--duration`` seconds (default 60).

Reported:

* samples sent by the emulator and received by the reader, bytes the parser
  dropped (for ASCII: the sketch's banner line at power-up, not a sample), gaps, samples the emulator had to discard because the reader did not
  read them in time, and whether every received sample is exactly the one sent
  (index and value) -- "zero parser-induced drops" means all of these agree;
* CPU share of the reading process (reader + consumer threads; seconds of CPU
  per second of wall time, 1.0 = one core) and of the emulator process;
* for comparison, the same with the text protocol (``--protocol ascii``:
  16 numbers and a counter per line).

Prints the figures and writes ``bench/results/pty_stream.json``.

Usage::

    .venv/bin/python bench/bench_pty_stream.py [--duration 60] [--protocol chords|ascii]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from twitchscope.acquisition.boards.registry import driver_for, make_personality
from twitchscope.acquisition.emulation.pty_board import Emulator
from twitchscope.acquisition.transport.reader import Reader

RESULTS = Path(__file__).resolve().parent / "results" / "pty_stream.json"
N_CHANNELS = 16
SFREQ = 4000.0
M = 512


def _board(protocol: str) -> Any:
    if protocol == "chords":
        return make_personality("chords", board="STM32G4-CORE-BOARD", sfreq=SFREQ)
    return make_personality("ascii", sfreq=SFREQ, n_channels=N_CHANNELS)


class IndexSource:
    """Samples that carry their index (channels 0 and 1), on the ADC grid."""

    def __init__(self, vpc: float) -> None:
        self.vpc = vpc
        self.index = 0

    def counts(self, idx: np.ndarray) -> np.ndarray:
        rows = [idx % M - M // 2, (idx // M) % M - M // 2]
        rows += [((idx * (3 + k)) % 401) - 200 for k in range(N_CHANNELS - 2)]
        return np.vstack(rows)

    def __call__(self, n: int) -> np.ndarray:
        idx = np.arange(self.index, self.index + n)
        self.index += n
        return self.counts(idx) * self.vpc


def child(protocol: str) -> int:
    """Play the board; on SIGUSR1 stop streaming and print a JSON summary; exit on SIGTERM.

    The pty stays open after streaming stops, so the reader can take every byte
    still in flight before the port goes away.
    """
    board = _board(protocol)
    quiet, stop = threading.Event(), threading.Event()
    signal.signal(signal.SIGUSR1, lambda *_: quiet.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with Emulator(board, IndexSource(board.volts_per_count)) as emu:
        print(emu.path, flush=True)
        quiet.wait()
        board.streaming = False
        usage = resource.getrusage(resource.RUSAGE_SELF)
        n = -1
        while emu.n_sent != n:  # let the last queued packets go out
            n = emu.n_sent
            time.sleep(0.2)
        summary = {
            "n_sent": emu.n_sent,
            "n_overflow": emu.n_overflow,
            "n_dropped_on_purpose": len(emu.dropped) + len(emu.corrupted),
            "cpu_s": usage.ru_utime + usage.ru_stime,
        }
        print(json.dumps(summary), flush=True)
        stop.wait()
    return 0


def run(protocol: str, duration: float) -> dict[str, Any]:
    """One bench run; returns its figures."""
    board = _board(protocol)
    cmd = [sys.executable, __file__, "--child", protocol]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    path = proc.stdout.readline().strip()
    parts: list[np.ndarray] = []
    indices: list[np.ndarray] = []
    done = threading.Event()

    reader = Reader(path, driver_for(board), buffer_s=10.0, rate_check_s=10.0)

    def consume() -> None:
        cursor = 0
        while True:
            got = reader.buffer.read(cursor)
            for b in got.blocks:
                parts.append(np.array(b.data[:2]))
                indices.append(b.first_sample + np.arange(b.n_samples))
            cursor = got.cursor
            if done.is_set() and reader.buffer.end_sample <= cursor:
                break
            reader.buffer.wait_for(cursor + 1, timeout=0.2)

    load_before = os.getloadavg()[0]
    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    with reader:
        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        time.sleep(duration)
        proc.send_signal(signal.SIGUSR1)  # stop streaming, keep the port open
        summary = json.loads(proc.stdout.readline())
        wall = time.perf_counter() - t0
        usage1 = resource.getrusage(resource.RUSAGE_SELF)
        # the last bytes are in flight: wait until the reader has them all
        deadline = time.monotonic() + 10.0
        while reader.buffer.n_written < summary["n_sent"] and time.monotonic() < deadline:
            reader.buffer.wait_for(reader.buffer.end_sample + 1, timeout=0.1)
        done.set()
        consumer.join(timeout=30)
        gaps = reader.gaps
        n_bytes_dropped = reader.n_bytes_dropped
        measured = reader.measured_sfreq
        n_connections = reader.n_connections
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)

    data = np.concatenate(parts, axis=1)
    index = np.concatenate(indices)
    c = np.rint(data / board.volts_per_count).astype(np.int64) + M // 2
    src = c[0] + M * c[1]
    exact = bool(np.all(src - src[0] == index - index[0]) and np.all(np.diff(index) == 1))
    n_received = int(index.size)
    lost = summary["n_sent"] - n_received
    return {
        "protocol": protocol,
        "board": "STM32G4-CORE-BOARD (emulator fast mode)" if protocol == "chords" else "ascii",
        "n_channels": N_CHANNELS,
        "sfreq": SFREQ,
        "duration_s": round(wall, 2),
        "bytes_per_s": round(summary["n_sent"] * _packet_bytes(board) / wall),
        "n_sent": summary["n_sent"],
        "n_received": n_received,
        "n_lost": lost,
        "n_emulator_overflow": summary["n_overflow"],
        "n_parser_bytes_dropped": n_bytes_dropped,
        "n_gaps": len(gaps),
        "indices_and_values_exact": exact,
        "zero_parser_induced_drops": bool(
            lost == 0 and n_bytes_dropped == 0 and not gaps and exact
        ),
        "measured_sfreq": None if measured is None else round(measured, 1),
        "reader_process_cpu_share": round(cpu / wall, 3),
        "emulator_process_cpu_share": round(summary["cpu_s"] / wall, 3),
        "n_reconnections": n_connections - 1,
        # other work on the machine: a reader starved for 2 s counts as a disconnect
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def _packet_bytes(board: Any) -> float:
    block = np.zeros((board.n_channels, 10))
    return sum(len(p) for p in board.encode(block, 0)) / 10


def main() -> int:
    """Parse arguments, run, print and save."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per run (default 60)")
    ap.add_argument(
        "--protocol",
        action="append",
        choices=("chords", "ascii"),
        help="protocol(s) to run (default: chords, then ascii)",
    )
    ap.add_argument("--child", choices=("chords", "ascii"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args.child)
    runs = []
    for protocol in args.protocol or ["chords", "ascii"]:
        result = run(protocol, args.duration)
        runs.append(result)
        print(
            f"{protocol:>6}: {result['n_channels']} ch x {result['sfreq']:g} Hz for "
            f"{result['duration_s']:.1f} s ({result['bytes_per_s'] / 1e3:.0f} kB/s): "
            f"sent {result['n_sent']}, received {result['n_received']}, "
            f"parser dropped {result['n_parser_bytes_dropped']} B, gaps {result['n_gaps']}, "
            f"exact {result['indices_and_values_exact']}, reconnections "
            f"{result['n_reconnections']}; CPU reader "
            f"{100 * result['reader_process_cpu_share']:.1f} %, emulator "
            f"{100 * result['emulator_process_cpu_share']:.1f} % of one core "
            f"(load average {result['load_average_1min'][0]:g} -> "
            f"{result['load_average_1min'][1]:g})"
        )
    out = {
        "bench": "pty_stream",
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
        },
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
