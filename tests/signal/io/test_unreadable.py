"""A file that exists but cannot be read: one line, exit 2 (never a traceback).

Tests run as root, which reads a file whatever its mode, so the unreadable file is one
whose open succeeds and whose read fails (EIO); a missing read permission goes through
the same ``OSError`` path of ``check_readable``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from twitchscope.dashboard.cli.main import main
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.io.readers import read_recording


def _io_error_file(tmp_path: Path) -> Path:
    """A path whose open succeeds and whose read fails with EIO, even for root."""
    link = tmp_path / "unreadable.edf"
    link.symlink_to("/proc/self/mem")
    return link


def test_a_read_error_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(FileFormatError, match=r"^cannot read unreadable.edf: .*; expected a file"):
        read_recording(_io_error_file(tmp_path))


def test_the_cli_says_one_line_and_exits_2(tmp_path: Path, capsys) -> None:
    assert main(["info", str(_io_error_file(tmp_path))]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot read unreadable.edf" in err
    assert "Traceback" not in err
