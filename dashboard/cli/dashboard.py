"""``twitchscope dashboard``: the Streamlit dashboard, live, replay and review.

``--source simulated`` (the default) starts the simulated amplifier: a board
emulated on a pseudo-terminal, read through the real serial path. ``--source
FILE`` opens a recording in Replay and plays it; ``--source /dev/ttyUSB0`` (with
``--protocol``) streams a real board. The server binds to 127.0.0.1 unless
``--host`` says otherwise: the dashboard has no login, so expose it to a network
only on purpose. ``--profile PROFILE.toml`` (from ``twitchscope calibrate``) is the
detector of every page (Live, Replay, Review); the Settings page can drop it.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from twitchscope.acquisition.boards.registry import BOARDS
from twitchscope.dashboard.services.stream_source import ENV_PROTOCOL, ENV_SOURCE, SIMULATED
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.review.profile import read_profile

#: Environment variable the Review page reads the ``--profile`` from (see
#: ``twitchscope.dashboard.app.review_panel``; the app layer is not imported here).
ENV_PROFILE = "TWITCHSCOPE_PROFILE"

__all__ = [
    "register",
    "run",
    "build_command",
    "classify_source",
    "serve",
    "warm_up",
    "APP",
    "WARM_MODULES",
    "WARM_OPTIONAL",
    "WARM_STREAMLIT",
    "WARM_APP",
]

#: The Streamlit script.
APP = Path(__file__).parents[1] / "app" / "streamlit_app.py"
_PORT_PREFIXES = ("/dev/", "COM", "loop://", "socket://", "spy://", "rfc2217://")
#: Imported by the server process before it serves a page (:func:`serve`): SciPy, MNE,
#: pandas and the layers under the app. None of them imports Streamlit.
WARM_MODULES = (
    "scipy.signal",
    "scipy.stats",
    "pandas",
    "mne",
    "twitchscope.signal.simulate",
    "twitchscope.signal.detect.run",
    "twitchscope.acquisition.transport.reader",
    "twitchscope.dashboard.services.live",
    "twitchscope.dashboard.services.stream_view",
    "twitchscope.dashboard.services.replay",
    "twitchscope.dashboard.services.review_analysis",
)
#: Imported too when installed: the camera's WebRTC stack (the ``video`` extra), which
#: the Live page's camera panel imports on the first visit (~0.4 s on a small machine).
WARM_OPTIONAL = ("aiortc",)
#: Streamlit's own module imported at the first page's ``set_page_config`` (its emoji
#: table: ~0.3 s), imported with Streamlit itself; it holds no state.
WARM_STREAMLIT = ("streamlit.emojis",)
#: The Live page's own modules and what they import at the first visit (MNE's lazily
#: loaded parts, the signal-quality and per-site statistics, Pillow for the simulated
#: video): ~0.2 s of the first run on a small machine. Imported after Streamlit, with the
#: app's state module (:func:`warm_up`).
WARM_APP = (
    "mne.io",
    "mne.time_frequency",
    "PIL.Image",
    "twitchscope.signal.analysis.stats",
    "twitchscope.signal.analysis.quality",
    "twitchscope.dashboard.services.exporting",
    "twitchscope.dashboard.services.session_files",
    "twitchscope.dashboard.app.panels",
    "twitchscope.dashboard.app.plots",
    "twitchscope.dashboard.app.scope.panel",
    "twitchscope.dashboard.app.camera",
    "twitchscope.dashboard.app.video.live",
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``dashboard`` subcommand."""
    p = subparsers.add_parser(
        "dashboard",
        help="open the dashboard (live, replay, review)",
        description=__doc__.split("\n\n")[1].replace("``", "") if __doc__ else None,
    )
    p.add_argument("--port", type=int, default=8501, help="TCP port (default 8501)")
    p.add_argument(
        "--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)"
    )
    p.add_argument(
        "--source",
        default=SIMULATED,
        metavar="simulated|FILE|SERIAL_PORT",
        help="what to show first (default: the simulated amplifier)",
    )
    p.add_argument(
        "--protocol",
        default="cyton",
        help="board protocol for a serial port or the simulated amplifier (default cyton)",
    )
    p.add_argument(
        "--open-browser", action="store_true", help="open a browser tab on the dashboard"
    )
    p.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="PROFILE.toml",
        help="a detector profile from `twitchscope calibrate`: the detector of every page "
        "(the Settings page can drop it)",
    )
    p.set_defaults(func=run)


def classify_source(source: str) -> tuple[str, str]:
    """Return ``(kind, value)``: ``("simulated", …)``, ``("serial", port)`` or ``("file", path)``.

    Raises
    ------
    FileFormatError
        A path that is neither a serial port nor an existing file.
    """
    source = source.strip()
    if source.lower() == SIMULATED:
        return "simulated", SIMULATED
    if source.startswith(_PORT_PREFIXES):
        return "serial", source
    path = Path(source).expanduser()
    if path.is_file():
        return "file", str(path.resolve())
    raise FileFormatError(
        f"--source {source!r} is not an existing file; expected 'simulated', a recording file "
        "or a serial port (/dev/ttyUSB0, COM3, loop://…)."
    )


