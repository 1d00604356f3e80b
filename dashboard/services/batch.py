"""Analyse many recordings at once: locally in worker processes or on a Dask cluster.

Each recording is analysed by :func:`analyse_file` (detector run exactly as
``twitchscope detect``, then the per-site summary). Workers only read; the calling
process writes every output, so a Dask cluster needs access to the inputs but not to
the results folder.

Inputs
------
A folder (its files, not sub-folders) or a glob pattern (``**`` recurses). Only files
with a recording extension are taken (.edf .bdf .fif .fif.gz .csv .tsv .txt .xdf .wav), and a
CSV named ``<name>.<kind>.csv`` next to a recording ``<name>.<ext>`` is that
recording's side table (annotations, truth, confounders), not a recording, and is
skipped, as is Spike Recorder's ``<name>-events.txt`` next to ``<name>.wav``. Earlier
batch outputs (``*.events.csv``) are skipped too.

Outputs (in RESULTS_DIR)
------------------------
``<stem>.events.csv``
    The twitches of each recording that worked, as ``twitchscope detect --out`` writes
    them (with a video attached, the fused table: each twitch's movement too). When two inputs share a stem, the later ones get ``-2``, ``-3``, … appended.
``sites.csv`` (and ``sites.parquet`` when pyarrow is importable)
    One row per needle site of every recording: ``recording`` (the events file's stem)
    followed by the columns of :func:`~twitchscope.signal.analysis.stats.site_rows`.
``recordings.csv``
    One row per input: recording, path, status (``ok``/``error``), twitches, rejected,
    sites, events file, ``twitches_from`` (the review used, or the detector's twitches
    when the recording has no review), ``profile`` (the detector profile, if any) and
    ``video`` (for a recording with a video attached: how many twitches moved, or why the
    video could not be used).

Reviews
-------
When a recording has a review (``<stem>.review.csv``, see
:mod:`twitchscope.signal.review.sidecar`), its reviewed twitches (confirmed + added)
replace the detector's in the events file and the site table, and ``twitches_from``
says whose review it was (``review=False`` ignores reviews).
``errors.csv``
    One row per input that failed: recording, path, error (always written; header
    only when nothing failed).

A failing file never stops the batch: its error is listed and the others go on.

On a Dask cluster every worker needs twitchscope installed (the same version) and
read access to the input paths as the client names them.
"""

from __future__ import annotations

import csv
import glob
import logging
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from twitchscope.signal.analysis.session import analyse_recording
from twitchscope.signal.analysis.stats import site_rows, summarize_sites
from twitchscope.signal.core.errors import ConfigError, FileFormatError, TwitchscopeError
from twitchscope.signal.core.model import NeedleSite, Twitch
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.io.events import write_events
from twitchscope.signal.io.formats import SUPPORTED_EXTENSIONS
from twitchscope.signal.io.readers import NO_READ_OPTIONS, ReadOptions
from twitchscope.signal.io.spike_recorder_wav import is_events_file
from twitchscope.signal.review.session import NOT_REVIEWED, review_session
from twitchscope.signal.video.attached import VideoFusion, fuse_attached, has_video
from twitchscope.signal.video.tables import write_fused

__all__ = [
    "FileResult",
    "BatchResult",
    "SITE_COLUMNS",
    "SUMMARY_COLUMNS",
    "default_workers",
    "expand_inputs",
    "analyse_file",
    "run_batch",
    "Progress",
]

log = logging.getLogger(__name__)

#: Columns of ``recordings.csv``.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "recording",
    "path",
    "status",
    "twitches",
    "rejected",
    "sites",
    "events_file",
    "twitches_from",
    "profile",
    "video",
)
#: Columns of ``sites.csv``.
SITE_COLUMNS: tuple[str, ...] = (
    "recording",
    *site_rows(summarize_sites([], [NeedleSite(label="x", onset_s=0.0, duration_s=1.0)]))[0],
)
_OUTPUT_KINDS = ("events", "rejected")


