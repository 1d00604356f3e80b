"""Keep every LSL test on this machine, and read streams back by name.

liblsl's default configuration (``ResolveScope = site``) sends its resolve queries
to broadcast and multicast groups (255.255.255.255, 224.0.0.1, 224.0.0.183,
239.255.172.215 and IPv6 ff02::/ff05:: groups, seen with strace here), i.e. off
this machine. Tests must not do that, so before any other liblsl call this module
gives liblsl a configuration with ``ResolveScope = machine`` (queries to 127.0.0.1
only), IPv6 off, and a session id of its own so streams of other processes on the
machine are never seen. liblsl reads its configuration once per process, at the
first call that needs it: import this module before anything creates a stream.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pylsl

from tests.signal.io.xdf_writer import XdfStream, write_xdf
from twitchscope.dashboard.services.lsl_outlet import EMG_UNIT

CONFIG = f"""[ports]
IPv6 = disable
[multicast]
ResolveScope = machine
MachineAddresses = {{127.0.0.1}}
[lab]
SessionID = twitchscope-tests-{os.getpid()}
[log]
level = -2
"""

pylsl.set_config_content(CONFIG)


def open_inlet(name: str, *, timeout: float = 10.0) -> pylsl.StreamInlet:
    """Resolve the one stream called ``name`` and open an inlet on it."""
    found = pylsl.resolve_byprop("name", name, minimum=1, timeout=timeout)
    assert len(found) == 1, f"expected one LSL stream named {name!r}, found {len(found)}"
    inlet = pylsl.StreamInlet(found[0], max_buflen=360, recover=False)
    inlet.open_stream(timeout=timeout)
    return inlet


def pull_numeric(
    inlet: pylsl.StreamInlet, n: int, *, timeout: float = 20.0
) -> tuple[np.ndarray, np.ndarray]:
    """Pull until ``n`` samples arrived (or the timeout): (values (n, ch), timestamps (n,))."""
    values: list[np.ndarray] = []
    stamps: list[float] = []
    got = 0
    deadline = time.monotonic() + timeout
    while got < n and time.monotonic() < deadline:
        chunk, ts = inlet.pull_chunk(timeout=0.2, max_samples=max(1, n - got))
        if ts:
            values.append(np.asarray(chunk, dtype=np.float32))
            stamps.extend(ts)
            got += len(ts)
    if not values:
        return np.zeros((0, inlet.channel_count), dtype=np.float32), np.zeros(0)
    return np.concatenate(values), np.asarray(stamps)


def pull_markers(
    inlet: pylsl.StreamInlet, n: int, *, timeout: float = 20.0
) -> list[tuple[str, float]]:
    """Pull until ``n`` markers arrived (or the timeout): [(marker, timestamp)]."""
    out: list[tuple[str, float]] = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        sample, ts = inlet.pull_sample(timeout=0.2)
        if sample is not None:
            out.append((sample[0], ts))
    return out


def write_lab_xdf(
    path: Path,
    *,
    name: str,
    sfreq: float,
    ch_names: Sequence[str],
    stamps: np.ndarray,
    values_uv: np.ndarray,
    markers: Sequence[tuple[str, float]],
) -> None:
    """What LabRecorder would store of a publisher's two streams as pulled: the EMG
    ``name`` (``values_uv`` (n, ch) at ``stamps``) and its ``<name>-markers``
    (``(marker, timestamp)`` pairs)."""
    write_xdf(
        path,
        [
            XdfStream(
                name=name,
                type="EMG",
                channel_format="float32",
                nominal_srate=sfreq,
                time_stamps=stamps,
                values=values_uv,
                channels=[{"label": c, "unit": EMG_UNIT, "type": "EMG"} for c in ch_names],
            ),
            XdfStream(
                name=f"{name}-markers",
                type="Markers",
                channel_format="string",
                nominal_srate=0.0,
                time_stamps=np.array([t for _, t in markers]),
                values=[m for m, _ in markers],
            ),
        ],
    )