def build_command(*, port: int, host: str, open_browser: bool = False) -> list[str]:
    """The ``streamlit run`` command line, run by :func:`serve` (this module as ``-m``)."""
    if isinstance(port, bool) or not 1 <= int(port) <= 65535:
        raise ConfigError(f"--port must be a TCP port 1-65535, got {port!r}.")
    if not host.strip():
        raise ConfigError("--host must be an address such as 127.0.0.1, got an empty string.")
    return [
        sys.executable,
        "-m",
        "twitchscope.dashboard.cli.dashboard",  # serve(): streamlit after the warm-up
        "run",
        str(APP),
        "--server.port",
        str(int(port)),
        "--server.address",
        host,
        "--server.headless",
        "false" if open_browser else "true",
        "--server.maxUploadSize",
        "200",
        "--server.fileWatcherType",
        "none",
        # no full garbage collection after every run: the live panel runs several
        # times a second, and gc.collect(2) over SciPy, MNE and pandas took ~40 % of
        # the server's CPU while one page streamed (measured with py-spy)
        "--runner.postScriptGC",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--theme.base",
        "light",
        "--client.toolbarMode",
        "viewer",
    ]


def run(args: argparse.Namespace) -> int:
    """Start the Streamlit server and wait for it (Ctrl-C stops it)."""
    kind, value = classify_source(args.source)
    if args.protocol not in BOARDS:
        raise ConfigError(f"--protocol must be one of {', '.join(BOARDS)}, got {args.protocol!r}.")
    cmd = build_command(port=args.port, host=args.host, open_browser=args.open_browser)
    env = dict(os.environ)
    env[ENV_SOURCE] = value
    env[ENV_PROTOCOL] = args.protocol
    env.pop(ENV_PROFILE, None)
    if args.profile is not None:
        read_profile(args.profile)  # a bad profile is refused before the server starts
        env[ENV_PROFILE] = str(args.profile.resolve())
    where = "the simulated amplifier" if kind == "simulated" else value
    print(
        f"twitchscope dashboard on http://{args.host}:{args.port}/ ({where}); Ctrl-C stops it.",
        flush=True,
    )
    if os.name == "posix":
        # Become the server: a signal sent to this process (Ctrl-C, SIGTERM from a
        # supervisor or a test) reaches Streamlit itself, and no orphan is left behind.
        os.execve(cmd[0], cmd, env)
    proc = subprocess.Popen(cmd, env=env)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        raise


def warm_up() -> str:
    """Make the server ready before it serves: import what the first visit would (see
    :func:`serve`) and start the live ``--source``; why the source could not start, or
    '' (the Live page says it too)."""
    for name in WARM_MODULES:
        importlib.import_module(name)
    for name in WARM_OPTIONAL:
        try:
            importlib.import_module(name)
        except ImportError:
            pass  # the camera panel says what to install
    for name in WARM_STREAMLIT:
        importlib.import_module(name)
    # the app's modules declare st.cache_data functions, which log "No runtime found"
    # when declared before Streamlit's runtime exists: true, and no concern here (the
    # caches themselves are made at the first call, in a run)
    caching = logging.getLogger("streamlit.runtime.caching.cache_data_api")
    level = caching.level
    caching.setLevel(logging.ERROR)
    try:
        from twitchscope.dashboard.app.state import autostart_live_source

        for name in WARM_APP:
            importlib.import_module(name)
    finally:
        caching.setLevel(level)
    # The first element of the first page asks ``inspect.stack()`` whether Streamlit runs
    # in a REPL (once per process); its first call maps every loaded module to its file
    # (~0.35 s with SciPy and MNE loaded). Made here, the first visit finds it done.
    inspect.stack()
    return autostart_live_source()


def serve(argv: Sequence[str]) -> int:
    """Run the ``streamlit`` command line ``argv`` in this process, after
    :func:`warm_up`.

    Streamlit imports the app's modules when the first page is opened; SciPy, MNE and
    the detector take seconds to import on a small machine, and the first visitor would
    wait for them (and for the Live page's own modules, 0.2 s more, and a first
    ``inspect.stack()``, 0.35 s). Done here, while the server starts, the first page
    opens as quickly as the next. The live ``--source`` (the simulated amplifier or a serial
    port) is started here too: the first visitor finds it streaming, its window full,
    instead of waiting for it in the page's first run (0.2 s for the simulated board).
    """
    from streamlit.web import cli as streamlit_cli

    failed = warm_up()
    if failed:
        print(f"twitchscope dashboard: {failed}", file=sys.stderr, flush=True)

    streamlit_cli.main(args=list(argv), prog_name="streamlit")  # click: exits when done
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1:]))
