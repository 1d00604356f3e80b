"""Reliability of the twitch confidence and the precision-recall curve over its cut-off.

Used by ``bench/run_detector_bench.py``; runnable alone::

    python bench/confidence_tables.py [--corpus-bench ../shared/bench]

Every development corpus is run once in-process with ``min_confidence=0`` (every twitch the
detector would keep, with its confidence). Then

* reliability: detections binned by confidence; the share of each bin that matches a true
  twitch (the scorer's one-to-one onset matching within 40 ms; the detector reports one
  event per twitch whatever the channels, so no merging across channels) against
  the mean confidence of the bin: a calibrated confidence has the two equal;
* precision-recall: the detections at or above each confidence cut-off scored with the
  corpus scorer (``ltrscore.score_corpus``), so the curve shows what ``min_confidence``
  would give; the row at the default ``min_confidence`` is marked.
* the real files: detections at or above each cut-off (none of them is a twitch).
"""

from __future__ import annotations

import argparse
import logging
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.run import detect_recording
from twitchscope.signal.io.readers import read_recording

ROOT = Path(__file__).resolve().parents[1]
CUTS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
CORPORA = ("corpus-dev", "corpus-dev-b")


def _detect(
    job: tuple[str, float | None] | tuple[str, float | None, DetectorConfig],
) -> tuple[str, pd.DataFrame, float]:
    """Twitches of one recording (by default with every confidence: min_confidence 0)."""
    path, sfreq = job[0], job[1]
    config = job[2] if len(job) > 2 else DetectorConfig(min_confidence=0.0)  # type: ignore[misc]
    logging.disable(logging.WARNING)
    kwargs = {"sfreq": sfreq} if sfreq else {}
    raw = read_recording(path, preload=True, **kwargs)
    run = detect_recording(raw, config)
    rows = [
        {"onset_s": t.onset_s, "offset_s": t.offset_s, "channel": t.channel, "conf": t.confidence}
        for t in run.twitches
    ]
    events = pd.DataFrame(rows, columns=["onset_s", "offset_s", "channel", "conf"])
    return path, events, raw.n_times / raw.info["sfreq"]


def _matched(ltrscore, events: pd.DataFrame, truth: pd.DataFrame) -> np.ndarray:
    """Which detections (rows of ``events``) match a true twitch, as the scorer matches."""
    if events.empty:
        return np.zeros(0, dtype=bool)
    pairs = ltrscore.greedy_match(
        events["onset_s"].to_numpy(float), truth["onset_s"].to_numpy(float), 0.04
    )
    hit = np.zeros(len(events), dtype=bool)
    for i, _, _ in pairs:
        hit[i] = True
    return hit


