"""``twitchscope report``: the report of every sample recording, HTML and PDF.

The per-site numbers in the HTML are checked against numbers computed here from the
detector's output (count, yield, time to first twitch, median peak, habituation slope
via numpy.polyfit), with the needle spans read straight from the file's annotations.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import mne
import numpy as np
import pytest

from twitchscope.dashboard.cli.main import main
from twitchscope.signal.analysis.session import analyse_recording
from twitchscope.signal.detect.config import preset
from twitchscope.signal.detect.run import detect_raw
from twitchscope.signal.report.session_report import TO_FILL, write_html, write_pdf

SAMPLES = Path(__file__).resolve().parents[3] / "sample_recordings"
FILES = sorted(SAMPLES.glob("*.edf"))


class _Tables(HTMLParser):
    """Collect every table (by id) as rows of {data-col: text}, and every src/href."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self.refs: list[str] = []
        self._table: str | None = None
        self._row: dict[str, str] | None = None
        self._col: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        for key in ("src", "href"):
            if a.get(key):
                self.refs.append(str(a[key]))
        if tag == "table":
            self._table = a.get("id") or ""
            self.tables[self._table] = []
        elif tag == "tr" and self._table is not None:
            self._row = {}
        elif tag == "td" and self._row is not None:
            self._col = a.get("data-col")
            self._row[str(self._col)] = ""

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._col is not None:
            self._row[self._col] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._col = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            if self._row:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None


@pytest.fixture(scope="module", params=FILES, ids=[f.stem for f in FILES])
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    path: Path = request.param
    out = tmp_path_factory.mktemp("report")
    analysis = analyse_recording(path, config=preset("limb"))
    html_path = write_html(analysis, out / f"{path.stem}.html")
    pdf_path = write_pdf(analysis, out / f"{path.stem}.pdf")
    parser = _Tables()
    parser.feed(html_path.read_text(encoding="utf-8"))
    return path, html_path, pdf_path, parser


def _expected_sites(path: Path) -> dict[str, tuple[list[float], list[float]]]:
    """Per-site figures computed here, independently of twitchscope.signal.analysis.stats."""
    raw = mne.io.read_raw_edf(path, preload=False, verbose="error")
    spans = sorted(
        (float(a["onset"]), float(a["onset"] + a["duration"]), a["description"][len("needle:") :])
        for a in raw.annotations
        if a["description"].startswith("needle:")
    )
    twitches, _ = detect_raw(
        mne.io.read_raw_edf(path, preload=False, verbose="error"), preset("limb")
    )
    peaks: dict[str, list[float]] = {label: [] for _, _, label in spans}
    latencies: dict[str, list[float]] = {label: [] for _, _, label in spans}
    for t in sorted(twitches, key=lambda t: t.onset_s):
        inside = [s for s in spans if s[0] <= t.onset_s <= s[1]]
        if inside:
            on, _, label = inside[-1]
            peaks[label].append(t.peak_v * 1e6)
            latencies[label].append(t.onset_s - on)
    return {label: (peaks[label], latencies[label]) for label in peaks}


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


def test_site_table_matches_independent_numbers(rendered) -> None:
    path, _, _, parser = rendered
    rows = {r["site"]: r for r in parser.tables["sites"]}
    expected = _expected_sites(path)
    assert expected, "every sample recording has needle sites"
    assert sum(len(p) for p, _ in expected.values()) > 0
    for label, (peak_list, latencies) in expected.items():
        row = rows[label]
        peaks = np.asarray(peak_list, dtype=float)
        assert int(row["twitches"]) == peaks.size
        assert int(row["insertions"]) == 1
        if peaks.size == 0:
            assert row["peak_median_uv"] == ""
            continue
        assert _num(row["yield_per_insertion"]) == pytest.approx(peaks.size, abs=0.006)
        assert _num(row["time_to_first_ms"]) == pytest.approx(latencies[0] * 1e3, abs=0.06)
        assert _num(row["peak_median_uv"]) == pytest.approx(np.median(peaks), abs=0.006)
        if peaks.size >= 2:
            slope = np.polyfit(np.arange(peaks.size), peaks, 1)[0]
            assert _num(row["habituation_uv_per_twitch"]) == pytest.approx(slope, abs=0.006)
        else:
            assert row["habituation_uv_per_twitch"] == ""
        for col in ("rest_before_rms_uv", "rest_after_rms_uv"):
            if row[col]:
                assert 0.0 < float(row[col]) < 1000.0


