"""``twitchscope dashboard``: argument checks and the streamlit command line."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from twitchscope.dashboard.cli import dashboard as cmd_dashboard
from twitchscope.dashboard.cli.main import COMMAND_MODULES, main
from twitchscope.signal.core.errors import ConfigError, FileFormatError


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cmd_dashboard.register(parser.add_subparsers())
    return parser.parse_args(["dashboard", *argv])


def test_defaults_bind_localhost_on_the_simulated_amplifier() -> None:
    args = _parse([])
    assert (args.host, args.port, args.source, args.protocol) == (
        "127.0.0.1",
        8501,
        "simulated",
        "cyton",
    )
    cmd = cmd_dashboard.build_command(port=args.port, host=args.host)
    server = "twitchscope.dashboard.cli.dashboard"  # serve(): streamlit after the warm-up
    assert cmd[:5] == [sys.executable, "-m", server, "run", str(cmd_dashboard.APP)]
    opts = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert opts["--server.address"] == "127.0.0.1" and opts["--server.port"] == "8501"
    assert opts["--server.headless"] == "true"
    assert opts["--browser.gatherUsageStats"] == "false"
    assert opts["--server.maxUploadSize"] == "200"
    # no gc.collect(2) after each of the live panel's runs (several a second)
    assert opts["--runner.postScriptGC"] == "false"
    assert cmd_dashboard.APP.is_file()


def test_every_server_option_is_one_streamlit_knows() -> None:
    from streamlit import config

    cmd = cmd_dashboard.build_command(port=8501, host="127.0.0.1")
    names = [flag.removeprefix("--") for flag in cmd[5::2]]
    for name in names:
        config.get_option(name)  # raises for an option Streamlit does not have
    with pytest.raises(RuntimeError):
        config.get_option("runner.noSuchOption")


def test_source_kinds(tmp_path) -> None:
    f = tmp_path / "rec.edf"
    f.write_bytes(b"0")
    assert cmd_dashboard.classify_source("simulated") == ("simulated", "simulated")
    assert cmd_dashboard.classify_source("/dev/ttyUSB0") == ("serial", "/dev/ttyUSB0")
    assert cmd_dashboard.classify_source("loop://") == ("serial", "loop://")
    assert cmd_dashboard.classify_source(str(f)) == ("file", str(f.resolve()))
    with pytest.raises(FileFormatError, match="not an existing file; expected 'simulated'"):
        cmd_dashboard.classify_source(str(tmp_path / "nope.edf"))


def test_bad_arguments_raise_one_line() -> None:
    with pytest.raises(ConfigError, match="--port must be a TCP port 1-65535, got 70000"):
        cmd_dashboard.build_command(port=70000, host="127.0.0.1")
    with pytest.raises(ConfigError, match="--protocol must be one of"):
        cmd_dashboard.run(_parse(["--protocol", "nonsense"]))


def test_cli_prints_one_line_for_a_missing_file(tmp_path, capsys) -> None:
    assert "twitchscope.dashboard.cli.dashboard" in COMMAND_MODULES
    code = main(["dashboard", "--source", str(tmp_path / "missing.fif")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("twitchscope: error: --source") and "missing.fif" in err[0]


def test_the_warm_up_imports_no_streamlit() -> None:
    """The server imports these before Streamlit starts: none may create Streamlit state
    (a cache made outside a runtime would be a memory cache, for example)."""
    code = (
        "import importlib, sys\n"
        "from twitchscope.dashboard.cli.dashboard import WARM_MODULES\n"
        "for m in WARM_MODULES: importlib.import_module(m)\n"
        "assert 'mne' in sys.modules and 'scipy.signal' in sys.modules\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'streamlit'))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout


def test_after_the_warm_up_the_first_live_page_imports_none_of_ours() -> None:
    """What the server imports before it serves covers what the first visit's run of the
    Live page would import (our modules, MNE's lazily loaded parts, SciPy): the first
    visitor does not wait for imports. Run as the server does (the simulated amplifier
    started before the page), in a fresh interpreter."""
    code = (
        "import os, sys\n"
        "from twitchscope.dashboard.services.stream_source import ENV_SOURCE, SIMULATED\n"
        "os.environ[ENV_SOURCE] = SIMULATED\n"
        "from twitchscope.dashboard.cli import dashboard as d\n"
        "assert d.warm_up() == ''\n"
        "from streamlit.testing.v1 import AppTest\n"
        "before = set(sys.modules)\n"
        "at = AppTest.from_file(str(d.APP), default_timeout=60).run()\n"
        "assert not at.exception, at.exception\n"
        "assert at.session_state['live_view'] is not None\n"
        "from twitchscope.dashboard.app.state import acquisition_owner\n"
        "acquisition_owner().stop()\n"
        "new = sorted(m for m in set(sys.modules) - before\n"
        "             if m.split('.')[0] in ('twitchscope', 'mne', 'scipy', 'pandas', 'PIL'))\n"
        "print(new)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout


def test_serve_runs_the_streamlit_command_line() -> None:
    """``python -m twitchscope.dashboard.cli.dashboard`` is the streamlit command line."""
    out = subprocess.run(
        [sys.executable, "-m", "twitchscope.dashboard.cli.dashboard", "version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Streamlit, version")
