"""Benchmark: from a twitch's onset to its first LSL marker, through the real serial path.

``twitchscope simulate`` plays a board on a pseudo-terminal; ``twitchscope record
--lsl`` reads it, records it and publishes the EMG and the twitch markers on Lab
Streaming Layer: ``LTR? ... id=<n>`` as soon as an open candidate looks like a twitch,
then ``LTR ... id=<n>`` (or ``LTR-withdrawn id=<n>``) once it is decided, and a plain
``LTR`` for a twitch that never looked like one before its decision (see
:mod:`twitchscope.dashboard.services.lsl_outlet`). This script pulls the markers as an
LSL consumer would, noting the local clock at each arrival.

For every decided twitch, its onset is the timestamp of its ``LTR`` marker (the onset on
the stream's clock: LSL's ``local_clock`` at the first sample plus the onset), and the
latency is the arrival of its first marker (the ``LTR?`` with the same id, else the
``LTR`` itself) minus that onset. It includes what the detector needs to see (the
on-threshold crossing and enough of the burst), the serial reads, the detector's
blocks and LSL. Target of issue #13: median <= 150 ms, p90 <= 250 ms. Also given: the
latency of the final ``LTR`` markers (the twitch has to end first), from the twitch's
end (the marker's ``duration_ms``) to its final marker, and the share of provisional
markers withdrawn.

``--offline`` also runs the same marker logic
(:class:`~twitchscope.dashboard.services.lsl_outlet.TwitchMarkers`, 20 ms blocks, no
transport) over the bundled sample recordings and the simulator's scenarios: provisional,
confirmed and withdrawn markers (with their reasons), twitches never provisional, and
the detector-only latency of the first and the final marker (from the block that
carried it).

Prints the figures and writes ``bench/results/lsl_latency.json``. Needs pylsl with liblsl.

Usage::

    .venv/bin/python bench/bench_lsl_latency.py [--seconds 90] [--protocol cyton] [--offline]
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from twitchscope.signal.detect.config import DetectorConfig

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
            found = pylsl.resolve_byprop("name", name, timeout=20)
            if not found:
                raise RuntimeError("no EMG stream appeared on LSL")
            emg = pylsl.StreamInlet(found[0], max_buflen=60, recover=False)
            emg.open_stream(timeout=10)
            sfreq = float(emg.info(timeout=10).nominal_srate())
            correction = inlet.time_correction()
            markers: list[tuple[float, str, float]] = []  # (arrival, marker, timestamp)
            chunk_last: list[float] = []  # timestamp of the last sample of each EMG chunk
            chunk_arrival: list[float] = []
            end = time.monotonic() + seconds + 5
            while time.monotonic() < end and rec.poll() is None:
                try:
                    _, stamps = emg.pull_chunk(timeout=0.0)
                    if stamps:
                        chunk_last.append(stamps[-1])
                        chunk_arrival.append(pylsl.local_clock())
                    sample, ts = inlet.pull_sample(timeout=0.005)
                except pylsl.util.LostError:  # the recording ended and closed its streams
                    break
                if sample is not None and str(sample[0]).startswith("LTR"):
                    markers.append((pylsl.local_clock(), str(sample[0]), ts))
            rec.wait(timeout=60)
        finally:
            if rec.poll() is None:
                rec.kill()
            sim.kill()
            sim.wait()
    # the onset: when its sample reached this consumer in the EMG stream (the publisher
    # pushes every block before it runs the detector on it)
    from_emg = []
    for arrival, marker, ts in markers:
        i = bisect.bisect_left(chunk_last, ts - 0.5 / sfreq)
        if i < len(chunk_arrival):
            from_emg.append((arrival, marker, chunk_arrival[i]))
    # and, as the first runs of this bench did, the marker's own timestamp
    from_stamp = [(arrival, marker, ts + correction) for arrival, marker, ts in markers]
    stamp = latency_figures(from_stamp)
    out: dict[str, object] = {"protocol": protocol, "preset": preset, "seconds": seconds}
    out |= latency_figures(from_emg)
    keys = ("median_ms", "p90_ms", "final_median_ms", "final_p90_ms")
    out["from_the_marker_timestamp"] = {k: stamp[k] for k in keys if k in stamp}
    return out


def _stats(values_ms: list[float], prefix: str) -> dict[str, float]:
    d = np.asarray(values_ms, dtype=np.float64)
    if not d.size:
        return {}
    return {
        f"{prefix}median_ms": round(float(np.median(d)), 1),
        f"{prefix}p90_ms": round(float(np.percentile(d, 90)), 1),
        f"{prefix}min_ms": round(float(d.min()), 1),
        f"{prefix}max_ms": round(float(d.max()), 1),
    }


def latency_figures(arrivals: list[tuple[float, str, float]]) -> dict[str, object]:
    """The figures from ``(arrival, marker, onset)`` of every ``LTR*`` marker pulled, in
    order; ``onset`` (same clock as ``arrival``) counts for the ``LTR`` markers: their
    twitch's onset."""
    from twitchscope.signal.io.xdf import parse_marker_fields

    provisional: dict[str, float] = {}  # id -> arrival
    first: list[float] = []
    final: list[float] = []
    durations: list[float] = []
    withdrawn: dict[str, int] = {}
    confirmed = 0
    for arrival, marker, ts in arrivals:
        head, fields = parse_marker_fields(marker)
        if head == "LTR?":
            provisional[fields.get("id", "")] = arrival
        elif head == "LTR-withdrawn":
            reason = fields.get("reason", "?")
            withdrawn[reason] = withdrawn.get(reason, 0) + 1
        elif head == "LTR":
            marker_id = fields.get("id")
            confirmed += marker_id is not None and marker_id in provisional
            first_arrival = provisional.get(marker_id or "", arrival)
            first.append((first_arrival - ts) * 1e3)
            final.append((arrival - ts) * 1e3)
            durations.append(float(fields.get("duration_ms", "nan")))
    n_withdrawn = sum(withdrawn.values())
    out: dict[str, object] = {
        "n_twitches": len(final),
        "n_provisional": len(provisional),
        "n_confirmed": int(confirmed),
        "n_never_provisional": len(final) - int(confirmed),
        "n_withdrawn": n_withdrawn,
        "withdrawn_share": round(n_withdrawn / len(provisional), 3) if provisional else None,
        "withdrawn_reasons": withdrawn,
    }
    out |= _stats(first, "")
    out |= _stats(final, "final_")
    if final:
        after = np.asarray(final) - np.asarray(durations)  # from the twitch's end
        out |= {
            "twitch_duration_median_ms": round(float(np.nanmedian(durations)), 1),
            "final_after_offset_median_ms": round(float(np.nanmedian(after)), 1),
            "final_after_offset_p90_ms": round(float(np.nanpercentile(after, 90)), 1),
        }
    return out


