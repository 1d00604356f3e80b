"""The data model: validation, derived values, site attribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from twitchscope.signal.core.errors import ConfigError, TwitchscopeError
from twitchscope.signal.core.model import (
    Gap,
    NeedleSite,
    RejectedCandidate,
    RejectReason,
    SampleBlock,
    Twitch,
    attribute_to_sites,
    site_at,
)


def test_sample_block_derived_values() -> None:
    data = np.arange(12, dtype=float).reshape(3, 4) * 1e-6
    block = SampleBlock(data=data, sfreq=487.0, first_sample=974, ch_names=("a", "b", "c"))
    assert (block.n_channels, block.n_samples) == (3, 4)
    assert block.onset_s == pytest.approx(2.0)
    assert block.end_sample == 978
    np.testing.assert_allclose(block.times(), (974 + np.arange(4)) / 487.0)
    assert block.data.dtype == np.float64
    assert "3 ch x 4 samples" in repr(block)


def test_sample_block_accepts_empty_blocks() -> None:
    block = SampleBlock(data=np.zeros((2, 0)), sfreq=250.0, first_sample=0, ch_names=("a", "b"))
    assert block.n_samples == 0 and block.times().shape == (0,)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"data": np.zeros(4)}, r"shape \(n_channels, n_samples\), got shape \(4,\)"),
        ({"sfreq": 0}, "sfreq must be a finite number > 0, got 0"),
        ({"sfreq": None}, "sfreq .* is required"),
        ({"ch_names": ("a", "a")}, "unique, got duplicates \\['a'\\]"),
        ({"ch_names": ("a",)}, "got 1 channel names for 2 channels"),
        ({"first_sample": -1}, "first_sample and n_lost_before must be >= 0"),
    ],
)
def test_sample_block_rejects_bad_input(kwargs: dict, match: str) -> None:
    args = {"data": np.zeros((2, 3)), "sfreq": 1000.0, "first_sample": 0, "ch_names": ("a", "b")}
    args.update(kwargs)
    with pytest.raises(ConfigError, match=match) as info:
        SampleBlock(**args)
    assert "\n" not in str(info.value)
    assert isinstance(info.value, TwitchscopeError)


def test_needle_site_strips_prefix_and_computes_span() -> None:
    site = NeedleSite("needle: R upper trapezius TrP1", 10.0, 5.0, muscle="upper trapezius")
    assert site.label == "R upper trapezius TrP1"
    assert site.description == "needle:R upper trapezius TrP1"
    assert site.offset_s == 15.0
    assert site.contains(10.0) and site.contains(14.999) and not site.contains(15.0)
    assert site.extras() == {"muscle": "upper trapezius"}


@pytest.mark.parametrize(("onset", "duration"), [(-1.0, 1.0), (1.0, -0.5), (math.nan, 1.0)])
def test_needle_site_rejects_bad_spans(onset: float, duration: float) -> None:
    with pytest.raises(ConfigError):
        NeedleSite("x", onset, duration)


def test_needle_site_requires_label() -> None:
    with pytest.raises(ConfigError, match="non-empty label"):
        NeedleSite("  ", 0.0, 1.0)


def test_twitch_puts_channel_of_maximum_first() -> None:
    tw = Twitch(1.0, 1.08, "b", channels=("a", "b", "c"), peak_v=5e-5)
    assert tw.channels == ("b", "a", "c")
    assert tw.duration_s == pytest.approx(0.08)
    assert Twitch(1.0, 1.1, "a").channels == ("a",)
    assert tw.extras() == {"peak_v": 5e-5}
    with pytest.raises(ConfigError):
        Twitch(2.0, 1.0, "a")


def test_rejected_candidate_reason_codes() -> None:
    rc = RejectedCandidate(1.0, 3.0, "a", "sustained", detail="2.0 s long")
    assert rc.reason is RejectReason.SUSTAINED and rc.duration_s == 2.0
    with pytest.raises(ConfigError, match="unknown reject reason 'noise'; expected one of ecg"):
        RejectedCandidate(1.0, 3.0, "a", "noise")  # type: ignore[arg-type]


def test_gap_duration_from_samples() -> None:
    gap = Gap(onset_s=2.0, n_samples=125, sfreq=250.0)
    assert gap.duration_s == 0.5
    with pytest.raises(ConfigError, match="at least one sample"):
        Gap(onset_s=2.0, n_samples=0, sfreq=250.0)


def test_site_attribution_and_latency() -> None:
    sites = [NeedleSite("A", 1.0, 4.0), NeedleSite("B", 3.0, 4.0)]
    assert site_at(sites, 0.5) is None
    assert site_at(sites, 2.0).label == "A"
    assert site_at(sites, 3.5).label == "B"  # the latest-starting active site wins
    twitches = [Twitch(0.5, 0.6, "x"), Twitch(2.0, 2.1, "x"), Twitch(6.5, 6.6, "x")]
    out = attribute_to_sites(twitches, sites)
    assert [t.site for t in out] == [None, "A", "B"]
    assert out[0].latency_s is None
    assert out[1].latency_s == pytest.approx(1.0)
    assert out[2].latency_s == pytest.approx(3.5)
