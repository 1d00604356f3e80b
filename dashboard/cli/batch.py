"""``twitchscope batch DIR_OR_GLOB --out RESULTS_DIR``: analyse many recordings at once.

Runs the detector over every recording the folders, files or glob patterns name (see
:mod:`twitchscope.dashboard.services.batch` for which files are taken and what is written), in
``--workers`` local processes (default min(4, CPU count)) or, with
``--scheduler ADDRESS``, on a Dask distributed cluster (``pip install
'twitchscope[cluster]'``). A progress line goes to stderr as files finish.

A recording with a review (``<stem>.review.csv``) is counted with its reviewed
twitches (``--no-review`` ignores reviews); ``recordings.csv`` says which, and names
the ``--profile`` used.

A recording with a video attached (``<stem>.video.json``) gets each twitch's movement in
its events file, as ``twitchscope detect`` writes it (``--no-video`` leaves it out).

A file that cannot be analysed is skipped: its error is listed in
``RESULTS_DIR/errors.csv`` and printed at the end. Exit status: **0** when every file
was analysed, **1** when some failed (the others' results are written), **2** when
none could be analysed (or the input matched nothing, or the options are wrong).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from twitchscope.dashboard.cli.info import add_read_options, read_options
from twitchscope.dashboard.cli.options import (
    add_detector_options,
    add_review_options,
    add_video_option,
    detector_config,
    detector_profile,
)
from twitchscope.dashboard.services.batch import Progress, default_workers, expand_inputs, run_batch
from twitchscope.signal.core.errors import ConfigError, FileFormatError

__all__ = ["register", "run", "EXIT_SOME_FAILED", "EXIT_ALL_FAILED"]

log = logging.getLogger(__name__)

#: Some files failed; results of the others are written.
EXIT_SOME_FAILED = 1
#: No file could be analysed.
EXIT_ALL_FAILED = 2


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``batch`` subcommand."""
    p = subparsers.add_parser(
        "batch",
        help="analyse many recordings in parallel",
        description="Detect twitches in every recording a folder or glob pattern names; write "
        "per-recording events, one combined per-site table (sites.csv, and sites.parquet when "
        "pyarrow is installed), recordings.csv and errors.csv. Exit 0 if all files worked, 1 "
        "if some failed, 2 if none did.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="DIR_OR_GLOB",
        help="folder(s), file(s) or quoted pattern(s) such as 'data/**/*.edf'",
    )
    p.add_argument("--out", type=Path, required=True, metavar="RESULTS_DIR", help="results folder")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        metavar="N",
        help=f"local worker processes (default min(4, CPU count) = {default_workers()})",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="run on a Dask distributed cluster at this scheduler address (tcp://host:8786); "
        "needs twitchscope[cluster]",
    )
    add_read_options(p)
    add_detector_options(p)
    add_review_options(p)
    add_video_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the batch; returns the exit status (see the module docstring)."""
    config = detector_config(args)
    assert config is not None  # detection is not optional here
    read = read_options(args)
    paths: list[Path] = []
    unmatched: list[FileFormatError] = []
    for spec in args.inputs:  # an unquoted glob arrives expanded by the shell
        try:
            paths += [p for p in expand_inputs(spec) if p not in paths]
        except FileFormatError as exc:  # e.g. a side table among shell-expanded names
            unmatched.append(exc)
    if not paths:
        raise unmatched[0]
    for skipped in unmatched:
        log.warning("%s", skipped)
    if args.scheduler is not None and not args.scheduler.strip():
        raise ConfigError("--scheduler needs an address such as tcp://host:8786, got ''.")
    where = (
        f"Dask scheduler {args.scheduler}"
        if args.scheduler
        else (f"{args.workers or default_workers()} worker(s)")
    )
    print(f"batch: {len(paths)} recording(s) on {where}", file=sys.stderr)
    result = run_batch(
        paths,
        args.out,
        config=config,
        read=read,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=Progress(len(paths)),
        review=not args.no_review,
        reviewer=args.reviewer,
        profile=(lambda p: p.label() if p is not None else "")(detector_profile(args)),
        video=not args.no_video,
    )
    n_twitches = sum(len(r.twitches) for r in result.results)
    n_reviewed = sum(r.ok and r.twitches_from.startswith("reviewed") for r in result.results)
    if n_reviewed:
        print(f"{n_reviewed} recording(s) counted with their review (see recordings.csv)")
    n_video = sum(r.video is not None for r in result.results)
    if n_video:
        print(f"{n_video} recording(s) with their video's movements (see recordings.csv)")
    tables = "sites.csv" + (" and sites.parquet" if result.parquet else "")
    print(
        f"{result.n_ok} of {len(paths)} recording(s) analysed, {n_twitches} twitches; "
        f"events and {tables} in {result.out_dir}"
    )
    errors = result.errors
    if errors:
        print(
            f"{len(errors)} file(s) skipped (listed in {result.out_dir / 'errors.csv'}):",
            file=sys.stderr,
        )
        for _name, r in errors:
            print(f"  {r.path}: {r.error}", file=sys.stderr)
    if result.n_ok == 0:
        return EXIT_ALL_FAILED
    return EXIT_SOME_FAILED if errors else 0
