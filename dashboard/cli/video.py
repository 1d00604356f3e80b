"""``twitchscope motion VIDEO`` and ``twitchscope video attach|clip|fuse``.

``motion`` measures the movement in a video (dense optical flow in a region) and
writes one row per mechanical twitch, ``onset_s,offset_s,peak_speed,grade``, to
``--out MOTION.csv``, and on request the speed trace ``time_s,speed`` to
``--trace TRACE.csv`` (:mod:`twitchscope.signal.video.motion`). ``video attach``
links a video to a recording with a clock offset, region and scale, in the sidecar
``<recording stem>.video.json`` (:mod:`twitchscope.signal.video.link`); with
``--sync auto`` the offset is found from an event seen in both
(:mod:`twitchscope.signal.video.sync`) and the residual printed. ``video clip``
exports twitches of a recording with an attached video as teaching clips, the
video and the trace side by side (:mod:`twitchscope.signal.video.clips`). ``video fuse``
gives each twitch the movement it caused, lists twitches and movements without the other
and the agreement per needle site (:mod:`twitchscope.signal.video.fuse`). All need
the extra ``twitchscope[video]`` (OpenCV) and say so without it.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from twitchscope.dashboard.cli.options import add_detector_options, detector_config
from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import RejectedCandidate, Twitch
from twitchscope.signal.detect.run import detect_recording
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.video.attached import fuse_attached
from twitchscope.signal.video.backend import check_roi, video_info
from twitchscope.signal.video.clips import CLIP_FORMATS, ClipConfig, export_twitch_clip
from twitchscope.signal.video.link import LINK_SUFFIX, VideoLink, link_path, read_link, write_link
from twitchscope.signal.video.motion import GRADES, MotionConfig, measure_motion
from twitchscope.signal.video.sync import (
    SYNC_KINDS,
    SyncConfig,
    parse_sync_event,
    sync_video,
)
from twitchscope.signal.video.tables import write_fused, write_movements, write_trace

__all__ = ["register", "run_motion", "run_attach", "run_clip", "parse_roi"]

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
        help="attach a video to a recording (offset given or found), export teaching clips",
        description="Manage the video linked to a recording: attach it (with a clock offset "
        "given, or found from a sync event seen in both) and export its twitches as teaching "
        "clips (needs twitchscope[video]).",
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
        default=None,
        metavar="S",
        help="video time = recording time - S (default 0; not with --sync auto)",
    )
    _add_region_options(a)
    a.add_argument(
        "--sync",
        choices=("offset", "auto"),
        default="offset",
        help="offset: use --offset (the default); auto: find the offset from an event seen "
        "in both (a brightness or motion step in --roi matched to --sync-event) and print "
        "the residual",
    )
    a.add_argument(
        "--sync-event",
        default="needle-in",
        metavar="EVENT",
        help="the recording's side of the sync: needle-in (needle sites, the default), "
        "marker:LABEL (annotations named LABEL) or emg (large EMG artefacts and twitches)",
    )
    a.add_argument(
        "--sync-kind",
        choices=SYNC_KINDS,
        default="auto",
        help="the video's side: brightness steps (an LED), motion (a tap) or both (auto)",
    )
    add_detector_options(a)
    a.set_defaults(func=run_attach)

    c = vsub.add_parser(
        "clip",
        help="export twitches as teaching clips (video and trace side by side)",
        description="Export each twitch the detector finds (or one) of a recording with an "
        "attached video as a short clip: the video frame and the EMG trace side by side, the "
        "twitch marked. MP4 (OpenCV, mp4v) or GIF (Pillow).",
    )
    c.add_argument("recording", type=Path, help="the recording (its video attached)")
    which = c.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--twitch", type=int, metavar="N", help="the N-th twitch (1 = first, as detect lists)"
    )
    which.add_argument("--all", action="store_true", help="every twitch inside the video")
    defaults_clip = ClipConfig()
    c.add_argument(
        "--before",
        type=float,
        default=defaults_clip.before_s,
        metavar="S",
        help=f"seconds before the onset (default {defaults_clip.before_s:g})",
    )
    c.add_argument(
        "--after",
        type=float,
        default=defaults_clip.after_s,
        metavar="S",
        help=f"seconds after the onset (default {defaults_clip.after_s:g})",
    )
    c.add_argument(
        "--format",
        choices=CLIP_FORMATS,
        default=None,
        help="mp4 or gif (default: from --out's extension, else mp4)",
    )
    c.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="PATH",
        help="the clip file (--twitch N), or a folder for --all",
    )
    add_detector_options(c)
    c.set_defaults(func=run_clip)

    f = vsub.add_parser(
        "fuse",
        help="each twitch with the movement it caused (lag, peak speed, grade)",
        description="Detect the twitches of a recording with an attached video, measure the "
        "movements in the video (in the link's region and scale), match them (the movement "
        "starting 50 ms before to 300 ms after the twitch) and write one row per twitch with "
        "the events columns plus motion, motion_lag_ms, motion_peak_speed and motion_grade, "
        "then one row per movement without a twitch. Prints the agreement per needle site.",
    )
    f.add_argument("recording", type=Path, help="the recording (its video attached)")
    f.add_argument(
        "--out", type=Path, required=True, metavar="FUSED.csv", help="the table (.csv or .json)"
    )
    add_detector_options(f)
    f.set_defaults(func=run_fuse)


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
    described = (
        f"{args.video.name} ({info.width}x{info.height}, {info.fps:g} fps, {info.duration_s:.1f} s)"
    )
    if args.sync == "offset":
        offset = 0.0 if args.offset is None else args.offset
        link = VideoLink(
            video=args.video, offset_s=offset, roi=args.roi, scale_mm_per_px=args.scale
        )
        path = write_link(args.recording, link)
        print(
            f"attached {described} to {args.recording.name} with offset {offset:g} s: {path.name}"
        )
        return 0
    if args.offset is not None:
        raise ConfigError(
            "give either --offset S or --sync auto; to nudge an offset found automatically, "
            "attach again with --offset."
        )
    kind, _label = parse_sync_event(args.sync_event)
    raw = read_recording(args.recording, preload=False)
    twitches: tuple[Twitch, ...] = ()
    rejected: tuple[RejectedCandidate, ...] = ()
    if kind == "emg":
        config = detector_config(args)
        assert config is not None  # detection is not optional here
        run = detect_recording(raw, config)
        twitches, rejected = tuple(run.twitches), tuple(run.rejected)
    result = sync_video(
        recording_events(raw),
        args.video,
        sync_event=args.sync_event,
        roi=args.roi,
        config=SyncConfig(kind=args.sync_kind),
        twitches=twitches,
        rejected=rejected,
    )
    link = VideoLink(
        video=args.video,
        offset_s=round(result.offset_s, 6),
        roi=args.roi,
        scale_mm_per_px=args.scale,
        sync_event=args.sync_event,
        sync_residual_s=result.residual_s,
        sync_n_checked=result.n_checked,
    )
    path = write_link(args.recording, link)
    residual = result.residual_text()
    print(
        f"attached {described} to {args.recording.name} with offset {result.offset_s:.3f} s, "
        f"found from {args.sync_event} (recording {result.anchor_recording_s:.3f} s = video "
        f"{result.anchor_video_s:.3f} s; {result.n_emg} events in the recording, "
        f"{result.n_video} in the video): {path.name}"
    )
    print(f"sync {residual}; nudge with `twitchscope video attach ... --offset S` if it is off")
    return 0


def run_clip(args: argparse.Namespace) -> int:
    """Run ``twitchscope video clip``; returns the exit status."""
    config = ClipConfig(before_s=args.before, after_s=args.after)
    link = read_link(args.recording)
    info = video_info(link.video)
    detector = detector_config(args)
    assert detector is not None  # detection is not optional here
    raw = read_recording(args.recording, preload=True)
    twitches = list(detect_recording(raw, detector).twitches)
    sfreq = float(raw.info["sfreq"])
    start, end = link.to_recording_time(0.0), link.to_recording_time(info.duration_s)

    def inside(t: Twitch) -> bool:
        return start <= t.onset_s < end

    span = f"the video covers {start:.2f}-{end:.2f} s of the recording"
    if args.twitch is not None:
        if not 1 <= args.twitch <= len(twitches):
            raise ConfigError(
                f"--twitch {args.twitch}: the recording has {len(twitches)} twitches "
                f"(1..{len(twitches)})."
            )
        chosen = [(args.twitch, twitches[args.twitch - 1])]
        if not inside(chosen[0][1]):
            raise ConfigError(
                f"twitch {args.twitch} at {chosen[0][1].onset_s:.2f} s is outside the video "
                f"({span})."
            )
    else:
        chosen = [(i, t) for i, t in enumerate(twitches, 1) if inside(t)]
        if not chosen:
            raise ConfigError(
                f"no twitch of the {len(twitches)} found is inside the video ({span})."
            )
    folder_mode = args.all or args.out.is_dir()
    fmt = args.format
    if not folder_mode and fmt is None:
        ext = args.out.suffix.lower().lstrip(".")
        fmt = ext if ext in CLIP_FORMATS else "mp4"
    fmt = fmt or "mp4"
    if folder_mode:
        args.out.mkdir(parents=True, exist_ok=True)
    stem = link_path(args.recording).name[: -len(LINK_SUFFIX)]
    traces: dict[str, Any] = {}
    for n, twitch in chosen:
        out = args.out / f"{stem}_twitch{n:02d}.{fmt}" if folder_mode else args.out
        if twitch.channel not in traces:
            traces[twitch.channel] = raw.get_data(picks=[twitch.channel])[0]
        trace = traces[twitch.channel]
        clip = export_twitch_clip(
            out,
            video=link,
            trace_v=trace,
            sfreq=sfreq,
            twitch=twitch,
            label=f"twitch {n}: {twitch.channel} at {twitch.onset_s:.2f} s",
            fmt=fmt,
            config=config,
        )
        print(
            f"{out}: twitch {n} at {twitch.onset_s:.2f} s, {clip.n_frames} frames "
            f"{clip.width}x{clip.height} at {clip.fps:g} fps, marked on {len(clip.marked)}"
        )
    skipped = len(twitches) - len(chosen) if args.all else 0
    if skipped:
        print(f"{skipped} twitches outside the video skipped ({span})")
    return 0


def run_fuse(args: argparse.Namespace) -> int:
    """Run ``twitchscope video fuse``; returns the exit status."""
    if args.out.suffix.lower() not in (".csv", ".json"):
        raise FileFormatError(f"{args.out.name}: the fused table is written as .csv or .json.")
    read_link(args.recording)  # a missing or broken link is the first thing to say
    detector = detector_config(args)
    assert detector is not None  # detection is not optional here
    raw = read_recording(args.recording, preload=True)
    run = detect_recording(raw, detector)
    fused = fuse_attached(args.recording, run.twitches, sites=recording_events(raw).sites)
    assert fused is not None  # the link was read above
    write_fused(args.out, fused)
    start, end = fused.span_s
    print(
        f"{args.out}: {len(fused.fusion.matches)} twitches inside the video "
        f"({start:.2f}-{end:.2f} s), {fused.n_moved} with their movement, "
        f"{len(fused.fusion.twitches_without_movement)} without; "
        f"{len(fused.fusion.movements_without_twitch)} movements without a twitch; "
        f"{len(fused.outside)} twitches outside the video; speeds in {fused.unit}"
    )
    for line in fused.agreement_lines():
        print(f"  {line}")
    return 0
