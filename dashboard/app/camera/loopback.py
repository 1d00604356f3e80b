"""A loopback ICE candidate for the dashboard when the machine has no network at all.

WebRTC's candidates come from the machine's network interfaces. aiortc (through
aioice) leaves out 127.0.0.1, so on a machine with only its loopback interface (an
offline laptop in a classroom, a sandboxed CI machine) the dashboard offers no
candidate and the camera never connects, even to a browser on the same machine.
:func:`offer_loopback_when_offline` makes aioice fall back to 127.0.0.1 when it finds
no other IPv4 address; with any other address its answer is unchanged. The browser
must allow loopback too: Chromium with ``--allow-loopback-in-peer-connection``,
Firefox with ``media.peerconnection.ice.loopback`` set to true.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

__all__ = ["LOOPBACK", "offer_loopback_when_offline", "with_loopback_fallback"]

log = logging.getLogger(__name__)

#: The address offered when the machine has no other.
LOOPBACK = "127.0.0.1"

HostAddresses = Callable[[bool, bool], list[str]]


def with_loopback_fallback(get_host_addresses: HostAddresses) -> HostAddresses:
    """``get_host_addresses`` that answers ``[LOOPBACK]`` where it would answer no IPv4.

    Parameters
    ----------
    get_host_addresses : callable
        aioice's ``get_host_addresses(use_ipv4, use_ipv6) -> list[str]``.

    Returns
    -------
    callable
        The same function, but when IPv4 is asked for and no IPv4 address is found,
        :data:`LOOPBACK` is added.
    """
    if getattr(get_host_addresses, "loopback_fallback", False):
        return get_host_addresses

    @functools.wraps(get_host_addresses)
    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = list(get_host_addresses(use_ipv4, use_ipv6))
        if use_ipv4 and not any(":" not in a for a in addresses):
            log.info("no network interface but loopback: offering %s to WebRTC", LOOPBACK)
            addresses.append(LOOPBACK)
        return addresses

    host_addresses.loopback_fallback = True  # type: ignore[attr-defined]
    return host_addresses


def offer_loopback_when_offline() -> None:
    """Make aioice offer :data:`LOOPBACK` on a machine with no other IPv4 address.

    Idempotent; does nothing without aioice (the ``video`` extra).
    """
    try:
        import aioice.ice
    except ImportError:
        return
    fallback = with_loopback_fallback(aioice.ice.get_host_addresses)
    aioice.ice.get_host_addresses = fallback  # type: ignore[assignment]  # same signature