def test_html_is_self_contained(rendered) -> None:
    _, html_path, _, parser = rendered
    text = html_path.read_text(encoding="utf-8")
    assert parser.refs, "the figures are referenced"
    for ref in parser.refs:
        assert ref.startswith("data:image/png;base64,"), ref[:60]
    assert len([r for r in parser.refs if r.startswith("data:image/png")]) == 3
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", text)
    assert not re.search(r"@import|url\(", text)


def test_html_has_metadata_quality_and_config(rendered) -> None:
    path, html_path, _, parser = rendered
    meta = {r["term"]: r["value"] for r in parser.tables["metadata"]}
    raw = mne.io.read_raw_edf(path, preload=False, verbose="error")
    names = [n.removeprefix("EMG ") for n in raw.ch_names]  # EDF labels carry the type
    assert meta["Sampling rate"] == f"{raw.info['sfreq']:g} Hz"
    assert meta["Channels (placement labels)"] == ", ".join(names)
    assert meta["Gain"] == TO_FILL  # not in an EDF header
    assert meta["A/D resolution"].startswith("16-bit")
    quality = parser.tables["quality"]
    assert [r["channel"] for r in quality] == names
    assert all(float(r["noise_rms_uv"]) > 0 for r in quality)
    config = {r["parameter"]: r["value"] for r in parser.tables["config"]}
    assert config["hp_hz"] == "20"
    assert config["twitchscope version"]
    assert int(config["twitches"]) == sum(int(r["twitches"]) for r in parser.tables["sites"])


def test_pdf_has_a_page_per_section(rendered) -> None:
    _, _, pdf_path, _ = rendered
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF-")
    n_pages = len(re.findall(rb"/Type\s*/Page[^s]", data))
    assert n_pages >= 6  # summary, site table, three figures, configuration


def test_cli_writes_default_report_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    src = SAMPLES / "trapezius_ecg_500hz.edf"
    monkeypatch.chdir(tmp_path)
    assert main(["report", str(src), "--preset", "trunk", "--mains", "50"]) == 0
    out = tmp_path / "trapezius_ecg_500hz.report.html"
    parser = _Tables()
    parser.feed(out.read_text(encoding="utf-8"))
    config = {r["parameter"]: r["value"] for r in parser.tables["config"]}
    assert config["hp_hz"] == "30" and config["mains"] == "50"
    assert "report written to" in capsys.readouterr().out
    # an existing report is kept unless --overwrite
    assert main(["report", str(src)]) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_cli_rejects_other_extensions_and_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = SAMPLES / "trapezius_ecg_500hz.edf"
    assert main(["report", str(src), "--out", str(tmp_path / "r.docx")]) == 2
    assert ".html or .pdf" in capsys.readouterr().err
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"0" * 100)
    assert main(["report", str(bad), "--out", str(tmp_path / "r.html")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("twitchscope: error:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_fif_report_takes_filters_and_device_from_the_info(tmp_path: Path) -> None:
    from twitchscope.signal.io.readers import read_recording
    from twitchscope.signal.io.writers import write_recording

    raw = read_recording(SAMPLES / "trapezius_ecg_500hz.edf", preload=True)
    raw.crop(0.0, 20.0)
    with raw.info._unlock():
        raw.info["highpass"] = 5.0
        raw.info["lowpass"] = 200.0
        raw.info["device_info"] = {"type": "OpenEEG", "model": "ModularEEG"}
    fif = write_recording(raw, tmp_path / "trap_raw.fif")
    analysis = analyse_recording(fif, config=preset("trunk"))
    parser = _Tables()
    parser.feed(write_html(analysis, tmp_path / "r.html").read_text(encoding="utf-8"))
    meta = {r["term"]: r["value"] for r in parser.tables["metadata"]}
    assert meta["Hardware filters (as recorded)"] == "HP 5 Hz, LP 200 Hz (file info)"
    assert meta["Amplifier / device"] == "OpenEEG ModularEEG"
    assert meta["A/D resolution"] == TO_FILL  # a FIF holds floats, no converter width
    assert meta["Duration"] == "20.0 s"
