"""``twitchscope batch``: many recordings in parallel, bad files skipped, Dask path.

The batch's events files are compared with what ``twitchscope detect --out`` writes
for each file on its own; a corrupt file is listed in errors.csv and does not stop
the others; the Dask path (a local in-process cluster) gives the same results.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from twitchscope.dashboard.cli.main import main
from twitchscope.dashboard.services.batch import (
    SITE_COLUMNS,
    Progress,
    expand_inputs,
    run_batch,
)
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.detect.config import preset

SAMPLES = Path(__file__).resolve().parents[3] / "sample_recordings"
FILES = sorted(SAMPLES.glob("*.edf"))
#: Two small recordings for the Dask path.
SMALL = ("cyton_infraspinatus_250hz", "trapezius_ecg_500hz")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample recordings with their side tables and video, plus a truncated EDF."""
    d = tmp_path_factory.mktemp("inputs")
    for f in SAMPLES.iterdir():
        if f.suffix in (".edf", ".csv", ".mp4", ".json"):
            shutil.copy(f, d / f.name)
    good = (SAMPLES / "trapezius_ecg_500hz.edf").read_bytes()
    # cut inside its header (a file cut after whole data records is read up to them)
    (d / "corrupt.edf").write_bytes(good[:300])
    return d


@pytest.fixture(scope="module")
def batch_run(inputs: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("results")
    status = main(["batch", str(inputs), "--out", str(out), "--workers", "2"])
    return status, out


@pytest.fixture(scope="module")
def detect_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("detect")
    for f in FILES:
        assert main(["detect", str(f), "--out", str(out / f"{f.stem}.events.csv")]) == 0
    return out


def test_directory_takes_recordings_not_side_tables(inputs: Path) -> None:
    found = [p.name for p in expand_inputs(inputs)]
    assert found == sorted([f.name for f in FILES] + ["corrupt.edf"])
    assert [p.name for p in expand_inputs(str(inputs / "c*.edf"))] == [
        "corrupt.edf",
        "cyton_infraspinatus_250hz.edf",
    ]
    with pytest.raises(FileFormatError, match="no recordings match"):
        expand_inputs(str(inputs / "*.bdf"))


def test_batch_equals_detect_per_file(batch_run, detect_outputs: Path) -> None:
    status, out = batch_run
    assert status == 1  # one file failed, the others were analysed
    for f in FILES:
        name = f"{f.stem}.events.csv"
        assert (out / name).read_text() == (detect_outputs / name).read_text()
        assert len(_rows(out / name)) > 0
    # the sample with a video: its events carry each twitch's movement, as detect's do
    summary = {r["recording"]: r for r in _rows(out / "recordings.csv")}
    fused = [f.stem for f in FILES if f.with_suffix(".video.json").is_file()]
    assert fused, "a bundled sample has a video"
    for stem in fused:
        assert "motion" in _rows(out / f"{stem}.events.csv")[0]
        assert "twitches with their movement" in summary[stem]["video"]
    assert all(summary[f.stem]["video"] == "" for f in FILES if f.stem not in fused)


def test_corrupt_file_is_skipped_and_listed(batch_run, capsys: pytest.CaptureFixture[str]) -> None:
    _, out = batch_run
    errors = _rows(out / "errors.csv")
    assert [e["recording"] for e in errors] == ["corrupt"]
    assert "truncated" in errors[0]["error"]
    assert not (out / "corrupt.events.csv").exists()
    summary = {r["recording"]: r for r in _rows(out / "recordings.csv")}
    assert summary["corrupt"]["status"] == "error"
    assert all(summary[f.stem]["status"] == "ok" for f in FILES)


def test_combined_site_table(batch_run) -> None:
    _, out = batch_run
    sites = _rows(out / "sites.csv")
    assert tuple(sites[0]) == SITE_COLUMNS
    for f in FILES:
        mine = [r for r in sites if r["recording"] == f.stem]
        events = _rows(out / f"{f.stem}.events.csv")
        assert mine
        in_sites = sum(int(r["twitches"]) for r in mine if r["site"] != "(no site)")
        assert in_sites == sum(1 for e in events if e["site"])
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    frame = pd.read_parquet(out / "sites.parquet")
    assert list(frame.columns) == list(SITE_COLUMNS)
    assert len(frame) == len(sites)
    assert list(frame["twitches"]) == [int(r["twitches"]) for r in sites]


def test_all_failed_exits_2_and_prints_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "empty.csv").write_text("")
    (bad / "junk.edf").write_bytes(b"not an edf")
    assert main(["batch", str(bad), "--out", str(tmp_path / "out"), "--workers", "1"]) == 2
    err = capsys.readouterr().err
    assert "2 file(s) skipped" in err and "junk.edf" in err and "empty.csv" in err
    assert len(_rows(tmp_path / "out" / "errors.csv")) == 2
    assert main(["batch", str(tmp_path / "nothing*.edf"), "--out", str(tmp_path / "o2")]) == 2
    assert "no recordings match" in capsys.readouterr().err


