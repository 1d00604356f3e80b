"""The scope's feed: new samples only, decimated on absolute bins, and its sound.

A trace tail is pushed as a :class:`StreamView` holds it (the last seconds, ending at
an absolute sample index), cut at random points: the bins sent must not depend on
the cut, no bin may be sent twice and none lost.
"""

from __future__ import annotations

import base64

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from twitchscope.dashboard.app.scope.feed import (
    AudioMonitor,
    ScopeFeed,
    audio_band,
    encode_f32,
    minmax_bins,
)
from twitchscope.dashboard.services.stream_view import StreamView
from twitchscope.signal import simulate
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.detect.config import preset

SFREQ = 2048.0
N = 6000
TAIL = 2500  # samples the "view" keeps (shorter than N: the feed must keep up)


@pytest.fixture(scope="module")
def noise() -> np.ndarray:
    return np.random.default_rng(0).standard_normal((3, N)) * 50e-6  # volts


def _push_in_pieces(noise: np.ndarray, cuts: list[int], **kw: object) -> tuple[ScopeFeed, list]:
    """Push the growing stream, its tail of TAIL samples, at each cut (empty pushes too)."""
    feed = ScopeFeed(SFREQ, channels=(0, 1, 2), window_s=1.0, columns=200, **kw)  # type: ignore[arg-type]
    chunks = []
    for end in [*sorted(cuts), N]:
        start = max(0, end - TAIL)
        chunk = feed.push(noise[:, start:end], end)
        if chunk is not None:
            chunks.append(chunk)
    return feed, chunks


def _decode(text: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype="<f4")


@given(cuts=st.lists(st.integers(min_value=0, max_value=N), max_size=12))
@settings(max_examples=60, deadline=None)
def test_bins_do_not_depend_on_the_cut_and_none_is_sent_twice_or_lost(noise, cuts) -> None:
    # each push comes less than TAIL after the previous one, as the page's timer does
    cuts = sorted({*cuts, *range(0, N, TAIL - 100)})
    feed, chunks = _push_in_pieces(noise, cuts)
    spb = feed.spb
    assert spb == int(SFREQ) // 200
    # contiguous: each chunk starts where the previous ended, numbered 1, 2, …
    assert [c.seq for c in chunks] == list(range(1, len(chunks) + 1))
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.first_bin == a.first_bin + a.n_bins
    assert chunks[0].first_bin == 0
    n_bins = N // spb
    assert sum(c.n_bins for c in chunks) == n_bins  # every complete bin, once
    assert feed.cursor == n_bins * spb and feed.n_skipped == 0
    lo = np.concatenate([c.lo for c in chunks], axis=1)
    hi = np.concatenate([c.hi for c in chunks], axis=1)
    whole = noise[:, : n_bins * spb].reshape(3, n_bins, spb) * 1e6
    np.testing.assert_allclose(lo, whole.min(axis=2), rtol=1e-12)
    np.testing.assert_allclose(hi, whole.max(axis=2), rtol=1e-12)


