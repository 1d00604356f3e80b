"""Conversions: ``twitchscope convert IN OUT`` and ``twitchscope bids IN BIDS_ROOT``.

``convert`` writes any readable recording to FIF, EDF+, BDF+ or CSV; needle sites and
every other annotation (twitches ``LTR``, gaps ``BAD_ACQ_SKIP``) go along; see
:mod:`twitchscope.signal.io.writers` for what each format keeps.

``bids`` exports a recording to an EMG-BIDS dataset with MNE-BIDS (below).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import math
import warnings
from pathlib import Path
from typing import Any

from twitchscope.dashboard.cli.info import add_read_options, read_options
from twitchscope.signal.core.errors import ConfigError, FileFormatError, TwitchscopeError
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.io.writers import write_recording

__all__ = ["register", "run", "run_bids", "BIDS_MISSING", "PLACEMENTS", "export_bids"]

_BIDS_DOC = """twitchscope bids: export a recording to an EMG-BIDS dataset with MNE-BIDS.

The recording (any format twitchscope info reads) is written as
<root>/sub-<subject>[/ses-<session>]/emg/sub-<subject>[_ses-<session>]_task-<task>[_run-<run>]_emg.edf
with its _emg.json, _channels.tsv and _events.tsv (needle sites,
twitches and gaps, from the annotations), plus the dataset's
dataset_description.json, participants.tsv and README. Checked with
MNE-BIDS 0.20.0, whose write_raw_bids has the emg datatype; EMG-BIDS
stores EDF or BDF, so the samples are converted to EDF (16 bits over each
channel's range). Electrode
positions are not exported (no coordsystem.json); --placement sets
EMGPlacementScheme."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``convert`` and ``bids`` subcommands."""
    p = subparsers.add_parser(
        "convert",
        help="convert a recording to FIF, EDF+, BDF+ or CSV (format from OUT's extension)",
        description="Convert a recording to .fif, .fif.gz, .edf, .bdf or .csv, keeping needle "
        "sites, twitch and gap annotations.",
    )
    p.add_argument("input", type=Path, help="recording to read")
    p.add_argument("output", type=Path, help="file to write (.fif .fif.gz .edf .bdf .csv)")
    add_read_options(p)
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    p.set_defaults(func=run)
    _register_bids(subparsers)


def run(args: argparse.Namespace) -> int:
    """Convert ``args.input`` to ``args.output``; returns the exit status."""
    raw = read_recording(args.input, **read_options(args).kwargs(), preload=False)
    out = write_recording(raw, args.output, overwrite=args.overwrite)
    sfreq = float(raw.info["sfreq"])
    linked = _carry_video_link(Path(args.input), Path(out))
    print(
        f"wrote {out} ({len(raw.ch_names)} channels, {raw.n_times / sfreq:.3f} s at "
        f"{sfreq:g} Hz, {len(raw.annotations)} annotations)"
        + (f"; its video stays linked ({linked.name})" if linked is not None else "")
    )
    return 0


def _carry_video_link(source: Path, out: Path) -> Path | None:
    """Link the converted file to the video the source is linked to (``<stem>.video.json``:
    the same video, offset, region, scale and sync); the new link's path, or None."""
    from twitchscope.signal.video.link import link_path, read_link, write_link

    old, new = link_path(source), link_path(out)
    if not old.is_file() or new.resolve() == old.resolve():
        return None
    try:
        return write_link(out, read_link(source))
    except TwitchscopeError as exc:  # the recording is written; only the link is lost
        log.warning("the video link of %s was not carried over: %s", source.name, exc)
        return None


log = logging.getLogger(__name__)

#: The one-line message when mne-bids is not installed.
BIDS_MISSING = "BIDS export needs the optional extra: pip install 'twitchscope[bids]'"
#: Allowed values of EMGPlacementScheme.
PLACEMENTS = ("Measured", "ChannelSpecific", "Other")


def _register_bids(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bids`` subcommand."""
    p = subparsers.add_parser(
        "bids",
        help="export a recording to an EMG-BIDS dataset (needs mne-bids)",
        description=_BIDS_DOC,
    )
    p.add_argument("input", metavar="IN", help="the recording (.fif, .edf, .bdf, .csv, .xdf, ...)")
    p.add_argument("root", metavar="BIDS_ROOT", help="the BIDS dataset folder (created if needed)")
    p.add_argument("--subject", required=True, metavar="LABEL", help="subject label, e.g. 01")
    p.add_argument("--task", required=True, metavar="LABEL", help="task label, e.g. ims")
    p.add_argument("--session", default=None, metavar="LABEL", help="session label")
    p.add_argument("--run", default=None, metavar="N", help="run index")
    p.add_argument(
        "--placement",
        default="Other",
        choices=PLACEMENTS,
        help="EMGPlacementScheme of the sidecar (default Other)",
    )
    p.add_argument(
        "--line-freq",
        type=float,
        default=None,
        metavar="HZ",
        help="mains frequency for PowerLineFrequency (50 or 60; default n/a)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace this recording's files")
    p.set_defaults(func=run_bids)


def _mne_bids() -> Any:
    try:  # through importlib: mne-bids ships no type information
        return importlib.import_module("mne_bids")
    except ImportError:
        raise ConfigError(BIDS_MISSING) from None


def export_bids(
    path: str | Path,
    root: str | Path,
    *,
    subject: str,
    task: str,
    session: str | None = None,
    run: str | None = None,
    placement: str = "Other",
    line_freq: float | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the recording at ``path`` into the BIDS dataset at ``root``; return the EDF path.

    Raises
    ------
    ConfigError
        mne-bids missing, or a label or option BIDS does not allow.
    FileFormatError
        The input cannot be read, or the BIDS files cannot be written (e.g. they
        exist and ``overwrite`` is False).
    """
    mne_bids = _mne_bids()
    if placement not in PLACEMENTS:
        raise ConfigError(f"placement must be one of {', '.join(PLACEMENTS)}, got {placement!r}.")
    if line_freq is not None and not (math.isfinite(line_freq) and line_freq > 0):
        raise ConfigError(f"--line-freq must be a positive frequency in Hz, got {line_freq!r}.")
    raw = read_recording(path, preload=True)
    if "emg" not in raw.get_channel_types():
        raise FileFormatError(f"{Path(path).name} has no EMG channel; expected at least one.")
    if line_freq is not None:
        raw.info["line_freq"] = float(line_freq)
    try:
        bids_path = mne_bids.BIDSPath(
            subject=subject, session=session, task=task, run=run, datatype="emg", root=root
        )
    except ValueError as exc:
        raise ConfigError(f"not a valid BIDS label: {_first_line(exc)}.") from None
    # MNE-BIDS notes (e.g. "no coordsystem.json") go to the log, not to stdout
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            written = mne_bids.write_raw_bids(
                raw,
                bids_path,
                allow_preload=True,
                format="EDF",
                emg_placement=placement,
                overwrite=overwrite,
                verbose="error",
            )
        except FileExistsError:
            raise FileFormatError(
                f"{bids_path.basename} already exists in {root}; pass --overwrite to replace it."
            ) from None
        except (ValueError, RuntimeError, OSError) as exc:
            raise FileFormatError(f"cannot write BIDS: {_first_line(exc)}.") from None
    for w in caught:
        log.info("mne-bids: %s", w.message)
    return Path(written.fpath)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0].rstrip(".") if text else type(exc).__name__


def run_bids(args: argparse.Namespace) -> int:
    """Export, print the path of the EDF written."""
    out = export_bids(
        args.input,
        args.root,
        subject=args.subject,
        task=args.task,
        session=args.session,
        run=args.run,
        placement=args.placement,
        line_freq=args.line_freq,
        overwrite=args.overwrite,
    )
    print(f"wrote {out}", flush=True)
    return 0
