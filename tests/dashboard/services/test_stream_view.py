"""A session's stream processing equals whole-file analysis, however the stream is cut."""

from __future__ import annotations

import numpy as np
import pytest

from twitchscope.dashboard.services.recordings import load_recording
from twitchscope.dashboard.services.review_analysis import analyse_recording
from twitchscope.dashboard.services.stream_view import StreamView, condition_array
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.detect.config import preset

pytestmark = pytest.mark.usefixtures("clean_dashboard")


@pytest.fixture(scope="module")
def recording(limb_file):
    return load_recording(limb_file)


def _blocks(rec, cuts):
    edges = [0, *sorted(cuts), rec.n_samples]
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        yield SampleBlock(rec.data[:, a:b], rec.sfreq, a, rec.ch_names)


def test_stream_view_equals_whole_file_analysis(recording) -> None:
    cfg = preset("limb", mains="50")
    whole = analyse_recording(recording, cfg)
    rng = np.random.default_rng(3)
    cuts = [0, 0, 17, 17, *rng.integers(0, recording.n_samples, 40)]  # empty blocks included
    view = StreamView(cfg, sfreq=recording.sfreq, ch_names=recording.ch_names, window_s=5.0)
    for block in _blocks(recording, cuts):
        view.ingest([block], block.end_sample)
    assert view.cursor == recording.n_samples
    # twitches are emitted ~merge_gap after their offset: all but one at the very end
    assert [t.onset_s for t in view.twitches] == [
        t.onset_s for t in whole.twitches if t.offset_s < recording.duration_s - 1.0
    ]
    assert len(view.twitches) > 3
    # the trace on screen is the last 5 s filtered exactly as the detector does
    np.testing.assert_allclose(view.trace, whole.conditioned[:, -5000:], atol=1e-15)
    np.testing.assert_array_equal(view.raw_tail, recording.data[:, -10_000:])
    seg, t0 = view.segment(76.0, 77.0)
    assert t0 == 76.0
    np.testing.assert_allclose(seg, whole.conditioned[:, 76_000:77_000], atol=1e-15)


def test_lost_samples_break_the_trace(recording) -> None:
    cfg = preset("limb", mains="50")
    view = StreamView(cfg, sfreq=recording.sfreq, ch_names=recording.ch_names, window_s=4.0)
    d = recording.data
    view.ingest([SampleBlock(d[:, :2000], recording.sfreq, 0, recording.ch_names)], 2000)
    lost = SampleBlock(
        d[:, 2500:3000], recording.sfreq, 2500, recording.ch_names, n_lost_before=500
    )
    view.ingest([lost], 3000)
    assert view.trace_end == 3000 and view.trace.shape[1] == 3000
    assert np.isnan(view.trace[:, 2000:2500]).all() and np.isfinite(view.trace[:, 2500:]).all()
    # an overlapping block is never processed twice
    view.ingest([SampleBlock(d[:, 2800:3200], recording.sfreq, 2800, recording.ch_names)], 3200)
    assert view.trace_end == 3200 and view.trace.shape[1] == 3200


def test_restart_keeps_earlier_events(recording) -> None:
    cfg = preset("limb", mains="50")
    view = StreamView(cfg, sfreq=recording.sfreq, ch_names=recording.ch_names)
    view.ingest(list(_blocks(recording, [30_000])), recording.n_samples)
    before = [t for t in view.twitches if t.onset_s < 30.0]
    assert before and len(view.twitches) > len(before)
    view.restart(30_000)
    assert view.twitches == before and view.cursor == 30_000 and view.trace.shape[1] == 0


def test_condition_array_is_causal(recording) -> None:
    cfg = preset("limb", mains="50")
    full = condition_array(recording.data, sfreq=recording.sfreq, config=cfg, mains_hz=50.0)
    part = condition_array(
        recording.data[:, :1000], sfreq=recording.sfreq, config=cfg, mains_hz=50.0
    )
    np.testing.assert_allclose(full[:, :1000], part, atol=1e-15)