def test_a_feed_that_fell_behind_the_tail_skips_ahead(noise) -> None:
    feed = ScopeFeed(SFREQ, channels=(1,), window_s=1.0, columns=200)
    first = feed.push(noise[:, :1000], 1000)
    assert first is not None and first.first_bin == 0
    later = feed.push(noise[:, 4000:6000], 6000)  # 3000 samples later, tail of 2000
    assert later is not None
    spb = feed.spb
    assert later.first_bin == -(-4000 // spb)  # the first whole bin still held
    assert feed.n_skipped == later.first_bin * spb - first.n_bins * spb
    # nothing new: nothing sent, and an empty tail sends nothing either
    assert feed.push(noise[:, 4000:6000], 6000) is None
    assert feed.push(np.zeros((3, 0)), 6000) is None


def test_lost_samples_are_nan_bins_and_the_payload_round_trips(noise) -> None:
    data = noise.copy()
    data[:, 100:400] = np.nan  # a gap the view filled with NaN
    feed = ScopeFeed(SFREQ, channels=(0, 2), window_s=1.0, columns=100, resend=2)
    chunk = feed.push(data[:, :1000], 1000)
    assert chunk is not None
    spb = feed.spb
    assert np.isnan(chunk.lo[:, 100 // spb + 1 : 400 // spb]).all()
    assert np.isfinite(chunk.lo[:, 0]).all()
    payload = chunk.payload()
    lo = _decode(payload["lo"]).reshape(2, -1)  # type: ignore[arg-type]
    np.testing.assert_allclose(lo, chunk.lo.astype(np.float32), equal_nan=True)
    assert "audio" not in payload
    feed.push(data[:, :1500], 1500)
    feed.push(data[:, :2000], 2000)
    # the last two chunks are repeated in each message, oldest first
    assert [c["seq"] for c in feed.chunks_payload()] == [2, 3]


def test_minmax_bins_refuses_partial_bins() -> None:
    with pytest.raises(ConfigError, match="whole bins of 4 samples, got 10"):
        minmax_bins(np.zeros((1, 10)), 4)
    with pytest.raises(ConfigError, match="columns must be >= 1"):
        ScopeFeed(SFREQ, channels=(0,), columns=0)


def test_audio_is_bounded_upsampled_and_chunk_invariant(noise) -> None:
    mon = AudioMonitor(250.0)
    assert mon.rate == 8000.0 and mon.factor == 32
    low, high = audio_band(250.0)
    assert 0 < low < high < 125.0
    x = noise[0, :2000] * 1e6 * 40  # loud: the limiter must hold it
    whole = mon.process(x)
    assert whole.shape == (2000 * 32,) and whole.dtype == np.float32
    assert np.abs(whole).max() <= mon.level + 1e-6
    assert np.abs(whole).max() > 0.5 * mon.level
    again = AudioMonitor(250.0)
    parts = [again.process(p) for p in np.split(x, [0, 7, 7, 900, 1999])]
    np.testing.assert_allclose(np.concatenate(parts), whole, atol=1e-6)
    # in band: a 90 Hz tone passes, a 20 Hz one does not
    t = np.arange(4000) / 250.0
    tone = AudioMonitor(250.0)
    assert np.abs(tone.process(20.0 * np.sin(2 * np.pi * 90 * t))[-8000:]).max() > 0.02
    tone.reset()
    assert np.abs(tone.process(20.0 * np.sin(2 * np.pi * 20 * t))[-8000:]).max() < 0.01
    # a lost stretch is silence, never NaN
    y = mon.process(np.array([np.nan, np.nan, 1.0]))
    assert np.isfinite(y).all()
    assert AudioMonitor(16000.0).factor == 1
    with pytest.raises(ConfigError, match="level must be in"):
        AudioMonitor(250.0, level=0.9)


def test_the_feed_sends_sound_of_the_same_samples_it_draws(noise) -> None:
    feed = ScopeFeed(1000.0, channels=(0, 1), window_s=1.0, columns=100)
    feed.set_audio(1)
    chunk = feed.push(noise[:, :995], 995)
    assert chunk is not None
    assert chunk.audio.size == chunk.n_bins * feed.spb * feed.audio.factor  # type: ignore[union-attr]
    assert encode_f32(chunk.audio) == chunk.payload()["audio"]
    feed.set_audio(None)
    assert feed.push(noise[:, :1995], 1995).audio.size == 0  # type: ignore[union-attr]


def test_a_stream_view_feeds_the_scope_and_starts_it_afresh_on_a_seek() -> None:
    cfg = simulate.preset("limb", sfreq=1000.0, n_channels=3)
    state = simulate.init_sim_state(cfg, seed=0)
    view = StreamView(preset("limb", mains="50"), sfreq=1000.0, ch_names=cfg.ch_names)
    feed = ScopeFeed(1000.0, channels=(0, 1, 2), window_s=view.window_s)
    view.feeds["live"] = feed
    sent = 0
    for _ in range(30):  # 15 s: more than the view's 10 s window
        block, state = simulate.sim_step(cfg, 500, state)
        view.ingest([block], block.end_sample)
        chunk = feed.push(view.trace, view.trace_end)
        if chunk is not None:
            assert chunk.first_bin * feed.spb == sent
            sent += chunk.n_bins * feed.spb
    assert sent == view.trace_end - view.trace_end % feed.spb
    view.restart(0)
    assert view.feeds == {}


def test_one_sample_per_bin_sends_one_array(noise) -> None:
    feed = ScopeFeed(250.0, channels=(0, 1), window_s=10.0, columns=1600)
    assert feed.spb == 1
    chunk = feed.push(noise[:, :300], 300)
    assert chunk is not None
    payload = chunk.payload()
    assert "hi" not in payload
    np.testing.assert_allclose(
        _decode(payload["lo"]).reshape(2, -1), noise[:2, :300] * 1e6, rtol=1e-6
    )  # type: ignore[arg-type]
