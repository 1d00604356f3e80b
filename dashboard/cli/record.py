"""``twitchscope record``: record a board to FIF/EDF+, crash-safe while it runs.

The board is read through the reader thread and its ring buffer; every sample
goes to a ``<name>.partial`` folder next to the output (an append-only data file
and a JSON sidecar, flushed and fsync'd at least once a second). The recording
ends after ``--duration`` seconds by the host clock (even if the board falls
silent or vanishes), or on Ctrl-C (SIGINT) or SIGTERM; it is then finalized to
the output file and the partial folder is removed (``--keep-partial`` keeps it).
Lost samples are zero-filled in the file and covered by ``BAD_ACQ_SKIP``
annotations. After a crash or ``kill -9``, ``twitchscope recover`` rebuilds the
recording from the partial folder. With ``--lsl`` the EMG channels are also published
on Lab Streaming Layer as they are recorded (µV, stamped by sample index), with a
marker stream of the twitches a streaming detector finds (``LTR? channel=... id=<n>``
while a candidate that looks like a twitch goes on, then ``LTR channel=... id=<n>`` or
``LTR-withdrawn id=<n> reason=...`` once it is decided; see
:mod:`twitchscope.dashboard.services.lsl_outlet`), so LabRecorder can store them next to
the lab's other signals.

Needle sites go into the partial folder as they are marked (they survive a crash and
come back with recover), at the recording's stream time (samples recorded / rate):
typed in the terminal while recording (on by default when stdin is a terminal,
--keys for piped input): a label and Enter = needle in at that site (an open site
ends there), Enter on an empty line or '.' = needle out, '?' = help; from --sites
FILE, a table onset_s,duration_s,label (the .sites.csv layout; sites past the end of
the recording are cut at its end, those starting after it are left out with a
warning); from --lsl-markers NAME, an LSL marker stream whose 'needle:<label>' and
'needle-out' markers start and end sites, placed by their LSL time stamps (clock
corrected) relative to the moment they arrive.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from twitchscope.acquisition.boards.handshake import Driver
from twitchscope.acquisition.boards.registry import BOARDS, make_driver
from twitchscope.acquisition.recording.partial_format import partial_path_for
from twitchscope.acquisition.recording.recorder import Recorder
from twitchscope.acquisition.recording.site_input import (
    KEYS_HELP,
    SiteInput,
    read_key_lines,
    read_markers,
)
from twitchscope.acquisition.transport.reader import Reader, ReaderState
from twitchscope.acquisition.transport.ring_buffer import BufferRead
from twitchscope.dashboard.cli.options import add_detector_options, detector_config
from twitchscope.dashboard.services.live import parse_channel_names
from twitchscope.dashboard.services.session_files import finalize, summary_line
from twitchscope.signal.core.checks import check_option, check_positive
from twitchscope.signal.core.errors import (
    ConfigError,
    DeviceError,
    FileFormatError,
    TwitchscopeError,
)
from twitchscope.signal.core.model import NeedleSite, SampleBlock
from twitchscope.signal.io.delimited import read_sites_csv
from twitchscope.signal.io.writers import EDF_LABEL_LENGTH

if TYPE_CHECKING:  # imported when --lsl is given (pylsl is optional)
    from twitchscope.dashboard.services.lsl_outlet import LslRelay

__all__ = ["register", "run", "driver_from_options", "record_to_partial", "OUT_SUFFIXES"]

log = logging.getLogger(__name__)

#: output formats a recording can be finalized to
OUT_SUFFIXES = (".fif", ".fif.gz", ".edf", ".bdf")
#: after ``--duration`` by the host clock, how long to wait for samples still in flight
_GRACE_S = 0.5
#: longest wait for new samples before checking the clock and flushing again
_POLL_S = 0.2


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``record`` subcommand."""
    p = subparsers.add_parser(
        "record",
        help="record a board on a serial port to FIF/EDF+ (crash-safe while it runs)",
        description=__doc__.split("\n\n", 1)[1].replace("``", "") if __doc__ else None,
    )
    p.add_argument("--port", required=True, help="serial port path, by-id link, pty or URL")
    p.add_argument("--protocol", required=True, metavar="NAME", help=f"one of {', '.join(BOARDS)}")
    p.add_argument("--out", required=True, metavar="FILE", help="output .fif or .edf (or .bdf)")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S seconds")
    p.add_argument("--baud", type=int, default=None, metavar="N", help="baud rate")
    p.add_argument(
        "--sfreq",
        type=float,
        default=None,
        metavar="HZ",
        help="sampling rate, for protocols that do not say it (ascii; openeeg, default 250)",
    )
    p.add_argument(
        "--channels",
        type=int,
        default=None,
        metavar="N",
        help="channels (ascii: numbers per line, default 1; openeeg: 1-6, default 6; "
        "spiker: 1-6, default 1)",
    )
    p.add_argument(
        "--scale",
        type=float,
        default=None,
        metavar="V",
        help="ascii: volts per printed unit (default 1e-6: the sketch prints microvolts)",
    )
    p.add_argument(
        "--names",
        default=None,
        metavar="A,B,...",
        help="names of the EMG channels, comma-separated, one per channel the board streams "
        "(e.g. R-UpTrap,R-LevScap,...; default ch1, ch2, ...)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    add_detector_options(p, optional=True)
    p.add_argument(
        "--keep-partial", action="store_true", help="keep the .partial folder after finalizing"
    )
    p.add_argument(
        "--lsl",
        action="store_true",
        help="also publish the EMG and twitch markers on Lab Streaming Layer (needs pylsl)",
    )
    p.add_argument(
        "--lsl-name",
        default="twitchscope",
        metavar="NAME",
        help="LSL stream name (markers: NAME-markers; default twitchscope)",
    )
    p.add_argument(
        "--keys",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="mark needle sites by typing (a label and Enter = in, an empty line or '.' = "
        "out); default: on when stdin is a terminal",
    )
    p.add_argument(
        "--sites",
        default=None,
        metavar="FILE",
        help="add the needle sites of a CSV (onset_s,duration_s,label) to the recording",
    )
    p.add_argument(
        "--lsl-markers",
        default=None,
        metavar="NAME",
        help="mark needle sites from the LSL marker stream NAME ('needle:<label>', "
        "'needle-out'; needs pylsl)",
    )
    p.add_argument(
        "--connect-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="give up if the board does not stream within S seconds (default 10)",
    )
    p.set_defaults(func=run)


def driver_from_options(
    protocol: str,
    *,
    baudrate: int | None = None,
    sfreq: float | None = None,
    n_channels: int | None = None,
    scale: float | None = None,
) -> Driver:
    """The host-side driver for ``protocol``, from the command-line options.

    Only the options a protocol uses are passed on to
    :func:`twitchscope.acquisition.boards.registry.make_driver`: the baud rate for all,
    and what :meth:`~twitchscope.acquisition.boards.base.Board.host_options` says the
    board takes (e.g. the channel count for Spiker, OpenEEG and ASCII; the rate for
    OpenEEG, 250 Hz by default, and ASCII, required; the scale for ASCII, 1e-6 V per
    unit by default: the sketch prints microvolts).

    Raises
    ------
    ConfigError
        Unknown protocol, or an option it needs missing or out of range.
    """
    check_option("protocol", protocol, tuple(BOARDS))
    options: dict[str, Any] = {}
    if baudrate is not None:
        if int(baudrate) == 1200:
            raise ConfigError("--baud 1200 is refused: it reboots native-USB Arduinos.")
        options["baudrate"] = int(check_positive("--baud", baudrate))
    options.update(BOARDS[protocol].host_options(sfreq=sfreq, n_channels=n_channels, scale=scale))
    return make_driver(protocol, **options)


def record_to_partial(
    reader: Reader,
    recorder: Recorder,
    *,
    duration_s: float | None,
    stop: threading.Event,
    clock: Callable[[], float] = time.monotonic,
    on_block: Callable[[SampleBlock], None] | None = None,
) -> None:
    """Copy the reader's blocks to ``recorder`` until ``stop``, the duration, or the reader ends.

    With ``duration_s`` the recording is cut at ``duration_s * sfreq`` samples (lost
    ones included) and ends at the latest ``duration_s`` plus half a second after
    the call by the host clock, whether the board streams or not; when the board
    stopped sending before, the missing tail is a gap to the requested end
    (``BAD_ACQ_SKIP``), so the file says when the board stopped. ``on_block`` is
    called with every block written (e.g. to publish it on LSL).
    """
    buffer = reader.buffer
    sfreq = recorder.sfreq
    target = None if duration_s is None else max(1, round(duration_s * sfreq))
    deadline = None if duration_s is None else clock() + duration_s + _GRACE_S
    cursor = 0  # everything the reader produced since it started
    while True:
        cursor = _copy_new(buffer.read(cursor), recorder, target, on_block)
        recorder.maybe_flush()
        if target is not None and recorder.n_samples >= target:
            break
        if stop.is_set() or (deadline is not None and clock() >= deadline):
            break
        if reader.state == ReaderState.STOPPED:  # gave up on its own (see reader.error)
            break
        wait = _POLL_S if deadline is None else max(0.0, min(_POLL_S, deadline - clock()))
        if not buffer.wait_for(cursor + 1, timeout=wait) and buffer.closed:
            time.sleep(wait)
    reader.stop()
    # samples that arrived while stopping
    _copy_new(buffer.read(cursor), recorder, target, on_block)
    if target is not None and recorder.n_samples < target and not stop.is_set():
        stopped_s = recorder.duration_s
        recorder.mark_lost_tail(target - recorder.n_samples)
        log.warning(
            "the board sent nothing after %.2f s of the %.2f s asked for; the rest is marked "
            "BAD_ACQ_SKIP (lost)",
            stopped_s,
            duration_s,
        )


def _copy_new(
    got: BufferRead,
    recorder: Recorder,
    target: int | None,
    on_block: Callable[[SampleBlock], None] | None = None,
) -> int:
    if got.n_missed:
        log.warning("the recorder fell behind the reader and missed %d samples", got.n_missed)
    for block in got.blocks:
        if target is not None:
            room = target - recorder.n_samples - block.n_lost_before
            if room <= 0:
                break
            if block.n_samples > room:
                block = SampleBlock(
                    block.data[:, :room],
                    sfreq=block.sfreq,
                    first_sample=block.first_sample,
                    ch_names=block.ch_names,
                    n_lost_before=block.n_lost_before,
                )
        recorder.write(block)
        if on_block is not None:
            on_block(block)
    return int(got.cursor)


def run(args: argparse.Namespace) -> int:
    """Record, finalize, print a one-line summary."""
    out = Path(args.out)
    if not out.name.lower().endswith(OUT_SUFFIXES):
        raise ConfigError(f"--out must end in .fif or .edf (or .bdf), got {str(out)!r}.")
    if args.duration is not None:
        check_positive("--duration", args.duration)
    check_positive("--connect-timeout", args.connect_timeout)
    if out.exists() and not args.overwrite:
        raise FileFormatError(f"{str(out)!r} already exists; pass --overwrite to replace it.")
    if not out.parent.is_dir():
        raise FileFormatError(f"cannot write {str(out)!r}: its folder does not exist.")
    detector = detector_config(args)  # a bad --set fails before anything is recorded
    planned = _planned_sites(args.sites)  # so does a bad --sites file
    if args.lsl_markers is not None:
        _check_lsl_markers(args.lsl_markers)
    keys = sys.stdin is not None and (sys.stdin.isatty() if args.keys is None else args.keys)
    partial = partial_path_for(out)
    if partial.exists():
        raise FileFormatError(
            f"{str(partial)!r} exists from an earlier recording; recover it with "
            f"'twitchscope recover {partial}' or move it away first."
        )
    names = None if args.names is None else parse_channel_names(args.names, option="--names")
    driver = driver_from_options(
        args.protocol,
        baudrate=args.baud,
        sfreq=args.sfreq,
        n_channels=args.channels,
        scale=args.scale,
    )
    stop = threading.Event()
    with _stop_on_signals(stop):
        reader = Reader(args.port, driver, connect_timeout_s=args.connect_timeout, ch_names=names)
        reader.start()
        assert reader.spec is not None  # set once streaming
        relay = None
        try:
            _check_edf_labels(out, reader.ch_names, reader.ch_types)
            if args.lsl:
                relay = _lsl_relay(args, reader.ch_names, reader.ch_types, reader.spec.sfreq)
            recorder = Recorder(
                partial,
                sfreq=reader.spec.sfreq,
                ch_names=reader.ch_names,
                ch_types=reader.ch_types,
                device=str(args.port),
                protocol=args.protocol,
                target=str(out),
            )
        except BaseException:
            reader.stop()
            if relay is not None:
                relay.publisher.close()
            raise
        print(
            f"recording {len(reader.ch_names)} channels at {recorder.sfreq:g} Hz from "
            f"{args.port} to {partial} "
            + (f"for {args.duration:g} s" if args.duration else "until Ctrl-C"),
            file=sys.stderr,
            flush=True,
        )
        inputs = threading.Event()  # set when the recording stops taking sites
        try:
            _start_site_inputs(args, recorder, planned, keys=keys, stop=inputs)
            record_to_partial(
                reader,
                recorder,
                duration_s=args.duration,
                stop=stop,
                on_block=None if relay is None else _never_stops_recording(relay),
            )
            if relay is not None:
                try:
                    relay.finish()
                except Exception as exc:  # as in _never_stops_recording
                    log.error("LSL: the last twitch markers were not published: %s", exc)
        finally:
            inputs.set()
            reader.stop()
            recorder.close()
            if relay is not None:
                relay.publisher.close()
    if recorder.n_samples == 0:
        shutil.rmtree(partial, ignore_errors=True)
        raise DeviceError(f"{args.port}: the board sent no samples; nothing was recorded.")
    try:
        summary = finalize(
            partial,
            out,
            detector=detector,
            overwrite=args.overwrite,
            remove_partial=not args.keep_partial,
        )
    except TwitchscopeError as exc:
        raise FileFormatError(
            f"{exc} The recording is safe in {partial}; write it with "
            f"'twitchscope recover {partial} --out FILE'."
        ) from None
    print(f"recorded {summary_line(summary)}", flush=True)
    if reader.error is not None:
        raise reader.error
    return 0


def _stderr_line(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _planned_sites(path: str | None) -> list[NeedleSite]:
    """The sites of ``--sites FILE`` (none without it); a bad file is one line."""
    if path is None:
        return []
    sites_path = Path(path)
    if not sites_path.is_file():
        raise FileFormatError(f"--sites {str(sites_path)!r}: no such file.")
    return read_sites_csv(sites_path)


def _check_lsl_markers(name: str) -> None:
    from twitchscope.dashboard.services.lsl_outlet import import_pylsl

    if not name.strip():
        raise ConfigError("--lsl-markers needs the name of an LSL marker stream.")
    import_pylsl()  # a missing pylsl is one line before anything is recorded


def _start_site_inputs(
    args: argparse.Namespace,
    recorder: Recorder,
    planned: list[NeedleSite],
    *,
    keys: bool,
    stop: threading.Event,
) -> None:
    """Add the planned sites, and take typed and LSL needle sites until ``stop``."""
    for site in planned:
        recorder.add_site(site)
    if planned:
        _stderr_line(f"added {len(planned)} needle sites from {args.sites}")
    sites = SiteInput(recorder, report=_stderr_line)
    if keys:
        _ignore_background_reads()
        _stderr_line(KEYS_HELP)
        read_key_lines(sys.stdin, sites, stop)
    if args.lsl_markers is not None:
        read_markers(
            _lsl_marker_pull(args.lsl_markers),
            sites,
            stop,
            on_error=lambda exc: log.error(
                "LSL: needle markers stopped (the recording goes on): %s", exc
            ),
        )


def _ignore_background_reads() -> None:
    """A terminal read from the background fails (EIO, retried) instead of stopping us."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTTIN"):
        signal.signal(signal.SIGTTIN, signal.SIG_IGN)


def _lsl_marker_pull(name: str) -> Callable[[float], tuple[str | None, float]]:
    """``pull(timeout) -> (marker, age_s)`` on the LSL stream ``name``, found when it appears.

    The inlet corrects the sender's time stamps to this machine's LSL clock
    (``proc_clocksync``); a marker's age is ``local_clock()`` minus its stamp.
    """
    from twitchscope.dashboard.services.lsl_outlet import import_pylsl

    pylsl = import_pylsl()
    inlet: list[Any] = []

    def pull(timeout: float) -> tuple[str | None, float]:
        if not inlet:
            found = pylsl.resolve_byprop("name", name, minimum=1, timeout=timeout)
            if not found:
                return None, 0.0
            stream = pylsl.StreamInlet(
                found[0], max_buflen=60, processing_flags=pylsl.proc_clocksync
            )
            stream.open_stream(timeout=10.0)
            inlet.append(stream)
            _stderr_line(f"LSL: reading needle markers from {name!r}")
        sample, stamp = inlet[0].pull_sample(timeout=timeout)
        if sample is None:
            return None, 0.0
        return str(sample[0]), max(0.0, pylsl.local_clock() - float(stamp))

    return pull


def _lsl_relay(
    args: argparse.Namespace,
    ch_names: tuple[str, ...],
    ch_types: tuple[str, ...],
    sfreq: float,
) -> LslRelay:
    """The LSL publisher of the EMG channels, with a detector for the twitch markers."""
    from twitchscope.dashboard.services.lsl_outlet import LslPublisher, LslRelay

    emg = tuple(n for n, t in zip(ch_names, ch_types, strict=True) if t == "emg")
    if not emg:
        raise ConfigError(f"{args.port}: the board has no EMG channel to publish on LSL.")
    publisher = LslPublisher(sfreq=sfreq, ch_names=emg, name=args.lsl_name, device=str(args.port))
    config = detector_config(args)
    print(
        f"publishing {len(emg)} EMG channels on LSL as {publisher.name!r}"
        + (f" with twitch markers as {publisher.name + '-markers'!r}" if config else ""),
        file=sys.stderr,
        flush=True,
    )
    return LslRelay(publisher, ch_names=ch_names, config=config)


def _never_stops_recording(relay: LslRelay) -> Callable[[SampleBlock], None]:
    """``relay.feed`` that, on any error, stops publishing (logged) but never the recording."""
    failed: list[BaseException] = []

    def feed(block: SampleBlock) -> None:
        if failed:
            return
        try:
            relay.feed(block)
        except Exception as exc:  # LSL is a side channel: the recording goes on
            failed.append(exc)
            log.error("LSL publishing stopped (the recording goes on): %s", exc)

    return feed


def _check_edf_labels(out: Path, ch_names: tuple[str, ...], ch_types: tuple[str, ...]) -> None:
    """Refuse before recording what EDF/BDF could not store at the end."""
    if not out.name.lower().endswith((".edf", ".bdf")):
        return
    for name, ch_type in zip(ch_names, ch_types, strict=True):
        label = f"{ch_type.upper()} {name}"
        if len(label) > EDF_LABEL_LENGTH or not label.isascii():
            raise ConfigError(
                f"channel {name!r} cannot be an EDF/BDF label ({label!r}: at most "
                f"{EDF_LABEL_LENGTH} ASCII characters with the type); record to .fif instead."
            )


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """Turn the first SIGINT or SIGTERM into ``stop``; a second SIGINT interrupts as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set() and signum == signal.SIGINT:
            raise KeyboardInterrupt
        log.info("stopping on %s", signal.Signals(signum).name)
        stop.set()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