def test_a_twitch_is_pending_while_it_goes_on_then_decided() -> None:
    """The open candidate that already looks like a twitch is the view's ``pending``
    (the live scope's dashed marker) until the detector decides it."""
    sfreq, names = 1000.0, ("APB", "FDI")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 8000)) * 5e-6
    x[1, 5000:5150] += rng.standard_normal(150) * 80e-6 * np.hanning(150) ** 0.25
    view = StreamView(preset("limb", mains="50"), sfreq=sfreq, ch_names=names)
    seen: list[tuple[int, object]] = []
    for a in range(0, 8000, 20):
        view.ingest([SampleBlock(x[:, a : a + 20], sfreq, a, names)], a + 20)
        seen.append((a + 20, view.pending))
    pending = [(end, p) for end, p in seen if p is not None]
    assert pending, "the burst was never pending"
    first_end, first = pending[0]
    assert first.channel == "FDI" and 5000 <= first.onset_sample < 5040
    assert first_end < 5150  # shown while the burst is still going on
    assert all(p.onset_sample == first.onset_sample for _, p in pending)  # one candidate
    (twitch,) = view.twitches
    assert twitch.channel == "FDI" and abs(twitch.onset_s - 5.0) < 0.03
    assert seen[-1][1] is None  # decided: no longer pending


def test_a_clone_goes_on_exactly_as_the_view_it_was_taken_from(recording) -> None:
    cfg = preset("limb", mains="auto")
    donor = StreamView(cfg, sfreq=recording.sfreq, ch_names=recording.ch_names, window_s=10.0)
    blocks = list(_blocks(recording, range(1000, recording.n_samples, 1000)))
    for block in blocks[:40]:
        donor.ingest([block], block.end_sample)
    donor.feeds["live"] = object()  # a scope of the donor's session
    start = 30_000  # a new session's view would start 10 s back
    clone = donor.clone(start)
    assert clone.cursor == donor.cursor == 40_000
    assert clone.feeds == {}  # its scopes start afresh
    assert donor.twitches and any(t.onset_s < 30.0 for t in donor.twitches)
    assert [t.onset_s for t in clone.twitches] == [
        t.onset_s for t in donor.twitches if t.onset_s >= 30.0
    ]
    assert all(r.onset_s >= 30.0 for r in clone.rejected)
    np.testing.assert_array_equal(clone.trace, donor.trace)
    # the clone goes on alone: the donor is not touched, and both see the same from here
    n_donor = len(donor.twitches)
    for block in blocks[40:]:
        clone.ingest([block], block.end_sample)
    assert donor.cursor == 40_000 and len(donor.twitches) == n_donor
    for block in blocks[40:]:
        donor.ingest([block], block.end_sample)
    assert [t.onset_s for t in clone.twitches] == [
        t.onset_s for t in donor.twitches if t.onset_s >= 30.0
    ]
    assert len(donor.twitches) > n_donor
    np.testing.assert_array_equal(clone.trace, donor.trace)


def test_donors_give_a_copy_of_the_most_advanced_view_of_the_same_source_and_settings(
    recording,
) -> None:
    import gc

    from twitchscope.dashboard.services.stream_view import ViewDonors

    class Source:  # only its identity matters to the donors
        pass

    source, other_source = Source(), Source()
    cfg = preset("limb", mains="50")
    donors = ViewDonors()
    assert donors.take(source, cfg, start_sample=0) is None
    behind = StreamView(cfg, sfreq=recording.sfreq, ch_names=recording.ch_names)
    ahead = StreamView(cfg, sfreq=recording.sfreq, ch_names=recording.ch_names)
    blocks = list(_blocks(recording, range(1000, 30_000, 1000)))
    for block in blocks[:20]:
        behind.ingest([block], block.end_sample)
    for block in blocks[:29]:
        ahead.ingest([block], block.end_sample)
    donors.add(source, behind)
    donors.add(source, ahead)
    got = donors.take(source, cfg, start_sample=19_000)
    assert got is not None and got is not ahead and got.cursor == ahead.cursor == 29_000
    # not one that has not got to the start yet, nor one whose trace does not reach back
    assert donors.take(source, cfg, start_sample=29_500) is None
    assert donors.take(source, cfg, start_sample=5_000) is None  # traces: 10-20 s, 19-29 s
    # the most advanced of those whose trace reaches back there
    earlier = donors.take(source, cfg, start_sample=15_000)
    assert earlier is not None and earlier.cursor == behind.cursor == 20_000
    # not another source's, nor other settings', nor another generation's (a sought replay)
    assert donors.take(other_source, cfg, start_sample=19_000) is None
    assert donors.take(source, preset("limb", mains="60"), start_sample=19_000) is None
    assert donors.take(source, cfg, start_sample=19_000, generation=1) is None
    # a session that ends takes its view with it
    assert len(donors) == 2
    del behind, ahead, got, earlier
    gc.collect()
    assert len(donors) == 0 and donors.take(source, cfg, start_sample=19_000) is None
