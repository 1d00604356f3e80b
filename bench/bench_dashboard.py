"""Benchmark the dashboard: updates per second in a real browser, and server cost per update.

Two measurements:

1. **Browser**: ``twitchscope dashboard --source FILE`` replays an 8-channel 2 kHz
   simulated recording at 1x in headless Debian chromium (Playwright). Over 10 s it
   counts the distinct "Stream time" values shown (each is one redraw of the live
   panel) and the websocket bytes received. Target: >= 4 updates per second.
2. **Server**: the work of one live-panel update without Streamlit: ingest 0.25 s of
   8 channels at 2 kHz (detector + display filter), build the decimated figure with
   its shapes, and serialise it as Streamlit does (``plotly.io.to_json``).

Prints the figures and writes ``bench/results/dashboard.json``, with the machine's
load average: the browser figure depends on the CPU the browser gets. Needs chromium
(``apt-get install -y chromium``) and playwright for the browser part.

Usage::

    .venv/bin/python bench/bench_dashboard.py
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import plotly.io as pio

from twitchscope.dashboard.app.streamlit_app import plots
from twitchscope.dashboard.services.stream_view import StreamView
from twitchscope.signal import simulate
from twitchscope.signal.detect.config import preset
from twitchscope.signal.io.writers import write_recording

RESULTS = Path(__file__).resolve().parent / "results" / "dashboard.json"
SFREQ = 2000.0
N_CH = 8
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def server_update_ms(seconds: float = 30.0) -> dict[str, float]:
    """Median and 95th percentile of one panel update (0.25 s of data), ms."""
    cfg = simulate.preset("limb", sfreq=SFREQ, n_channels=N_CH)
    state = simulate.init_sim_state(cfg, seed=0)
    view = StreamView(preset("limb", mains="50"), sfreq=SFREQ, ch_names=cfg.ch_names)
    step = int(0.25 * SFREQ)
    times = []
    for _ in range(int(seconds / 0.25)):
        block, state = simulate.sim_step(cfg, step, state)
        t0 = time.perf_counter()
        view.ingest([block], block.end_sample)
        tv = plots.make_trace_view(
            view.trace,
            sfreq=SFREQ,
            t0=view.trace_start_s,
            ch_names=view.ch_names,
            twitches=view.twitches,
            x_range=(view.now_s - 10, view.now_s),
            n_points=1200,
        )
        payload = pio.to_json(plots.trace_figure(tv), validate=False)
        times.append(1e3 * (time.perf_counter() - t0))
    arr = np.array(times[8:])  # after the mains probe and warm-up
    return {
        "median_ms": float(np.median(arr)),
        "p95_ms": float(np.percentile(arr, 95)),
        "payload_kb": len(payload) / 1024,
    }


def browser_updates(seconds: float = 10.0) -> dict[str, float]:
    """Redraws per second of the replay panel in headless chromium."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        cfg = simulate.preset("limb", sfreq=SFREQ, n_channels=N_CH)
        sim = simulate.simulate(cfg, duration_s=80.0, seed=0)
        path = Path(tmp) / "bench_8ch_2khz_raw.fif"
        write_recording(sim.to_raw(annotate_twitches=False), path)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "twitchscope.dashboard",
                "dashboard",
                "--port",
                str(port),
                "--source",
                str(path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            for _ in range(300):
                try:
                    with urllib.request.urlopen(url + "_stcore/health", timeout=1):
                        break
                except OSError:
                    time.sleep(0.2)
            with sync_playwright() as p:
                b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=ARGS)
                page = b.new_page(viewport={"width": 1400, "height": 1400})
                received = [0]
                page.on(
                    "websocket",
                    lambda ws: ws.on(
                        "framereceived", lambda f: received.__setitem__(0, received[0] + len(f))
                    ),
                )
                page.goto(url)
                page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
                page.wait_for_timeout(3000)
                js = """() => [...document.querySelectorAll('[data-testid="stMetric"]')]
                    .find(e => e.innerText.startsWith('Stream time'))
                    ?.querySelector('[data-testid="stMetricValue"]')?.innerText"""
                seen, b0 = set(), received[0]
                t_end = time.monotonic() + seconds
                while time.monotonic() < t_end:
                    seen.add(page.evaluate(js))
                    page.wait_for_timeout(20)
                mb = (received[0] - b0) / 1e6
                b.close()
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return {"updates_per_s": len(seen) / seconds, "ws_mb_per_s": mb / seconds}


def main() -> None:
    server = server_update_ms()
    print(
        f"server: one update of {N_CH} ch at {SFREQ:g} Hz: median {server['median_ms']:.1f} ms, "
        f"p95 {server['p95_ms']:.1f} ms, figure JSON {server['payload_kb']:.0f} KB"
    )
    load = os.getloadavg()[0]
    print(f"machine load average (1 min): {load:.1f} on {os.cpu_count()} cores")
    out = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "load_average_1min": load,
        "n_cores": os.cpu_count(),
        "n_channels": N_CH,
        "sfreq": SFREQ,
        "server": server,
    }
    if Path("/usr/bin/chromium").exists():
        browser = browser_updates()
        print(
            f"browser: {browser['updates_per_s']:.1f} updates/s (target >= 4), "
            f"{browser['ws_mb_per_s']:.2f} MB/s over the websocket"
        )
        out["browser"] = browser
    else:
        print("browser: skipped (no /usr/bin/chromium)")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
