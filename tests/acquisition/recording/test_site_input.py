"""Typed lines and markers become needle sites on a real recorder, at the stream time."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest

from tests.acquisition.recording.partial_helpers import SFREQ, block, recorder, signal_
from twitchscope.acquisition.recording.partial import load_partial
from twitchscope.acquisition.recording.site_input import (
    KEYS_HELP,
    SiteInput,
    read_key_lines,
    read_markers,
)
from twitchscope.signal.core.sites import needle_marker


def _sites(rec_path: Path) -> list[tuple[str, float, float]]:
    return [
        (s.label, round(s.onset_s * SFREQ), round(s.duration_s * SFREQ))
        for s in load_partial(rec_path).events.sites
    ]


def test_typed_lines_follow_the_documented_scheme(tmp_path: Path) -> None:
    lines: list[str] = []
    x = signal_(600)
    path = tmp_path / "k.partial"
    with recorder(path) as rec:
        keys = SiteInput(rec, report=lines.append)
        rec.write(block(x[:, :100], first=0))
        assert keys.key_line("\n") is None  # needle out with no needle in: said, not marked
        keys.key_line("R trapezius TrP1\n")  # at sample 100
        rec.write(block(x[:, 100:300], first=100))
        keys.key_line("TrP2")  # closes TrP1 at 300, opens TrP2
        rec.write(block(x[:, 300:450], first=300))
        keys.key_line(".")  # out at 450
        keys.key_line("?")
        keys.key_line("needle:TrP3")  # the prefix is not part of the label; open at the end
        rec.write(block(x[:, 450:600], first=450))
    assert _sites(path) == [("R trapezius TrP1", 100, 200), ("TrP2", 300, 150), ("TrP3", 450, 150)]
    assert lines[0].startswith("not marked: needle out with no needle in")
    assert lines[1] == f"needle in  'R trapezius TrP1' at {100 / SFREQ:.3f} s"
    assert lines[2] == f"needle in  'TrP2' at {300 / SFREQ:.3f} s"  # TrP1 ends there
    assert lines[3].startswith(f"needle out 'TrP2' at {450 / SFREQ:.3f} s")
    assert lines[4] == KEYS_HELP
    assert len(lines) == 6


def test_markers_are_placed_by_their_age_and_never_go_back(tmp_path: Path) -> None:
    lines: list[str] = []
    x = signal_(1000)
    path = tmp_path / "m.partial"
    with recorder(path) as rec:
        sites = SiteInput(rec, report=lines.append)
        rec.write(block(x[:, :487], first=0))  # 1 s
        sites.marker("needle:A", age_s=0.5)  # half a second ago
        sites.marker("LTR channel=EMG1 peak_uv=80")  # not a needle marker: ignored
        rec.write(block(x[:, 487:974], first=487))
        sites.marker("needle-out", age_s=5.0)  # older than needle in: placed at it, not before
        sites.marker("NEEDLE:B", age_s=-3.0)  # from the future: now
        sites.marker("needle-out", age_s=float("nan"))
    got = load_partial(path).events.sites
    assert [s.label for s in got] == ["A", "B"]
    assert got[0].onset_s == pytest.approx(0.5, abs=1e-9)
    assert got[0].duration_s == 0.0
    assert got[1].onset_s == pytest.approx(974 / SFREQ) and got[1].duration_s == 0.0
    assert len(lines) == 4


def test_key_and_marker_readers_run_until_stopped(tmp_path: Path) -> None:
    lines: list[str] = []
    stop = threading.Event()
    path = tmp_path / "r.partial"
    queue = ["needle:M1", "other", "needle-out"]

    def pull(timeout: float) -> tuple[str | None, float]:
        if queue:
            return queue.pop(0), 0.0
        stop.wait(timeout)
        return None, 0.0

    with recorder(path) as rec:
        rec.write(block(signal_(100), first=0))
        sites = SiteInput(rec, report=lines.append)
        read_key_lines(io.StringIO("K1\n\n"), sites, stop).join(timeout=5)
        markers = read_markers(pull, sites, stop, on_error=lambda exc: pytest.fail(str(exc)))
        for _ in range(100):
            if not queue:
                break
            markers.join(timeout=0.05)
        stop.set()
        markers.join(timeout=5)
        assert not markers.is_alive()
    assert [s.label for s in load_partial(path).events.sites] == ["K1", "M1"]


def test_needle_marker_is_the_one_reading() -> None:
    assert needle_marker("needle:R trapezius TrP1") == ("in", "R trapezius TrP1")
    assert needle_marker(" Needle-Out ") == ("out", "")
    assert needle_marker("needle:   ") is None
    assert needle_marker("LTR channel=EMG1") is None
