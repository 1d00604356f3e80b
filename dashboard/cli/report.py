"""``twitchscope report INPUT``: a session report to attach to a study record.

Runs the detector over the recording (as ``twitchscope detect`` does); when the
recording has a review (``<stem>.review.csv``), its reviewed twitches (confirmed +
added) replace the detector's and the report says so (``--no-review`` to ignore it,
``--reviewer`` to choose among several). Then writes the report (see :mod:`twitchscope.signal.report.session_report`): recording metadata in ISEK terms,
signal quality, the per-site table, figures and the detector configuration.

When a video is attached (``<stem>.video.json``), the report adds each counted
twitch's movement in the video and the agreement per needle site (``--no-video`` to
leave it out).

``--out`` picks the format by extension (``.html`` self-contained, or ``.pdf``).
Without ``--out`` the report is written to the **current directory** as
``<input stem>.report.html`` (the input's folder may be read-only, e.g. a shared
data drive). An existing report is replaced only with ``--overwrite``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from twitchscope.dashboard.cli.info import add_read_options, read_options
from twitchscope.dashboard.cli.options import (
    add_detector_options,
    add_review_options,
    add_video_option,
    detector_config,
    provenance_lines,
    video_fusion,
)
from twitchscope.signal.analysis.session import analyse_recording
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.report.session_report import write_report
from twitchscope.signal.review.session import review_session

__all__ = ["register", "run", "default_output"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="write a session report (HTML or PDF)",
        description="Detect twitches in a recording and write a session report: metadata in "
        "ISEK reporting terms, signal quality, per-site table, figures, detector "
        "configuration. Default output: <input stem>.report.html in the current directory.",
    )
    p.add_argument("input", type=Path, help="recording (.edf .bdf .fif .fif.gz .csv .tsv .txt)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="REPORT",
        help="report file, .html or .pdf (default: ./<input stem>.report.html)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing report")
    add_detector_options(p)
    add_review_options(p)
    add_video_option(p)
    add_read_options(p)
    p.set_defaults(func=run)


def default_output(input_path: Path) -> Path:
    """``<stem>.report.html`` in the current directory (``.fif.gz`` counts as one suffix)."""
    name = input_path.name
    stem = name[: -len(".fif.gz")] if name.lower().endswith(".fif.gz") else input_path.stem
    return Path.cwd() / f"{stem}.report.html"


def run(args: argparse.Namespace) -> int:
    """Analyse ``args.input`` and write its report; returns the exit status."""
    out = args.out if args.out is not None else default_output(args.input)
    if out.suffix.lower() not in (".html", ".htm", ".pdf"):
        raise FileFormatError(
            f"{out.name}: a report is written as .html or .pdf, got {out.suffix!r}."
        )
    if out.exists() and not args.overwrite:
        raise FileFormatError(f"{out} exists; pass --overwrite to replace it.")
    config = detector_config(args)
    assert config is not None  # detection is not optional here
    analysis = analyse_recording(args.input, config=config, **read_options(args).kwargs())
    use = None
    if not args.no_review:
        analysis, use = review_session(analysis, reviewer=args.reviewer)
    video, video_note = video_fusion(
        args, args.input, analysis.detection.twitches, analysis.events.sites
    )
    write_report(analysis, out, provenance=provenance_lines(args, use), video=video)
    n_sites = len(analysis.events.sites)
    source = f" ({use.line()})" if use is not None else ""
    print(
        f"{args.input.name}: {len(analysis.detection.twitches)} twitches{source} at {n_sites} "
        f"needle site{'s' if n_sites != 1 else ''}; report written to {out}"
    )
    if video_note:
        print(video_note)
    return 0
