"""``twitchscope ports``: list serial ports with what they probably are, and probe them.

Each port is listed with its USB id and a guess from the VID:PID table (the FTDI
FT231X of a Cyton dongle, an Arduino, a CH340 or CP210x clone, an RP2040, a
Backyard Brains device…). The USB id names only the USB bridge, so ``--probe``
confirms by speaking each likely protocol's handshake at its baud rates (never
1200, which reboots some boards). Pseudo-terminals and URLs are not listed by
the system; give them with ``--port`` (e.g. the path ``twitchscope simulate``
prints).
"""

from __future__ import annotations

import argparse
from typing import Any

from twitchscope.acquisition.boards.registry import PROBE_ORDER
from twitchscope.acquisition.transport.ports import PortInfo, list_ports, probe

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    """Add the ``ports`` subcommand."""
    p = subparsers.add_parser(
        "ports",
        help="list serial ports and what they probably are (--probe to confirm)",
        description=(
            "List serial ports with what they probably are, from their USB VID:PID. "
            "--probe confirms by each likely protocol's handshake at its baud rates "
            "(never 1200). Pseudo-terminals and URLs are not listed; give them with --port."
        ),
    )
    p.add_argument("--probe", action="store_true", help="confirm each port's protocol by handshake")
    p.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="PATH",
        help="also probe this path or URL (repeatable); implies --probe",
    )
    p.add_argument(
        "--protocol",
        action="append",
        choices=PROBE_ORDER,
        help="only try this protocol when probing (repeatable)",
    )
    p.add_argument(
        "--listen",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds to listen to boards that stream unasked (default 1)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the ports, then the probe results if asked."""
    ports = list_ports()
    if ports:
        print(f"{'port':<22} {'usb id':<10} probably")
        for p in ports:
            print(_describe(p))
    else:
        print("no serial ports found (pseudo-terminals and URLs are never listed; use --port)")
    targets: list[tuple[str, tuple[str, ...] | None]] = []
    if args.probe or args.port:
        if args.probe:
            for p in ports:
                if p.vid is not None:  # probing built-in UARTs (ttyS*) only wastes time
                    targets.append((p.stable_path, p.protocols))
        targets += [(path, None) for path in args.port]
    for path, likely in targets:
        protocols = tuple(args.protocol) if args.protocol else likely
        results = probe(path, protocols=protocols, listen_s=args.listen)
        hits = [r for r in results if r.ok]
        if hits:
            r = hits[0]
            print(f"{path}: {r.protocol} at {r.baudrate} baud: {r.detail}")
        else:
            tried = ", ".join(sorted({r.protocol for r in results})) or "nothing"
            last = f" ({results[-1].detail})" if results else ""
            print(f"{path}: no known protocol answered (tried {tried}){last}")
    return 0


def _describe(p: PortInfo) -> str:
    if p.vid is None:
        guess = "not a USB device (a built-in UART or a virtual port)"
    else:
        guess = p.guess or p.description or "-"
    extra = []
    if p.serial_number:
        extra.append(f"serial {p.serial_number}")
    if p.by_id:
        extra.append(p.by_id)
    tail = f" [{'; '.join(extra)}]" if extra else ""
    return f"{p.device:<22} {p.usb_id or '-':<10} {guess}{tail}"
