"""The ``twitchscope`` command line.

Subcommands live in the modules of :data:`COMMAND_MODULES` (one module per job, which
may hold a few related subcommands), each with a ``register(subparsers)`` function that
adds its parsers and sets ``func`` to a callable ``func(args) -> int``. A subcommand is
listed here only once it works.

Errors that the package raises on purpose (:class:`TwitchscopeError`) are printed
as one line, ``twitchscope: error: <message>``, and the exit status is 2; nothing
else is caught, so a real bug still shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from twitchscope.signal.core.errors import TwitchscopeError

__all__ = ["main", "build_parser", "COMMAND_MODULES"]

log = logging.getLogger("twitchscope")

#: Subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "twitchscope.dashboard.cli.info",
    "twitchscope.dashboard.cli.convert",
    "twitchscope.dashboard.cli.recover",
    "twitchscope.dashboard.cli.record",
    "twitchscope.dashboard.cli.detect",
    "twitchscope.dashboard.cli.report",
    "twitchscope.dashboard.cli.batch",
    "twitchscope.dashboard.cli.review",
    "twitchscope.dashboard.cli.video",
    "twitchscope.dashboard.cli.devices",
    "twitchscope.dashboard.cli.dashboard",
)

EXIT_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every working subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="twitchscope",
        description=(
            "Surface EMG during dry needling: flag local twitch responses live and in review."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(int(args.verbose), 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except TwitchscopeError as exc:
        print(f"twitchscope: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("twitchscope: interrupted", file=sys.stderr)
        return 130


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("twitchscope")
    except PackageNotFoundError:  # running from a source tree without install
        return "unknown"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
