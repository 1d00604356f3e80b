"""The one run loop of the streaming detector: initial state, a step per block, flush.

Everything that runs the detector over a stream goes through here: ``twitchscope
detect``, the session analysis behind ``report`` and ``batch``, the dashboard's review
and stream view, the LSL relay. :class:`StreamingDetector` is the loop fed one block
at a time (live callers); :func:`run_detector` runs it over an iterable of blocks and
collects the result; :func:`detect_recording`, :func:`detect_raw` and
:func:`detect_array` read a recording or an array in chunks of :data:`CHUNK_S` seconds.

Needle sites are attributed here, with
:func:`~twitchscope.signal.core.model.attribute_to_sites`, to each twitch as it is
emitted; the detector itself knows nothing of sites.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import mne

from twitchscope.signal.core.checks import check_ch_names, check_sfreq
from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import (
    NeedleSite,
    RejectedCandidate,
    SampleBlock,
    Twitch,
    attribute_to_sites,
)
from twitchscope.signal.core.units import volts_to_uv
from twitchscope.signal.detect.config import DetectorConfig
from twitchscope.signal.detect.detector import (
    DetectionOutput,
    DetectorState,
    detect_step,
    flush,
    init_detector_state,
)

__all__ = [
    "CHUNK_S",
    "chunk_samples",
    "DetectionRun",
    "StreamingDetector",
    "run_detector",
    "array_blocks",
    "detect_array",
    "detect_recording",
    "detect_raw",
]

log = logging.getLogger(__name__)

#: Seconds of signal read and processed at a time by the offline runs (any length
#: gives the same events; this one bounds the memory of a long recording).
CHUNK_S = 5.0


def chunk_samples(sfreq: float, chunk_s: float = CHUNK_S) -> int:
    """Samples in a chunk of ``chunk_s`` seconds at ``sfreq`` Hz (at least 1)."""
    return max(1, int(round(chunk_s * sfreq)))


@dataclass(frozen=True, slots=True)
class DetectionRun:
    """The detector's output over a whole stream.

    Parameters
    ----------
    twitches, rejected : tuple
        Twitches (with their needle site when sites were given) and rejected
        candidates, in the order the detector decided them.
    mains_hz : float or None
        Mains frequency the detector notched (given or estimated).
    band_hz : tuple of float or None
        The detector's pass band at this rate, Hz.
    n_samples : int
        Samples per channel the detector saw.
    railed : tuple of str
        Channels left out because they are stuck at the rail (not connected; see
        :mod:`twitchscope.signal.analysis.railed`).
    """

    twitches: tuple[Twitch, ...]
    rejected: tuple[RejectedCandidate, ...]
    mains_hz: float | None
    band_hz: tuple[float, float] | None
    n_samples: int = 0
    railed: tuple[str, ...] = ()


class StreamingDetector:
    """The detector run over one stream, fed a block at a time.

    Holds the current :class:`~twitchscope.signal.detect.detector.DetectorState`
    (replaced, never modified, at every block) and attributes each twitch to the
    needle sites given.

    Parameters
    ----------
    config : DetectorConfig
    sfreq : float
        Sampling rate, Hz.
    ch_names : sequence of str
        Channel names, one per row of every block.
    sites : iterable of NeedleSite
        Needle sites known in advance (for the ``site`` and ``latency_s`` of twitches).
    """

    def __init__(
        self,
        config: DetectorConfig,
        *,
        sfreq: float,
        ch_names: Sequence[str],
        sites: Iterable[NeedleSite] = (),
    ) -> None:
        self.config = config
        self.sites = tuple(sorted(sites, key=lambda s: s.onset_s))
        self.state: DetectorState = init_detector_state(config, sfreq=sfreq, ch_names=ch_names)
        self.n_samples = 0

    @property
    def mains_hz(self) -> float | None:
        """Mains frequency notched (None while it is still estimated)."""
        return self.state.mains_hz

    @property
    def band_hz(self) -> tuple[float, float] | None:
        """The conditioned band, Hz (None while the mains frequency is estimated)."""
        return self.state.bandwidth_hz

    def feed(self, block: SampleBlock) -> DetectionOutput:
        """Process the next block; return the twitches and rejections it decided."""
        out, self.state = detect_step(self.config, block, self.state)
        self.n_samples += block.n_samples
        return self._attributed(out)

    def finish(self) -> DetectionOutput:
        """End of stream: decide whatever is still pending."""
        out, self.state = flush(self.config, self.state)
        return self._attributed(out)

    def _attributed(self, out: DetectionOutput) -> DetectionOutput:
        if not self.sites or not out.twitches:
            return out
        twitches = tuple(attribute_to_sites(out.twitches, self.sites))
        return DetectionOutput(twitches=twitches, rejected=out.rejected)


def run_detector(
    config: DetectorConfig,
    blocks: Iterable[SampleBlock],
    *,
    sfreq: float,
    ch_names: Sequence[str],
    sites: Iterable[NeedleSite] = (),
) -> DetectionRun:
    """Run the detector over an iterable of blocks and flush at the end.

    Parameters
    ----------
    config : DetectorConfig
    blocks : iterable of SampleBlock
        Consecutive blocks of one stream (volts).
    sfreq : float
        Sampling rate, Hz.
    ch_names : sequence of str
        Channel names of the blocks.
    sites : iterable of NeedleSite
        Needle sites, for the ``site`` and ``latency_s`` of twitches.

    Returns
    -------
    run : DetectionRun
    """
    detector = StreamingDetector(config, sfreq=sfreq, ch_names=ch_names, sites=sites)
    twitches: list[Twitch] = []
    rejected: list[RejectedCandidate] = []
    for block in blocks:
        out = detector.feed(block)
        twitches.extend(out.twitches)
        rejected.extend(out.rejected)
    out = detector.finish()
    twitches.extend(out.twitches)
    rejected.extend(out.rejected)
    return DetectionRun(
        twitches=tuple(twitches),
        rejected=tuple(rejected),
        mains_hz=detector.mains_hz,
        band_hz=detector.band_hz,
        n_samples=detector.n_samples,
    )


def array_blocks(
    data: NDArray[np.float64], *, sfreq: float, ch_names: tuple[str, ...], chunk: int
) -> Iterator[SampleBlock]:
    """``data`` (n_channels, n_samples) as consecutive blocks of ``chunk`` samples."""
    for a in range(0, data.shape[1], chunk):
        yield SampleBlock(
            data=data[:, a : a + chunk], sfreq=sfreq, first_sample=a, ch_names=ch_names
        )


def detect_array(
    data: NDArray[np.float64],
    *,
    sfreq: float,
    ch_names: Sequence[str],
    config: DetectorConfig | None = None,
    sites: Iterable[NeedleSite] = (),
    chunk_s: float = CHUNK_S,
) -> tuple[list[Twitch], list[RejectedCandidate]]:
    """Detect twitches in an array (n_channels, n_samples) in volts, streamed in chunks.

    Returns
    -------
    twitches : list of Twitch
    rejected : list of RejectedCandidate
    """
    config = config or DetectorConfig()
    sfreq = check_sfreq(sfreq)
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2:
        raise ConfigError(f"data must be 2D (n_channels, n_samples), got shape {data.shape}.")
    names = check_ch_names(ch_names, data.shape[0])
    blocks = array_blocks(data, sfreq=sfreq, ch_names=names, chunk=chunk_samples(sfreq, chunk_s))
    run = run_detector(config, blocks, sfreq=sfreq, ch_names=names, sites=sites)
    return list(run.twitches), list(run.rejected)


def detect_recording(
    raw: mne.io.BaseRaw,
    config: DetectorConfig,
    *,
    picks: str | Sequence[str] | None = "emg",
    chunk_s: float = CHUNK_S,
    skip_railed: bool = True,
) -> DetectionRun:
    """Stream a recording through the detector in chunks, with its needle sites.

    The Raw need not be preloaded: only one chunk is in memory at a time. Needle sites
    come from its ``needle:<label>`` annotations. Channels stuck at the rail (not
    connected) are left out unless ``skip_railed`` is false, and named in the result
    (with a warning).

    Parameters
    ----------
    raw : mne.io.BaseRaw
        The recording (volts).
    config : DetectorConfig
    picks : "emg", None or sequence of str
        The channels the detector sees, as in
        :func:`~twitchscope.signal.io.readers.iter_blocks` (default: the EMG channels).
    chunk_s : float
        Seconds read at a time.
    skip_railed : bool
        Leave out the railed channels (default).

    Returns
    -------
    run : DetectionRun
        ``n_samples`` is 0 for an empty recording (and ``mains_hz``, ``band_hz`` None).

    Raises
    ------
    FileFormatError
        Every picked channel is railed.
    """
    from twitchscope.signal.analysis.railed import railed_channels
    from twitchscope.signal.core.annotations import recording_events
    from twitchscope.signal.io.readers import iter_blocks

    sfreq = float(raw.info["sfreq"])
    n_block = chunk_samples(sfreq, chunk_s)
    railed: tuple[str, ...] = ()
    if skip_railed:
        found = railed_channels(iter_blocks(raw, block_samples=n_block, picks=picks))
        railed = tuple(r.name for r in found)
        if railed:
            first_names = next(iter_blocks(raw, block_samples=1, picks=picks)).ch_names
            kept = [n for n in first_names if n not in railed]
            if not kept:
                raise FileFormatError(
                    f"every channel the detector would see is railed ({', '.join(railed)}: "
                    "stuck at the amplifier's rail, not connected); expected at least one "
                    "connected channel (or keep them with --keep-railed)."
                )
            log.warning(
                "left out of detection: %s (railed at %s µV: not connected); "
                "--keep-railed includes them",
                ", ".join(railed),
                ", ".join(sorted({f"{volts_to_uv(r.level_v):.0f}" for r in found})),
            )
            picks = kept
    blocks = iter_blocks(raw, block_samples=n_block, picks=picks)
    first = next(blocks, None)  # the picked channels are those of the blocks
    if first is None:
        return DetectionRun(twitches=(), rejected=(), mains_hz=None, band_hz=None, railed=railed)
    run = run_detector(
        config,
        itertools.chain([first], blocks),
        sfreq=sfreq,
        ch_names=first.ch_names,
        sites=recording_events(raw).sites,
    )
    return replace(run, railed=railed)


def detect_raw(
    raw: mne.io.BaseRaw,
    config: DetectorConfig | None = None,
    *,
    chunk_s: float = CHUNK_S,
) -> tuple[list[Twitch], list[RejectedCandidate]]:
    """Detect twitches in every channel of an :class:`mne.io.Raw` (EMG in volts).

    As :func:`detect_recording` with ``picks=None``, returned as lists.
    """
    run = detect_recording(raw, config or DetectorConfig(), picks=None, chunk_s=chunk_s)
    return list(run.twitches), list(run.rejected)
