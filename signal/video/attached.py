"""A recording's twitches fused with the movements of its attached video, in one call.

:func:`fuse_attached` is what ``twitchscope detect``, ``report``, ``video fuse`` and the
dashboard's event tables share: read the recording's link (:mod:`.link`), measure the
video's motion in the link's region and scale (:func:`~.motion.measure_motion`, or
take a measurement the caller already has), and match the twitches the video covers
to its movements (:func:`~.fuse.fuse`). Twitches outside the span the video covers
are kept apart (``outside``): no movement could have been seen for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from twitchscope.signal.core.model import NeedleSite, Twitch
from twitchscope.signal.video.backend import video_info
from twitchscope.signal.video.fuse import FuseConfig, Fusion, TwitchMotion, fuse
from twitchscope.signal.video.link import VideoLink, link_path, read_link
from twitchscope.signal.video.motion import MotionResult, measure_motion

__all__ = ["VideoFusion", "has_video", "fuse_attached", "fuse_linked"]


@dataclass(frozen=True)
class VideoFusion:
    """Twitches fused with the attached video's movements (recording time throughout).

    Parameters
    ----------
    link : VideoLink
        The recording's link (video, offset, region, scale).
    unit : str
        Unit of the movements' peak speeds: ``px/s``, or ``mm/s`` with a scale.
    span_s : tuple of float
        The recording times the video covers, s.
    fusion : Fusion
        The twitches inside ``span_s`` matched to the movements.
    outside : tuple of Twitch
        Twitches outside ``span_s``, in onset order.
    config : FuseConfig
        The lag window the matches were made with.
    """

    link: VideoLink
    unit: str
    span_s: tuple[float, float]
    fusion: Fusion
    outside: tuple[Twitch, ...]
    config: FuseConfig

    @property
    def n_moved(self) -> int:
        """Twitches with their movement."""
        return sum(m.movement is not None for m in self.fusion.matches)

    def summary(self) -> str:
        """One line: how many twitches moved, how many did not, movements alone."""
        f = self.fusion
        line = (
            f"video {self.link.video.name}: {self.n_moved} of {len(f.matches)} twitches with "
            f"their movement, {len(f.movements_without_twitch)} movements without a twitch"
        )
        if self.outside:
            line += f", {len(self.outside)} twitches outside the video"
        return line

    def match_of(self, twitch: Twitch) -> TwitchMotion | None:
        """The match of ``twitch`` (one of the twitches fused), None when it is outside."""
        return next((m for m in self.fusion.matches if m.twitch is twitch), None)

    def agreement_lines(self) -> list[str]:
        """One line per needle site: twitches that moved, movements alone, agreement."""
        lines = []
        for a in self.fusion.sites:
            share = "-" if a.total == 0 else f"{a.agreement:.2f}"
            lines.append(
                f"{a.site or '(outside any site)'}: {a.n_matched} of {a.n_twitches} twitches "
                f"moved, {a.n_unmatched_movements} movements alone, agreement {share}"
            )
        return lines


def has_video(recording: str | Path) -> bool:
    """Whether ``recording`` has a video link sidecar beside it."""
    return link_path(recording).is_file()


def fuse_attached(
    recording: str | Path,
    twitches: Sequence[Twitch],
    *,
    sites: Sequence[NeedleSite] = (),
    motion: MotionResult | None = None,
    config: FuseConfig | None = None,
) -> VideoFusion | None:
    """Fuse ``twitches`` with the movements of the video attached to ``recording``.

    Parameters
    ----------
    recording : str or Path
        The recording whose link sidecar names the video.
    twitches : sequence of Twitch
        Twitches in recording time.
    sites : sequence of NeedleSite
        Needle sites, for the agreement per site.
    motion : MotionResult, optional
        The video's motion, when the caller has measured it already (with the link's
        region and scale); else it is measured here.
    config : FuseConfig, optional
        The lag window of a match.

    Returns
    -------
    VideoFusion or None
        None when the recording has no video attached.

    Raises
    ------
    TwitchscopeError
        The link or the video cannot be read, or OpenCV is not installed (the message
        names the extra to install).
    """
    if not has_video(recording):
        return None
    link = read_link(recording)
    return fuse_linked(
        link,
        video_info(link.video).duration_s,
        twitches,
        sites=sites,
        motion=motion,
        config=config,
    )


def fuse_linked(
    link: VideoLink,
    duration_s: float,
    twitches: Sequence[Twitch],
    *,
    sites: Sequence[NeedleSite] = (),
    motion: MotionResult | None = None,
    config: FuseConfig | None = None,
) -> VideoFusion:
    """:func:`fuse_attached` with the link and the video's duration (s) already read."""
    if motion is None:
        motion = measure_motion(link.video, roi=link.roi, scale=link.scale_mm_per_px)
    start, end = link.to_recording_time(0.0), link.to_recording_time(duration_s)
    ordered = sorted(twitches, key=lambda t: t.onset_s)
    inside = [t for t in ordered if start <= t.onset_s < end]
    outside = tuple(t for t in ordered if not start <= t.onset_s < end)
    config = config or FuseConfig()
    fusion = fuse(inside, motion.movements, offset_s=link.offset_s, sites=sites, config=config)
    return VideoFusion(
        link=link,
        unit=motion.trace.unit,
        span_s=(start, end),
        fusion=fusion,
        outside=outside,
        config=config,
    )
