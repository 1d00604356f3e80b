"""``twitchscope recover PARTIAL [--out FILE]``: rebuild a recording after a crash.

After ``kill -9``, a power cut or a crash, the ``<name>.partial`` folder of an
interrupted ``twitchscope record`` holds everything up to its last flush (at most
a second before the end). This command writes it out as FIF or EDF+, with the
needle sites and the gaps as annotations; a torn last record is left out. The
partial folder is kept.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from twitchscope.acquisition.recording.partial_format import META_FILE
from twitchscope.dashboard.cli.options import add_detector_options, detector_config
from twitchscope.dashboard.services.session_files import finalize, summary_line
from twitchscope.signal.core.errors import ConfigError, FileFormatError

__all__ = ["register", "run", "default_output"]

OUT_SUFFIXES = (".fif", ".edf")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``recover`` subcommand."""
    p = subparsers.add_parser(
        "recover",
        help="rebuild a readable recording from an interrupted recording's .partial folder",
        description=__doc__.split("\n\n", 1)[1].replace("``", "") if __doc__ else None,
    )
    p.add_argument("partial", metavar="PARTIAL", help="the <name>.partial folder")
    p.add_argument(
        "--out",
        metavar="FILE",
        help="output .fif or .edf (default: the file the recording was meant for, "
        "else <name>.fif next to the partial folder)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    add_detector_options(p, optional=True)
    p.set_defaults(func=run)


def default_output(partial: Path) -> Path:
    """The file the recording was meant for (from the sidecar), else ``<name>.fif`` beside it."""
    try:
        target = json.loads((partial / META_FILE).read_text(encoding="utf-8")).get("target")
    except (OSError, ValueError, AttributeError):
        target = None  # load_partial will report what is wrong with the sidecar
    if target and Path(target).suffix.lower() in OUT_SUFFIXES:
        return Path(target)
    name = partial.name[: -len(".partial")] if partial.name.endswith(".partial") else partial.name
    return partial.with_name(name + ".fif")


def run(args: argparse.Namespace) -> int:
    """Recover one partial recording; print a one-line summary."""
    partial = Path(args.partial)
    if partial.name == META_FILE:
        partial = partial.parent
    if not partial.is_dir():
        raise FileFormatError(
            f"partial recording {str(partial)!r} not found; expected a <name>.partial folder."
        )
    out = Path(args.out) if args.out else default_output(partial)
    if out.suffix.lower() not in OUT_SUFFIXES:
        raise ConfigError(f"--out must end in .fif or .edf, got {str(out)!r}.")
    if out.exists() and not args.overwrite:
        raise FileFormatError(
            f"{str(out)!r} already exists; pass --overwrite, or --out with another name."
        )
    summary = finalize(partial, out, detector=detector_config(args), overwrite=bool(args.overwrite))
    print(f"recovered {summary_line(summary)}")
    return 0
