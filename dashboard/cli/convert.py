"""``twitchscope convert IN OUT``: any readable recording to FIF, EDF+, BDF+ or CSV.

Needle sites and every other annotation (twitches ``LTR``, gaps ``BAD_ACQ_SKIP``)
go along; see :mod:`twitchscope.signal.io.writers` for what each format keeps.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from twitchscope.dashboard.cli.info import add_read_options, read_options
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.io.writers import write_recording

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``convert`` subcommand."""
    p = subparsers.add_parser(
        "convert",
        help="convert a recording to FIF, EDF+, BDF+ or CSV (format from OUT's extension)",
        description="Convert a recording to .fif, .fif.gz, .edf, .bdf or .csv, keeping needle "
        "sites, twitch and gap annotations.",
    )
    p.add_argument("input", type=Path, help="recording to read")
    p.add_argument("output", type=Path, help="file to write (.fif .fif.gz .edf .bdf .csv)")
    add_read_options(p)
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Convert ``args.input`` to ``args.output``; returns the exit status."""
    raw = read_recording(args.input, **read_options(args).kwargs(), preload=False)
    out = write_recording(raw, args.output, overwrite=args.overwrite)
    sfreq = float(raw.info["sfreq"])
    print(
        f"wrote {out} ({len(raw.ch_names)} channels, {raw.n_times / sfreq:.3f} s at "
        f"{sfreq:g} Hz, {len(raw.annotations)} annotations)"
    )
    return 0
