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

import numpy as np
import pylsl

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
