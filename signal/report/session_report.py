"""Session reports: what a researcher attaches to a study record, as HTML or PDF.

A report holds, for one recording:

1. **Recording metadata in ISEK reporting terms** (Merletti & Di Torino's *Standards
   for reporting EMG data*, endorsed by ISEK): electrodes, amplifier, filters and
   sampling. Values come from the file where it holds them (EDF/BDF header fields:
   transducer, pre-filtering, physical range, EDF+ equipment; FIF measurement info:
   device, filters); every other field is left blank and marked **to fill**.
2. **The signal-quality panel** (:func:`~twitchscope.signal.analysis.quality.assess_quality`).
3. **The per-site table** (:func:`~twitchscope.signal.analysis.stats.summarize_sites` via
   :func:`~twitchscope.signal.analysis.stats.site_rows`: µV and ms).
4. **Figures** (:mod:`twitchscope.signal.report.figures`): the session overview, the
   gallery of twitches aligned at onset and the habituation plot.
5. **The detector configuration** (every field of
   :class:`~twitchscope.signal.detect.config.DetectorConfig`) and the twitchscope version.
6. **Provenance** (``provenance`` lines given by the caller): which twitches were counted
   (the reviewed twitches when a review exists, else the detector's) and the detector
   profile applied, if any. The HTML shows them in a paragraph with id ``provenance``.
7. **Movement in the attached video**, when the caller passes ``video`` (a
   :class:`~twitchscope.signal.video.attached.VideoFusion`): the agreement per needle
   site, each twitch with the movement it caused (lag, peak speed, grade), and the
   movements without a twitch (tables ``motion_sites`` and ``motion_events``).

The HTML file is self-contained: figures are embedded as base64 PNG ``data:`` URIs and
the style sheet is inline, so it opens offline and can be mailed or archived as one
file. The PDF is written with matplotlib's ``PdfPages`` (one page per section/figure).

In the HTML, tables carry ids (``metadata``, ``quality``, ``sites``, ``config``, and
``motion_sites``, ``motion_events`` with a video) and each
cell a ``data-col`` attribute with its column name, so the numbers can be read back.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from twitchscope.signal.analysis.session import SessionAnalysis
from twitchscope.signal.analysis.stats import site_rows
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.core.units import volts_to_uv
from twitchscope.signal.report.figures import (
    figure_png,
    gallery_figure,
    habituation_figure,
    overview_figure,
)
from twitchscope.signal.video.attached import VideoFusion
from twitchscope.signal.video.tables import fusion_rows, site_agreement_rows

__all__ = [
    "TO_FILL",
    "MetadataItem",
    "recording_metadata",
    "quality_rows",
    "config_rows",
    "twitchscope_version",
    "report_figures",
    "write_report",
    "write_html",
    "write_pdf",
    "motion_rows",
]

#: Shown for a metadata field the file does not hold.
TO_FILL = "(to fill)"


@dataclass(frozen=True, slots=True)
class MetadataItem:
    """One reporting field: ISEK section, term, value ("" = not in the file: to fill)."""

    section: str
    term: str
    value: str

    @property
    def display(self) -> str:
        """The value, or :data:`TO_FILL`."""
        return self.value if self.value else TO_FILL


def twitchscope_version() -> str:
    """The installed twitchscope version ("unknown" from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("twitchscope")
    except PackageNotFoundError:
        return "unknown"


# ----------------------------------------------------------------------------- metadata


@dataclass(frozen=True, slots=True)
class _EdfFields:
    equipment: str
    transducers: tuple[str, ...]
    prefilters: tuple[str, ...]
    units: tuple[str, ...]
    ranges: tuple[tuple[float, float, float, float], ...]  # phys min, max, dig min, max


def _edf_fields(path: Path, ch_names: Sequence[str]) -> _EdfFields | None:
    """The per-signal header fields of an EDF/BDF file, for ``ch_names`` (None if unreadable)."""
    if path.suffix.lower() not in (".edf", ".bdf"):
        return None
    try:
        with path.open("rb") as f:
            head = f.read(256)
            ns = int(head[252:256].decode("ascii"))
            rest = f.read(256 * ns)
        if len(rest) < 256 * ns:
            return None
        recording = head[88:168].decode("latin-1").strip()
        cols: dict[str, list[str]] = {}
        off = 0
        for name, width in (
            ("label", 16),
            ("transducer", 80),
            ("unit", 8),
            ("pmin", 8),
            ("pmax", 8),
            ("dmin", 8),
            ("dmax", 8),
            ("prefilter", 80),
        ):
            cols[name] = [
                rest[off + width * i : off + width * (i + 1)].decode("latin-1").strip()
                for i in range(ns)
            ]
            off += width * ns
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    wanted = []
    for i, label in enumerate(cols["label"]):
        bare = label.split(" ", 1)[1] if label.upper().startswith("EMG ") else label
        if bare in ch_names or label in ch_names:
            wanted.append(i)
    parts = recording.split(" ")
    equipment = ""
    if recording.startswith("Startdate") and len(parts) >= 5:
        equipment = " ".join(p for p in parts[4:] if p != "X").replace("_", " ")

    def rng(i: int) -> tuple[float, float, float, float]:
        try:
            pmin, pmax, dmin, dmax = (float(cols[k][i]) for k in ("pmin", "pmax", "dmin", "dmax"))
        except ValueError:
            return (math.nan, math.nan, math.nan, math.nan)
        return (pmin, pmax, dmin, dmax)

    return _EdfFields(
        equipment=equipment,
        transducers=tuple(cols["transducer"][i] for i in wanted),
        prefilters=tuple(cols["prefilter"][i] for i in wanted),
        units=tuple(cols["unit"][i] for i in wanted),
        ranges=tuple(rng(i) for i in wanted),
    )


def _unique(values: Sequence[str]) -> str:
    seen = [v for i, v in enumerate(values) if v and v not in values[:i]]
    return "; ".join(seen)


def recording_metadata(analysis: SessionAnalysis) -> tuple[MetadataItem, ...]:
    """The ISEK reporting fields of a recording, filled from the file where it can be.

    Returns
    -------
    items : tuple of MetadataItem
        Sections ``Electrodes``, ``Amplifier``, ``Filters``, ``Sampling``, ``Recording``;
        an empty ``value`` means the file does not say (shown as :data:`TO_FILL`).
    """
    info = analysis.raw.info
    path = analysis.path
    edf = _edf_fields(path, analysis.emg_names)
    device = info.get("device_info") or {}
    dev = " ".join(str(device.get(k, "")) for k in ("type", "model", "serial")).strip()
    transducer = _unique(edf.transducers) if edf else ""
    prefilter = _unique(edf.prefilters) if edf else ""
    hp, lp = info.get("highpass"), info.get("lowpass")
    file_filters = prefilter
    # MNE's defaults (HP 0 Hz, LP at Nyquist) mean "not recorded", not "unfiltered"
    if (
        not file_filters
        and path.suffix.lower() not in (".edf", ".bdf")
        and hp is not None
        and lp is not None
        and (hp > 0 or lp < analysis.sfreq / 2)
    ):
        file_filters = f"HP {hp:g} Hz, LP {lp:g} Hz (file info)"
    input_range = ""
    resolution = ""
    if edf and edf.ranges:
        pmin, pmax, dmin, dmax = edf.ranges[0]
        unit = edf.units[0] if edf.units else ""
        if all(math.isfinite(v) for v in (pmin, pmax, dmin, dmax)) and dmax > dmin:
            input_range = f"{pmin:g} to {pmax:g} {unit}"
            bits = 24 if path.suffix.lower() == ".bdf" else 16
            lsb = (pmax - pmin) / (dmax - dmin)
            resolution = f"{bits}-bit samples in the file, {lsb:.4g} {unit} per step"
    band = analysis.detection.band_hz
    mains = analysis.detection.mains_hz
    cfg = analysis.config
    analysis_filters = ""
    if band is not None:
        analysis_filters = (
            f"band-pass {band[0]:g}-{band[1]:g} Hz (high-pass order {cfg.hp_order}, "
            f"Butterworth)"
            + (f", mains notch {mains:g} Hz and harmonics" if mains else "")
            + " — applied by twitchscope for detection; the stored signal is unfiltered"
        )
    meas = info.get("meas_date")
    return (
        MetadataItem("Electrodes", "Type and material", transducer),
        MetadataItem("Electrodes", "Size and shape", ""),
        MetadataItem("Electrodes", "Inter-electrode distance", ""),
        MetadataItem("Electrodes", "Channels (placement labels)", ", ".join(analysis.emg_names)),
        MetadataItem("Electrodes", "Placement and orientation to fibres", ""),
        MetadataItem("Electrodes", "Reference / ground electrode", ""),
        MetadataItem("Electrodes", "Skin preparation", ""),
        MetadataItem("Amplifier", "Amplifier / device", (edf.equipment if edf else "") or dev),
        MetadataItem("Amplifier", "Configuration (monopolar / bipolar)", ""),
        MetadataItem("Amplifier", "Gain", ""),
        MetadataItem("Amplifier", "Input impedance", ""),
        MetadataItem("Amplifier", "CMRR", ""),
        MetadataItem("Amplifier", "Input range", ""),
        MetadataItem("Filters", "Hardware filters (as recorded)", file_filters),
        MetadataItem("Filters", "Analysis filters", analysis_filters),
        MetadataItem("Sampling", "Sampling rate", f"{analysis.sfreq:g} Hz"),
        MetadataItem("Sampling", "A/D resolution", resolution),
        MetadataItem("Sampling", "Physical range stored in the file", input_range),
        MetadataItem("Sampling", "Number of EMG channels", str(len(analysis.emg_names))),
        MetadataItem("Recording", "File", path.name),
        MetadataItem("Recording", "Start", meas.isoformat() if meas is not None else ""),
        MetadataItem("Recording", "Duration", f"{analysis.duration_s:.1f} s"),
        MetadataItem("Recording", "Muscle(s) and side", ""),
        MetadataItem("Recording", "Subject position and task", ""),
    )


# ----------------------------------------------------------------------------- tables


def quality_rows(analysis: SessionAnalysis) -> list[dict[str, Any]]:
    """The signal-quality panel, one row per channel (µV, %)."""
    q = analysis.quality
    if q is None:
        return []
    return [
        {
            "channel": ch.channel,
            "noise_rms_uv": round(volts_to_uv(ch.noise_rms_v), 2),
            "mains_rms_uv": round(volts_to_uv(ch.mains_rms_v), 2),
            "clipped_pct": round(100 * ch.clipped_fraction, 3),
            "ecg": "yes" if ch.ecg.present else "no",
            "heart_rate_bpm": None
            if ch.ecg.heart_rate_bpm is None
            else round(ch.ecg.heart_rate_bpm),
        }
        for ch in q.channels
    ]


def config_rows(analysis: SessionAnalysis) -> list[dict[str, Any]]:
    """Every detector parameter (name, value), then the version and what the run found."""
    cfg = analysis.config
    rows: list[dict[str, Any]] = [
        {"parameter": f.name, "value": getattr(cfg, f.name)} for f in fields(cfg)
    ]
    det = analysis.detection
    rows += [
        {"parameter": "twitchscope version", "value": twitchscope_version()},
        {"parameter": "mains found (Hz)", "value": det.mains_hz},
        {"parameter": "detection band (Hz)", "value": det.band_hz},
        {"parameter": "twitches", "value": len(det.twitches)},
        {"parameter": "rejected candidates", "value": len(det.rejected)},
    ]
    return rows


def _quality_summary(analysis: SessionAnalysis) -> list[str]:
    q = analysis.quality
    if q is None:
        return ["Signal quality not assessed (recording shorter than 3 s)."]
    bw = q.bandwidth
    hr = q.heart_rate_bpm
    lines = [
        f"Mains {q.mains_hz:g} Hz; effective bandwidth {bw.nyquist_hz:g} Hz (Nyquist at "
        f"{bw.sfreq:g} Hz); detection band {bw.band_hz[0]:g}-{bw.band_hz[1]:g} Hz.",
        f"ECG: {'yes, ' + format(hr, '.0f') + ' bpm' if q.ecg_present and hr else 'no'}; "
        f"samples lost: {q.n_lost} ({100 * q.lost_fraction:.2f} %).",
    ]
    lines += [f"Warning: {w}" for w in q.warnings]
    return lines


# ----------------------------------------------------------------------------- figures


def report_figures(analysis: SessionAnalysis) -> list[tuple[str, Figure]]:
    """The report's figures with their captions: overview, gallery, habituation."""
    data = analysis.emg_data()
    sites = analysis.events.sites
    twitches = analysis.detection.twitches
    kw: dict[str, Any] = {"sfreq": analysis.sfreq, "ch_names": analysis.emg_names}
    return [
        (
            "Whole session: traces (min–max decimated), needle-site spans shaded, "
            "twitches marked ▼ on their main channel.",
            overview_figure(data, sites=sites, twitches=twitches, title=analysis.path.name, **kw),
        ),
        (
            "Twitches aligned at onset (20 Hz high-pass, main channel), per needle site.",
            gallery_figure(data, twitches=twitches, sites=sites, **kw),
        ),
        (
            "Habituation: peak amplitude by twitch index within each site, least-squares line.",
            habituation_figure(twitches, sites=sites),
        ),
    ]


# ----------------------------------------------------------------------------- writers


def write_report(
    analysis: SessionAnalysis,
    out: str | Path,
    *,
    provenance: Sequence[str] = (),
    video: VideoFusion | None = None,
) -> Path:
    """Write the report as ``.html`` or ``.pdf`` (chosen by the extension).

    ``provenance``: lines saying which twitches were counted and which profile was used;
    ``video``: the counted twitches fused with the attached video's movements.
    """
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix in (".html", ".htm"):
        return write_html(analysis, out, provenance=provenance, video=video)
    if suffix == ".pdf":
        return write_pdf(analysis, out, provenance=provenance, video=video)
    raise FileFormatError(f"{out.name}: a report is written as .html or .pdf, got {suffix!r}.")


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if not math.isfinite(value) else f"{value:g}"
    if isinstance(value, tuple):
        return ", ".join(_fmt(v) for v in value)
    return str(value)


def _html_table(table_id: str, rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return f'<p id="{table_id}" class="empty">None.</p>'
    cols = list(rows[0])
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td data-col="{html.escape(c)}">{html.escape(_fmt(r.get(c)))}</td>' for c in cols
        )
        + "</tr>"
        for r in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


_CSS = """
body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; }
th { background: #eee; }
td.tofill { color: #a33; font-style: italic; }
figure { margin: 1em 0; } figure img { max-width: 100%; }
figcaption { font-size: 0.85em; color: #555; }
.note { font-size: 0.85em; color: #555; }
"""


def motion_rows(video: VideoFusion) -> list[dict[str, Any]]:
    """The report's table of twitches and movements (a fused table's columns, shortened)."""
    unit = video.unit
    return [
        {
            "onset_s": round(float(r["onset_s"]), 3),  # type: ignore[arg-type]
            "channel": r["channel"],
            "site": r["site"],
            "motion": r["motion"],
            "lag_ms": r["motion_lag_ms"],
            f"peak_speed ({unit})": r["motion_peak_speed"],
            "grade": r["motion_grade"],
        }
        for r in fusion_rows(video.fusion, unit=unit, outside=video.outside)
    ]


def _motion_note(video: VideoFusion) -> str:
    lo, hi = video.span_s
    lag = video.config
    return (
        f"{video.summary()}. The video covers {lo:.2f}-{hi:.2f} s of the recording "
        f"(offset {video.link.offset_s:.3f} s). A twitch and a movement match when the "
        f"movement starts {lag.min_lag_s * 1e3:+.0f} to {lag.max_lag_s * 1e3:+.0f} ms from "
        "the twitch onset; agreement = matched / (twitches + movements without a twitch)."
    )


def write_html(
    analysis: SessionAnalysis,
    out: str | Path,
    *,
    provenance: Sequence[str] = (),
    video: VideoFusion | None = None,
) -> Path:
    """Write a self-contained HTML report (inline CSS, figures as base64 PNG)."""
    out = Path(out)
    esc = html.escape
    meta_rows = []
    for item in recording_metadata(analysis):
        cls = ' class="tofill"' if not item.value else ""
        meta_rows.append(
            f'<tr><td data-col="section">{esc(item.section)}</td>'
            f'<td data-col="term">{esc(item.term)}</td>'
            f'<td data-col="value"{cls}>{esc(item.display)}</td></tr>'
        )
    figs = []
    for caption, fig in report_figures(analysis):
        b64 = base64.b64encode(figure_png(fig)).decode("ascii")
        figs.append(
            f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>"
        )
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>twitchscope report: {esc(analysis.path.name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Session report: {esc(analysis.path.name)}</h1>",
        f'<p class="note">twitchscope {esc(twitchscope_version())}, generated {now}. '
        f"{len(analysis.detection.twitches)} twitches"
        f"{'' if provenance else ' detected'}.</p>",
        *(
            [
                '<p id="provenance" class="note">'
                + "<br>".join(esc(line) for line in provenance)
                + "</p>"
            ]
            if provenance
            else []
        ),
        "<h2>Recording (ISEK reporting terms)</h2>",
        f'<p class="note">Fields marked {esc(TO_FILL)} are not in the file; fill them in.</p>',
        '<table id="metadata"><thead><tr><th>section</th><th>term</th><th>value</th></tr>'
        f"</thead><tbody>{''.join(meta_rows)}</tbody></table>",
        "<h2>Signal quality</h2>",
        "".join(f"<p>{esc(line)}</p>" for line in _quality_summary(analysis)),
        _html_table("quality", quality_rows(analysis)),
        "<h2>Per needle site</h2>",
        _html_table("sites", site_rows(analysis.sites)),
        '<p class="note">Insertions: each needle span counts as one unless insertion markers '
        "are annotated. Habituation: least-squares slope of peak amplitude over the twitch "
        "index within the site (µV per twitch). Resting RMS: 5 s before the first needle-in "
        "and 5 s starting 1 s after the last needle-out, band-passed, on the site's main "
        "channel.</p>",
        "<h2>Figures</h2>",
        *figs,
        *(
            [
                "<h2>Movement in the attached video</h2>",
                f'<p class="note">{esc(_motion_note(video))}</p>',
                _html_table("motion_sites", site_agreement_rows(video.fusion)),
                _html_table("motion_events", motion_rows(video)),
            ]
            if video is not None
            else []
        ),
        "<h2>Detector configuration</h2>",
        _html_table("config", config_rows(analysis)),
        "</body></html>",
    ]
    out.write_text("\n".join(parts), encoding="utf-8")
    return out


_LINES_PER_PAGE = 52
_SITES_PER_PAGE = 6


def _text_pages(title: str, lines: Sequence[str]) -> list[Figure]:
    pages = []
    for k in range(0, max(1, len(lines)), _LINES_PER_PAGE):
        fig = Figure(figsize=(8.27, 11.69))
        fig.text(0.06, 0.96, title, fontsize=13, weight="bold", va="top")
        fig.text(
            0.06,
            0.92,
            "\n".join(lines[k : k + _LINES_PER_PAGE]),
            fontsize=7.5,
            family="monospace",
            va="top",
        )
        pages.append(fig)
    return pages


def _table_page(title: str, rows: Sequence[dict[str, Any]], note: str) -> Figure:
    """Rows as columns (one column per site), fields as rows: fits many fields on a page."""
    fig = Figure(figsize=(11.69, 8.27))
    fig.text(0.04, 0.96, title, fontsize=13, weight="bold", va="top")
    ax = fig.add_axes((0.24, 0.08, 0.72, 0.82))  # row labels sit left of the axes
    ax.set_axis_off()
    if rows:
        keys = list(rows[0])
        cells = [[_fmt(r.get(k)) for r in rows] for k in keys[1:]]
        table = ax.table(
            cellText=cells,
            rowLabels=keys[1:],
            colLabels=[_fmt(r.get(keys[0]))[:28] for r in rows],
            loc="upper center",
            cellLoc="left",
        )
        table.auto_set_font_size(False)
        table.set_fontsize(7)
        table.scale(1.0, 1.5)
    else:
        ax.text(0.0, 1.0, "None.", va="top")
    fig.text(0.04, 0.03, note, fontsize=7, wrap=True)
    return fig


def write_pdf(
    analysis: SessionAnalysis,
    out: str | Path,
    *,
    provenance: Sequence[str] = (),
    video: VideoFusion | None = None,
) -> Path:
    """Write a multi-page PDF report with matplotlib's ``PdfPages``."""
    out = Path(out)
    meta = [
        f"{item.section:<11} {item.term:<38} {item.display}"
        for item in recording_metadata(analysis)
    ]
    quality = [
        "  ".join(f"{k}={_fmt(v)}" for k, v in row.items()) for row in quality_rows(analysis)
    ]
    lines = [
        f"twitchscope {twitchscope_version()}  ·  {len(analysis.detection.twitches)} twitches",
        *provenance,
        "",
        f"RECORDING (ISEK reporting terms; {TO_FILL} = not in the file)",
        *meta,
        "",
        "SIGNAL QUALITY",
        *_quality_summary(analysis),
        *quality,
    ]
    config = [f"{r['parameter']:<32} {_fmt(r['value'])}" for r in config_rows(analysis)]
    pages = _text_pages(f"Session report: {analysis.path.name}", lines)
    rows = site_rows(analysis.sites)
    note = (
        "Habituation: least-squares slope of peak amplitude over the twitch index within "
        "the site (µV per twitch). Resting RMS: 5 s before the first needle-in and 5 s "
        "from 1 s after the last needle-out, band-passed, on the site's main channel."
    )
    for k in range(0, max(1, len(rows)), _SITES_PER_PAGE):  # keep the columns readable
        pages.append(_table_page("Per needle site", rows[k : k + _SITES_PER_PAGE], note))
    pages += [fig for _, fig in report_figures(analysis)]
    if video is not None:
        motion = [
            _motion_note(video),
            "",
            *(
                "  ".join(f"{k}={_fmt(v)}" for k, v in r.items())
                for r in site_agreement_rows(video.fusion)
            ),
            "",
            *("  ".join(_fmt(v) for v in r.values()) for r in motion_rows(video)),
        ]
        pages += _text_pages("Movement in the attached video", motion)
    pages += _text_pages("Detector configuration", config)
    with PdfPages(out, metadata={"Title": f"twitchscope report: {analysis.path.name}"}) as pdf:
        for fig in pages:
            pdf.savefig(fig)
    return out
