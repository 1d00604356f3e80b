"""Parser throughput (MB/s) per protocol on a synthetic stream with about 1 % corrupt frames.

Each protocol's encoder makes a stream of random samples; then 1 % of the frames
(lines for ASCII) get one fault: a byte deleted, a byte replaced, or 1-4 junk
bytes inserted before the frame. The stream is parsed in reads of 4 KiB (a serial
read), 64 KiB and in one call; the best of three runs is kept.

Run: ``.venv/bin/python bench/bench_parsers.py [--mb 8]``. Prints a table and
writes bench/results/parsers.json and bench/results/parsers.md. Target: >= 10 MB/s.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import numpy as np

from twitchscope.acquisition.boards.registry import BOARDS, make_parser

RESULTS = Path(__file__).resolve().parent / "results"
TARGET_MB_S = 10.0
CASES = {
    # name: (parser options, encoder options, frame length in bytes or None for lines)
    "cyton": ({}, {}, 33),
    "cyton-daisy": ({"daisy": True}, {}, 33),
    "openeeg": ({"sfreq": 256.0}, {}, 17),
    "openeeg-crlf": ({"sfreq": 256.0}, {"crlf": True}, 19),
    "chords": ({"board": "UNO-R3"}, {"adc_bits": 10, "vref": 5.0}, 16),
    "chords-16ch": ({"board": "STM32G4-CORE-BOARD"}, {"adc_bits": 12, "vref": 3.3}, 36),
    "spiker": ({"n_channels": 1}, {}, 2),
    "spiker-6ch": ({"n_channels": 6}, {}, 12),
    "ascii": (
        {"sfreq": 500.0, "n_channels": 3, "scale": 1e-6, "index_column": "counter"},
        {"scale": 1e-6, "index_column": "counter", "sep": ","},
        None,
    ),
}
CHUNKS = (4096, 65536, None)


def make_stream(case: str, n_bytes: int, rng: np.random.Generator) -> bytes:
    """A clean stream of about ``n_bytes``, then 1 % of its frames corrupted."""
    opts, enc_opts, frame_len = CASES[case]
    protocol = case.split("-")[0]
    parser = make_parser(protocol, **opts)
    n_ch = parser.spec.n_channels
    per_sample = frame_len * (2 if opts.get("daisy") else 1) if frame_len else 25
    n = n_bytes // per_sample
    x = rng.uniform(-1, 1, (n_ch, n))
    x *= {"cyton": 0.1, "openeeg": 8e-4, "chords": 2.0, "spiker": 2.0, "ascii": 400e-6}[protocol]
    clean = BOARDS[protocol].encode(parser.spec, x, **enc_opts)
    if frame_len is None:
        frames = clean.splitlines(keepends=True)
    else:
        frames = [clean[i : i + frame_len] for i in range(0, len(clean), frame_len)]
    bad = rng.random(len(frames)) < 0.01
    for i in np.flatnonzero(bad):
        f = bytearray(frames[i])
        kind = rng.integers(3)
        at = int(rng.integers(len(f)))
        if kind == 0:
            del f[at]
        elif kind == 1:
            f[at] = int(rng.integers(256))
        else:
            f[0:0] = rng.integers(0, 256, int(rng.integers(1, 5)), dtype=np.uint8).tobytes()
        frames[i] = bytes(f)
    return b"".join(frames)


def run(case: str, data: bytes, chunk: int | None) -> dict[str, float]:
    """Best-of-3 throughput of parsing ``data`` in reads of ``chunk`` bytes."""
    opts = CASES[case][0]
    parser = make_parser(case.split("-")[0], **opts)
    size = len(data) if chunk is None else chunk
    best = float("inf")
    for _ in range(3):
        state = parser.init_state()
        n_samples = 0
        t0 = time.perf_counter()
        for i in range(0, len(data), size):
            out, state = parser.parse(data[i : i + size], state)
            n_samples += out.n_samples
        best = min(best, time.perf_counter() - t0)
    return {
        "mb_per_s": len(data) / best / 1e6,
        "n_samples": n_samples,
        "n_bytes_dropped": state.n_bytes_dropped,
        "seconds": best,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=8.0, help="stream size per protocol, MB")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for case in CASES:
        data = make_stream(case, int(args.mb * 1e6), rng)
        row: dict[str, object] = {"case": case, "n_bytes": len(data)}
        for chunk in CHUNKS:
            key = "whole" if chunk is None else f"{chunk // 1024}KiB"
            row[key] = run(case, data, chunk)
        rows.append(row)
        speeds = "  ".join(f"{k}: {row[k]['mb_per_s']:7.1f}" for k in ("4KiB", "64KiB", "whole"))  # type: ignore[index]
        print(f"{case:13s} {len(data) / 1e6:5.1f} MB  MB/s {speeds}")
    worst = min(r["4KiB"]["mb_per_s"] for r in rows)  # type: ignore[index]
    print(f"slowest at 4 KiB reads: {worst:.1f} MB/s (target {TARGET_MB_S:g})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "machine": platform.machine(),
        "corruption": "1% of frames: one byte deleted, one byte replaced, or 1-4 junk bytes inserted",
        "target_mb_per_s": TARGET_MB_S,
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    (RESULTS / "parsers.json").write_text(json.dumps({"meta": meta, "results": rows}, indent=2))
    lines = [
        "# Parser throughput (MB/s)",
        "",
        f"Synthetic streams, {meta['corruption']}; best of 3; {meta['date_utc']}, "
        f"Python {meta['python']}, numpy {meta['numpy']}. Target >= {TARGET_MB_S:g} MB/s.",
        "",
        "| protocol | MB | 4 KiB reads | 64 KiB reads | one call | samples | bytes dropped |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        w = r["whole"]
        lines.append(
            f"| {r['case']} | {r['n_bytes'] / 1e6:.1f} | {r['4KiB']['mb_per_s']:.1f} | "  # type: ignore[index, operator]
            f"{r['64KiB']['mb_per_s']:.1f} | {w['mb_per_s']:.1f} | {w['n_samples']} | "  # type: ignore[index]
            f"{w['n_bytes_dropped']} |"  # type: ignore[index]
        )
    (RESULTS / "parsers.md").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