def test_shell_expanded_names_skip_side_tables(inputs: Path, tmp_path: Path) -> None:
    names = sorted(str(p) for p in inputs.glob("trapezius_ecg_500hz.*"))
    assert len(names) == 3  # the recording, its truth and confounders tables
    assert main(["batch", *names, "--out", str(tmp_path), "--workers", "1"]) == 0
    assert [r["recording"] for r in _rows(tmp_path / "recordings.csv")] == ["trapezius_ecg_500hz"]


def test_progress_line_without_tty(tmp_path: Path) -> None:
    import io

    stream = io.StringIO()
    paths = [SAMPLES / f"{SMALL[0]}.edf", tmp_path / "missing.edf"]
    (tmp_path / "missing.edf").write_bytes(b"")
    res = run_batch(
        paths, tmp_path / "o", config=preset("limb"), workers=1, progress=Progress(2, stream=stream)
    )
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in stream.getvalue()
    assert lines[0].startswith("batch [##########----------] 1/2 (0 failed")
    assert lines[0].endswith("ok")
    assert lines[1].startswith("batch [####################] 2/2 (1 failed")
    assert lines[1].endswith("FAILED")
    assert res.n_ok == 1


@pytest.mark.timeout(120)
def test_dask_cluster_gives_the_same_results(inputs: Path, tmp_path: Path) -> None:
    distributed = pytest.importorskip("dask.distributed")
    folder = tmp_path / "in"
    folder.mkdir()
    for name in [f"{s}.edf" for s in SMALL] + ["corrupt.edf"]:
        shutil.copy(inputs / name, folder / name)
    local = run_batch(expand_inputs(folder), tmp_path / "local", config=preset("limb"), workers=1)
    assert local.n_ok == 2
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        argv = ["batch", str(folder), "--out", str(tmp_path / "dask")]
        status = main([*argv, "--scheduler", cluster.scheduler_address])
    assert status == 1  # the corrupt file failed on the cluster too
    for name in ("sites.csv", "errors.csv", *(f"{s}.events.csv" for s in SMALL)):
        assert (tmp_path / "dask" / name).read_text() == (tmp_path / "local" / name).read_text()
    assert len(_rows(tmp_path / "dask" / "errors.csv")) == 1


@pytest.mark.timeout(60)
def test_unreachable_scheduler_is_one_line_error(tmp_path: Path) -> None:
    pytest.importorskip("dask.distributed")
    with pytest.raises(ConfigError, match="cannot reach the Dask scheduler"):
        run_batch(
            [SAMPLES / f"{SMALL[0]}.edf"],
            tmp_path / "o",
            config=preset("limb"),
            scheduler="tcp://127.0.0.1:9",
            connect_timeout_s=1.0,
        )


def test_read_options_reach_every_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A headerless log says neither its rate nor its units: --sfreq and --scale are used."""
    import numpy as np

    inputs = tmp_path / "in"
    inputs.mkdir()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 2)) * 5.0
    np.savetxt(inputs / "sketch_log.txt", x, fmt="%.3f", delimiter=",")
    out = tmp_path / "out"
    assert main(["batch", str(inputs), "--out", str(out), "--workers", "1"]) == 2
    assert "--sfreq" in (out / "errors.csv").read_text()
    args = ["batch", str(inputs), "--out", str(out), "--workers", "1", "--sfreq", "500"]
    assert main([*args, "--scale", "-1"]) == 2  # the scale reaches the reader, which refuses it
    assert "scale must be a finite number > 0" in (out / "errors.csv").read_text()
    assert main([*args, "--scale", "1e-6"]) == 0
    (row,) = _rows(out / "recordings.csv")
    assert row["status"] == "ok"
    capsys.readouterr()
