"""The scope's line: Server-Sent Events on loopback carry the same bins as the feed.

A replay plays against a clock that jumps ahead at random steps while the line's
thread and a second thread (standing for the page's runs) both make the scope's
messages from one feed: whichever path delivers a chunk, the chunks together hold
every bin of the stream exactly once. The line is read with ``http.client``, as a
browser's ``EventSource`` would read it.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time

import numpy as np
import pytest

from twitchscope.dashboard.app.scope.channel import ScopeChannel
from twitchscope.dashboard.app.scope.feed import ScopeFeed
from twitchscope.dashboard.app.scope.panel import ScopeLink, ScopeOptions
from twitchscope.dashboard.services.recordings import Recording
from twitchscope.dashboard.services.replay import ReplaySource
from twitchscope.dashboard.services.stream_view import StreamView
from twitchscope.signal.core.model import RecordingEvents
from twitchscope.signal.core.units import volts_to_uv
from twitchscope.signal.detect.config import preset

SFREQ = 250.0
SECONDS = 8.0  # shorter than the view's 10 s window: its trace ends holding all of it


class SteppedClock:
    """A clock a thread moves ahead in random steps (the replay plays against it)."""

    def __init__(self) -> None:
        self.t = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.t

    def step(self, dt: float) -> None:
        with self._lock:
            self.t += dt


def _decode(b64: str, n_ch: int) -> np.ndarray:
    return np.frombuffer(base64.b64decode(b64), dtype="<f4").reshape(n_ch, -1)


def _events(conn: http.client.HTTPConnection, token: str):
    """The ``data:`` messages of the line's event stream, decoded, as they come (None for a
    comment: the line says it is still there when it has nothing new)."""
    conn.request("GET", f"/line/{token}")
    resp = conn.getresponse()
    assert resp.status == 200
    assert resp.getheader("Content-Type") == "text/event-stream"
    assert resp.getheader("Access-Control-Allow-Origin") == "*"  # the page's origin differs
    for raw in resp:
        line = raw.decode("utf-8").rstrip("\n")
        if line.startswith("data: "):
            yield json.loads(line[len("data: ") :])
        elif line.startswith(":"):
            yield None


@pytest.fixture
def channel():
    ch = ScopeChannel(period_s=0.005)
    yield ch
    ch.stop()


def test_the_line_and_the_page_runs_together_send_every_bin_once(channel) -> None:
    rng = np.random.default_rng(3)
    data = rng.standard_normal((3, int(SECONDS * SFREQ))) * 40e-6
    rec = Recording("x.fif", data, SFREQ, ("a", "b", "c"), RecordingEvents())
    clock = SteppedClock()
    player = ReplaySource(rec, clock=clock)
    view = StreamView(preset("limb", mains="50"), sfreq=SFREQ, ch_names=rec.ch_names)
    feed = ScopeFeed(SFREQ, channels=range(3), window_s=view.window_s)
    assert feed.spb == 1  # one sample per bin at 250 Hz: bins are samples
    link = ScopeLink(player, view, feed, ScopeOptions())
    token = channel.open("session-1:live", link.message)
    assert not channel.served(token)

    page_messages: list[dict] = []
    done = threading.Event()

    def play() -> None:  # the stream goes on in uneven steps
        player.play()
        while not player.at_end and not done.is_set():
            clock.step(float(rng.uniform(0.0, 0.15)))
            time.sleep(0.003)

    def page_runs() -> None:  # the page's runs make messages from the same feed
        while not done.is_set():
            message = link.message()
            if message is not None:
                page_messages.append(message)
            time.sleep(0.011)

    threads = [threading.Thread(target=play), threading.Thread(target=page_runs)]
    for t in threads:
        t.start()
    line_messages: list[dict] = []
    conn = http.client.HTTPConnection("127.0.0.1", channel.port, timeout=30)
    try:
        for message in _events(conn, token):
            if message is not None:
                line_messages.append(message)
            if len(line_messages) > 1:
                assert channel.served(token)  # a browser receives it, and has had messages
            if player.at_end and feed.cursor == data.shape[1]:
                break  # every bin pushed, by one path or the other
    finally:
        done.set()
        for t in threads:
            t.join(10)
        conn.close()

    assert line_messages and page_messages  # both paths delivered
    by_seq: dict[int, dict] = {}
    for message in line_messages + page_messages:
        assert message["stream"] == line_messages[0]["stream"]
        for chunk in message["chunks"]:
            if chunk["seq"] in by_seq:
                assert by_seq[chunk["seq"]] == chunk  # a chunk is the same on either path
            by_seq[chunk["seq"]] = chunk
    seqs = sorted(by_seq)
    assert seqs == list(range(1, seqs[-1] + 1))  # none missing
    chunks = [by_seq[s] for s in seqs]
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b["b0"] == a["b0"] + a["n"]  # contiguous: no bin twice, none lost
    lo = np.concatenate([_decode(c["lo"], 3) for c in chunks], axis=1)
    trace, end = view.tail()
    assert end == data.shape[1] and chunks[0]["b0"] == 0 and lo.shape[1] == end
    np.testing.assert_allclose(lo, volts_to_uv(trace).astype(np.float32), rtol=1e-6, atol=1e-4)
    # the markers come with each message; newer messages have higher numbers
    mseqs = [m["mseq"] for m in line_messages]
    assert mseqs == sorted(mseqs) and len(set(mseqs)) == len(mseqs)


def test_unknown_replaced_and_closed_lines(channel) -> None:
    calls = []

    def producer() -> dict:
        calls.append(1)
        return {"n": len(calls)}

    conn = http.client.HTTPConnection("127.0.0.1", channel.port, timeout=10)
    conn.request("GET", "/line/nobody")
    resp = conn.getresponse()
    assert resp.status == 404 and resp.getheader("Access-Control-Allow-Origin") == "*"
    resp.read()
    conn.close()

    first = channel.open("s:live", producer)
    second = channel.open("s:live", producer)  # the same scope's new feed replaces the line
    assert first != second
    assert not channel.touch(first) and channel.touch(second)
    conn = http.client.HTTPConnection("127.0.0.1", channel.port, timeout=10)
    conn.request("GET", f"/line/{first}")
    resp = conn.getresponse()
    assert resp.status == 404
    resp.read()
    conn.close()

    conn = http.client.HTTPConnection("127.0.0.1", channel.port, timeout=10)
    stream = _events(conn, second)
    assert next(stream) is None  # the stream opens with a comment
    assert next(stream) == {"n": 1} and next(stream)["n"] == 2
    assert channel.served(second)
    channel.close(second)  # its stream ends at its next tick: the response ends
    rest = list(stream)
    assert all(m is None or m["n"] > 2 for m in rest)
    conn.close()
    deadline = time.monotonic() + 10
    while channel.served(second) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not channel.served(second)
