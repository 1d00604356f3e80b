"""Regenerate sample_recordings/: synthetic EMG sessions from twitchscope's simulator.

Every file is SYNTHETIC: made by ``twitchscope.signal.simulate`` with a fixed preset and
seed, never recorded from a person. For each recording this writes

* ``<name>.edf``: EDF+ (EMG channels in µV, labelled ``EMG <channel>``) annotated with
  the needle sites (``needle:<label>``) only, as a replayed session would be;
* ``<name>.truth.csv``: the true twitches (one row each);
* ``<name>.confounders.csv``: the true confounders (ECG beats, pops, guarding, …);

plus, for the recordings of ``VIDEOS``, a short synthetic ultrasound-like video
(``<name>.mp4``, :mod:`twitchscope.signal.video.synthetic`: a speckle texture displaced
by each true twitch, with breathing and probe drift) and its link ``<name>.video.json``
(needs the ``video`` extra, OpenCV);

and ``README.md``, which describes them. The "detector finds" column of the README
comes from running twitchscope's detector on each written file (the preset given in
``DETECTOR_PRESET``) and matching its events to the truth within +-40 ms, as the
development-corpus scorer does; ``tests/test_sample_recordings.py`` checks it stays true.

Usage::

    .venv/bin/python scripts/make_sample_recordings.py [--out sample_recordings]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import mne
import numpy as np

from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.simulate import Simulation, preset, simulate

logger = logging.getLogger("make_sample_recordings")

ROOT = Path(__file__).resolve().parents[1]
MAX_TOTAL_BYTES = 15 * 1024 * 1024
MEAS_DATE = dt.datetime(2026, 1, 1, 9, 0, 0, tzinfo=dt.UTC)  # fixed: files are reproducible

#: what the detector finds on each recording, filled in by hand after running it,
#: e.g. {"gastrocnemius_limb_2khz": "15 (14 true, 1 false)"}
#: detector preset per recording (``limb`` unless the muscle is ECG-prone)
DETECTOR_PRESET: dict[str, str] = {"trapezius_ecg_500hz": "trunk"}
#: a detection matches a true twitch when its onset is this close (s)
MATCH_TOLERANCE_S = 0.04
#: recordings with a synthetic ultrasound video: name -> (video start in the recording, s;
#: video length, s). The video covers the first needle site.
VIDEOS: dict[str, tuple[float, float]] = {"gastrocnemius_limb_2khz": (5.0, 30.0)}
#: the mechanical twitch follows the EMG one (electromechanical delay), s
EMD_S = 0.03


@dataclass(frozen=True)
class Recording:
    """One sample recording: which preset, at what rate, how long, which seed."""

    name: str
    preset: str
    sfreq: float
    duration_s: float
    seed: int
    shows: str
    placement: str


RECORDINGS = (
    Recording(
        name="gastrocnemius_limb_2khz",
        preset="limb",
        sfreq=2000.0,
        duration_s=80.0,
        seed=2,
        shows=(
            "Right medial gastrocnemius, two trigger points needled for 30 s each. Clear "
            "LTRs (first twitch of a bout 12-20x baseline RMS) that habituate: each of the "
            "first three twitches of a bout is 0.6x the previous one, then the size holds "
            "(after Baraja-Vegas 2020). 50 Hz mains at 3 µV and a few needle-handling "
            "transients (< 15 Hz) at insertions."
        ),
        placement=(
            "Three bipolar pairs along the medial gastrocnemius 2.5 cm apart, the middle "
            "one (R-MG-TrP) over the taut band 1-3 cm from the needle; a control pair on "
            "the lateral gastrocnemius (R-LG) 4 cm across."
        ),
    ),
    Recording(
        name="trapezius_ecg_500hz",
        preset="trunk_ecg",
        sfreq=500.0,
        duration_s=76.0,
        seed=7,
        shows=(
            "Right upper trapezius with ECG contamination (R waves 20-30 µV on the right, "
            "60 µV on the left, 72 bpm). LTRs are weak (2.5-8x baseline) and rare "
            "(35 % of insertions), as often on trapezius (Lim 2004). 50 Hz mains at 5 µV."
        ),
        placement=(
            "R-UT-TB on the taut band next to the needle; R-UT-SENIAM at the SENIAM spot "
            "(50 % of the acromion-C7 line) 3 cm away; R-LevScap over levator scapulae; "
            "L-UT on the contralateral upper trapezius (a control, ECG largest)."
        ),
    ),
    Recording(
        name="cyton_infraspinatus_250hz",
        preset="cyton",
        sfreq=250.0,
        duration_s=80.0,
        seed=4,
        shows=(
            "An OpenBCI-Cyton-like recording: 8 channels at 250 Hz with the ADS1299 sinc3 "
            "low-pass approximated at 65.5 Hz (0.262 x sfreq), 60 Hz mains at 8 µV whose "
            "harmonics alias (180 -> 70 Hz, 240 -> 10 Hz), small ECG. Right infraspinatus, "
            "two trigger points. Detection-only territory: no spectral metrics at 250 Hz."
        ),
        placement=(
            "R-Infrasp on the taut band next to the needle; neighbours over teres minor, "
            "posterior deltoid, middle and upper trapezius and levator scapulae; L-Infrasp "
            "and L-UT on the left side as controls."
        ),
    ),
    Recording(
        name="paraspinal_l4l5_1khz",
        preset="paraspinal",
        sfreq=1000.0,
        duration_s=105.0,
        seed=5,
        shows=(
            "A segmental IMS session of the lumbar multifidus: left L4, left L5, right L4, "
            "right L5 needled for 20 s each. Twitches show on the pair of the needled "
            "segment and, weaker, on the adjacent segment of the same side; more "
            "needle-handling transients (40 % of insertions); small ECG."
        ),
        placement=(
            "One bipolar pair over each multifidus at L4 and L5, 2.5 cm lateral to the "
            "spinous processes (5 cm between sides, 3.5 cm between levels)."
        ),
    ),
    Recording(
        name="not_a_twitch_1khz",
        preset="confounders",
        sfreq=1000.0,
        duration_s=80.0,
        seed=6,
        shows=(
            "What is NOT a twitch: voluntary guarding (1-5 s of activity with slow ramps), "
            "electrode pops (a step then an exponential decay), electrode motion "
            "(0.5-10 Hz), mains surges and needle-handling transients, around a few true "
            "LTRs (25 % of insertions) on the right medial gastrocnemius."
        ),
        placement=(
            "R-MG-TrP on the taut band next to the needle; R-MG-dist 2.5 cm distal; R-LG "
            "on the lateral gastrocnemius; R-Soleus 8 cm distal."
        ),
    ),
)


def write_recording(rec: Recording, out_dir: Path) -> tuple[Simulation, dict[str, int]]:
    """Simulate one recording and write its EDF+, truth and confounder files."""
    sim = simulate(preset(rec.preset, sfreq=rec.sfreq), duration_s=rec.duration_s, seed=rec.seed)
    if any(len(ch) > 12 for ch in sim.ch_names):
        raise SystemExit(f"{rec.name}: channel names must be <= 12 characters: {sim.ch_names}")
    raw = sim.to_raw(annotate_twitches=False)
    raw.set_meas_date(MEAS_DATE)
    edf = out_dir / f"{rec.name}.edf"
    mne.export.export_raw(edf, raw, fmt="edf", add_ch_type=True, overwrite=True, verbose="error")
    _check_edf(edf, sim)

    with open(out_dir / f"{rec.name}.truth.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["onset_s", "offset_s", "channel", "channels", "peak_uv", "rms_uv", "snr_db"]
            + ["site", "latency_s"]
        )
        for tw in sim.events.twitches:
            w.writerow(
                [
                    f"{tw.onset_s:.4f}",
                    f"{tw.offset_s:.4f}",
                    tw.channel,
                    ";".join(tw.channels),
                    f"{tw.peak_v * 1e6:.2f}",
                    f"{tw.rms_v * 1e6:.2f}",
                    f"{tw.snr_db:.2f}",
                    tw.site,
                    f"{tw.latency_s:.4f}",
                ]
            )
    with open(out_dir / f"{rec.name}.confounders.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["kind", "onset_s", "offset_s", "channel", "amplitude_uv"])
        for c in sim.confounders:
            w.writerow(
                [
                    c.kind,
                    f"{c.onset_s:.4f}",
                    f"{c.offset_s:.4f}",
                    c.channel,
                    f"{c.amplitude_v * 1e6:.2f}",
                ]
            )
    counts: dict[str, int] = {}
    for c in sim.confounders:
        counts[c.kind] = counts.get(c.kind, 0) + 1
    # ECG and guarding are listed per channel: count events, not rows
    for kind in ("ecg", "guarding"):
        onsets = {c.onset_s for c in sim.confounders if c.kind == kind}
        if onsets:
            counts[kind] = len(onsets)
    return sim, counts


def _check_edf(path: Path, sim: Simulation) -> None:
    """Read the EDF+ back: same channels, sites and samples (to EDF's 16-bit resolution)."""
    raw = mne.io.read_raw_edf(path, preload=True, verbose="error")
    names = [n.removeprefix("EMG ") for n in raw.ch_names]
    if names != list(sim.ch_names) or raw.info["sfreq"] != sim.sfreq:
        raise SystemExit(f"{path.name}: read back {names} at {raw.info['sfreq']} Hz")
    data = raw.get_data()
    # MNE writes one physical range for all channels, so one 16-bit step for all
    step = (sim.data.max() - sim.data.min()) / 65535
    if data.shape != sim.data.shape or np.abs(data - sim.data).max() > step:
        raise SystemExit(f"{path.name}: samples differ from the simulation after EDF round trip")
    sites = recording_events(raw).sites
    if [(s.label, round(s.onset_s, 3)) for s in sites] != [
        (s.label, round(s.onset_s, 3)) for s in sim.events.sites
    ]:
        raise SystemExit(f"{path.name}: needle sites differ after EDF round trip: {sites}")


def match_events(found: list[float], truth: list[float]) -> int:
    """Detections matched one-to-one to true onsets within ``MATCH_TOLERANCE_S``."""
    pairs = sorted(
        (abs(f - t), i, j)
        for i, f in enumerate(found)
        for j, t in enumerate(truth)
        if abs(f - t) <= MATCH_TOLERANCE_S
    )
    used_f: set[int] = set()
    used_t: set[int] = set()
    for _, i, j in pairs:
        if i not in used_f and j not in used_t:
            used_f.add(i)
            used_t.add(j)
    return len(used_f)


def detector_finds(rec: Recording, sim: Simulation, out: Path = ROOT / "sample_recordings") -> str:
    """Run the detector on the written file: ``"N found: M true, F false (preset P)"``."""
    from twitchscope.signal.detect.config import preset
    from twitchscope.signal.detect.run import detect_raw
    from twitchscope.signal.io.readers import read_recording

    name = DETECTOR_PRESET.get(rec.name, "limb")
    twitches, _ = detect_raw(read_recording(out / f"{rec.name}.edf"), preset(name))
    n_true = match_events([t.onset_s for t in twitches], [t.onset_s for t in sim.events.twitches])
    return f"{len(twitches)} found: {n_true} true, {len(twitches) - n_true} false (preset `{name}`)"


def readme(rows: list[tuple[Recording, Simulation, dict[str, int]]]) -> str:
    """The README of sample_recordings/."""
    lines = [
        "# Sample recordings",
        "",
        "**These recordings are SYNTHETIC.** They were generated by twitchscope's own EMG",
        "simulator (`twitchscope.signal.simulate`), not recorded from any person. They are",
        "for learning the tool, replaying a session without hardware, and testing. The",
        "simulator's LTR model is an engineering model anchored on the literature (see the",
        "module docstring); it is not validated against real LTR recordings.",
        "",
        "Regenerate them all (same bytes for the same code and library versions) with:",
        "",
        "```",
        ".venv/bin/python scripts/make_sample_recordings.py",
        "```",
        "",
        "Each recording `<name>` has:",
        "",
        "* `<name>.edf`: EDF+, EMG channels labelled `EMG <channel>` in µV, annotated with",
        "  the needle sites only (`needle:<label>`, with duration); the true twitches are",
        "  **not** in the file, so a detector run on it starts blind;",
        "* `<name>.truth.csv`: the true twitches, one row each: `onset_s, offset_s, channel`",
        "  (where largest), `channels` (every channel it shows on, `;`-separated), `peak_uv`",
        "  and `rms_uv` of the noise-free burst on its main channel, `snr_db`",
        "  (20 log10 of rms over the baseline RMS), `site`, `latency_s` (onset minus the",
        "  site's onset);",
        "* `<name>.confounders.csv`: the events that are not twitches: `kind` (ecg, pop,",
        "  motion, needle_handling, guarding, mains_surge), `onset_s, offset_s`, `channel`",
        "  (`*` = every channel) and `amplitude_uv` (ECG: R amplitude, one row per channel;",
        "  pop: step; motion and needle_handling: peak; guarding: RMS, one row per channel;",
        "  mains_surge: peak of the mains fundamental during the surge).",
        "",
        "In the per-recording tables, *first-twitch SNR* is the peak envelope RMS of the",
        "first twitch of a bout over the channel's baseline RMS (drawn uniformly in the",
        "range), and *habituation* the factor applied to each following twitch until the",
        "amplitude holds (Baraja-Vegas 2020: peak RMS drops over the first three LTRs).",
        "Insertions come every 0.8-4 s (per preset); each elicits an LTR with the given",
        "probability, 5-60 ms after it.",
        "",
        "Truth: a twitch starts at its first non-zero sample and ends where its envelope",
        "has decayed to 5 % of its peak (it is exactly zero outside). No random confounder",
        "starts in the first 4 s (a quiet baseline); ECG and mains are present throughout.",
        "",
        "## Overview",
        "",
        "| file | preset | sfreq | duration | channels | seed | true twitches | detector finds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for rec, sim, _ in rows:
        finds = detector_finds(rec, sim)
        lines.append(
            f"| `{rec.name}.edf` | `{rec.preset}` | {rec.sfreq:g} Hz | {rec.duration_s:g} s "
            f"| {len(sim.ch_names)} | {rec.seed} | {len(sim.events.twitches)} | {finds} |"
        )
    lines += [
        "",
        "`gastrocnemius_limb_2khz` also has a short synthetic ultrasound-like video of its",
        "first needle site (`gastrocnemius_limb_2khz.mp4`, 30 s, 160x120 at 30 fps: a speckle",
        "texture that each true twitch displaces 30 ms after its EMG onset, faster for larger",
        "twitches, with breathing and probe drift) linked by `gastrocnemius_limb_2khz.video.json`",
        "(the video starts 5 s into the recording). Try `twitchscope motion` on it.",
        "",
        'The "detector finds" column comes from running `twitchscope detect --preset P` on',
        "each file (P is `trunk` for the ECG-contaminated trapezius, `limb` otherwise):",
        "events found, of which matched to a true twitch within ±40 ms, and false ones.",
        "The script writes it; `tests/test_sample_recordings.py` checks it.",
        "",
    ]
    for rec, sim, counts in rows:
        cfg = sim.config
        per_site: dict[str | None, int] = {}
        for tw in sim.events.twitches:
            per_site[tw.site] = per_site.get(tw.site, 0) + 1
        lines += [
            f"## `{rec.name}`",
            "",
            f"**Shows.** {rec.shows}",
            "",
            f"**Electrode placement.** {rec.placement}",
            "",
            "**Made with.** `simulate(preset("
            f'"{rec.preset}", sfreq={rec.sfreq:g}), duration_s={rec.duration_s:g}, '
            f"seed={rec.seed})`: channels {', '.join(f'`{c}`' for c in sim.ch_names)}; "
            f"baseline RMS {_uv(cfg.baseline_rms_v)} µV; mains {cfg.mains_hz:g} Hz at "
            f"{cfg.mains_v * 1e6:g} µV peak"
            + (f"; device low-pass {cfg.device_lowpass_hz:g} Hz" if cfg.device_lowpass_hz else "")
            + (f"; ECG {cfg.ecg_hr_bpm:g} bpm, R {_uv(cfg.ecg_r_v)} µV" if cfg.ecg else "; no ECG")
            + ".",
            "",
            "| needle site | onset | duration | channel | P(LTR per insertion) | first-twitch SNR "
            "| habituation | true twitches |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for s in cfg.sites:
            lines.append(
                f"| {s.label} | {s.onset_s:g} s | {s.duration_s:g} s | `{s.channel}` "
                f"| {s.ltr_probability:g} | {s.snr[0]:g}-{s.snr[1]:g}x "
                f"| x{s.habituation:g} per twitch, stable from twitch {s.habituation_n} "
                f"| {per_site.get(s.label, 0)} |"
            )
        conf = ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"
        lines += [
            "",
            f"**Expected twitch count: {len(sim.events.twitches)}.** Confounders: {conf}.",
            "",
        ]
    return "\n".join(lines)


def write_sample_video(rec: Recording, sim: Simulation, out_dir: Path) -> Path:
    """The recording's synthetic ultrasound video and its ``.video.json`` link.

    Each true twitch inside the video's span moves the texture ``EMD_S`` after its EMG
    onset, at a peak speed that follows its amplitude (so the grades follow habituation).
    """
    from twitchscope.signal.video.link import VideoLink, write_link
    from twitchscope.signal.video.synthetic import SyntheticVideoSpec, VideoTwitch, write_video

    start, length = VIDEOS[rec.name]
    twitches = [t for t in sim.events.twitches if start <= t.onset_s + EMD_S < start + length]
    biggest = max(t.peak_v for t in sim.events.twitches)
    moves = tuple(
        VideoTwitch(onset_s=t.onset_s + EMD_S - start, peak_speed=20.0 + 90.0 * t.peak_v / biggest)
        for t in twitches
    )
    spec = SyntheticVideoSpec(duration_s=length, fps=30.0, width=160, height=120, twitches=moves)
    video = write_video(out_dir / f"{rec.name}.mp4", spec, seed=rec.seed).path
    write_link(out_dir / f"{rec.name}.edf", VideoLink(video=video, offset_s=start))
    return video


def _uv(values: float | tuple[float, ...]) -> str:
    vals = values if isinstance(values, tuple) else (values,)
    uniq = sorted({round(v * 1e6, 2) for v in vals})
    return "/".join(f"{v:g}" for v in uniq)


def main(argv: list[str] | None = None) -> int:
    """Write every sample recording and the README into ``--out``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "sample_recordings")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for rec in RECORDINGS:
        sim, counts = write_recording(rec, out)
        if rec.name in VIDEOS:
            write_sample_video(rec, sim, out)
        rows.append((rec, sim, counts))
        logger.info("%s: %d twitches, %s", rec.name, len(sim.events.twitches), counts)
    (out / "README.md").write_text(readme(rows), encoding="utf-8")
    total = sum(p.stat().st_size for rec in RECORDINGS for p in out.glob(f"{rec.name}.*"))
    logger.info("total %.2f MB in %s", total / 1e6, out)
    if total > MAX_TOTAL_BYTES:
        logger.error("sample recordings take %.1f MB, more than 15 MB", total / 1e6)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
