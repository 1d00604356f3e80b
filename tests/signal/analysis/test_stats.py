"""Per-site summary against hand-built sessions with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twitchscope.signal.analysis.stats import (
    NO_SITE,
    count_insertions,
    fit_habituation,
    site_rows,
    summarize_sites,
)
from twitchscope.signal.core.annotations import make_raw
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite, Twitch

SFREQ = 1000.0
CH = ("trap_L", "trap_R", "infra_L")


def _tw(onset: float, peak: float, *, ch: str = "trap_L", dur: float = 0.1) -> Twitch:
    return Twitch(onset_s=onset, offset_s=onset + dur, channel=ch, peak_v=peak, rms_v=peak / 3)


SITES = (
    NeedleSite("R upper trapezius", onset_s=10.0, duration_s=10.0),
    NeedleSite("L infraspinatus", onset_s=30.0, duration_s=5.0),
    NeedleSite("R upper trapezius", onset_s=40.0, duration_s=5.0),
)
TWITCHES = (
    _tw(12.0, 400e-6),
    _tw(13.0, 350e-6, dur=0.2),
    _tw(15.0, 300e-6),
    _tw(41.0, 250e-6, ch="trap_R"),
    _tw(31.5, 100e-6, ch="infra_L", dur=0.05),
    _tw(25.0, 80e-6),  # between spans: no site
)


def test_counts_yield_latency_and_spread() -> None:
    summ = summarize_sites(TWITCHES, SITES, insertion_markers_s=(30.2, 32.0, 33.0))
    by = {s.site: s for s in summ}
    assert [s.site for s in summ] == ["R upper trapezius", "L infraspinatus", NO_SITE]
    trap, infra, loose = by["R upper trapezius"], by["L infraspinatus"], by[NO_SITE]
    assert (trap.n_spans, trap.n_insertions, trap.n_twitches) == (2, 2, 4)
    assert trap.yield_per_insertion == 2.0
    assert trap.needle_time_s == 15.0
    assert trap.time_to_first_s == pytest.approx(2.0)
    assert trap.peak_v.median == pytest.approx(325e-6)
    assert trap.peak_v.q25 == pytest.approx(287.5e-6) and trap.peak_v.q75 == pytest.approx(362.5e-6)
    assert trap.rms_v.median == pytest.approx(325e-6 / 3)
    assert trap.duration_s.median == pytest.approx(0.1)
    assert trap.channel == "trap_L"  # three of its four twitches
    # three insertion markers inside the infraspinatus span: three insertions
    assert (infra.n_insertions, infra.n_twitches) == (3, 1)
    assert infra.yield_per_insertion == pytest.approx(1 / 3)
    assert infra.time_to_first_s == pytest.approx(1.5)
    assert infra.habituation.slope is None and infra.habituation.n == 1
    assert loose.n_twitches == 1 and loose.n_insertions == 0
    assert loose.yield_per_insertion is None and loose.time_to_first_s is None


def test_site_with_no_twitch() -> None:
    (s,) = summarize_sites([], [NeedleSite("L gastrocnemius", onset_s=1.0, duration_s=2.0)])
    assert (s.n_twitches, s.n_insertions, s.yield_per_insertion) == (0, 1, 0.0)
    assert s.time_to_first_s is None and math.isnan(s.peak_v.median)
    assert s.habituation.n == 0


def test_habituation_is_least_squares_of_amplitude_on_index() -> None:
    amps = [500.0, 420.0, 390.0, 300.0, 260.0]
    h = fit_habituation(amps)
    slope, intercept = np.polyfit(np.arange(5), amps, 1)
    assert h.n == 5
    assert h.slope == pytest.approx(slope) and h.intercept == pytest.approx(intercept)
    assert h.slope == pytest.approx(-60.0)
    assert h.slope_percent == pytest.approx(100 * slope / intercept)
    summ = summarize_sites(TWITCHES, SITES)
    trap = summ[0].habituation
    # the trapezius twitches in time order: 400, 350, 300, 250 µV -> -50 µV per twitch
    assert trap.n == 4 and trap.slope == pytest.approx(-50e-6)


def test_count_insertions_defaults_to_one_per_span() -> None:
    site = NeedleSite("x", onset_s=5.0, duration_s=5.0)
    assert count_insertions(site, []) == 1
    assert count_insertions(site, [1.0, 11.0]) == 1
    assert count_insertions(site, [5.0, 7.0, 10.0]) == 3


def _resting_recording(rng: np.random.Generator) -> np.ndarray:
    """60 s where trap_L has 20 µV RMS band noise before 10 s and 8 µV after 45 s."""
    n = int(60 * SFREQ)
    x = 1e-6 * rng.standard_normal((3, n))
    t = np.arange(n) / SFREQ
    tone = np.sin(2 * np.pi * 120 * t) * np.sqrt(2)  # unit RMS, inside the 20-450 Hz band
    x[0] += np.where(t < 10, 20e-6, 0.0) * tone + np.where(t >= 45, 8e-6, 0.0) * tone
    x[0] += 500e-6 * (t > 0)  # a DC offset the band-pass must remove
    return x


def test_resting_rms_before_and_after(rng) -> None:
    x = _resting_recording(rng)
    summ = summarize_sites(TWITCHES, SITES, recording=x, sfreq=SFREQ, ch_names=CH)
    trap = summ[0]
    noise = 1e-6 * np.sqrt(2 * (450 - 20) / SFREQ)  # white noise kept by the band
    assert trap.rest_before_rms_v == pytest.approx(np.hypot(20e-6, noise), rel=0.05)
    assert trap.rest_after_rms_v == pytest.approx(np.hypot(8e-6, noise), rel=0.05)
    # the infraspinatus windows are cut by the neighbouring trapezius spans:
    # before = [25, 30) (5 s, ends at its start), after = [36, 40) (4 s >= half of 5 s)
    infra = summ[1]
    assert infra.channel == "infra_L"
    assert infra.rest_before_rms_v == pytest.approx(noise, rel=0.1)
    assert infra.rest_after_rms_v == pytest.approx(noise, rel=0.1)


def test_resting_rms_from_raw_equals_array(rng) -> None:
    x = _resting_recording(rng)
    raw = make_raw(x, sfreq=SFREQ, ch_names=CH)
    a = summarize_sites(TWITCHES, SITES, recording=x, sfreq=SFREQ, ch_names=CH)
    b = summarize_sites(TWITCHES, SITES, recording=raw)
    assert [s.rest_before_rms_v for s in a] == pytest.approx([s.rest_before_rms_v for s in b])


def test_resting_window_too_short_is_none(rng) -> None:
    x = 1e-6 * rng.standard_normal((1, int(12 * SFREQ)))
    sites = [NeedleSite("a", onset_s=1.0, duration_s=9.0)]
    (s,) = summarize_sites([], sites, recording=x, sfreq=SFREQ, ch_names=["trap_L"])
    assert s.rest_before_rms_v is None  # only 1 s before the needle
    assert s.rest_after_rms_v is None  # only 1 s after the guard, at the end of the file
    assert s.channel == "trap_L"


def test_site_rows_are_in_display_units() -> None:
    rows = site_rows(summarize_sites(TWITCHES, SITES))
    r = rows[0]
    assert r["site"] == "R upper trapezius" and r["twitches"] == 4
    assert r["peak_median_uv"] == 325.0 and r["habituation_uv_per_twitch"] == -50.0
    assert r["time_to_first_ms"] == 2000.0 and r["duration_median_ms"] == 100.0
    assert rows[1]["yield_per_insertion"] == 1.0  # no markers: one insertion


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="ch_names is required"):
        summarize_sites(TWITCHES, SITES, recording=np.zeros((3, 10)), sfreq=SFREQ)
    with pytest.raises(ConfigError, match="rest_window_s"):
        summarize_sites(TWITCHES, SITES, rest_window_s=0)
    with pytest.raises(ConfigError, match="sfreq"):
        summarize_sites(TWITCHES, SITES, recording=np.zeros((3, 10)), ch_names=CH)


def test_recording_that_starts_later_gives_the_same_rest_rms(rng) -> None:
    """An array that starts at start_s (a live buffer) is windowed in stream time."""
    x = _resting_recording(rng)
    whole = summarize_sites(TWITCHES, SITES, recording=x, sfreq=SFREQ, ch_names=CH)
    tail = summarize_sites(
        TWITCHES, SITES, recording=x[:, 3000:], sfreq=SFREQ, ch_names=CH, start_s=3.0
    )
    assert tail[0].rest_after_rms_v == pytest.approx(whole[0].rest_after_rms_v, rel=1e-6)
    # the window before the first site (5-10 s) is still whole from 3 s on
    assert tail[0].rest_before_rms_v == pytest.approx(whole[0].rest_before_rms_v, rel=0.02)
