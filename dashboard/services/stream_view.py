"""What one browser session does with a stream: detect, condition for display, keep the tail.

A :class:`StreamView` belongs to one session (it lives in ``st.session_state``) and
has no thread: the pages call :meth:`StreamView.update`, which reads the source with
the view's own cursor and processes what is new. It runs the streaming detector
(:class:`~twitchscope.signal.detect.run.StreamingDetector`) on the new samples joined
into one block per read, and shows the detector's own conditioned samples (the
conditioning filter runs once per block), so the traces on screen are "filtered as
the detector sees them"; only for the first seconds, while the detector still
estimates the mains frequency, does the view condition the display itself. It keeps
the last ``window_s`` seconds of the conditioned traces for the scrolling view and
the last ``quality_s`` seconds of raw samples for the signal-quality panel.

Streamlit may run a new script run of a session while the interrupted one has not
reached its next Streamlit call yet (``runner.fastReruns``): two threads then use the
same view. Every method that changes the view holds its lock, and
:meth:`StreamView.update` reads and processes under it, so no sample is processed
twice and the detector never sees a block out of order.

Whole-file review uses :func:`condition_array` and the offline detector instead.
"""

from __future__ import annotations

import copy
import logging
import threading
import weakref
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from twitchscope.dashboard.services.stream_source import StreamSource
from twitchscope.signal.core.model import (
    NeedleSite,
    RejectedCandidate,
    SampleBlock,
    Twitch,
    attribute_to_sites,
)
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.filters import (
    FilterDesign,
    FilterState,
    design_conditioning,
    filter_block,
    init_filter_state,
)
from twitchscope.signal.detect.provisional import OpenCandidate, looks_like_twitch, open_candidates
from twitchscope.signal.detect.run import StreamingDetector

__all__ = ["StreamView", "ViewDonors", "condition_array", "display_mains"]

log = logging.getLogger(__name__)


def display_mains(config: DetectorConfig, detected: float | None) -> float:
    """Mains frequency to notch on screen: the configured one, the detected one, or 50."""
    if config.mains != "auto":
        return float(config.mains)
    return float(detected) if detected else 50.0


def condition_array(
    data: NDArray[np.float64], *, sfreq: float, config: DetectorConfig, mains_hz: float
) -> NDArray[np.float64]:
    """Condition a whole array causally, exactly as the streaming detector does."""
    design = design_conditioning(config, sfreq=sfreq, mains_hz=mains_hz)
    out, _ = filter_block(
        design, np.asarray(data, dtype=np.float64), init_filter_state(design, data.shape[0])
    )
    return out


