"""The bundled sample recordings: present, readable, and described truthfully."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest

from twitchscope.signal.core.annotations import recording_events
from twitchscope.signal.detect.config import preset
from twitchscope.signal.detect.run import detect_raw
from twitchscope.signal.io.readers import read_recording

FOLDER = Path(__file__).resolve().parents[1] / "sample_recordings"
ROW = re.compile(
    r"^\| `(?P<file>[\w.]+\.edf)` \| `\w+` \| (?P<sfreq>[\d.]+) Hz \| [\d.]+ s \| (?P<n_ch>\d+) "
    r"\| \d+ \| (?P<n_truth>\d+) \| (?P<found>\d+) found: (?P<true>\d+) true, "
    r"(?P<false>\d+) false \(preset `(?P<preset>\w+)`\) \|$"
)


def _rows() -> list[dict[str, str]]:
    text = (FOLDER / "README.md").read_text(encoding="utf-8")
    return [m.groupdict() for line in text.splitlines() if (m := ROW.match(line))]


def test_readme_lists_every_recording_and_says_they_are_synthetic() -> None:
    text = (FOLDER / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in text
    listed = sorted(r["file"] for r in _rows())
    assert listed == sorted(p.name for p in FOLDER.glob("*.edf"))
    assert len(listed) >= 5
    assert sum(p.stat().st_size for p in FOLDER.iterdir()) <= 15e6


@pytest.mark.parametrize("row", _rows(), ids=lambda r: r["file"])
def test_readme_numbers_are_what_the_detector_finds(row: dict[str, str]) -> None:
    path = FOLDER / row["file"]
    raw = read_recording(path)
    assert raw.info["sfreq"] == float(row["sfreq"])
    assert len(raw.ch_names) == int(row["n_ch"])
    assert recording_events(raw).sites, "every sample recording has needle sites"
    with (FOLDER / f"{path.stem}.truth.csv").open(newline="") as f:
        truth = [float(r["onset_s"]) for r in csv.DictReader(f)]
    assert len(truth) == int(row["n_truth"])

    twitches, _ = detect_raw(raw, preset(row["preset"]))
    # one-to-one matching within +-40 ms, closest pairs first (as the corpus scorer)
    pairs = sorted(
        (abs(t.onset_s - o), i, j)
        for i, t in enumerate(twitches)
        for j, o in enumerate(truth)
        if abs(t.onset_s - o) <= 0.04
    )
    seen_i: set[int] = set()
    seen_j: set[int] = set()
    for _, i, j in pairs:
        if i not in seen_i and j not in seen_j:
            seen_i.add(i)
            seen_j.add(j)
    assert len(twitches) == int(row["found"])
    assert len(seen_i) == int(row["true"])
    assert len(twitches) - len(seen_i) == int(row["false"])


def test_the_sample_video_shows_the_twitches_of_its_recording() -> None:
    pytest.importorskip("cv2")  # the optional extra `video`
    from twitchscope.signal.core.model import Twitch
    from twitchscope.signal.video.fuse import fuse
    from twitchscope.signal.video.link import read_link
    from twitchscope.signal.video.motion import measure_motion

    edf = FOLDER / "gastrocnemius_limb_2khz.edf"
    link = read_link(edf)
    assert link.video == (FOLDER / "gastrocnemius_limb_2khz.mp4").resolve()
    assert link.offset_s == 5.0
    rows = list(csv.DictReader((FOLDER / "gastrocnemius_limb_2khz.truth.csv").open()))
    truth = [
        Twitch(float(r["onset_s"]), float(r["offset_s"]), r["channel"])
        for r in rows
        if 5.0 <= float(r["onset_s"]) < 34.5
    ]
    assert len(truth) >= 8
    movements = measure_motion(link.video).movements
    fusion = fuse(truth, movements, offset_s=link.offset_s)
    lags = [m.lag_s for m in fusion.matches if m.lag_s is not None]
    assert len(lags) >= 0.9 * len(truth)
    assert all(0.0 <= lag <= 0.1 for lag in lags)  # the movement follows the EMG onset
    assert len(fusion.movements_without_twitch) <= 1
    assert {m.grade for m in fusion.matches if m.grade} >= {"strong", "medium"}
