"""``twitchscope info FILE``: what a recording holds.

Prints the start date (when known), the channels (name, type), the sampling rate,
the duration and number of samples, the needle sites (label, onset, duration), the
annotations counted by description and the acquisition gaps (``BAD_ACQ_SKIP``:
count and seconds lost).

It also defines the options every command that reads a recording shares
(:func:`add_read_options`) and turns them into
:class:`~twitchscope.signal.io.readers.ReadOptions` (:func:`read_options`).
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import mne

from twitchscope.signal.analysis.railed import railed_channels
from twitchscope.signal.core.annotations import relative_onsets
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import GAP_DESCRIPTION, SITE_PREFIX
from twitchscope.signal.core.units import volts_to_uv
from twitchscope.signal.io.brainflow import BRAINFLOW_BOARDS
from twitchscope.signal.io.readers import ReadOptions, detect_format, iter_blocks, read_recording
from twitchscope.signal.io.spike_recorder_wav import (
    SPIKE_RECORDER_VOLTS_PER_COUNT,
    parse_site_marker,
)

__all__ = ["register", "run", "describe", "add_read_options", "read_options"]

_RAIL_BLOCK = 65536  # samples read at a time for the railed-channel test

_FORMAT_NAMES = {
    "edf": "EDF/EDF+",
    "bdf": "BDF/BDF+",
    "fif": "FIF",
    "csv": "CSV",
    "openbci": "OpenBCI GUI text",
    "brainflow": "BrainFlow text",
    "xdf": "XDF (Lab Streaming Layer)",
    "headerless": "headerless numeric log",
    "wav": "Backyard Brains Spike Recorder WAV",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``info`` subcommand."""
    p = subparsers.add_parser(
        "info",
        help="show channels, rate, duration, needle sites and annotations of a recording",
        description="Show what a recording holds: channels, sfreq, duration, needle sites, "
        "annotation counts and acquisition gaps.",
    )
    p.add_argument(
        "file", type=Path, help="recording (.edf .bdf .fif .fif.gz .csv .tsv .txt .xdf .wav)"
    )
    add_read_options(p)
    p.set_defaults(func=run)


def add_read_options(p: argparse.ArgumentParser) -> None:
    """The options every command that reads a recording shares (``--sfreq``, ``--board``,
    ``--scale``, ``--site-marker``); :func:`read_options` reads them back.
    """
    p.add_argument(
        "--sfreq",
        type=float,
        default=None,
        metavar="HZ",
        help="sampling rate, for a CSV without time_s (or to override an OpenBCI/BrainFlow rate)",
    )
    p.add_argument(
        "--board",
        default=None,
        choices=sorted(BRAINFLOW_BOARDS),
        help="BrainFlow board that wrote a BrainFlow text file (default: detect)",
    )
    p.add_argument(
        "--scale",
        type=float,
        default=None,
        metavar="V_PER_UNIT",
        help="volts per count/unit, for a Spike Recorder .wav (default "
        f"{SPIKE_RECORDER_VOLTS_PER_COUNT:g}, uncalibrated) or a headerless numeric log "
        "(default: values are µV)",
    )
    p.add_argument(
        "--site-marker",
        action="append",
        default=None,
        metavar="MARKER=LABEL",
        help="a Spike Recorder marker that starts a needle site, e.g. "
        '--site-marker 1="R upper trapezius TrP1" (repeatable; a site lasts until the next '
        "site, a marker mapped to needle-out, e.g. 0=needle-out, or the end)",
    )


def read_options(args: argparse.Namespace) -> ReadOptions:
    """The :func:`add_read_options` options of parsed ``args`` as :class:`ReadOptions`.

    Raises
    ------
    ConfigError
        A ``--site-marker`` that is not ``MARKER=LABEL``, or a marker given twice.
    """
    pairs = [parse_site_marker(text) for text in args.site_marker or ()]
    markers = [marker for marker, _ in pairs]
    twice = sorted({m for m in markers if markers.count(m) > 1})
    if twice:
        raise ConfigError(
            f"--site-marker {twice[0]!r} is given twice; expected one label per marker."
        )
    return ReadOptions(
        sfreq=args.sfreq, board=args.board, scale=args.scale, site_markers=tuple(pairs)
    )


def run(args: argparse.Namespace) -> int:
    """Print the description of ``args.file``; returns the exit status."""
    raw = read_recording(args.file, **read_options(args).kwargs(), preload=False)
    print(describe(raw, title=f"{args.file} ({_FORMAT_NAMES[detect_format(args.file)]})"))
    return 0


def describe(raw: mne.io.BaseRaw, *, title: str) -> str:
    """The text ``info`` prints for ``raw``.

    Channels stuck at the amplifier's rail are marked (they are left out of detection
    by default), and a note from the reader on the file's scale (e.g. counts read with
    a default scale) is printed when there is one.
    """
    railed = {
        r.name: r for r in railed_channels(iter_blocks(raw, block_samples=_RAIL_BLOCK, picks=None))
    }
    sfreq = float(raw.info["sfreq"])
    lines = [
        f"file:      {title}",
        f"sfreq:     {sfreq:g} Hz",
        f"duration:  {raw.n_times / sfreq:.3f} s",
        f"samples:   {raw.n_times}",
        f"channels:  {len(raw.ch_names)}",
    ]
    if raw.info["meas_date"] is not None:
        lines.insert(1, f"start:     {raw.info['meas_date'].isoformat()}")
    width = max(len(n) for n in raw.ch_names)
    for name, ch_type in zip(raw.ch_names, raw.get_channel_types(), strict=True):
        line = f"  {name:<{width}}  {ch_type}"
        if name in railed:
            line += (
                f"  railed at {volts_to_uv(railed[name].level_v):.0f} µV (not connected; "
                "left out of detection)"
            )
        lines.append(line)
    note = str(raw.info.get("description") or "").strip()
    if note:
        lines.append(f"note:      {note}")
    ann = raw.annotations
    onsets = relative_onsets(ann, float(raw.first_time))
    sites = [
        (str(d)[len(SITE_PREFIX) :], o, float(du))
        for d, o, du in zip(ann.description, onsets, ann.duration, strict=True)
        if str(d).lower().startswith(SITE_PREFIX)
    ]
    lines.append(f"needle sites: {len(sites)}")
    for label, onset, duration in sites:
        lines.append(f"  {label}  onset {onset:.3f} s  duration {duration:.3f} s")
    counts = Counter(str(d) for d in ann.description)
    lines.append(f"annotations: {len(ann)}")
    for desc, n in sorted(counts.items()):
        lines.append(f"  {desc}: {n}")
    gap_s = float(
        sum(du for d, du in zip(ann.description, ann.duration, strict=True) if d == GAP_DESCRIPTION)
    )
    lines.append(f"gaps ({GAP_DESCRIPTION}): {counts.get(GAP_DESCRIPTION, 0)}, {gap_s:.3f} s lost")
    return "\n".join(lines)