class StreamView:
    """Detection and display state of one stream in one session.

    Parameters
    ----------
    config : DetectorConfig
        Detector settings (a new view is made when they change).
    sfreq : float
        Sampling rate, Hz.
    ch_names : sequence of str
        Channel names of the blocks.
    start_sample : int
        Where reading starts (the cursor).
    window_s : float
        Seconds of conditioned trace kept for the scrolling view.
    quality_s : float
        Seconds of raw samples kept for the quality panel.
    """

    def __init__(
        self,
        config: DetectorConfig,
        *,
        sfreq: float,
        ch_names: Sequence[str],
        start_sample: int = 0,
        window_s: float = 10.0,
        quality_s: float = 10.0,
    ) -> None:
        self.config = config
        self.sfreq = float(sfreq)
        self.ch_names = tuple(ch_names)
        self.window_s = float(window_s)
        self.quality_s = float(quality_s)
        self.twitches: list[Twitch] = []
        self.rejected: list[RejectedCandidate] = []
        self.n_missed = 0
        self.generation = 0
        #: What each scope of the page has sent to its browser, by scope key (the app's
        #: ``ScopeFeed``); emptied when the view starts over, so scopes start afresh.
        self.feeds: dict[str, object] = {}
        self._lock = threading.RLock()
        self._reset(int(start_sample))

    def _reset(self, start_sample: int) -> None:
        n = len(self.ch_names)
        self.cursor = start_sample
        self.detector = StreamingDetector(self.config, sfreq=self.sfreq, ch_names=self.ch_names)
        self._mains = display_mains(self.config, None)
        self._design: FilterDesign = design_conditioning(
            self.config, sfreq=self.sfreq, mains_hz=self._mains
        )
        self._filt: FilterState = init_filter_state(self._design, n)
        self.trace = np.zeros((n, 0))
        self.trace_end = start_sample  # absolute index one past the last trace sample
        self.raw_tail = np.zeros((n, 0))
        self._expected = start_sample
        self.finished = False  # the stream ended and the detector was flushed
        #: The candidate the detector holds open if it already looks like a twitch
        #: (``provisional.looks_like_twitch``): shown as a pending marker until decided.
        self.pending: OpenCandidate | None = None

    def clone(self, start_sample: int) -> StreamView:
        """A view of the same stream for another session, taken where this one has got.

        What a new view started at ``start_sample`` would hold, without running the
        detector over the samples again (a second viewer of the live stream would redo
        the last 10 s: 0.15-0.2 s before its first trace): the detector's state (never
        mutated, so shared), the conditioned trace and the raw tail are this view's; the
        twitches and rejected candidates before ``start_sample`` are left out; the
        scopes start afresh. The copy's detector has already learnt the background and
        the mains frequency, which a new view would spend its first seconds on.
        """
        t = start_sample / self.sfreq
        with self._lock:
            other = copy.copy(self)
            other._lock = threading.RLock()
            other.detector = copy.copy(self.detector)
            other.twitches = [tw for tw in self.twitches if tw.onset_s >= t]
            other.rejected = [r for r in self.rejected if r.onset_s >= t]
            other.feeds = {}
            return other

    def restart(self, at_sample: int) -> None:
        """Start over at ``at_sample`` (after a seek): events from there on are dropped."""
        t = at_sample / self.sfreq
        with self._lock:
            self.twitches = [tw for tw in self.twitches if tw.onset_s < t]
            self.rejected = [r for r in self.rejected if r.onset_s < t]
            self.feeds.clear()
            self._reset(int(at_sample))

    @property
    def mains_hz(self) -> float | None:
        """Mains frequency the detector uses (None while it is still estimating it)."""
        return self.detector.mains_hz

    @property
    def trace_start_s(self) -> float:
        """Time of the first kept trace sample, s."""
        return (self.trace_end - self.trace.shape[1]) / self.sfreq

    @property
    def now_s(self) -> float:
        """Time one past the last sample processed, s."""
        return self.trace_end / self.sfreq

    def update(self, source: StreamSource, *, max_reads: int = 1000) -> list[Twitch]:
        """Read everything new from ``source`` with this view's cursor and process it.

        The read and the processing happen under the view's lock, so two script
        threads of one session (Streamlit starts a new run before the interrupted one
        has stopped: ``runner.fastReruns``) never feed the detector the same samples.
        Reads repeat until the view has reached where the source was when the update
        began (a replay returns at most a few seconds per read; samples arriving
        meanwhile wait for the next update), at most ``max_reads`` times.

        Returns
        -------
        list of Twitch
            The twitches new in these samples.
        """
        new: list[Twitch] = []
        with self._lock:
            target = int(round(source.now_s() * self.sfreq))
            for _ in range(max_reads):
                before = self.cursor
                blocks, cursor = source.read_since(before)
                new.extend(self.ingest(blocks, cursor))
                if self.cursor >= target or self.cursor == before:
                    break
        return new

    def finish(self) -> list[Twitch]:
        """End of the stream (a replay played to its end): decide what is still pending.

        Idempotent: once finished, the view adds nothing until :meth:`restart`.
        """
        with self._lock:
            if self.finished:
                return []
            out = self.detector.finish()
            self.finished = True
            self.pending = None
            self.twitches.extend(out.twitches)
            self.rejected.extend(out.rejected)
            return list(out.twitches)

    def ingest(self, blocks: Sequence[SampleBlock], cursor: int) -> list[Twitch]:
        """Process blocks read from the source; return the twitches new in them.

        Contiguous blocks are joined first, so the detector and the display see one
        block per read however finely the source cut them (the detector gives the
        same events for any cut). Samples already processed are skipped; empty
        blocks are ignored.

        Parameters
        ----------
        blocks : sequence of SampleBlock
            From ``source.read_since(self.cursor)``.
        cursor : int
            The cursor that read returned.
        """
        with self._lock:
            new: list[Twitch] = []
            for block in self._coalesced(blocks):
                new.extend(self._process(block))
            if not self.finished:
                self.pending = self._pending()  # once per read: only the last is shown
            self.cursor = max(self.cursor, int(cursor))
            self.twitches.extend(new)
            return new

    def _coalesced(self, blocks: Sequence[SampleBlock]) -> list[SampleBlock]:
        """The new samples of ``blocks``: runs of contiguous blocks joined into one block,
        overlap with what was processed cut off, empty blocks dropped."""
        runs: list[list[NDArray[np.float64]]] = []
        firsts: list[int] = []
        whole: list[SampleBlock | None] = []  # the block itself when a run is one whole block
        end = self._expected
        for block in blocks:
            if block.n_samples == 0 or block.end_sample <= end:
                continue
            data = block.data
            first = block.first_sample
            if first < end:  # overlap: never process a sample twice
                data = data[:, end - first :]
                first = end
            if runs and first == end:
                runs[-1].append(data)
                whole[-1] = None
            else:
                runs.append([data])
                firsts.append(first)
                whole.append(block if first == block.first_sample else None)
            end = first + data.shape[1]
        out: list[SampleBlock] = []
        for parts, first, same in zip(runs, firsts, whole, strict=True):
            if same is not None and same.ch_names == self.ch_names:
                out.append(same)  # nothing to join or cut: no new block
                continue
            data = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
            out.append(
                SampleBlock(data=data, sfreq=self.sfreq, first_sample=first, ch_names=self.ch_names)
            )
        return out

    def _process(self, block: SampleBlock) -> list[Twitch]:
        """Detect on one block (in pieces the detector's history covers) and display it."""
        if self.finished:  # a stream that ended takes no more samples
            return []
        new: list[Twitch] = []
        for part in block.pieces(max(1, int(self.detector.state.design.history_n))):
            n_gap = part.first_sample - self._expected
            out = self.detector.feed(part)
            new.extend(out.twitches)
            self.rejected.extend(out.rejected)
            self._display(part, n_gap)
            self._expected = part.end_sample
        return new

    def _pending(self) -> OpenCandidate | None:
        """The open candidate, when it already looks like a twitch."""
        design = self.detector.state.design
        for cand in open_candidates(self.detector.state):
            if looks_like_twitch(cand, min_duration_n=design.min_duration_n):
                return cand
        return None

    def _conditioned(self, block: SampleBlock) -> NDArray[np.float64] | None:
        """The detector's own conditioned samples of ``block`` (None while it still holds
        samples back to estimate the mains frequency)."""
        state = self.detector.state
        if state.probe is not None or state.n_seen != block.end_sample:
            return None
        hist = state.history
        a = block.first_sample - hist.first
        if a < 0:
            return None
        return hist.cond[:, a : a + block.n_samples]

    def _display(self, block: SampleBlock, n_gap: int) -> None:
        n = len(self.ch_names)
        keep = int(round(self.window_s * self.sfreq))
        keep_raw = int(round(self.quality_s * self.sfreq))
        parts = [self.trace]
        raw_parts = [self.raw_tail]
        if n_gap > 0:  # lost samples: a break in the trace, and the filter starts again
            fill = np.full((n, min(n_gap, keep)), np.nan)
            parts.append(fill)
            raw_parts = [np.zeros((n, 0))]
            self._filt = init_filter_state(self._design, n)
        y = self._conditioned(block)
        if y is None:
            # the detector is still estimating the mains frequency: condition the display
            # on its own meanwhile, with the configured (or a 50 Hz) notch
            y, self._filt = filter_block(self._design, block.data, self._filt)
        parts.append(y)
        raw_parts.append(block.data)
        self.trace = np.concatenate(parts, axis=1)[:, -keep:]
        self.raw_tail = np.concatenate(raw_parts, axis=1)[:, -keep_raw:]
        self.trace_end = block.end_sample

    def tail(self) -> tuple[NDArray[np.float64], int]:
        """The conditioned trace tail and the absolute index one past it, read together
        (another thread may be updating the view)."""
        with self._lock:
            return self.trace, self.trace_end

    def attributed(self, sites: Sequence[NeedleSite]) -> list[Twitch]:
        """The twitches with their site and latency from ``sites``."""
        return attribute_to_sites(self.twitches, sites)

    def segment(self, t0: float, t1: float) -> tuple[NDArray[np.float64], float]:
        """Conditioned samples between ``t0`` and ``t1`` still in the window, and their start."""
        first = self.trace_end - self.trace.shape[1]
        a = max(first, int(round(t0 * self.sfreq)))
        b = min(self.trace_end, int(round(t1 * self.sfreq)))
        if b <= a:
            return np.zeros((len(self.ch_names), 0)), t0
        return self.trace[:, a - first : b - first], a / self.sfreq


