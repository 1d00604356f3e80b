"""Command-line options shared by several subcommands."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

from twitchscope.signal.core.errors import ConfigError, TwitchscopeError
from twitchscope.signal.core.model import NeedleSite, Twitch
from twitchscope.signal.detect.config import ENVELOPE_METHODS, PRESETS, DetectorConfig, preset
from twitchscope.signal.review.profile import Profile, read_profile
from twitchscope.signal.review.session import NOT_REVIEWED, ReviewUse
from twitchscope.signal.video.attached import VideoFusion, fuse_attached, has_video

__all__ = [
    "add_detector_options",
    "detector_config",
    "parse_settings",
    "detector_profile",
    "add_review_options",
    "provenance_lines",
]


def add_detector_options(p: argparse.ArgumentParser, *, optional: bool = False) -> None:
    """Add ``--preset``, ``--mains``, ``--envelope``, ``--set`` and ``--profile`` (and
    ``--no-detect`` when detection is optional).

    A profile (from ``twitchscope calibrate``) sets the preset and parameters; an explicit
    ``--preset``, ``--envelope`` or ``--set`` given with it wins over its values.
    """
    p.add_argument(
        "--mains",
        default="auto",
        choices=("50", "60", "auto"),
        help="mains frequency to notch (default: estimate from the first 2 s)",
    )
    p.add_argument(
        "--preset",
        default=None,
        choices=sorted(PRESETS),
        help="limb (20 Hz high-pass, the default) or trunk (30 Hz 4th-order high-pass, "
        "ECG-prone muscles)",
    )
    p.add_argument(
        "--envelope",
        choices=ENVELOPE_METHODS,
        default=None,
        help="envelope: rms (the default), tkeo, or auto (TKEO at >= 1 kHz, RMS below)",
    )
    p.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set any detector parameter (see twitchscope.signal.detect.config.DetectorConfig), "
        "e.g. --set k_on=5 --set min_duration_s=0.03; repeatable",
    )
    p.add_argument(
        "--false-alarms-per-min",
        type=float,
        default=None,
        metavar="RATE",
        help="target rate of false twitches on the recording's own background, per minute "
        f"(default {DetectorConfig().false_alarms_per_min:g}); lower is stricter",
    )
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="PROFILE.toml",
        help="a detector profile written by `twitchscope calibrate` (its preset and values; "
        "--preset and --set given here win over them)",
    )
    if optional:
        p.add_argument(
            "--no-detect",
            action="store_true",
            help="do not run the twitch detector over the recording when it is written",
        )


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def parse_settings(items: list[str]) -> dict[str, float | int | str | bool]:
    """Turn ``["k_on=5", ...]`` into detector parameters typed as ``DetectorConfig`` declares.

    Raises
    ------
    ConfigError
        One line naming the item and what was expected.
    """
    types = {f.name: f.type for f in fields(DetectorConfig)}
    out: dict[str, float | int | str | bool] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name or not text:
            raise ConfigError(f"--set {item!r}: expected NAME=VALUE, e.g. --set k_on=5.")
        kind = types.get(name)
        if kind is None:
            close = difflib.get_close_matches(name, types, n=3, cutoff=0.6)
            hint = f"did you mean {' or '.join(close)}?" if close else "see DetectorConfig"
            raise ConfigError(
                f"--set {name}: unknown detector parameter; {hint} "
                "(`twitchscope detect --help` and twitchscope.signal.detect.config list them all)."
            )
        if kind in ("bool", bool):
            if text.lower() not in _TRUE + _FALSE:
                raise ConfigError(f"--set {name}={text}: expected true or false.")
            out[name] = text.lower() in _TRUE
            continue
        try:
            if kind in ("int", int):
                out[name] = int(text)
            elif kind in ("float", float):
                out[name] = float(text)
            else:
                out[name] = text
        except ValueError:
            what = "an integer" if kind in ("int", int) else "a number"
            raise ConfigError(f"--set {name}={text}: expected {what}.") from None
    return out


def detector_config(args: argparse.Namespace) -> DetectorConfig | None:
    """The detector configuration the options ask for (None with ``--no-detect``).

    Raises
    ------
    ConfigError
        A ``--set`` that names no parameter or gives a value the parameter refuses.
    """
    if getattr(args, "no_detect", False):
        return None
    profile = detector_profile(args)
    changes: dict[str, Any] = dict(profile.changes) if profile is not None else {}
    changes["mains"] = args.mains
    if getattr(args, "envelope", None):
        changes["envelope_method"] = args.envelope
    if getattr(args, "false_alarms_per_min", None) is not None:
        changes["false_alarms_per_min"] = args.false_alarms_per_min
    changes.update(parse_settings(getattr(args, "settings", []) or []))
    name = getattr(args, "preset", None) or (profile.preset if profile is not None else "limb")
    return preset(name, **changes)


def detector_profile(args: argparse.Namespace) -> Profile | None:
    """The profile ``--profile`` names, read and checked (None without the option).

    Raises
    ------
    FileFormatError
        A missing or invalid profile (one line naming the problem).
    """
    path = getattr(args, "profile", None)
    return read_profile(path) if path is not None else None


def add_review_options(p: argparse.ArgumentParser) -> None:
    """Add ``--reviewer`` and ``--no-review`` (commands that use a recording's review)."""
    p.add_argument(
        "--reviewer",
        default=None,
        metavar="NAME",
        help="whose review to use when <stem>.review.csv holds several reviewers",
    )
    p.add_argument(
        "--no-review",
        action="store_true",
        help="count the detector's twitches even when the recording has a review",
    )


def provenance_lines(args: argparse.Namespace, use: ReviewUse | None) -> list[str]:
    """What a report or table says about its twitches and the detector profile."""
    twitches = use.line() if use is not None else NOT_REVIEWED
    profile = detector_profile(args)
    return [
        f"Twitches counted: {twitches}.",
        f"Detector profile: {profile.label() if profile is not None else 'none'}.",
    ]


def add_video_option(p: argparse.ArgumentParser) -> None:
    """Add ``--no-video`` (commands that fuse twitches with an attached video)."""
    p.add_argument(
        "--no-video",
        action="store_true",
        help="leave out the movement of the attached video (<stem>.video.json), if any",
    )


def video_fusion(
    args: argparse.Namespace,
    recording: Path,
    twitches: Sequence[Twitch],
    sites: Sequence[NeedleSite],
) -> tuple[VideoFusion | None, str]:
    """The twitches fused with the recording's attached video, and a note for the summary.

    ``(None, "")`` without a video or with ``--no-video``; ``(None, why)`` when a video is
    attached but cannot be used (no OpenCV, a missing file): the command goes on without
    it and says so.
    """
    if getattr(args, "no_video", False) or not has_video(recording):
        return None, ""
    try:
        fused = fuse_attached(recording, twitches, sites=sites)
    except TwitchscopeError as exc:
        return None, f"video not used: {exc}"
    return fused, fused.summary() if fused is not None else ""
