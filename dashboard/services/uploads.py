"""Where the dashboard keeps uploaded files, and their removal when it stops.

Each browser session's uploads go into its own folder under one root per dashboard
process, ``<tmp>/twitchscope-uploads-<pid>-…``. The root is removed when the process
exits (``atexit``: Ctrl-C and SIGTERM stop Streamlit normally); the roots of
dashboards that did not exit normally (killed with SIGKILL, a crash) are removed when
the next dashboard creates its root, once their process is gone.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

__all__ = ["UPLOAD_PREFIX", "session_upload_folder", "upload_root", "remove_stale_roots"]

#: name prefix of the per-process upload roots in the temporary folder
UPLOAD_PREFIX = "twitchscope-uploads-"

_lock = threading.Lock()
_root: Path | None = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_roots(tmp: Path | None = None) -> list[Path]:
    """Remove the upload roots of dashboard processes that are gone; return them."""
    base = Path(tmp or tempfile.gettempdir())
    removed = []
    for folder in base.glob(f"{UPLOAD_PREFIX}*"):
        pid_text = folder.name[len(UPLOAD_PREFIX) :].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid() or _alive(int(pid_text)):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def upload_root() -> Path:
    """This process's upload root, created on first use and removed at exit."""
    global _root
    with _lock:
        if _root is None or not _root.is_dir():
            remove_stale_roots()
            _root = Path(tempfile.mkdtemp(prefix=f"{UPLOAD_PREFIX}{os.getpid()}-"))
            atexit.register(shutil.rmtree, _root, ignore_errors=True)
        return _root


def session_upload_folder() -> Path:
    """A new folder for one browser session's uploads, inside :func:`upload_root`."""
    return Path(tempfile.mkdtemp(prefix="session-", dir=upload_root()))
