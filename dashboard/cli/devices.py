"""Serial devices, simulated and real: ``twitchscope simulate`` and ``twitchscope ports``.

``twitchscope simulate``: a simulated amplifier on a pseudo-terminal, for work without hardware.

It opens a pty that behaves like the real board of the chosen protocol (its
handshake, its packet format, its rate) and streams simulated surface EMG from
:mod:`twitchscope.signal.simulate` (baseline, mains, ECG where the scenario has it,
local twitch responses during needle sites, the odd confounder). Any program,
``twitchscope record`` included, opens the printed path as if it were the board.
With ``--link PATH`` the path is a stable symlink. With ``--video OUT.mp4`` it also
writes the synthetic ultrasound-like video of the simulation
(:mod:`twitchscope.signal.video.synthetic`, needs ``twitchscope[video]``) as it goes:
frame ``k`` shows simulation time ``k / 30`` s (the board's first sample is time 0),
the tissue moved by the same simulated twitches as the EMG, 30 ms after their onset.

Optional faults show how the rest of the chain copes: ``--drop-every S`` leaves
out a few packets every S seconds, ``--corrupt-every S`` breaks a few packets'
framing, ``--unplug-every S`` pulls the cable for half a second (needs ``--link``,
where the board comes back).

``twitchscope ports``: list serial ports with what they probably are, and probe them.

Each port is listed with its USB id and a guess from the VID:PID table (the FTDI
FT231X of a Cyton dongle, an Arduino, a CH340 or CP210x clone, an RP2040, a
Backyard Brains device…). The USB id names only the USB bridge, so ``--probe``
confirms by speaking each likely protocol's handshake at its baud rates (never
1200, which reboots some boards). Pseudo-terminals and URLs are not listed by
the system; give them with ``--port`` (e.g. the path ``twitchscope simulate``
prints).
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from twitchscope.acquisition.boards.registry import BOARDS, PROBE_ORDER, make_personality
from twitchscope.acquisition.emulation.pty_board import Emulator
from twitchscope.acquisition.transport.ports import PortInfo, list_ports, probe
from twitchscope.dashboard.services.live import default_scenario
from twitchscope.signal.core.checks import check_positive
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.simulate import PRESETS, SimConfig, init_sim_state, preset, sim_step

if TYPE_CHECKING:
    from twitchscope.signal.video.synthetic import VideoStream

__all__ = ["register", "run", "run_ports", "SimulatedSource"]

log = logging.getLogger(__name__)


class SimulatedSource:
    """``source(n)`` for the emulator: the next ``n`` samples of an endless simulation.

    Parameters
    ----------
    config : SimConfig
        The scenario (its ``sfreq`` and channels must match the emulated board).
    seed : int
        Random seed of the simulation.
    video : VideoStream or None
        Where to write the simulation's video as the samples are made (frames up to
        the last sample's time, moved by the true twitches), or None.
    """

    def __init__(self, config: SimConfig, *, seed: int, video: VideoStream | None = None) -> None:
        self.config = config
        self.state = init_sim_state(config, seed=seed)
        self.n_samples = 0
        self.video = video

    def __call__(self, n: int) -> NDArray[np.float64]:
        block, self.state = sim_step(self.config, n, self.state)
        self.n_samples += n
        if self.video is not None:
            self._write_video()
        return block.data

    def _write_video(self) -> None:
        """Frames up to the time generated, moved by the twitches of the last second."""
        from twitchscope.signal.simulate import truth_events
        from twitchscope.signal.video.synthetic import emg_video_twitches

        video = self.video
        assert video is not None
        t = self.n_samples / self.config.sfreq
        if t <= video.next_time_s:
            return
        start = max(0.0, video.next_time_s - 1.0)
        twitches = truth_events(self.config, self.state, start_s=start).twitches
        video.write_until(t, emg_video_twitches(twitches))


def register(subparsers: Any) -> None:
    """Add the ``simulate`` subcommand."""
    p = subparsers.add_parser(
        "simulate",
        help="a simulated amplifier on a pseudo-terminal (no hardware needed)",
        description=(
            "Open a pseudo-terminal that behaves like the board of the chosen protocol "
            "(handshake, packet format, rate) and stream simulated surface EMG with local "
            "twitch responses through it. Any program, twitchscope record included, opens "
            "the printed path as if it were the board."
        ),
    )
    p.add_argument("--protocol", required=True, choices=tuple(BOARDS), help="board to play")
    p.add_argument("--link", help="make this path a symlink to the pty (stable across --unplug)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the simulation (default 0)")
    p.add_argument(
        "--duration", type=float, help="stop after this many seconds (default: until Ctrl-C)"
    )
    p.add_argument(
        "--preset",
        choices=PRESETS,
        help="scenario of twitchscope.signal.simulate (default: cyton for cyton, else limb)",
    )
    p.add_argument(
        "--channels",
        type=int,
        help="channels (cyton 8 or 16, openeeg 1-6, spiker 1-6, ascii any; chords: see --board)",
    )
    p.add_argument("--board", help="chords only: the WHORU name of the board (default UNO-R4)")
    p.add_argument("--drop-every", type=float, metavar="S", help="drop 3 packets every S seconds")
    p.add_argument(
        "--corrupt-every", type=float, metavar="S", help="corrupt 2 packets every S seconds"
    )
    p.add_argument(
        "--unplug-every", type=float, metavar="S", help="disconnect for 0.5 s every S seconds"
    )
    p.add_argument(
        "--video",
        type=Path,
        metavar="OUT.mp4",
        help="also write the simulation's synthetic ultrasound-like video (160x120, 30 fps; "
        "frame k at k/30 s of the simulation), moved by its twitches; needs twitchscope[video]",
    )
    p.set_defaults(func=run)
    _register_ports(subparsers)


def run(args: argparse.Namespace) -> int:
    """Play the board until ``--duration`` or Ctrl-C; print where it is."""
    for name in ("duration", "drop_every", "corrupt_every", "unplug_every"):
        if getattr(args, name) is not None:
            check_positive(f"--{name.replace('_', '-')}", getattr(args, name))
    if args.unplug_every is not None and not args.link:
        raise ConfigError("--unplug-every needs --link PATH, where the board reappears.")
    board_spec = BOARDS[args.protocol]
    flags = dict(board_spec.emulator_flags)
    if args.board is not None and "board" not in flags:
        takers = " or ".join(n for n, b in BOARDS.items() if "board" in dict(b.emulator_flags))
        raise ConfigError(f"--board is for the {takers} protocol, not {args.protocol!r}.")
    options: dict[str, Any] = {
        keyword: getattr(args, flag)
        for flag, keyword in flags.items()
        if getattr(args, flag) is not None
    }
    board = make_personality(args.protocol, n_channels=args.channels, **options)
    name = args.preset or default_scenario(args.protocol)
    config = preset(name, sfreq=board.sfreq, n_channels=board.n_channels)
    video = None
    if args.video is not None:
        from twitchscope.signal.video.synthetic import SyntheticVideoSpec
        from twitchscope.signal.video.synthetic import VideoStream as _VideoStream

        video = _VideoStream(args.video, SyntheticVideoSpec(), seed=args.seed)
    source = SimulatedSource(config, seed=args.seed, video=video)
    stop = threading.Event()
    try:
        n_sent, n_overflow, emu_report = _serve(board, source, args, name, stop)
    finally:
        if video is not None:
            video.close()
    print(
        f"twitchscope simulate: sent {n_sent} samples ({n_sent / board.sfreq:.1f} s); "
        f"{n_overflow} not read in time and dropped; {emu_report}.",
        flush=True,
    )
    if video is not None:
        print(
            f"twitchscope simulate: wrote {video.n_frames} frames "
            f"({video.n_frames / video.scene.spec.fps:.1f} s) to {args.video}",
            flush=True,
        )
    return 0


def _serve(
    board: Any, source: SimulatedSource, args: argparse.Namespace, name: str, stop: threading.Event
) -> tuple[int, int, str]:
    """Run the emulator until the duration or Ctrl-C; (sent, overflowed, faults) back."""
    with Emulator(board, source, link=args.link) as emu:
        opts = ", ".join(f"{k}={v!r}" for k, v in board.reader_options().items())
        print(f"{emu.path}", flush=True)
        print(
            f"twitchscope simulate: {args.protocol} board ({board.n_channels} ch at "
            f"{board.sfreq:g} Hz, scenario {name!r}, seed {args.seed}) on {emu.path}; "
            f"reader options: {opts}. Ctrl-C to stop.",
            flush=True,
        )
        if source.video is not None:
            print(
                f"twitchscope simulate: writing its video to {args.video} (frame k at k/"
                f"{source.video.scene.spec.fps:g} s of the simulation)",
                flush=True,
            )
        try:
            _play(emu, args, stop)
        except KeyboardInterrupt:
            pass
        return (
            emu.n_sent,
            emu.n_overflow,
            f"{len(emu.dropped)} dropped and {len(emu.corrupted)} corrupted on purpose",
        )


def _play(emu: Emulator, args: argparse.Namespace, stop: threading.Event) -> None:
    """Wait for the duration, injecting the periodic faults asked for."""
    t0 = time.monotonic()
    end = None if args.duration is None else t0 + args.duration
    schedule = {
        "drop": args.drop_every,
        "corrupt": args.corrupt_every,
        "unplug": args.unplug_every,
    }
    due = {k: t0 + v for k, v in schedule.items() if v is not None}
    replug_at: float | None = None
    while True:
        now = time.monotonic()
        if end is not None and now >= end:
            return
        if replug_at is not None and now >= replug_at:
            emu.reconnect()
            log.info("simulated board plugged back in")
            replug_at = None
        for kind, when in list(due.items()):
            if now < when:
                continue
            due[kind] = when + schedule[kind]
            if kind == "drop":
                emu.drop_packets(3)
            elif kind == "corrupt":
                emu.corrupt_packets(2)
            elif replug_at is None:
                emu.disconnect()
                log.info("simulated board unplugged")
                replug_at = now + 0.5
        wake = [w for w in (*due.values(), replug_at, end) if w is not None]
        stop.wait(max(0.0, min(wake) - time.monotonic()) if wake else None)


def _register_ports(subparsers: Any) -> None:
    """Add the ``ports`` subcommand."""
    p = subparsers.add_parser(
        "ports",
        help="list serial ports and what they probably are (--probe to confirm)",
        description=(
            "List serial ports with what they probably are, from their USB VID:PID. "
            "--probe confirms by each likely protocol's handshake at its baud rates "
            "(never 1200). Pseudo-terminals and URLs are not listed; give them with --port."
        ),
    )
    p.add_argument("--probe", action="store_true", help="confirm each port's protocol by handshake")
    p.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="PATH",
        help="also probe this path or URL (repeatable); implies --probe",
    )
    p.add_argument(
        "--protocol",
        action="append",
        choices=PROBE_ORDER,
        help="only try this protocol when probing (repeatable)",
    )
    p.add_argument(
        "--listen",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds to listen to boards that stream unasked (default 1)",
    )
    p.set_defaults(func=run_ports)


def run_ports(args: argparse.Namespace) -> int:
    """Print the ports, then the probe results if asked."""
    ports = list_ports()
    if ports:
        print(f"{'port':<22} {'usb id':<10} probably")
        for p in ports:
            print(_describe(p))
    else:
        print("no serial ports found (pseudo-terminals and URLs are never listed; use --port)")
    targets: list[tuple[str, tuple[str, ...] | None]] = []
    if args.probe or args.port:
        if args.probe:
            for p in ports:
                if p.vid is not None:  # probing built-in UARTs (ttyS*) only wastes time
                    targets.append((p.stable_path, p.protocols))
        targets += [(path, None) for path in args.port]
    for path, likely in targets:
        protocols = tuple(args.protocol) if args.protocol else likely
        results = probe(path, protocols=protocols, listen_s=args.listen)
        hits = [r for r in results if r.ok]
        if hits:
            r = hits[0]
            print(f"{path}: {r.protocol} at {r.baudrate} baud: {r.detail}")
        else:
            tried = ", ".join(sorted({r.protocol for r in results})) or "nothing"
            last = f" ({results[-1].detail})" if results else ""
            print(f"{path}: no known protocol answered (tried {tried}){last}")
    return 0


def _describe(p: PortInfo) -> str:
    if p.vid is None:
        guess = "not a USB device (a built-in UART or a virtual port)"
    else:
        guess = p.guess or p.description or "-"
    extra = []
    if p.serial_number:
        extra.append(f"serial {p.serial_number}")
    if p.by_id:
        extra.append(p.by_id)
    tail = f" [{'; '.join(extra)}]" if extra else ""
    return f"{p.device:<22} {p.usb_id or '-':<10} {guess}{tail}"
