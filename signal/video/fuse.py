"""EMG twitches matched to the movements seen in the attached video.

A movement (video time) is moved to recording time with the link's offset
(:meth:`~twitchscope.signal.video.link.VideoLink.to_recording_time`). A twitch and a
movement match when the lag ``movement onset - twitch onset`` lies within
``[min_lag_s, max_lag_s]`` (the muscle moves a little after its EMG). Matching is
one-to-one, the pairs with the smallest absolute lag first. Agreement per needle site
is ``matched / (twitches at the site + movements without a twitch at the site)``; a
movement's site is the needle site active at its onset (when sites are given), and a
twitch's is its own ``site`` (or the active one when it has none).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.model import NeedleSite, Twitch, site_at
from twitchscope.signal.video.motion import Movement

__all__ = ["FuseConfig", "TwitchMotion", "SiteAgreement", "Fusion", "fuse"]


@dataclass(frozen=True, slots=True)
class FuseConfig:
    """The lag window of a match, s (movement onset minus twitch onset)."""

    min_lag_s: float = -0.05
    max_lag_s: float = 0.3

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_lag_s) and math.isfinite(self.max_lag_s)):
            raise ConfigError("the lag window must be finite.")
        if self.min_lag_s >= self.max_lag_s:
            raise ConfigError(
                f"min_lag_s ({self.min_lag_s}) must be below max_lag_s ({self.max_lag_s})."
            )


@dataclass(frozen=True, slots=True)
class TwitchMotion:
    """An EMG twitch and the movement matched to it (None if none).

    ``movement`` is in recording time; ``lag_s`` is its onset minus the twitch's.
    """

    twitch: Twitch
    movement: Movement | None
    lag_s: float | None

    @property
    def peak_speed(self) -> float | None:
        """Peak speed of the matched movement, or None."""
        return None if self.movement is None else self.movement.peak_speed

    @property
    def grade(self) -> str | None:
        """Grade of the matched movement, or None."""
        return None if self.movement is None else self.movement.grade


@dataclass(frozen=True, slots=True)
class SiteAgreement:
    """How well EMG and video agree at one needle site (``site`` None: outside any site)."""

    site: str | None
    n_twitches: int
    n_matched: int
    n_unmatched_movements: int

    @property
    def total(self) -> int:
        """Twitches plus movements without a twitch."""
        return self.n_twitches + self.n_unmatched_movements

    @property
    def agreement(self) -> float:
        """``matched / total`` (NaN when the site has neither)."""
        return self.n_matched / self.total if self.total else math.nan


@dataclass(frozen=True)
class Fusion:
    """The result of :func:`fuse`; every time is recording time."""

    matches: tuple[TwitchMotion, ...]
    twitches_without_movement: tuple[Twitch, ...]
    movements_without_twitch: tuple[Movement, ...]
    sites: tuple[SiteAgreement, ...]


def fuse(
    twitches: Sequence[Twitch],
    movements: Sequence[Movement],
    *,
    offset_s: float,
    sites: Sequence[NeedleSite] = (),
    config: FuseConfig | None = None,
) -> Fusion:
    """Match EMG ``twitches`` (recording time) to video ``movements`` (video time).

    ``offset_s`` is the link's offset (video time = recording time - offset).
    Twitches come back in onset order, one :class:`TwitchMotion` each.
    """
    config = config or FuseConfig()
    if not math.isfinite(offset_s):
        raise ConfigError(f"the video offset must be finite, got {offset_s}.")
    tw = sorted(twitches, key=lambda t: t.onset_s)
    mv = sorted(
        (
            replace(m, onset_s=m.onset_s + offset_s, offset_s=m.offset_s + offset_s)
            for m in movements
        ),
        key=lambda m: m.onset_s,
    )
    candidates = [
        (abs(lag), i, j, lag)
        for i, t in enumerate(tw)
        for j, m in enumerate(mv)
        if config.min_lag_s <= (lag := m.onset_s - t.onset_s) <= config.max_lag_s
    ]
    pair_of: dict[int, tuple[int, float]] = {}
    taken: set[int] = set()
    for _, i, j, lag in sorted(candidates):
        if i not in pair_of and j not in taken:
            pair_of[i] = (j, lag)
            taken.add(j)
    matches = tuple(
        TwitchMotion(t, mv[pair_of[i][0]], pair_of[i][1])
        if i in pair_of
        else TwitchMotion(t, None, None)
        for i, t in enumerate(tw)
    )
    lonely = tuple(m for j, m in enumerate(mv) if j not in taken)
    return Fusion(
        matches=matches,
        twitches_without_movement=tuple(m.twitch for m in matches if m.movement is None),
        movements_without_twitch=lonely,
        sites=_agreement(matches, lonely, sites),
    )


def _label(site: NeedleSite | None) -> str | None:
    return None if site is None else site.label


def _agreement(
    matches: Sequence[TwitchMotion], lonely: Sequence[Movement], sites: Sequence[NeedleSite]
) -> tuple[SiteAgreement, ...]:
    counts: dict[str | None, list[int]] = {}
    for m in matches:
        key = (
            m.twitch.site if m.twitch.site is not None else _label(site_at(sites, m.twitch.onset_s))
        )
        row = counts.setdefault(key, [0, 0, 0])
        row[0] += 1
        row[1] += m.movement is not None
    for mv in lonely:
        counts.setdefault(_label(site_at(sites, mv.onset_s)), [0, 0, 0])[2] += 1
    order = sorted(counts, key=lambda k: (k is None, k or ""))
    return tuple(SiteAgreement(k, *counts[k]) for k in order)
