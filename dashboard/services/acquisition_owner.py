"""The one live source of a server process, started and stopped on the sessions' behalf."""

from __future__ import annotations

import threading

from twitchscope.dashboard.services.live import LiveSource, LiveSpec
from twitchscope.signal.core.errors import DeviceError, TwitchscopeError

__all__ = ["AcquisitionOwner"]


class AcquisitionOwner:
    """The one live source of a server process (kept in ``st.cache_resource``).

    Sessions never own threads: they ask the owner to start or stop the live source
    and read it with their own cursor. Thread-safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._source: LiveSource | None = None
        self.last_error: str = ""
        self.autostarted = False

    @property
    def source(self) -> LiveSource | None:
        """The live source, if one was started (it may have stopped on its own)."""
        with self._lock:
            return self._source

    def start(self, spec: LiveSpec) -> LiveSource:
        """Start ``spec`` (stopping a different running source first); return it.

        Raises
        ------
        TwitchscopeError
            One line, also kept in :attr:`last_error`.
        """
        with self._lock:
            current = self._source
            if current is not None and current.spec == spec and current.running:
                return current
            if current is not None:
                current.stop()
                self._source = None
            try:
                source = LiveSource(spec).start()
            except TwitchscopeError as exc:
                self.last_error = str(exc)
                raise
            except OSError as exc:
                self.last_error = f"{spec.describe()}: {exc}"
                raise DeviceError(self.last_error) from None
            self.last_error = ""
            self._source = source
            return source

    def stop(self) -> None:
        """Stop the live source, if any."""
        with self._lock:
            source, self._source = self._source, None
        if source is not None:
            source.stop()
