"""``twitchscope agreement`` and ``twitchscope calibrate``: what expert review gives back.

``agreement REFERENCE TEST`` compares two sets of twitches, each an events file (as
``twitchscope detect --out`` writes) or a review CSV (its reviewed twitches:
confirmed + added): precision, recall and F1 of TEST against REFERENCE per needle site
and overall (onsets matched one to one within ``--tolerance-ms``), Cohen's kappa on the
presence of a twitch per needle site and the ICC of the per-site counts (see
:mod:`twitchscope.signal.review.agreement`).

``calibrate REC [REC ...] --out PROFILE.toml`` fits the detector to reviewed
recordings (see :mod:`twitchscope.signal.review.calibration`); ``--profile
PROFILE.toml`` on ``detect``, ``record``, ``batch``, ``report`` and ``dashboard``
applies the result.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import NeedleSite
from twitchscope.signal.review.agreement import (
    DEFAULT_TOLERANCE_S,
    Agreement,
    Counts,
    compare,
    load_marks,
)

__all__ = ["register", "run_agreement", "run_calibrate", "format_agreement"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``agreement`` and ``calibrate`` subcommands."""
    p = subparsers.add_parser(
        "agreement",
        help="precision, recall, F1, kappa and ICC of two sets of twitches",
        description="Compare TEST against REFERENCE (each an events file from `twitchscope "
        "detect --out` or a review CSV): precision, recall and F1 per needle site and "
        "overall, onsets matched one to one within the tolerance; Cohen's kappa on the "
        "presence of a twitch per site and the ICC(2,1) of per-site counts.",
    )
    p.add_argument("reference", type=Path, help="events file or review CSV taken as the truth")
    p.add_argument("test", type=Path, help="events file or review CSV to score")
    p.add_argument(
        "--tolerance-ms",
        type=float,
        default=DEFAULT_TOLERANCE_S * 1000,
        metavar="MS",
        help="largest onset difference of a match (default 40 ms)",
    )
    p.add_argument("--json", type=Path, default=None, metavar="OUT", help="also write JSON here")
    p.add_argument(
        "--reference-reviewer", default=None, metavar="NAME", help="reviewer in REFERENCE"
    )
    p.add_argument("--test-reviewer", default=None, metavar="NAME", help="reviewer in TEST")
    p.add_argument(
        "--recording",
        type=Path,
        default=None,
        metavar="REC",
        help="the recording: its needle sites name the site of twitches whose file gives none, "
        "and sites without any twitch count for kappa and the ICC",
    )
    p.set_defaults(func=run_agreement)

    c = subparsers.add_parser(
        "calibrate",
        help="fit the detector to reviewed recordings (a profile)",
        description="Search the detector parameters that matter (preset, k_on, glr_min, "
        "false-alarm target, durations) for the best F1 against each recording's review "
        "(<stem>.review.csv: confirmed + added twitches), validate leave-one-recording-out, "
        "and write a profile to apply with --profile. Refuses with fewer than 20 reviewed "
        "twitches.",
    )
    c.add_argument("recordings", nargs="+", type=Path, metavar="REC", help="reviewed recordings")
    c.add_argument("--out", type=Path, required=True, metavar="PROFILE.toml", help="profile file")
    c.add_argument("--reviewer", default=None, metavar="NAME", help="whose review to fit to")
    c.add_argument(
        "--tolerance-ms",
        type=float,
        default=DEFAULT_TOLERANCE_S * 1000,
        metavar="MS",
        help="largest onset difference of a match (default 40 ms)",
    )
    c.add_argument("--overwrite", action="store_true", help="replace an existing profile")
    c.set_defaults(func=run_calibrate)


def _recording_sites(path: Path | None) -> tuple[NeedleSite, ...]:
    if path is None:
        return ()
    from twitchscope.signal.core.annotations import recording_events
    from twitchscope.signal.io.readers import read_recording

    return recording_events(read_recording(path, preload=False)).sites


