"""Conversions between the data model and mne.io.Raw + mne.Annotations."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import mne
import numpy as np
import pytest

from twitchscope.signal.core.annotations import (
    annotations_to_events,
    events_to_annotations,
    make_raw,
    recording_events,
    set_recording_events,
)
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import Gap, NeedleSite, RecordingEvents, Twitch

SFREQ = 487.0  # deliberately awkward


@pytest.fixture
def events() -> RecordingEvents:
    return RecordingEvents(
        sites=(
            NeedleSite("R upper trapezius TrP1", 1.0, 3.0, muscle="upper trapezius", side="R"),
            NeedleSite("L4 multifidus", 5.0, 2.0, point_id="L4"),
        ),
        twitches=(
            Twitch(
                1.5,
                1.58,
                "b",
                ("a", "b"),
                peak_v=8e-5,
                rms_v=3e-5,
                snr_db=18.0,
                site="R upper trapezius TrP1",
                latency_s=0.5,
                confidence=0.8125,
            ),
        ),
        gaps=(Gap(onset_s=4.0, n_samples=49, sfreq=SFREQ),),
        other=((0.2, 0.0, "start"),),
    )


def test_events_to_annotations_follow_the_convention(events: RecordingEvents) -> None:
    ann = events_to_annotations(events)
    assert sorted(ann.description) == sorted(
        ["needle:R upper trapezius TrP1", "needle:L4 multifidus", "LTR", "BAD_ACQ_SKIP", "start"]
    )
    i = list(ann.description).index("LTR")
    assert ann.ch_names[i] == ("b", "a")
    assert ann.duration[i] == pytest.approx(0.08)
    j = list(ann.description).index("BAD_ACQ_SKIP")
    assert ann.duration[j] == pytest.approx(49 / SFREQ)


def test_round_trip_through_annotations(events: RecordingEvents) -> None:
    back = annotations_to_events(events_to_annotations(events), sfreq=SFREQ)
    assert back.sites == events.sites
    assert back.gaps == events.gaps
    assert back.other == events.other
    (tw,) = back.twitches
    assert tw == events.twitches[0]


@pytest.mark.parametrize("meas_date", [None, dt.datetime(2026, 3, 4, 10, 11, 12, tzinfo=dt.UTC)])
def test_make_raw_and_read_events_back(events: RecordingEvents, meas_date, rng) -> None:
    data = rng.standard_normal((2, int(8 * SFREQ))) * 10e-6
    raw = make_raw(data, sfreq=SFREQ, ch_names=["a", "b"], events=events, meas_date=meas_date)
    assert raw.get_channel_types() == ["emg", "emg"]
    np.testing.assert_array_equal(raw.get_data(), data)
    back = recording_events(raw)
    assert [s.label for s in back.sites] == [s.label for s in events.sites]
    assert back.twitches[0].onset_s == pytest.approx(1.5)


@pytest.mark.parametrize("meas_date", [None, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)])
def test_cropped_raw_keeps_onsets_relative_to_first_sample(
    events: RecordingEvents, meas_date
) -> None:
    raw = make_raw(
        np.zeros((2, int(8 * SFREQ))),
        sfreq=SFREQ,
        ch_names=["a", "b"],
        events=events,
        meas_date=meas_date,
    )
    cropped = raw.copy().crop(tmin=0.5)
    back = recording_events(cropped)
    assert back.sites[0].onset_s == pytest.approx(0.5, abs=1 / SFREQ)
    assert back.twitches[0].onset_s == pytest.approx(1.0, abs=1 / SFREQ)


def test_fif_round_trip_keeps_extras(events: RecordingEvents, tmp_path: Path) -> None:
    raw = make_raw(np.zeros((2, int(8 * SFREQ))), sfreq=SFREQ, ch_names=["a", "b"], events=events)
    path = tmp_path / "rec_raw.fif"
    raw.save(path, verbose="error")
    back = recording_events(mne.io.read_raw_fif(path, verbose="error"))
    assert back.sites[0].muscle == "upper trapezius" and back.sites[0].side == "R"
    assert back.sites[1].point_id == "L4"
    (tw,) = back.twitches
    assert tw.channels == ("b", "a")
    assert tw.peak_v == pytest.approx(8e-5) and tw.snr_db == pytest.approx(18.0)
    assert tw.confidence == pytest.approx(0.8125)
    assert tw.site == "R upper trapezius TrP1"
    assert back.gaps[0].n_samples == 49


def test_annotations_without_extras_give_nan_features() -> None:
    ann = mne.Annotations([1.0], [0.1], ["LTR"], ch_names=[("x",)])
    (tw,) = annotations_to_events(ann, sfreq=1000.0).twitches
    assert tw.channel == "x" and math.isnan(tw.peak_v) and tw.latency_s is None


def test_set_recording_events_replaces_annotations(events: RecordingEvents) -> None:
    raw = make_raw(np.zeros((2, int(8 * SFREQ))), sfreq=SFREQ, ch_names=["a", "b"], events=events)
    set_recording_events(raw, RecordingEvents(sites=(NeedleSite("X", 0.5, 0.5),)))
    assert list(raw.annotations.description) == ["needle:X"]


@pytest.mark.parametrize(
    ("data", "kwargs", "match"),
    [
        (np.zeros(10), {}, "2D array"),
        (np.zeros((2, 10)), {"ch_names": ["a", "a"]}, "duplicates"),
        (np.zeros((2, 10)), {"sfreq": -1.0}, "sfreq must be"),
        (np.full((2, 10), np.nan), {}, "NaN or infinite"),
    ],
)
def test_make_raw_rejects_bad_input(data, kwargs, match) -> None:
    args = {"sfreq": 100.0, "ch_names": ["a", "b"]}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=match):
        make_raw(data, **args)
