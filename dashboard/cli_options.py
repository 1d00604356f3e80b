"""Command-line options shared by several subcommands."""

from __future__ import annotations

import argparse

from twitchscope.signal.config import PRESETS, DetectorConfig, preset

__all__ = ["add_detector_options", "detector_config"]


def add_detector_options(p: argparse.ArgumentParser, *, optional: bool = False) -> None:
    """Add ``--preset`` and ``--mains`` (and ``--no-detect`` when detection is optional)."""
    p.add_argument(
        "--mains",
        default="auto",
        choices=("50", "60", "auto"),
        help="mains frequency to notch (default: estimate from the first 2 s)",
    )
    p.add_argument(
        "--preset",
        default="limb",
        choices=sorted(PRESETS),
        help="limb (20 Hz high-pass) or trunk (30 Hz 4th-order high-pass, ECG-prone muscles)",
    )
    if optional:
        p.add_argument(
            "--no-detect",
            action="store_true",
            help="do not run the twitch detector over the recording when it is written",
        )


def detector_config(args: argparse.Namespace) -> DetectorConfig | None:
    """The detector configuration the options ask for (None with ``--no-detect``)."""
    if getattr(args, "no_detect", False):
        return None
    return preset(args.preset, mains=args.mains)
