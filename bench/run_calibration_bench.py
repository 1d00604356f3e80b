"""Does ``twitchscope calibrate`` help on held-out recordings of the same kind?

Usage (from the repository root)::

    .venv/bin/python bench/run_calibration_bench.py [--corpus ../shared/bench/corpus-dev-b]

The corpus' recordings are split by their index in ``manifest.csv``: even indices are
the *fit* set, odd ones the *held-out* set, then the reverse (both halves hold every
sample rate). The truth of
each fit recording is turned into its review sidecar (every truth twitch ``confirmed``
by reviewer ``truth``) next to a link to the recording in a temporary folder, and
``calibrate`` runs on them as a user would (its own leave-one-recording-out figures are
reported). The held-out recordings are then detected with the default configuration and
with the profile, and scored with the corpus' own scorer (``ltrscore.py``, 40 ms,
channel-agnostic): F1, precision, recall, and false alarms per minute with an exact
Poisson 95 % interval. Figures go to ``bench/results/calibration.md``.
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


def _split(corpus: Path, ltr, fit: list[str], held: list[str], title: str):  # type: ignore[no-untyped-def]
    """Calibrate on ``fit``, score default and calibrated on ``held``.

    Returns the markdown section and the held-out ``overall`` scores by configuration.
    """
    from twitchscope.signal.detect.config import DetectorConfig
    from twitchscope.signal.review.calibration import calibrate, rate_interval
    from twitchscope.signal.review.profile import profile_toml, read_profile
    from twitchscope.signal.review.sidecar import review_path, write_review
    from twitchscope.signal.review.twitches import verdicts_from_events_file

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="twitchscope-cal-") as tmp:
        tmpd = Path(tmp)
        recs = []
        for rid in fit:
            link = tmpd / f"{rid}.edf"
            os.symlink(corpus / f"{rid}.edf", link)
            rows = verdicts_from_events_file(corpus / f"{rid}.truth.csv", reviewer="truth")
            write_review(review_path(link), rows)
            recs.append(link)
        result = calibrate(
            recs,
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


def main(argv: list[str] | None = None) -> int:
    """Run both splits and write the markdown; returns 0."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--corpus", type=Path, default=ROOT.parent / "shared/bench/corpus-dev-b")
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)

    from twitchscope.signal.review.profile import package_version

    corpus = a.corpus.resolve()
    ltr = _ltrscore(corpus.parent)
    man = pd.read_csv(corpus / "manifest.csv")
    even = [r for k, r in enumerate(man["rid"]) if k % 2 == 0]
    odd = [r for k, r in enumerate(man["rid"]) if k % 2 == 1]
    lines = [
        "# Calibration on held-out recordings",
        "",
        f"Generated by `bench/run_calibration_bench.py` (twitchscope {package_version()}) on "
        f"`{corpus.name}`, two ways: fit on the even manifest indices and score the odd ones, "
        "then the reverse (both halves hold every sample rate). The truth of the fit set is "
        "given to `twitchscope calibrate` as review sidecars (every truth twitch `confirmed`); "
        "the held-out recordings are scored with the corpus' own `ltrscore.py` (±40 ms, "
        "channel-agnostic). The detector is the working tree's at the time of the run.",
        "",
    ]
    a_lines, a_scores = _split(corpus, ltr, even, odd, "Split A: fit on even indices, held out odd")
    b_lines, b_scores = _split(corpus, ltr, odd, even, "Split B: fit on odd indices, held out even")
    from twitchscope.signal.review.agreement import Counts
    from twitchscope.signal.review.calibration import rate_interval

    lines += [
        "## Summary: every recording held out once (both splits pooled)",
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
    lines += ["", *a_lines, *b_lines]
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