class ViewDonors:
    """The views of a process's sessions that a new session may start from (thread-safe).

    One live stream is seen by every browser session of the dashboard, each with its own
    :class:`StreamView`. A new session asks :meth:`take` for a copy of the most advanced
    view of the same source and detector settings that has got to where it would start
    (:meth:`StreamView.clone`); views are held weakly, so a session that ends drops
    its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._views: list[tuple[weakref.ref[object], DetectorConfig, weakref.ref[StreamView]]] = []

    def add(self, source: object, view: StreamView) -> None:
        """Offer ``view`` (of ``source``) to later sessions."""
        with self._lock:
            self._prune()
            self._views.append((weakref.ref(source), view.config, weakref.ref(view)))

    def take(
        self, source: object, config: DetectorConfig, *, start_sample: int, generation: int = 0
    ) -> StreamView | None:
        """A copy of the most advanced view of ``source`` with ``config`` whose trace
        reaches back to ``start_sample`` and that has not ended; None if there is none."""
        with self._lock:
            self._prune()
            views = [
                v
                for s, c, ref in self._views
                if s() is source and c == config and (v := ref()) is not None
            ]
        best: StreamView | None = None
        for v in views:
            if v.finished or v.generation != generation:
                continue
            if v.trace_end - v.trace.shape[1] > start_sample or v.cursor < start_sample:
                continue  # does not reach back there, or has not got there yet
            if best is None or v.cursor > best.cursor:
                best = v
        return best.clone(start_sample) if best is not None else None

    def __len__(self) -> int:
        with self._lock:
            self._prune()
            return len(self._views)

    def _prune(self) -> None:
        self._views = [e for e in self._views if e[0]() is not None and e[2]() is not None]
