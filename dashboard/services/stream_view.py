"""What one browser session does with a stream: detect, condition for display, keep the tail.

A :class:`StreamView` belongs to one session (it lives in ``st.session_state``) and
has no thread: the live fragment calls :meth:`StreamView.ingest` with the blocks it
read from the source with its own cursor. It runs the streaming detector
(:class:`~twitchscope.signal.detect.run.StreamingDetector`) and, alongside it, the same
causal conditioning filter the detector uses, so the traces on screen are
"filtered as the detector sees them". It keeps the last ``window_s`` seconds of the
conditioned traces for the scrolling view and the last ``quality_s`` seconds of raw
samples for the signal-quality panel.

Whole-file review uses :func:`condition_array` and the offline detector instead.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

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
from twitchscope.signal.detect.run import StreamingDetector

__all__ = ["StreamView", "condition_array", "display_mains"]

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

    def restart(self, at_sample: int) -> None:
        """Start over at ``at_sample`` (after a seek): events from there on are dropped."""
        t = at_sample / self.sfreq
        self.twitches = [tw for tw in self.twitches if tw.onset_s < t]
        self.rejected = [r for r in self.rejected if r.onset_s < t]
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

    def ingest(self, blocks: Sequence[SampleBlock], cursor: int) -> list[Twitch]:
        """Process blocks read from the source; return the twitches new in them.

        Parameters
        ----------
        blocks : sequence of SampleBlock
            From ``source.read_since(self.cursor)``.
        cursor : int
            The cursor that read returned.
        """
        new: list[Twitch] = []
        for block in blocks:
            if block.n_samples == 0:
                continue
            if block.first_sample < self._expected:  # overlap: never process twice
                skip = self._expected - block.first_sample
                if skip >= block.n_samples:
                    continue
                block = SampleBlock(
                    data=block.data[:, skip:],
                    sfreq=block.sfreq,
                    first_sample=self._expected,
                    ch_names=block.ch_names,
                )
            n_gap = block.first_sample - self._expected
            out = self.detector.feed(block)
            new.extend(out.twitches)
            self.rejected.extend(out.rejected)
            self._display(block, n_gap)
            self._expected = block.end_sample
        self.cursor = max(self.cursor, cursor)
        self.twitches.extend(new)
        return new

    def _display(self, block: SampleBlock, n_gap: int) -> None:
        n = len(self.ch_names)
        keep = int(round(self.window_s * self.sfreq))
        keep_raw = int(round(self.quality_s * self.sfreq))
        detected = self.detector.mains_hz
        if detected is not None and self.config.mains == "auto" and detected != self._mains:
            # the detector has estimated mains: notch the display at the same frequency
            self._mains = float(detected)
            self._design = design_conditioning(self.config, sfreq=self.sfreq, mains_hz=self._mains)
            self._filt = init_filter_state(self._design, n)
        parts = [self.trace]
        raw_parts = [self.raw_tail]
        if n_gap > 0:  # lost samples: a break in the trace, and the filter starts again
            fill = np.full((n, min(n_gap, keep)), np.nan)
            parts.append(fill)
            raw_parts = [np.zeros((n, 0))]
            self._filt = init_filter_state(self._design, n)
        y, self._filt = filter_block(self._design, block.data, self._filt)
        parts.append(y)
        raw_parts.append(block.data)
        self.trace = np.concatenate(parts, axis=1)[:, -keep:]
        self.raw_tail = np.concatenate(raw_parts, axis=1)[:, -keep_raw:]
        self.trace_end = block.end_sample

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