@dataclass(frozen=True, slots=True)
class FileResult:
    """The outcome of one recording (picklable: it travels back from a worker).

    Parameters
    ----------
    path : str
        The input file.
    twitches : tuple of Twitch
        Detected twitches (empty on error).
    n_rejected : int
        Rejected candidates.
    sites : tuple of dict
        :func:`~twitchscope.signal.analysis.stats.site_rows` of the recording.
    error : str or None
        One line saying why the file failed, or None.
    twitches_from : str
        The review whose twitches were used, or that the detector's were.
    video : VideoFusion or None
        The twitches fused with the attached video's movements (None without a video).
    video_note : str
        One line on the video: its summary, why it could not be used, or "".
    """

    path: str
    twitches: tuple[Twitch, ...] = ()
    n_rejected: int = 0
    sites: tuple[dict[str, Any], ...] = ()
    error: str | None = None
    twitches_from: str = ""
    video: VideoFusion | None = None
    video_note: str = ""

    @property
    def ok(self) -> bool:
        """True when the file was analysed."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Every file's outcome in input order, with the name its outputs got."""

    results: tuple[FileResult, ...]
    names: tuple[str, ...]
    out_dir: Path
    parquet: bool
    files_written: tuple[Path, ...] = field(default=())

    @property
    def n_ok(self) -> int:
        """Files analysed."""
        return sum(r.ok for r in self.results)

    @property
    def errors(self) -> list[tuple[str, FileResult]]:
        """(name, result) of every file that failed."""
        return [(n, r) for n, r in zip(self.names, self.results, strict=True) if not r.ok]


def default_workers() -> int:
    """min(4, CPU count)."""
    return max(1, min(4, os.cpu_count() or 1))


def _recording_extension(name: str) -> str | None:
    low = name.lower()
    for ext in sorted(SUPPORTED_EXTENSIONS, key=len, reverse=True):
        if low.endswith(ext):
            return ext
    return None


def _is_side_table(path: Path) -> bool:
    """``<name>.<kind>.csv`` beside a recording ``<name>.<ext>``, or a batch output."""
    low = path.name.lower()
    if is_events_file(path):  # Spike Recorder markers beside their .wav
        return True
    if not low.endswith(".csv"):
        return False
    if ".review." in low:  # a review sidecar, <name>.review.csv or <name>.review.<who>.csv
        return True
    parts = path.name[: -len(".csv")].rsplit(".", 1)
    if len(parts) != 2:
        return False
    base, kind = parts
    if kind.lower() in _OUTPUT_KINDS:
        return True
    for ext in SUPPORTED_EXTENSIONS:
        if ext != ".csv" and path.with_name(base + ext).is_file():
            return True
    return path.with_name(base + ".csv").is_file()


def expand_inputs(spec: str | Path) -> list[Path]:
    """The recordings a folder or glob pattern names, sorted (see the module docstring).

    Raises
    ------
    FileFormatError
        When nothing matches.
    """
    spec = str(spec)
    p = Path(spec)
    if p.is_dir():
        candidates = [c for c in p.iterdir() if c.is_file()]
    elif p.is_file():
        candidates = [p]
    else:
        candidates = [Path(m) for m in glob.glob(spec, recursive=True) if Path(m).is_file()]
    found = sorted(
        c for c in candidates if _recording_extension(c.name) is not None and not _is_side_table(c)
    )
    if not found:
        exts = " ".join(SUPPORTED_EXTENSIONS)
        raise FileFormatError(
            f"no recordings match {spec!r}; expected a folder or glob pattern naming files "
            f"with one of the extensions {exts}."
        )
    return found


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    msg = text[0] if text else ""
    if isinstance(exc, TwitchscopeError):
        return msg or type(exc).__name__
    return f"{type(exc).__name__}: {msg}" if msg else type(exc).__name__


def analyse_file(
    path: str,
    config: DetectorConfig,
    read: ReadOptions = NO_READ_OPTIONS,
    review: bool = True,
    reviewer: str | None = None,
    video: bool = True,
) -> FileResult:
    """Analyse one recording; never raises for a bad file (the error is in the result).

    With ``review`` (the default) a recording's review replaces the detector's twitches
    by the reviewed ones (``reviewer`` chooses among several reviewers). With ``video``
    (the default) the twitches of a recording with a video attached are fused with its
    movements (:func:`~twitchscope.signal.video.attached.fuse_attached`); a video that
    cannot be used is noted, not an error.

    This runs in a worker process (or on a Dask worker), so it takes and returns only
    picklable values.
    """
    try:
        a = analyse_recording(path, config=config, quality=False, **read.kwargs())
        use = None
        if review:
            a, use = review_session(a, reviewer=reviewer)
    except Exception as exc:  # a bad file must not stop the batch; any error is reported
        log.debug("analysis of %s failed", path, exc_info=True)
        return FileResult(path=str(path), error=_one_line(exc))
    fused, note = None, ""
    if video and has_video(path):
        try:
            fused = fuse_attached(path, a.detection.twitches, sites=a.events.sites)
            note = fused.summary() if fused is not None else ""
        except TwitchscopeError as exc:
            note = f"video not used: {exc}"
    return FileResult(
        path=str(path),
        twitches=a.detection.twitches,
        n_rejected=len(a.detection.rejected),
        sites=tuple(site_rows(a.sites)),
        twitches_from=use.line() if use is not None else NOT_REVIEWED,
        video=fused,
        video_note=note,
    )


