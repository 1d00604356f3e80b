"""A direct line from the dashboard process to its scopes: Server-Sent Events on loopback.

Streamlit delivers a component's data only with a run of the script, and each run
costs the browser's main thread far more than the scope's own drawing (the page
diffs and redraws every element of the run). The scope therefore also listens on a
line of its own: :class:`ScopeChannel` is a small threaded HTTP server on
``127.0.0.1`` (a free port, one per process), and each scope gets a line, a random
token whose event stream sends the scope's next message every ``period_s`` seconds
(about 25 a second) while the page's runs go on for the controls, more rarely.

A line is a *producer*: a function the stream's thread calls to get the next message
(None when there is nothing new). The messages are the same as the runs' (the same
feed with its own lock, the chunks numbered, the last few repeated), so the browser
takes whichever comes first and skips what it has. When the browser cannot reach the
line (a browser on another machine, a port blocked), nothing is lost: the runs go on
at their usual rate. No Streamlit here, and no Streamlit call is made from the
line's threads.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Producer", "ScopeChannel", "scope_channel"]

logger = logging.getLogger(__name__)

#: The next message of a line, or None when there is nothing new.
Producer = Callable[[], dict[str, Any] | None]

_PREFIX = "/line/"


@dataclass
class _Line:
    """One scope's line: its producer, its owner and how it is used."""

    producer: Producer
    owner: str
    touched: float
    clients: int = 0
    messages: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)  # one producer call at a time


class ScopeChannel:
    """Event streams of scope messages on a loopback port.

    Parameters
    ----------
    host : str
        Address to listen on (loopback: only a browser on this machine reaches it).
    port : int
        Port (0: a free one).
    period_s : float
        Seconds between two calls of a line's producer.
    idle_s : float
        A line its page has not touched for this long is closed (the session went).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        period_s: float = 0.04,
        idle_s: float = 30.0,
    ) -> None:
        self.host = host
        self.period_s = float(period_s)
        self.idle_s = float(idle_s)
        self._lines: dict[str, _Line] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="scope-channel", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The port it listens on."""
        return int(self._server.server_address[1])

    def url(self, token: str) -> str:
        """Address of the event stream of line ``token``."""
        return f"http://{self.host}:{self.port}{_PREFIX}{token}"

    def open(self, owner: str, producer: Producer) -> str:
        """A new line for ``producer``; a line ``owner`` had before is closed. Returns its token."""
        token = secrets.token_urlsafe(16)
        now = time.monotonic()
        with self._lock:
            for old in [t for t, line in self._lines.items() if line.owner == owner]:
                del self._lines[old]
            self._lines[token] = _Line(producer, owner, now)
            self._expire(now)
        return token

    def touch(self, token: str) -> bool:
        """The page still uses line ``token``; False when it is gone (expired or replaced)."""
        with self._lock:
            line = self._lines.get(token)
            if line is not None:
                line.touched = time.monotonic()
            return line is not None

    def close(self, token: str) -> None:
        """Close line ``token`` (its event streams end at their next tick)."""
        with self._lock:
            self._lines.pop(token, None)

    def served(self, token: str) -> bool:
        """Whether a browser is receiving line ``token`` now and has had a message on it."""
        with self._lock:
            line = self._lines.get(token)
            return line is not None and line.clients > 0 and line.messages > 0

    def stop(self) -> None:
        """Stop listening; every event stream ends."""
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()

    def _expire(self, now: float) -> None:
        for token in [t for t, ln in self._lines.items() if now - ln.touched > self.idle_s]:
            del self._lines[token]

    def _line(self, token: str) -> _Line | None:
        with self._lock:
            self._expire(time.monotonic())
            return self._lines.get(token)

    def serve(self, token: str, write: Callable[[bytes], None]) -> None:
        """Send line ``token``'s messages through ``write`` until it closes or the
        browser goes (``write`` raises OSError)."""
        line = self._line(token)
        if line is None:
            return
        with self._lock:
            line.clients += 1
        try:
            next_t = time.monotonic()
            quiet_since = next_t
            while not self._stopped.is_set() and self._line(token) is line:
                with line.lock:
                    message = line.producer()
                now = time.monotonic()
                if message is not None:
                    write(b"data: " + json.dumps(message).encode("utf-8") + b"\n\n")
                    with self._lock:
                        line.messages += 1
                    quiet_since = now
                elif now - quiet_since > 2.0:  # a comment now and then: a gone browser shows
                    write(b": idle\n\n")
                    quiet_since = now
                next_t = max(next_t + self.period_s, now)
                self._stopped.wait(max(0.0, next_t - time.monotonic()))
        finally:
            with self._lock:
                line.clients -= 1


def _handler(channel: ScopeChannel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """``GET /line/<token>``: the line's event stream (any origin may read it)."""

        server_version = "twitchscope-scope"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            token = self.path[len(_PREFIX) :] if self.path.startswith(_PREFIX) else ""
            if not token or channel._line(token) is None:
                self.send_response(404)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()

            def write(data: bytes) -> None:
                self.wfile.write(data)
                self.wfile.flush()

            try:
                write(b": open\n\n")
                channel.serve(token, write)
            except OSError:  # the browser went: nothing to send it
                pass
            except Exception:  # a producer that failed ends its line's stream, not the server
                logger.exception("scope line %s failed; the page's runs go on", token[:6])

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - its name
            logger.debug("scope channel: " + format, *args)

    return Handler


_CHANNEL: ScopeChannel | None = None
_CHANNEL_FAILED = False
_CHANNEL_LOCK = threading.Lock()


def scope_channel() -> ScopeChannel | None:
    """The process's channel, started on first use (None when no loopback port can be had:
    the scopes then get their data through the page's runs only)."""
    global _CHANNEL, _CHANNEL_FAILED
    with _CHANNEL_LOCK:
        if _CHANNEL is None and not _CHANNEL_FAILED:
            try:
                _CHANNEL = ScopeChannel()
            except OSError as exc:  # tried once per process
                _CHANNEL_FAILED = True
                logger.warning("scope channel not started (%s): the scopes use page runs", exc)
        return _CHANNEL