def tables(bench_dir: Path, real_files: dict[str, float | None]) -> str:
    """The markdown of both tables for every corpus under ``bench_dir`` and the real files."""
    sys.path.insert(0, str(bench_dir))
    import emgio  # noqa: PLC0415  (the scorer's own modules, from ../shared/bench)
    import ltrscore  # noqa: PLC0415

    jobs: list[tuple[str, float | None]] = []
    for corpus in CORPORA:
        jobs += [(str(p), None) for p in sorted((bench_dir / corpus).glob("*.edf"))]
    real_dir = bench_dir.parent / "real-files"
    jobs += [(str(real_dir / n), sf) for n, sf in real_files.items() if (real_dir / n).exists()]
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = {path: (ev, dur) for path, ev, dur in pool.map(_detect, jobs)}
    default = DetectorConfig().min_confidence
    out = []
    for corpus in CORPORA:
        split = bench_dir / corpus
        events = {Path(p).stem: ev for p, (ev, _) in results.items() if Path(p).parent == split}
        confs, hits = [], []
        for rid, ev in events.items():
            ev = ev.sort_values("onset_s").reset_index(drop=True)
            confs.append(ev["conf"].to_numpy(float))
            hits.append(_matched(ltrscore, ev, emgio.load_truth(str(split), rid)))
        conf, hit = np.concatenate(confs), np.concatenate(hits)
        out += [
            f"Reliability on `{corpus}` ({len(conf)} detections with `min_confidence` 0):",
            "",
            "| confidence | detections | share true | mean confidence |",
            "|---|---|---|---|",
        ]
        for lo, hi in zip(BINS[:-1], BINS[1:], strict=True):
            sel = (conf >= lo) & ((conf < hi) if hi < 1.0 else (conf <= hi))
            share = f"{hit[sel].mean():.2f}" if sel.any() else "-"
            mean = f"{conf[sel].mean():.2f}" if sel.any() else "-"
            out.append(f"| {lo:.1f}-{hi:.1f} | {int(sel.sum())} | {share} | {mean} |")
        out += [
            "",
            f"Precision-recall over the confidence cut-off on `{corpus}`:",
            "",
            "| cut-off | F1 | precision | recall | false/min |",
            "|---|---|---|---|---|",
        ]
        for cut in CUTS:
            kept = {rid: ev[ev["conf"] >= cut] for rid, ev in events.items()}
            o = ltrscore.score_corpus(kept, str(split))["overall"]
            mark = " (default)" if abs(cut - default) < 1e-9 else ""
            out.append(
                f"| {cut:.1f}{mark} | {o['f1']:.3f} | {o['precision']:.3f} | "
                f"{o['recall']:.3f} | {o['fp_per_min']:.2f} |"
            )
        out.append("")
    real = {Path(p).name: ev for p, (ev, _) in results.items() if Path(p).parent == real_dir}
    if real:
        out += [
            "Real files (no twitches): detections at or above each cut-off:",
            "",
            "| cut-off | " + " | ".join(f"`{n}`" for n in real) + " |",
            "|---|" + "---|" * len(real),
        ]
        for cut in CUTS:
            counts = " | ".join(str(int((ev["conf"] >= cut).sum())) for ev in real.values())
            out.append(f"| {cut:.1f} | {counts} |")
    return "\n".join(out)


#: False-alarm targets of the operating-point table, per minute.
TARGETS = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


def operating_points(bench_dir: Path) -> str:
    """F1, precision, recall and false detections a minute on both corpora for each
    ``false_alarms_per_min`` (the detector's operating point), everything else default."""
    sys.path.insert(0, str(bench_dir))
    import ltrscore  # noqa: PLC0415

    default = DetectorConfig().false_alarms_per_min
    lines = [
        "| `false_alarms_per_min` | "
        + " | ".join(f"`{c}` F1 / precision / recall / false a minute" for c in CORPORA)
        + " |",
        "|---|" + "---|" * len(CORPORA),
    ]
    paths = {c: sorted((bench_dir / c).glob("*.edf")) for c in CORPORA}
    with ProcessPoolExecutor(max_workers=2) as pool:
        for target in TARGETS:
            config = DetectorConfig(false_alarms_per_min=target)
            cells = []
            for corpus in CORPORA:
                jobs = [(str(p), None, config) for p in paths[corpus]]
                events = {Path(p).stem: ev for p, ev, _ in pool.map(_detect, jobs)}
                o = ltrscore.score_corpus(events, str(bench_dir / corpus))["overall"]
                cells.append(
                    f"{o['f1']:.3f} / {o['precision']:.3f} / {o['recall']:.3f} / "
                    f"{o['fp_per_min']:.2f}"
                )
            mark = " (default)" if target == default else ""
            lines.append(f"| {target:g}{mark} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus-bench", type=Path, default=ROOT.parent / "shared" / "bench")
    args = ap.parse_args(argv)
    from run_detector_bench import REAL_FILES  # noqa: PLC0415

    print(tables(args.corpus_bench, {n: sf for n, (_, sf) in REAL_FILES.items()}))
    print()
    print(operating_points(args.corpus_bench))
    return 0


if __name__ == "__main__":
    sys.exit(main())