class Progress:
    """A one-line progress bar on a stream (stderr by default).

    ``batch [######------]  3/5 (0 failed, 12 s): name.edf ok``. On a terminal the
    line is rewritten in place; otherwise (a log file, CI) each finished file prints
    one line, so the output stays readable without a TTY.
    """

    width = 20

    def __init__(self, total: int, *, stream: TextIO | None = None) -> None:
        self.total = total
        self.done = 0
        self.failed = 0
        self.stream = stream if stream is not None else sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.t0 = time.monotonic()

    def update(self, result: FileResult) -> None:
        """Count one finished file and show the line."""
        self.done += 1
        self.failed += not result.ok
        status = "ok" if result.ok else "FAILED"
        filled = round(self.width * self.done / max(self.total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        line = (
            f"batch [{bar}] {self.done}/{self.total} ({self.failed} failed, "
            f"{time.monotonic() - self.t0:.0f} s): {Path(result.path).name} {status}"
        )
        if self.tty:
            self.stream.write("\r\x1b[K" + line)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _unique_names(paths: Sequence[Path]) -> list[str]:
    names: list[str] = []
    for p in paths:
        ext = _recording_extension(p.name) or p.suffix
        stem = p.name[: -len(ext)] if ext else p.name
        name, k = stem, 1
        while name in names:
            k += 1
            name = f"{stem}-{k}"
        names.append(name)
    return names


def _init_worker(level: int) -> None:
    """Log in a worker process as the command line does in the parent."""
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def _run_local(
    paths: Sequence[Path],
    config: DetectorConfig,
    read: ReadOptions,
    workers: int,
    on_result: Callable[[FileResult], None],
    review: tuple[bool, str | None, bool] = (True, None, True),
) -> dict[str, FileResult]:
    out: dict[str, FileResult] = {}
    if workers <= 1 or len(paths) <= 1:
        for p in paths:
            r = analyse_file(str(p), config, read, *review)
            out[str(p)] = r
            on_result(r)
        return out
    # forkserver: workers start clean, whatever threads the parent runs
    ctx = multiprocessing.get_context(
        "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    )
    level = logging.getLogger().getEffectiveLevel()
    with ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(level,)
    ) as pool:
        futures: dict[Future[FileResult], str] = {
            pool.submit(analyse_file, str(p), config, read, *review): str(p) for p in paths
        }
        for fut in as_completed(futures):
            path = futures[fut]
            try:
                r = fut.result()
            except Exception as exc:  # a worker died (e.g. out of memory): report, go on
                r = FileResult(path=path, error=f"worker failed: {_one_line(exc)}")
            out[path] = r
            on_result(r)
    return out


def _run_dask(
    paths: Sequence[Path],
    config: DetectorConfig,
    read: ReadOptions,
    scheduler: str,
    on_result: Callable[[FileResult], None],
    connect_timeout_s: float,
    review: tuple[bool, str | None, bool] = (True, None, True),
) -> dict[str, FileResult]:
    try:
        from dask.distributed import Client
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise ConfigError(
            "--scheduler needs dask.distributed; install the extra: "
            "pip install 'twitchscope[cluster]'."
        ) from None
    try:
        client = Client(scheduler, timeout=connect_timeout_s, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(
            f"cannot reach the Dask scheduler at {scheduler!r}: {_one_line(exc)}; expected "
            "the address of a running scheduler, e.g. tcp://host:8786."
        ) from None
    out: dict[str, FileResult] = {}
    try:
        futures = [
            client.submit(
                analyse_file,
                str(p),
                config,
                read,
                *review,
                key=f"twitchscope-{i}-{p.name}",
                pure=False,
            )
            for i, p in enumerate(paths)
        ]
        index = {f.key: str(p) for f, p in zip(futures, paths, strict=True)}
        for fut in dask_completed(futures, loop=client.loop):
            path = index[fut.key]
            try:
                r = fut.result()
            except Exception as exc:  # the task itself failed on the cluster: report, go on
                r = FileResult(path=path, error=f"worker failed: {_one_line(exc)}")
            out[path] = r
            on_result(r)
    finally:
        client.close()
    return out


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return path


def _parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def run_batch(
    paths: Sequence[Path],
    out_dir: str | Path,
    *,
    config: DetectorConfig,
    read: ReadOptions = NO_READ_OPTIONS,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
    connect_timeout_s: float = 10.0,
    review: bool = True,
    reviewer: str | None = None,
    profile: str = "",
    video: bool = True,
) -> BatchResult:
    """Analyse ``paths`` and write the results to ``out_dir`` (see the module docstring).

    Parameters
    ----------
    paths : sequence of Path
        The recordings (e.g. from :func:`expand_inputs`).
    out_dir : str or Path
        Results folder (created if needed).
    config : DetectorConfig
        Detector configuration for every file.
    read : ReadOptions
        What the files do not say themselves (rate, BrainFlow board, scale), for every file.
    workers : int or None
        Local worker processes (default :func:`default_workers`; 1 runs in this
        process). Ignored with ``scheduler``.
    scheduler : str or None
        Address of a Dask distributed scheduler; the work runs on its workers.
    progress : Progress or None
        Progress line to update as files finish.
    connect_timeout_s : float
        How long to try reaching ``scheduler`` before giving up, s.
    review : bool
        Use each recording's review where it has one (see the module docstring).
    reviewer : str or None
        Whose review, when a file holds several reviewers.
    profile : str
        The detector profile ``config`` came from, named in ``recordings.csv``.
    video : bool
        Fuse each recording's twitches with its attached video, if it has one.

    Returns
    -------
    result : BatchResult
    """
    if workers is None:
        workers = default_workers()
    if isinstance(workers, bool) or int(workers) < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}.")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ConfigError(f"{out_dir} is a file; expected a results folder.")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [Path(p) for p in paths]
    names = _unique_names(paths)

    def on_result(r: FileResult) -> None:
        if progress is not None:
            progress.update(r)

    if scheduler:
        done = _run_dask(
            paths, config, read, scheduler, on_result, connect_timeout_s, (review, reviewer, video)
        )
    else:
        done = _run_local(paths, config, read, int(workers), on_result, (review, reviewer, video))
    results = tuple(done[str(p)] for p in paths)
    written: list[Path] = []
    site_table: list[dict[str, Any]] = []
    summary: list[dict[str, Any]] = []
    for name, r in zip(names, results, strict=True):
        events_file = ""
        if r.ok:
            events_path = (
                write_fused(out_dir / f"{name}.events.csv", r.video)
                if r.video is not None
                else write_events(out_dir / f"{name}.events.csv", r.twitches)
            )
            written.append(events_path)
            events_file = events_path.name
            site_table += [{"recording": name, **row} for row in r.sites]
        summary.append(
            {
                "recording": name,
                "path": r.path,
                "status": "ok" if r.ok else "error",
                "twitches": len(r.twitches) if r.ok else None,
                "rejected": r.n_rejected if r.ok else None,
                "sites": len(r.sites) if r.ok else None,
                "events_file": events_file,
                "twitches_from": r.twitches_from,
                "profile": profile,
                "video": r.video_note,
            }
        )
    written.append(_write_csv(out_dir / "sites.csv", SITE_COLUMNS, site_table))
    parquet = _parquet_available()
    if parquet:
        import pandas as pd

        frame = pd.DataFrame(site_table, columns=list(SITE_COLUMNS))
        frame.to_parquet(out_dir / "sites.parquet", index=False)
        written.append(out_dir / "sites.parquet")
    written.append(
        _write_csv(
            out_dir / "recordings.csv",
            SUMMARY_COLUMNS,
            summary,
        )
    )
    errors = [
        {"recording": n, "path": r.path, "error": r.error}
        for n, r in zip(names, results, strict=True)
        if not r.ok
    ]
    written.append(_write_csv(out_dir / "errors.csv", ("recording", "path", "error"), errors))
    return BatchResult(
        results=results,
        names=tuple(names),
        out_dir=out_dir,
        parquet=parquet,
        files_written=tuple(written),
    )