def run_agreement(args: argparse.Namespace) -> int:
    """Compare the two files; returns the exit status."""
    tol_ms = args.tolerance_ms
    if not (math.isfinite(tol_ms) and tol_ms > 0):
        raise ConfigError(f"--tolerance-ms must be a positive number of ms, got {tol_ms!r}.")
    if args.json is not None and args.json.suffix.lower() != ".json":
        raise FileFormatError(f"--json {args.json.name}: expected a .json file name.")
    sites = _recording_sites(args.recording)
    ref, ref_label = load_marks(args.reference, reviewer=args.reference_reviewer, sites=sites)
    test, test_label = load_marks(args.test, reviewer=args.test_reviewer, sites=sites)
    result = compare(ref, test, tolerance_s=tol_ms / 1000.0, sites=[s.label for s in sites])
    labels = {
        "reference": f"{args.reference} ({ref_label})",
        "test": f"{args.test} ({test_label})",
    }
    print(format_agreement(result, labels))
    if args.json is not None:
        payload = {**labels, **result.as_dict()}
        try:
            args.json.write_text(json.dumps(payload, indent=1, allow_nan=False) + "\n", "utf-8")
        except OSError as exc:
            raise FileFormatError(f"cannot write {args.json}: {exc.strerror or exc}.") from None
    return 0


def _f(x: float, nd: int = 3) -> str:
    return "-" if math.isnan(x) else f"{x:.{nd}f}"


def format_agreement(result: Agreement, labels: dict[str, str]) -> str:
    """The agreement as the text table the command prints."""
    width = max([len("overall"), *(len(s) for s in result.per_site)])
    head = f"{'site':<{width}}  {'ref':>4} {'test':>4} {'TP':>4} {'FP':>4} {'FN':>4}  precision  recall     F1"
    lines = [
        f"TEST      {labels['test']}",
        f"REFERENCE {labels['reference']}",
        f"onsets matched one to one within ±{result.tolerance_s * 1000:g} ms",
        "",
        head,
    ]

    def row(name: str, c: Counts, n_ref: int, n_test: int) -> str:
        return (
            f"{name:<{width}}  {n_ref:>4} {n_test:>4} {c.tp:>4} {c.fp:>4} {c.fn:>4}  "
            f"{_f(c.precision):>9}  {_f(c.recall):>6}  {_f(c.f1):>5}"
        )

    for site, c in result.per_site.items():
        lines.append(row(site, c, *result.site_counts[site]))
    n_ref = sum(a for a, _ in result.site_counts.values())
    n_test = sum(b for _, b in result.site_counts.values())
    lines.append(row("overall", result.overall, n_ref, n_test))
    lines.append(f"median |onset error| {_f(result.median_abs_error_ms, 1)} ms")
    n_sites = sum(1 for s in result.site_counts if s != "(no site)")
    lines.append(
        f"between the two: Cohen's kappa (a twitch at the site, {n_sites} sites) "
        f"{_f(result.kappa)}; ICC(2,1) of per-site counts {_f(result.icc)}"
    )
    return "\n".join(lines)


def run_calibrate(args: argparse.Namespace) -> int:
    """Fit a detector profile to reviewed recordings; returns the exit status."""
    from twitchscope.signal.review.calibration import calibrate
    from twitchscope.signal.review.profile import write_profile

    tol_ms = args.tolerance_ms
    if not (math.isfinite(tol_ms) and tol_ms > 0):
        raise ConfigError(f"--tolerance-ms must be a positive number of ms, got {tol_ms!r}.")
    if args.out.suffix.lower() != ".toml":
        raise FileFormatError(f"--out {args.out.name}: a profile is written as .toml.")
    if args.out.exists() and not args.overwrite:
        raise FileFormatError(f"{args.out} exists; pass --overwrite to replace it.")

    def progress(done: int, total: int) -> None:
        print(f"\rcalibrate: {done} of {total} detector runs", end="", file=sys.stderr)

    result = calibrate(
        args.recordings,
        reviewer=args.reviewer,
        tolerance_s=args.tolerance_ms / 1000.0,
        progress=progress,
    )
    print("", file=sys.stderr)
    write_profile(args.out, result)
    v = result.validation
    print(
        f"profile written to {args.out}: {result.describe()}; leave-one-recording-out F1 "
        f"{_f(v.f1)} (95 % CI {_f(v.f1_ci[0])}-{_f(v.f1_ci[1])}) against {_f(v.default_f1)} "
        f"with the defaults; false alarms {_f(v.fp_per_min, 2)}/min "
        f"(95 % CI {_f(v.fp_per_min_ci[0], 2)}-{_f(v.fp_per_min_ci[1], 2)}) against "
        f"{_f(v.default_fp_per_min, 2)}"
    )
    if not v.f1 > v.default_f1:
        print(
            "note: on recordings it was not fitted to, the search did no better than the "
            "defaults, so the profile keeps the defaults (review more recordings)"
        )
    return 0
