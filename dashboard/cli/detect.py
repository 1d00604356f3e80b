"""``twitchscope detect INPUT``: flag local twitch responses in a recording.

The recording is streamed through the detector in blocks (peak memory does not grow
with its length), exactly as live data would be. Writes one row per twitch
(``--out EVENTS.csv`` or ``.json``), optionally the rejected candidates with their
reason codes (``--rejected``) and the recording with ``LTR`` annotations
(``--annotate OUT.fif`` or ``.edf``). Without ``--out`` the twitches are printed.

When the recording has a video attached (``<stem>.video.json``, ``twitchscope video
attach``), each twitch also gets the movement it caused in the video (lag, peak speed,
grade) and the movements without a twitch are listed: ``--out`` is then the fused
table of :mod:`twitchscope.signal.video.tables` (still read back as events), and the
summary gives the agreement per needle site. ``--no-video`` leaves the video out.
"""

from __future__ import annotations

import argparse
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from twitchscope.dashboard.cli.info import add_read_options, read_options
from twitchscope.dashboard.cli.options import (
    add_detector_options,
    add_video_option,
    detector_config,
    detector_profile,
    video_fusion,
)
from twitchscope.signal.core.annotations import recording_events, set_recording_events
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.model import Twitch
from twitchscope.signal.core.units import s_to_ms, volts_to_uv
from twitchscope.signal.detect.run import detect_recording
from twitchscope.signal.io.events import write_events, write_rejected
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.io.writers import write_recording
from twitchscope.signal.video.attached import VideoFusion
from twitchscope.signal.video.fuse import TwitchMotion
from twitchscope.signal.video.tables import write_fused

__all__ = ["register", "run"]

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``detect`` subcommand."""
    p = subparsers.add_parser(
        "detect",
        help="flag local twitch responses in a recording",
        description="Detect local twitch responses (LTRs) in a recording, streaming it in "
        "blocks; write one row per twitch and, on request, the rejected candidates and an "
        "annotated copy of the recording.",
    )
    p.add_argument("input", type=Path, help="recording (.edf .bdf .fif .fif.gz .csv .tsv .txt)")
    p.add_argument(
        "--out", type=Path, default=None, metavar="EVENTS", help="events file (.csv or .json)"
    )
    add_detector_options(p)
    add_video_option(p)
    p.add_argument(
        "--rejected",
        type=Path,
        default=None,
        metavar="REJECTED",
        help="write the rejected candidates and their reasons (.csv or .json)",
    )
    p.add_argument(
        "--annotate",
        type=Path,
        default=None,
        metavar="OUT",
        help="write the recording with LTR annotations (.fif or .edf)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing --annotate file")
    p.add_argument(
        "--keep-railed",
        action="store_true",
        help="also detect on channels stuck at the amplifier's rail (left out by default)",
    )
    add_read_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the detector on ``args.input``; returns the exit status."""
    for out in (args.out, args.rejected):
        if out is not None and out.suffix.lower() not in (".csv", ".json"):
            raise FileFormatError(
                f"{out.name}: events are written as .csv or .json, got {out.suffix!r}."
            )
    if args.annotate is not None and not args.annotate.name.lower().endswith(
        (".fif", ".fif.gz", ".edf")
    ):
        raise FileFormatError(
            f"{args.annotate.name}: --annotate writes .fif or .edf, got {args.annotate.suffix!r}."
        )
    config = detector_config(args)
    assert config is not None  # detection is not optional here
    read = read_options(args)
    raw = read_recording(args.input, **read.kwargs(), preload=False)
    sfreq = float(raw.info["sfreq"])
    detection = detect_recording(raw, config, skip_railed=not args.keep_railed)
    if detection.n_samples == 0:
        raise FileFormatError(f"{args.input.name}: no EMG samples to analyse.")
    twitches, rejected = detection.twitches, detection.rejected
    fused, video_note = video_fusion(args, args.input, twitches, recording_events(raw).sites)
    if args.out is not None:
        if fused is not None:
            write_fused(args.out, fused)
        else:
            write_events(args.out, twitches)
    else:
        _print_twitches(twitches, fused)
    if args.rejected is not None:
        write_rejected(args.rejected, rejected)
    if args.annotate is not None:
        full = read_recording(args.input, **read.kwargs(), preload=True)
        events = recording_events(full)
        set_recording_events(full, replace(events, twitches=twitches))
        write_recording(full, args.annotate, overwrite=args.overwrite)
    reasons = Counter(r.reason.value for r in rejected)
    low, high = detection.band_hz or (0.0, 0.0)
    summary = (
        f"{args.input.name}: {len(twitches)} twitches, {len(rejected)} rejected"
        + (f" ({', '.join(f'{k} {v}' for k, v in sorted(reasons.items()))})" if reasons else "")
        + f"; mains {detection.mains_hz:g} Hz, band {low:g}-{high:g} Hz at {sfreq:g} Hz"
    )
    if sfreq < config.low_rate_sfreq:
        summary += " (detection only: reduced bandwidth, no spectral metrics)"
    if detection.railed:
        summary += f"; railed channels left out: {', '.join(detection.railed)}"
    profile = detector_profile(args)
    if profile is not None:
        summary += f"; profile {profile.label()}"
    print(summary)
    if video_note:
        print(video_note)
    for line in fused.agreement_lines() if fused is not None else ():
        print(f"  {line}")
    return 0


def _print_twitches(twitches: Sequence[Twitch], fused: VideoFusion | None) -> None:
    header = "onset_s  duration_ms  channel  peak_uv  snr_db  site"
    if fused is not None:
        header += f"  movement (lag ms, peak {fused.unit}, grade)"
    print(header)
    for t in twitches:
        line = (
            f"{t.onset_s:8.3f}  {s_to_ms(t.duration_s):11.1f}  {t.channel}  "
            f"{volts_to_uv(t.peak_v):7.1f}  {t.snr_db:6.1f}  {t.site or ''}"
        )
        if fused is not None:
            line += f"  {_movement_cell(fused.match_of(t))}"
        print(line)
    if fused is not None:
        for mv in fused.fusion.movements_without_twitch:
            print(
                f"{mv.onset_s:8.3f}  movement without a twitch: peak {mv.peak_speed:.1f} "
                f"{fused.unit}, {mv.grade}"
            )


def _movement_cell(m: TwitchMotion | None) -> str:
    """A twitch's movement in the printed table: lag, peak speed, grade."""
    if m is None:
        return "outside the video"
    if m.movement is None or m.lag_s is None:
        return "none"
    return f"{s_to_ms(m.lag_s):.0f}  {m.movement.peak_speed:.1f}  {m.movement.grade}"
