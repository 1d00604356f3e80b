"""The simulated amplifier's feed and the labelling of its needle sites on the stream."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from twitchscope.acquisition.transport.ring_buffer import RingBuffer
from twitchscope.dashboard.services.simulated_feed import SimFeeder, SimSiteLabeller
from twitchscope.signal import simulate
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.core.sites import SiteLog

SFREQ = 250.0
DROPPED = 333  # samples the reader missed before it opened the port


def _setup() -> tuple[SimFeeder, RingBuffer, SiteLog, SimSiteLabeller]:
    cfg = simulate.preset("cyton", sfreq=SFREQ)
    feeder = SimFeeder(cfg, seed=3)
    buffer = RingBuffer(capacity=int(120 * SFREQ))
    sites = SiteLog()
    labeller = SimSiteLabeller(feeder, sites, buffer, sfreq=SFREQ, n_emg=cfg.n_channels)
    feeder(DROPPED)  # streamed before the port was opened: never received
    return feeder, buffer, sites, labeller


def _stream(feeder: SimFeeder, buffer: RingBuffer, seconds: float) -> None:
    names = feeder.config.ch_names
    for _ in range(int(seconds)):
        data = feeder(int(SFREQ))
        buffer.write(SampleBlock(data, sfreq=SFREQ, first_sample=buffer.end_sample, ch_names=names))


def test_feeder_keeps_the_head_of_the_simulation() -> None:
    cfg = simulate.preset("cyton", sfreq=SFREQ)
    feeder = SimFeeder(cfg, seed=3)
    a = feeder(100)
    b = feeder(50)
    assert a.shape == (cfg.n_channels, 100) and b.shape == (cfg.n_channels, 50)
    np.testing.assert_array_equal(feeder.head(), np.concatenate([a, b], axis=1))
    whole, _ = simulate.sim_step(cfg, 150, simulate.init_sim_state(cfg, seed=3))
    np.testing.assert_array_equal(feeder.head(), whole.data)


def test_sites_overlapping_repeat_every_cycle() -> None:
    cfg = simulate.preset("cyton", sfreq=SFREQ)
    feeder = SimFeeder(cfg, seed=0)
    first = cfg.sites[0]
    got = feeder.sites_overlapping(cfg.cycle_s + first.onset_s, cfg.cycle_s + first.onset_s + 1)
    assert [(s.label, s.onset_s) for s in got] == [(first.label, cfg.cycle_s + first.onset_s)]


def test_labeller_puts_the_sites_on_the_stream_clock() -> None:
    feeder, buffer, sites, labeller = _setup()
    first = feeder.config.sites[0]
    shift = DROPPED / SFREQ
    labeller.update()  # nothing received yet: nothing to tell
    assert sites.sites(0.0) == ()
    _stream(feeder, buffer, 10)
    labeller.update()
    assert sites.active == first.label
    (open_,) = sites.sites(buffer.end_sample / SFREQ)
    assert open_.onset_s == pytest.approx(first.onset_s - shift)
    labeller.update()  # nothing new: no second press
    assert len(sites.sites(buffer.end_sample / SFREQ)) == 1
    _stream(feeder, buffer, 30)
    labeller.update()
    assert sites.active is None
    (closed,) = sites.sites()
    assert (closed.onset_s, closed.offset_s) == pytest.approx(
        (first.onset_s - shift, first.offset_s - shift)
    )
    assert closed.muscle == first.muscle and closed.point_id == first.point_id


def test_labeller_leaves_a_clinicians_later_press_alone(caplog: pytest.LogCaptureFixture) -> None:
    feeder, buffer, sites, labeller = _setup()
    onset = feeder.config.sites[0].onset_s - DROPPED / SFREQ  # 4.67 s on the stream clock
    _stream(feeder, buffer, 4)
    labeller.update()
    assert sites.active is None
    # the clinician presses at 4.9 s, before the labeller has seen the samples at 4.67 s
    sites.needle_in("R deltoid", 4.9)
    _stream(feeder, buffer, 2)
    with caplog.at_level(logging.WARNING, logger="twitchscope.dashboard.services.simulated_feed"):
        labeller.update()  # the scenario's press would go back in time: refused, logged
    assert onset < 4.9 and sites.active == "R deltoid" and sites.sites() == ()
    assert "not labelled" in caplog.text and "before needle in" in caplog.text
