"""Upload folders are removed when the dashboard process stops (or, if it was killed, at the next start)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from twitchscope.dashboard.services.uploads import UPLOAD_PREFIX, remove_stale_roots

_CHILD = textwrap.dedent(
    """
    import sys, time
    from twitchscope.dashboard.services.uploads import session_upload_folder
    folder = session_upload_folder()
    (folder / "upload.csv").write_text("time_s,a\\n0,1\\n")
    print(folder.parent, flush=True)
    if sys.argv[1] == "wait":
        time.sleep(60)
    """
)


def _start(mode: str) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    root = Path(proc.stdout.readline().strip())
    assert root.name.startswith(f"{UPLOAD_PREFIX}{proc.pid}-")
    return proc, root


def test_the_upload_root_is_removed_when_the_process_exits() -> None:
    proc, root = _start("exit")
    assert proc.wait(30) == 0
    assert not root.exists()


def test_a_killed_dashboards_uploads_go_at_the_next_start() -> None:
    proc, root = _start("wait")
    assert (next(root.iterdir()) / "upload.csv").is_file()
    assert root not in remove_stale_roots()  # its process is still alive
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    time.sleep(0.05)
    assert root.exists()  # kill -9: no exit handler ran
    assert root in remove_stale_roots(Path(tempfile.gettempdir()))
    assert not root.exists()