def _offline_run(
    name: str, data: np.ndarray, sfreq: float, ch_names: tuple[str, ...], config: DetectorConfig
) -> dict[str, object]:
    from twitchscope.dashboard.services.lsl_outlet import TwitchMarkers
    from twitchscope.signal.core.model import SampleBlock

    tm = TwitchMarkers(config, sfreq=sfreq, ch_names=ch_names)
    block_n = max(1, int(round(0.02 * sfreq)))
    arrivals: list[tuple[float, str, float]] = []  # arrival = end of the block that sent it
    for a in range(0, data.shape[1], block_n):
        b = min(a + block_n, data.shape[1])
        block = SampleBlock(data[:, a:b], sfreq=sfreq, first_sample=a, ch_names=ch_names)
        arrivals += [(b / sfreq, m.text, m.t_s) for m in tm.feed(block)]
    arrivals += [(data.shape[1] / sfreq, m.text, m.t_s) for m in tm.finish()]
    figures = latency_figures(arrivals)
    keep = ("n_twitches", "n_provisional", "n_confirmed", "n_never_provisional", "n_withdrawn")
    out: dict[str, object] = {"name": name, **{k: figures[k] for k in keep}}
    out["withdrawn_reasons"] = figures["withdrawn_reasons"]
    for key in ("median_ms", "p90_ms", "final_median_ms", "final_p90_ms"):
        if key in figures:
            out[key] = figures[key]
    return out


def offline() -> dict[str, object]:
    """Provisional markers over the bundled samples and the simulator (no transport)."""
    from twitchscope.signal import simulate
    from twitchscope.signal.detect.config import preset
    from twitchscope.signal.io.readers import read_recording

    trunk = ("trapezius", "paraspinal", "infraspinatus", "trunk")
    runs = []
    for path in sorted((ROOT / "sample_recordings").glob("*.edf")):
        raw = read_recording(path, preload=True)
        picks = [i for i, t in enumerate(raw.get_channel_types()) if t == "emg"]
        names = tuple(raw.ch_names[i] for i in picks)
        config = preset("trunk" if any(w in path.name for w in trunk) else "limb")
        runs.append(
            _offline_run(path.name, raw.get_data()[picks], raw.info["sfreq"], names, config)
        )
    scenarios = [("limb", 1000.0), ("cyton", 250.0), ("trunk_ecg", 500.0)]
    scenarios += [("paraspinal", 1000.0), ("confounders", 1000.0)]
    for scenario, sfreq in scenarios:
        sim = simulate.simulate(simulate.preset(scenario, sfreq=sfreq), duration_s=180.0, seed=11)
        config = preset("trunk" if any(w in scenario for w in trunk) else "limb")
        name = f"simulated {scenario} {sfreq:g} Hz, 180 s"
        runs.append(_offline_run(name, sim.data, sim.sfreq, tuple(sim.ch_names), config))
    totals: dict[str, object] = {}
    artefacts = ("confounder", "not_a_twitch")  # sets made of look-alikes on purpose

    def made_of_artefacts(run: dict[str, object]) -> bool:
        return any(w in str(run["name"]) for w in artefacts)

    for label, selected in (
        ("without the look-alike sets", [r for r in runs if not made_of_artefacts(r)]),
        ("look-alike sets (not_a_twitch, confounders)", [r for r in runs if made_of_artefacts(r)]),
    ):
        count = {
            key: sum(int(str(r[key])) for r in selected)
            for key in ("n_provisional", "n_withdrawn", "n_twitches", "n_never_provisional")
        }
        n_prov, n_wd = count["n_provisional"], count["n_withdrawn"]
        n_tw, n_never = count["n_twitches"], count["n_never_provisional"]
        totals[label] = {
            "n_provisional": n_prov,
            "n_withdrawn": n_wd,
            "withdrawn_share": round(n_wd / n_prov, 3) if n_prov else None,
            "n_twitches": n_tw,
            "n_never_provisional": n_never,
        }
    return {"runs": runs, "totals": totals}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=90.0)
    p.add_argument("--protocol", default="cyton")
    p.add_argument("--preset", default="cyton")
    p.add_argument("--offline", action="store_true", help="also the samples and the simulator")
    args = p.parse_args(argv)
    load = os.getloadavg()[0]
    result = measure(args.seconds, args.protocol, args.preset)
    result |= {
        "target": "median <= 150 ms, p90 <= 250 ms",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"load {load:.2f} before, {os.getloadavg()[0]:.2f} after",
        "date": time.strftime("%Y-%m-%d"),
    }
    if args.offline:
        result["offline_20ms_blocks"] = offline()
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
