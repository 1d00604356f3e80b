"""What every streaming source of the dashboard offers, and how the command line names one.

A source is the live amplifier (:class:`~twitchscope.dashboard.services.live.LiveSource`)
or a replayed file (:class:`~twitchscope.dashboard.services.replay.ReplaySource`); both
have the small interface of :class:`StreamSource`: ``sfreq``, ``ch_names``,
``read_since(cursor) -> (blocks, cursor)`` (non-consuming, a cursor per reader),
``now_s()`` (how far the stream has got), ``sites`` (its
:class:`~twitchscope.signal.core.sites.SiteLog` of needle spans), ``gaps()`` and
``status()``. Reading never changes the source's state.

Nothing here calls Streamlit, so it is tested without it.
"""

from __future__ import annotations

from typing import Protocol

from twitchscope.signal.core.model import Gap, SampleBlock
from twitchscope.signal.core.sites import SiteLog

__all__ = ["SIMULATED", "ENV_SOURCE", "ENV_PROTOCOL", "StreamSource"]

#: The ``--source`` value (and port choice) of the simulated amplifier.
SIMULATED = "simulated"
#: Environment variables through which ``twitchscope dashboard`` passes its options.
ENV_SOURCE = "TWITCHSCOPE_DASHBOARD_SOURCE"
ENV_PROTOCOL = "TWITCHSCOPE_DASHBOARD_PROTOCOL"


class StreamSource(Protocol):
    """What the live and replay panels read from (structural type)."""

    name: str
    sfreq: float
    ch_names: tuple[str, ...]
    sites: SiteLog

    def read_since(self, cursor: int) -> tuple[list[SampleBlock], int]:
        """Blocks at or after ``cursor`` (not consumed) and the next cursor."""
        ...

    def now_s(self) -> float:
        """Stream time reached so far, s."""
        ...

    def gaps(self) -> list[Gap]:
        """Samples lost so far."""
        ...

    def status(self) -> str:
        """One line for the status bar."""
        ...
