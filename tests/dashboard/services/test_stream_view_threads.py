"""A session's stream view used by two script threads at once, and a replay caught up late.

Streamlit starts the new run of a session before the interrupted one has stopped
(``runner.fastReruns``), so two threads can update the same view: that must neither
raise nor process a sample twice. A replay that played on while no page read it is
caught up in one update and ends with every twitch of the whole-file analysis.
"""

from __future__ import annotations

import threading
import time

import pytest

from twitchscope.dashboard.services.live import LiveSource, LiveSpec
from twitchscope.dashboard.services.recordings import load_recording
from twitchscope.dashboard.services.replay import ReplaySource
from twitchscope.dashboard.services.review_analysis import analyse_recording
from twitchscope.dashboard.services.stream_view import StreamView
from twitchscope.signal.core.model import SampleBlock
from twitchscope.signal.detect.config import preset

pytestmark = pytest.mark.usefixtures("clean_dashboard")


class _Clock:
    """A clock the test moves by hand (the replay's injectable clock)."""

    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_two_threads_updating_one_view_of_a_live_source(limb_file) -> None:
    src = LiveSource(LiveSpec(protocol="cyton", label_sim_sites=False)).start()
    cfg = preset("limb", mains="50")
    view = StreamView(cfg, sfreq=src.sfreq, ch_names=src.ch_names)
    errors: list[BaseException] = []
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                view.update(src)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)
                return
            time.sleep(0.001)

    threads = [threading.Thread(target=run) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 8.0
        while time.monotonic() < deadline and not errors:
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        blocks, _ = src.read_since(0)
        src.stop()
    assert errors == []
    assert view.cursor > 4 * src.sfreq
    # every sample processed once, in order: the same events as one reader alone
    alone = StreamView(cfg, sfreq=src.sfreq, ch_names=src.ch_names)
    cut = [
        SampleBlock(b.data[:, : view.cursor - b.first_sample], b.sfreq, b.first_sample, b.ch_names)
        for b in blocks
        if b.first_sample < view.cursor
    ]
    alone.ingest(cut, view.cursor)
    assert alone.cursor == view.cursor == view.trace_end
    assert [t.onset_s for t in view.twitches] == [t.onset_s for t in alone.twitches]
    assert [r.onset_s for r in view.rejected] == [r.onset_s for r in alone.rejected]
    assert (view.trace == alone.trace).all()


def test_a_replay_left_alone_is_caught_up_and_ends_with_every_twitch(limb_file) -> None:
    rec = load_recording(limb_file)
    clock = _Clock()
    player = ReplaySource(rec, speed=8.0, clock=clock)
    cfg = preset("limb")
    view = StreamView(cfg, sfreq=rec.sfreq, ch_names=rec.ch_names)
    player.play()
    clock.t = 2.0  # 16 s played
    view.update(player)
    assert view.cursor == 16_000
    clock.t = 60.0  # played to its end while nobody looked
    assert player.at_end and not player.playing
    view.update(player)  # reads of at most 8 s each, all of them
    assert view.cursor == rec.n_samples
    view.finish()
    view.finish()  # idempotent
    whole = analyse_recording(rec, cfg)
    assert len(whole.twitches) > 5
    assert [t.onset_s for t in view.twitches] == [t.onset_s for t in whole.twitches]
    assert [r.onset_s for r in view.rejected] == [r.onset_s for r in whole.rejected]
    # a seek starts over (what a new play from the start does)
    view.restart(0)
    assert not view.finished and view.twitches == []


def test_contiguous_blocks_are_joined_and_overlap_skipped(limb_file) -> None:
    rec = load_recording(limb_file)
    cfg = preset("limb", mains="50")
    one = StreamView(cfg, sfreq=rec.sfreq, ch_names=rec.ch_names)
    one.ingest([SampleBlock(rec.data[:, :30_000], rec.sfreq, 0, rec.ch_names)], 30_000)
    many = StreamView(cfg, sfreq=rec.sfreq, ch_names=rec.ch_names)
    fine = [
        SampleBlock(rec.data[:, a : a + 2], rec.sfreq, a, rec.ch_names) for a in range(0, 30_000, 2)
    ]
    # the same samples in 2-sample blocks, with an overlapping repeat and empty blocks
    many.ingest(fine[:5000], 10_000)
    many.ingest(
        [SampleBlock(rec.data[:, :0], rec.sfreq, 10_000, rec.ch_names), *fine[4990:]], 30_000
    )
    assert [t.onset_s for t in many.twitches] == [t.onset_s for t in one.twitches]
    assert (many.trace == one.trace).all() and many.trace_end == 30_000
