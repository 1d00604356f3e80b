"""``twitchscope motion VIDEO`` and ``twitchscope video attach RECORDING VIDEO``.

``motion`` measures the movement in a video (dense optical flow in a region) and
writes one row per mechanical twitch, ``onset_s,offset_s,peak_speed,grade``, to
``--out MOTION.csv``, and on request the speed trace ``time_s,speed`` to
``--trace TRACE.csv`` (:mod:`twitchscope.signal.video.motion`). ``video attach``
links a video to a recording with a clock offset, region and scale, in the sidecar
``<recording stem>.video.json`` (:mod:`twitchscope.signal.video.link`). Both need the
extra ``twitchscope[video]`` (OpenCV) and say so without it.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from dataclasses import replace
from pathlib import Path

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.video.backend import check_roi, video_info
from twitchscope.signal.video.link import VideoLink, write_link
from twitchscope.signal.video.motion import GRADES, MotionConfig, measure_motion
from twitchscope.signal.video.tables import write_movements, write_trace

__all__ = ["register", "run_motion", "run_attach", "parse_roi"]

log = logging.getLogger(__name__)


def parse_roi(text: str) -> tuple[int, int, int, int]:
    """``"X,Y,W,H"`` as four integers (argparse type)."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        roi = tuple(int(p) for p in parts)
    except ValueError:
        roi = ()
    if len(roi) != 4 or roi[0] < 0 or roi[1] < 0 or roi[2] <= 0 or roi[3] <= 0:
        raise argparse.ArgumentTypeError(
            f"expected X,Y,W,H as four integers (X,Y >= 0, W,H > 0), got {text!r}"
        )
    return roi


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _add_region_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--roi",
        type=parse_roi,
        default=None,
        metavar="X,Y,W,H",
        help="region of interest in pixels (default: the whole frame)",
    )
    p.add_argument(
        "--scale",
        type=_positive,
        default=None,
        metavar="MM_PER_PX",
        help="millimetres per pixel: speeds in mm/s instead of px/s",
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``motion`` and ``video`` subcommands."""
    defaults = MotionConfig()
    p = subparsers.add_parser(
        "motion",
        help="find mechanical twitches in a video (optical flow)",
        description="Measure the movement inside a region of a video with dense optical flow "
        "and write one row per mechanical twitch (onset_s, offset_s, peak_speed, grade). "
        "Slow movement (breathing, probe drift, needle advance) is not a twitch. "
        "Needs twitchscope[video].",
    )
    p.add_argument("video", type=Path, help="video file (.mp4 .mov .avi .webm)")
    _add_region_options(p)
    p.add_argument("--start", type=float, default=None, metavar="S", help="first second analysed")
    p.add_argument("--end", type=float, default=None, metavar="S", help="last second analysed")
    p.add_argument("--out", type=Path, required=True, metavar="MOTION", help="movements (.csv)")
    p.add_argument("--trace", type=Path, default=None, metavar="TRACE", help="speed trace (.csv)")
    p.add_argument(
        "--strong",
        type=_positive,
        default=defaults.strong_speed,
        metavar="SPEED",
        help=f"peak speed from which a twitch is strong (default {defaults.strong_speed:g}, "
        "in px/s or, with --scale, mm/s)",
    )
    p.add_argument(
        "--medium",
        type=_positive,
        default=defaults.medium_speed,
        metavar="SPEED",
        help=f"peak speed from which a twitch is medium (default {defaults.medium_speed:g})",
    )
    p.set_defaults(func=run_motion)

    v = subparsers.add_parser(
        "video",
        help="attach a video to a recording",
        description="Manage the video linked to a recording (needs twitchscope[video]).",
    )
    vsub = v.add_subparsers(dest="video_command", metavar="ACTION")
    vsub.required = True
    a = vsub.add_parser(
        "attach",
        help="link a video to a recording",
        description="Write <recording stem>.video.json next to the recording: the video "
        "path (relative when possible), the clock offset (video time = recording time - "
        "offset), the region of interest and the scale.",
    )
    a.add_argument("recording", type=Path, help="the recording")
    a.add_argument("video", type=Path, help="the video file")
    a.add_argument(
        "--offset",
        type=float,
        default=0.0,
        metavar="S",
        help="video time = recording time - S (default 0)",
    )
    _add_region_options(a)
    a.set_defaults(func=run_attach)


def run_motion(args: argparse.Namespace) -> int:
    """Run ``twitchscope motion``; returns the exit status."""
    for path in (args.out, args.trace):
        if path is not None and path.suffix.lower() != ".csv":
            raise FileFormatError(f"{path.name}: motion files are written as .csv.")
    if args.medium >= args.strong:
        raise ConfigError(f"--medium ({args.medium:g}) must be below --strong ({args.strong:g}).")
    config = replace(MotionConfig(), strong_speed=args.strong, medium_speed=args.medium)
    result = measure_motion(
        args.video,
        roi=args.roi,
        scale=args.scale,
        start_s=args.start,
        end_s=args.end,
        config=config,
    )
    write_movements(args.out, result.movements)
    if args.trace is not None:
        write_trace(args.trace, result.trace)
    grades = Counter(m.grade for m in result.movements)
    counts = ", ".join(f"{grades[g]} {g}" for g in GRADES if grades[g])
    trace = result.trace
    span = f"{trace.times_s[0]:.2f}-{trace.times_s[-1] + 1 / trace.fps:.2f} s"
    print(
        f"{args.video.name}: {len(result.movements)} movements"
        + (f" ({counts})" if counts else "")
        + f" in {span} at {trace.fps:g} fps; speeds in {trace.unit}"
    )
    return 0


def run_attach(args: argparse.Namespace) -> int:
    """Run ``twitchscope video attach``; returns the exit status."""
    if not args.recording.is_file():
        raise FileFormatError(f"{args.recording}: no such recording.")
    info = video_info(args.video)
    if args.roi is not None:
        check_roi(args.roi, info.width, info.height)
    link = VideoLink(
        video=args.video, offset_s=args.offset, roi=args.roi, scale_mm_per_px=args.scale
    )
    path = write_link(args.recording, link)
    print(
        f"attached {args.video.name} ({info.width}x{info.height}, {info.fps:g} fps, "
        f"{info.duration_s:.1f} s) to {args.recording.name} with offset {args.offset:g} s: "
        f"{path.name}"
    )
    return 0
