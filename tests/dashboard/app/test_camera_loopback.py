"""The loopback fallback for WebRTC's host candidates (``camera/loopback.py``)."""

from __future__ import annotations

import pytest

from twitchscope.dashboard.app.camera.loopback import (
    LOOPBACK,
    offer_loopback_when_offline,
    with_loopback_fallback,
)


def _host_addresses(found: list[str]):
    """A host-address function of aioice's signature that finds ``found``."""

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in found if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    return get_host_addresses


@pytest.mark.parametrize(
    ("found", "use_ipv4", "use_ipv6", "expected"),
    [
        ([], True, False, [LOOPBACK]),
        ([], True, True, [LOOPBACK]),
        (["fd00::2"], True, True, ["fd00::2", LOOPBACK]),
        (["192.0.2.2"], True, True, ["192.0.2.2"]),
        (["192.0.2.2", "fd00::2"], True, True, ["192.0.2.2", "fd00::2"]),
        ([], False, True, []),
    ],
)
def test_loopback_is_offered_only_without_another_ipv4_address(
    found: list[str], use_ipv4: bool, use_ipv6: bool, expected: list[str]
) -> None:
    wrapped = with_loopback_fallback(_host_addresses(found))
    assert wrapped(use_ipv4, use_ipv6) == expected


def test_wrapping_twice_adds_loopback_once() -> None:
    once = with_loopback_fallback(_host_addresses([]))
    assert with_loopback_fallback(once) is once
    assert once(True, False) == [LOOPBACK]


def test_aioice_gathers_at_least_one_ipv4_host_candidate_after_the_fallback() -> None:
    import asyncio

    import aioice
    import aioice.ice

    offer_loopback_when_offline()
    offer_loopback_when_offline()  # idempotent
    assert getattr(aioice.ice.get_host_addresses, "loopback_fallback", False)

    async def gather() -> list[str]:
        connection = aioice.Connection(ice_controlling=True, use_ipv6=False)
        try:
            await connection.gather_candidates()
            return [c.host for c in connection.local_candidates]
        finally:
            await connection.close()

    hosts = asyncio.run(gather())
    # whatever this machine's interfaces, aioice now has an IPv4 host to offer
    assert hosts
    assert all(":" not in h for h in hosts)
