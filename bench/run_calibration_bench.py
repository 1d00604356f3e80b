"""Does ``twitchscope calibrate`` help on held-out recordings of the same kind?

Usage (from the repository root)::

    .venv/bin/python bench/run_calibration_bench.py [--corpus ../shared/bench/corpus-dev-b]
        [--parts kinds,halves] [--space shipped|wide] [--out FILE]

Two designs, both written to ``bench/results/calibration.md``:

* **kinds** (the done-when of issue 14): the recordings are grouped by their device front
  end (``manifest_extra.csv``: OpenBCI Cyton 250 Hz, OpenEEG-type 256 Hz, generic
  500 Hz, plux-type 1000 Hz, research 2000 Hz; three recordings each). Within a kind,
  each recording is held out in turn: ``calibrate`` runs on the other two (it refuses
  below 20 reviewed twitches; the user then keeps the defaults, and so does the score),
  and the held-out one is detected with the defaults and with the profile. The held-out
  counts of a kind are pooled over its three folds.
* **halves**: fit on the even manifest indices and score the odd ones, then the reverse
  (both halves hold every kind).

``--space wide`` searches, instead of ``calibrate``'s own space, a wider one (:data:`WIDE`:
also the high-pass corner, ``min_confidence`` and ``merge_gap_s``), to see whether a
richer search gains more on held-out recordings (written to
``bench/results/calibration_wide.md`` by default).

The truth of each fit recording is turned into its review sidecar (every truth twitch
``confirmed`` by reviewer ``truth``) next to a link to the recording in a temporary
folder, and ``calibrate`` runs on them as a user would (its own leave-one-recording-out
figures are reported). Held-out recordings are scored with the corpus' own scorer
(``ltrscore.py``, 40 ms, channel-agnostic): F1, precision, recall, and false alarms per
minute with an exact Poisson 95 % interval.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "calibration.md"
OUT_WIDE = ROOT / "bench" / "results" / "calibration_wide.md"

#: The wider search space of ``--space wide``: calibrate's own plus the high-pass corner,
#: the confidence floor and the merge gap.
WIDE = {
    "preset": ("limb", "trunk"),
    "k_on": (3.5, 4.5, 5.5, 7.0),
    "k_on_low_rate": (3.5, 4.5, 5.5, 7.0),
    "hp_hz": (10.0, 20.0, 30.0, 40.0),
    "glr_min": (10.0, 20.0, 40.0, 80.0),
    "false_alarms_per_min": (0.25, 0.5, 1.0, 2.0),
    "min_confidence": (0.1, 0.2, 0.3, 0.5),
    "min_duration_s": (0.02, 0.04),
    "max_duration_s": (0.3, 0.5),
    "merge_gap_s": (0.03, 0.06, 0.1),
}


def _ltrscore(bench: Path):  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(bench))
    spec = importlib.util.spec_from_file_location("ltrscore", bench / "ltrscore.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _detect_all(rids: list[str], corpus: Path, out_dir: Path, config) -> None:  # type: ignore[no-untyped-def]
    from twitchscope.signal.detect.run import detect_recording
    from twitchscope.signal.io.events import write_events
    from twitchscope.signal.io.readers import read_recording

    out_dir.mkdir(parents=True, exist_ok=True)
    for rid in rids:
        raw = read_recording(corpus / f"{rid}.edf", preload=False)
        write_events(out_dir / f"{rid}.events.csv", detect_recording(raw, config).twitches)


def _f(x: float, nd: int = 3) -> str:
    return "–" if x != x else f"{x:.{nd}f}"


def _split(corpus: Path, ltr, fit: list[str], held: list[str], title: str, space):  # type: ignore[no-untyped-def]
    """Calibrate on ``fit``, score default and calibrated on ``held``.

    Returns the markdown section and the held-out ``overall`` scores by configuration.
    """
    from twitchscope.signal.detect.config import DetectorConfig
    from twitchscope.signal.review.calibration import calibrate, rate_interval
    from twitchscope.signal.review.profile import profile_toml, read_profile

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="twitchscope-cal-") as tmp:
        tmpd = Path(tmp)
        recs = _linked(corpus, fit, tmpd)
        result = calibrate(
            recs,
            space=space,
            progress=lambda d, t: print(f"\rcalibrate: {d} runs", end="", file=sys.stderr),
        )
        print("", file=sys.stderr)
        profile_text = profile_toml(result)
        prof_path = tmpd / "profile.toml"
        prof_path.write_text(profile_text)
        calibrated = read_profile(prof_path).config()
        t_fit = time.perf_counter() - t0
        scores = {}
        for name, cfg in (("default", DetectorConfig()), ("calibrated", calibrated)):
            ev = tmpd / name
            _detect_all(held, corpus, ev, cfg)
            scores[name] = ltr.score_corpus(str(ev), str(corpus), 0.04, rids=held)
    elapsed = time.perf_counter() - t0
    v = result.validation
    lines = [
        f"## {title}",
        "",
        f"{elapsed:.0f} s ({t_fit:.0f} s for the calibration, {result.n_runs} detector runs).",
        "",
        f"* fit set ({len(fit)} recordings, "
        f"{sum(len(r.truth) for r in result.recordings)} reviewed twitches): " + ", ".join(fit),
        f"* held-out set ({len(held)} recordings): " + ", ".join(held),
        "",
        f"Chosen: **{result.describe()}**.",
        "",
        "### Held-out recordings (never seen by the calibration)",
        "",
        "| configuration | TP | FP | FN | precision | recall | F1 | FP/min | FP/min 95 % CI |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("default", "calibrated"):
        o = scores[name]["overall"]
        lo, hi = rate_interval(int(o["fp"]), float(o["minutes"]))
        lines.append(
            f"| {name} | {o['tp']} | {o['fp']} | {o['fn']} | {_f(o['precision'])} | "
            f"{_f(o['recall'])} | {_f(o['f1'])} | {_f(o['fp_per_min'], 2)} | "
            f"{_f(lo, 2)}–{_f(hi, 2)} |"
        )
    d, c = scores["default"]["overall"], scores["calibrated"]["overall"]
    lo_d, hi_d = rate_interval(int(d["fp"]), float(d["minutes"]))
    verdict_fp = (
        "inside or below the default's 95 % interval"
        if c["fp_per_min"] <= hi_d
        else "ABOVE the default's 95 % interval"
    )
    lines += [
        "",
        f"F1 {_f(d['f1'])} → {_f(c['f1'])} ({c['f1'] - d['f1']:+.3f}); false alarms "
        f"{_f(d['fp_per_min'], 2)} → {_f(c['fp_per_min'], 2)}/min, {verdict_fp} "
        f"({_f(lo_d, 2)}–{_f(hi_d, 2)}).",
        "",
        "| rate (held out) | F1 default | F1 calibrated | FP/min default | FP/min calibrated |",
        "|---|---|---|---|---|",
    ]
    for fs, a_d in scores["default"]["per_fs"].items():
        a_c = scores["calibrated"]["per_fs"][fs]
        lines.append(
            f"| {fs} Hz | {_f(a_d['f1'])} | {_f(a_c['f1'])} | {_f(a_d['fp_per_min'], 2)} | "
            f"{_f(a_c['fp_per_min'], 2)} |"
        )
    lines += [
        "",
        "### The calibration's own leave-one-recording-out estimate (fit set only)",
        "",
        "| | F1 (95 % CI, bootstrap over recordings) | FP/min (95 % CI, exact Poisson) |",
        "|---|---|---|",
        f"| defaults | {_f(v.default_f1)} ({_f(v.default_f1_ci[0])}–{_f(v.default_f1_ci[1])}) | "
        f"{_f(v.default_fp_per_min, 2)} ({_f(v.default_fp_per_min_ci[0], 2)}–"
        f"{_f(v.default_fp_per_min_ci[1], 2)}) |",
        f"| calibrated | {_f(v.f1)} ({_f(v.f1_ci[0])}–{_f(v.f1_ci[1])}) | "
        f"{_f(v.fp_per_min, 2)} ({_f(v.fp_per_min_ci[0], 2)}–{_f(v.fp_per_min_ci[1], 2)}) |",
        "",
        "| held-out recording (fold) | search on the others chose | F1 | F1 defaults |",
        "|---|---|---|---|",
    ]
    for name, chosen, f1, f1d in v.per_recording:
        lines.append(f"| {name} | {chosen} | {_f(f1)} | {_f(f1d)} |")
    lines += ["", "### The profile written", "", "```toml", profile_text.strip(), "```", ""]
    return lines, {k: v["overall"] for k, v in scores.items()}


def _linked(corpus: Path, fit: list[str], tmpd: Path) -> list[Path]:
    """Links to the ``fit`` recordings in ``tmpd``, each with its truth as a review sidecar."""
    from twitchscope.signal.review.sidecar import review_path, write_review
    from twitchscope.signal.review.twitches import verdicts_from_events_file

    recs = []
    for rid in fit:
        link = tmpd / f"{rid}.edf"
        os.symlink(corpus / f"{rid}.edf", link)
        rows = verdicts_from_events_file(corpus / f"{rid}.truth.csv", reviewer="truth")
        write_review(review_path(link), rows)
        recs.append(link)
    return recs


def _fp_cell(o: dict) -> str:
    from twitchscope.signal.review.calibration import rate_interval

    lo, hi = rate_interval(int(o["fp"]), float(o["minutes"]))
    return f"{_f(o['fp_per_min'], 2)} ({_f(lo, 2)}–{_f(hi, 2)})"


def _kinds(corpus: Path, ltr, space) -> list[str]:  # type: ignore[no-untyped-def]
    """Per device front end: hold each recording out in turn, calibrate on the others."""
    from twitchscope.signal.core.errors import ConfigError
    from twitchscope.signal.detect.config import DetectorConfig
    from twitchscope.signal.review.calibration import calibrate, rate_interval

    man = pd.read_csv(corpus / "manifest.csv")
    extra = pd.read_csv(corpus / "manifest_extra.csv").set_index("rid")
    man["device"] = [extra.loc[r, "device"] for r in man["rid"]]
    n_truth = {r: len(pd.read_csv(corpus / f"{r}.truth.csv")) for r in man["rid"]}
    summary: list[str] = []
    details: list[str] = []
    t_all = time.perf_counter()
    for (device, fs), group in man.groupby(["device", "fs"], sort=False):
        rids = list(group["rid"])
        pooled = {k: {"tp": 0, "fp": 0, "fn": 0, "minutes": 0.0} for k in ("default", "calibrated")}
        details += [
            f"### {device}, {fs} Hz ({len(rids)} recordings, {sum(n_truth[r] for r in rids)} "
            "labelled twitches)",
            "",
            "| held out | fit on (twitches) | profile chosen | calibrate's own LOO F1, "
            "profile vs defaults | held-out F1 default → calibrated | held-out FP/min "
            "default → calibrated |",
            "|---|---|---|---|---|---|",
        ]
        for held in rids:
            fit = [r for r in rids if r != held]
            fit_n = sum(n_truth[r] for r in fit)
            with tempfile.TemporaryDirectory(prefix="twitchscope-cal-") as tmp:
                tmpd = Path(tmp)
                links = _linked(corpus, fit, tmpd)
                try:
                    result = calibrate(links, space=space)
                except ConfigError as exc:  # too few labels: the user keeps the defaults
                    result, chosen, own = None, f"refused ({exc})", "–"
                    calibrated = DetectorConfig()
                else:
                    v = result.validation
                    chosen = result.describe()
                    own = f"{_f(v.f1)} vs {_f(v.default_f1)}"
                    calibrated = result.config()
                scores = {}
                for name, cfg in (("default", DetectorConfig()), ("calibrated", calibrated)):
                    ev = tmpd / name
                    _detect_all([held], corpus, ev, cfg)
                    scores[name] = ltr.score_corpus(str(ev), str(corpus), 0.04, rids=[held])[
                        "overall"
                    ]
            for name, o in scores.items():
                for k in ("tp", "fp", "fn", "minutes"):
                    pooled[name][k] += o[k]
            d, c = scores["default"], scores["calibrated"]
            details.append(
                f"| {held} | {', '.join(fit)} ({fit_n}) | {chosen} | {own} | "
                f"{_f(d['f1'])} → {_f(c['f1'])} | {_f(d['fp_per_min'], 2)} → "
                f"{_f(c['fp_per_min'], 2)} |"
            )
            print(f"{device} {held}: {chosen}: F1 {d['f1']:.3f} -> {c['f1']:.3f}", file=sys.stderr)
        details.append("")
        cells = []
        for name in ("default", "calibrated"):
            o = pooled[name]
            tp, fp, fn, minutes = o["tp"], o["fp"], o["fn"], o["minutes"]
            f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
            lo, hi = rate_interval(int(fp), float(minutes))
            cells.append((tp, fp, fn, f1, fp / minutes, lo, hi))
        (tp_d, fp_d, fn_d, f1_d, r_d, lo_d, hi_d) = cells[0]
        (tp_c, fp_c, fn_c, f1_c, r_c, lo_c, hi_c) = cells[1]
        gain = "gain" if f1_c > f1_d + 1e-9 else ("loss" if f1_c < f1_d - 1e-9 else "same")
        fp_ok = "yes" if r_c <= hi_d + 1e-12 else "NO"
        summary.append(
            f"| {device}, {fs} Hz | {tp_d + fn_d} | {f1_d:.3f} ({tp_d}/{fp_d}/{fn_d}) | "
            f"{f1_c:.3f} ({tp_c}/{fp_c}/{fn_c}) | {f1_c - f1_d:+.3f} ({gain}) | "
            f"{r_d:.2f} ({lo_d:.2f}–{hi_d:.2f}) | {r_c:.2f} ({lo_c:.2f}–{hi_c:.2f}) | {fp_ok} |"
        )
    elapsed = time.perf_counter() - t_all
    return [
        "## By kind: calibrate on two recordings of a device, score the third",
        "",
        f"{elapsed:.0f} s. Each recording of a kind held out once; counts pooled over the "
        "three folds of the kind (TP/FP/FN in brackets). The false-alarm check: the "
        "calibrated rate is at or below the upper end of the defaults' exact Poisson 95 % "
        "interval on the same held-out minutes.",
        "",
        "| kind | held-out twitches | F1 default | F1 calibrated | ΔF1 | FP/min default "
        "(95 % CI) | FP/min calibrated (95 % CI) | FP within the CI |",
        "|---|---|---|---|---|---|---|---|",
        *summary,
        "",
        *details,
    ]


def _halves(corpus: Path, ltr, space) -> list[str]:  # type: ignore[no-untyped-def]
    """Fit on the even manifest indices, score the odd ones, and the reverse."""
    from twitchscope.signal.review.agreement import Counts
    from twitchscope.signal.review.calibration import rate_interval

    man = pd.read_csv(corpus / "manifest.csv")
    even = [r for k, r in enumerate(man["rid"]) if k % 2 == 0]
    odd = [r for k, r in enumerate(man["rid"]) if k % 2 == 1]
    a_lines, a_scores = _split(
        corpus, ltr, even, odd, "Split A: fit on even indices, held out odd", space
    )
    b_lines, b_scores = _split(
        corpus, ltr, odd, even, "Split B: fit on odd indices, held out even", space
    )
    lines = [
        "## Across kinds: fit on half of the corpus, score the other half",
        "",
        "Every recording held out once (both splits pooled):",
        "",
        "| configuration | TP | FP | FN | F1 | FP/min | FP/min 95 % CI |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in ("default", "calibrated"):
        c = Counts(
            tp=int(a_scores[name]["tp"] + b_scores[name]["tp"]),
            fp=int(a_scores[name]["fp"] + b_scores[name]["fp"]),
            fn=int(a_scores[name]["fn"] + b_scores[name]["fn"]),
        )
        minutes = float(a_scores[name]["minutes"] + b_scores[name]["minutes"])
        lo, hi = rate_interval(c.fp, minutes)
        lines.append(
            f"| {name} | {c.tp} | {c.fp} | {c.fn} | {_f(c.f1)} | {_f(c.fp / minutes, 2)} | "
            f"{_f(lo, 2)}–{_f(hi, 2)} |"
        )
    return [*lines, "", *a_lines, *b_lines]


def main(argv: list[str] | None = None) -> int:
    """Run the designs asked for and write the markdown; returns 0."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/bench/corpus-dev-b")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--space", choices=("shipped", "wide"), default="shipped")
    ap.add_argument("--parts", default="kinds,halves", help="kinds, halves or both (comma)")
    a = ap.parse_args(argv)
    parts = {p.strip() for p in a.parts.split(",") if p.strip()}
    if not parts or parts - {"kinds", "halves"}:
        ap.error(f"--parts takes kinds and/or halves, got {a.parts!r}")

    from twitchscope.signal.review.calibration import search_space
    from twitchscope.signal.review.profile import package_version

    corpus = a.corpus.resolve()
    ltr = _ltrscore(corpus.parent)
    chosen = search_space() if a.space == "shipped" else WIDE
    out = a.out or (OUT if a.space == "shipped" else OUT_WIDE)
    which = (
        "`calibrate`'s own"
        if a.space == "shipped"
        else "`--space wide`, wider than what `calibrate` searches"
    )
    space = "; ".join(
        f"`{k}` {', '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in vals)}"
        for k, vals in chosen.items()
    )
    lines = [
        "# Calibration on held-out recordings",
        "",
        f"Generated by `bench/run_calibration_bench.py` (twitchscope {package_version()}) on "
        f"`{corpus.name}` (see the script's docstring). The truth of the fit recordings is "
        "given to `twitchscope calibrate` as review sidecars (every truth twitch `confirmed`); "
        "held-out recordings are scored with the corpus' own `ltrscore.py` (±40 ms, "
        "channel-agnostic). The detector is the working tree's at the time of the run; its "
        "defaults were tuned on the whole of this corpus, so they start from an advantage "
        "no calibration has on data they were not tuned on.",
        "",
        f"Search space ({which}): {space}.",
        "",
    ]
    if "kinds" in parts:
        lines += _kinds(corpus, ltr, chosen)
    if "halves" in parts:
        lines += _halves(corpus, ltr, chosen)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
