"""A synthetic ultrasound-like video: speckle displaced by twitches, breathing and probe drift.

The tissue is a speckle texture (smoothed complex noise, its magnitude log-compressed,
as in a B-mode image) over a few fascia-like bands. Every frame shows it displaced by

* breathing: a vertical sinusoid (``breathing_px`` at ``breathing_hz``),
* probe drift: a slow horizontal wander (``drift_px`` at ``drift_hz``),
* each twitch: a local displacement (Gaussian footprint of radius ``radius`` x the
  frame's shorter side) that goes out in ``rise_s`` with a half-cosine profile and
  back in ``fall_s``; its outward peak speed is the twitch's ``peak_speed`` (px/s at
  the footprint's centre), reached half-way through the rise,

plus independent grey-level noise. Frame ``k`` shows the tissue at time ``k / fps``.
The video is written as MP4 (``mp4v``). Everything follows from the seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.video.backend import require_cv2

__all__ = ["VideoTwitch", "SyntheticVideoSpec", "SyntheticVideo", "plan_twitches", "write_video"]


@dataclass(frozen=True, slots=True)
class VideoTwitch:
    """One injected twitch.

    Parameters
    ----------
    onset_s : float
        When the displacement starts, s from the first frame.
    peak_speed : float
        Peak outward speed at the centre of the footprint, px/s.
    center : tuple of float
        Centre of the footprint as fractions (x, y) of the frame's width and height.
    angle_rad : float
        Direction of the outward displacement.
    """

    onset_s: float
    peak_speed: float
    center: tuple[float, float] = (0.5, 0.5)
    angle_rad: float = 0.0


@dataclass(frozen=True)
class SyntheticVideoSpec:
    """What to draw (see the module docstring); lengths in px are for the given frame size."""

    duration_s: float = 20.0
    fps: float = 30.0
    width: int = 160
    height: int = 120
    twitches: tuple[VideoTwitch, ...] = ()
    breathing_px: float = 3.0
    breathing_hz: float = 0.25
    drift_px: float = 4.0
    drift_hz: float = 0.05
    rise_s: float = 0.08
    fall_s: float = 0.2
    radius: float = 0.2
    noise: float = 3.0

    def __post_init__(self) -> None:
        if not (self.duration_s > 0 and self.fps > 0):
            raise ConfigError(
                f"duration_s and fps must be positive, got {self.duration_s} and {self.fps}."
            )
        if self.width < 32 or self.height < 32:
            raise ConfigError(f"the frame must be at least 32x32, got {self.width}x{self.height}.")
        if self.rise_s <= 0 or self.fall_s <= 0 or self.radius <= 0:
            raise ConfigError("rise_s, fall_s and radius must be positive.")
        for tw in self.twitches:
            if not (0 <= tw.onset_s < self.duration_s) or tw.peak_speed <= 0:
                raise ConfigError(
                    f"a twitch needs 0 <= onset_s < {self.duration_s} and a positive peak "
                    f"speed, got onset {tw.onset_s} and speed {tw.peak_speed}."
                )

    @property
    def n_frames(self) -> int:
        """Frames in the video."""
        return int(round(self.duration_s * self.fps))


@dataclass(frozen=True)
class SyntheticVideo:
    """A written synthetic video and its truth."""

    path: Path
    spec: SyntheticVideoSpec
    twitches: tuple[VideoTwitch, ...] = field(default=())

    @property
    def onsets_s(self) -> np.ndarray:
        """Onsets of the injected twitches, s from the first frame."""
        return np.array([t.onset_s for t in self.twitches], dtype=float)

    @property
    def peak_speeds(self) -> np.ndarray:
        """Injected peak speeds, px/s."""
        return np.array([t.peak_speed for t in self.twitches], dtype=float)


def plan_twitches(
    duration_s: float,
    speeds: Sequence[float],
    *,
    seed: int,
    first_s: float = 1.0,
    min_gap_s: float = 1.2,
) -> tuple[VideoTwitch, ...]:
    """Twitches of the given peak speeds (px/s) at random times, places and directions.

    Onsets are at least ``min_gap_s`` apart, from ``first_s`` to one second before the end.
    """
    rng = np.random.default_rng(seed)
    n = len(speeds)
    room = duration_s - 1.0 - first_s - n * min_gap_s
    if n and room < 0:
        raise ConfigError(
            f"{n} twitches {min_gap_s} s apart do not fit in {duration_s} s of video."
        )
    slack = np.sort(rng.uniform(0.0, max(room, 0.0), n))
    onsets = first_s + slack + min_gap_s * np.arange(n)
    order = rng.permutation(n)
    return tuple(
        VideoTwitch(
            onset_s=float(round(onsets[i], 4)),
            peak_speed=float(speeds[order[i]]),
            center=(float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7))),
            angle_rad=float(rng.uniform(0, 2 * math.pi)),
        )
        for i in range(n)
    )


def _texture(shape: tuple[int, int], grain: float, rng: np.random.Generator) -> np.ndarray:
    """Speckle over fascia-like bands, float in 0..255."""
    h, w = shape
    re = ndimage.gaussian_filter(rng.standard_normal(shape), grain)
    im = ndimage.gaussian_filter(rng.standard_normal(shape), grain)
    speckle = np.log1p(np.hypot(re, im) / (np.std(re) + 1e-12))
    rows = ndimage.gaussian_filter1d(rng.standard_normal(h), 6 * grain)
    bands = 0.6 + 0.4 * (rows - rows.min()) / (np.ptp(rows) + 1e-12)
    img = speckle * bands[:, None]
    return 255.0 * (img - img.min()) / (np.ptp(img) + 1e-12)


def _profile(t: np.ndarray | float, rise_s: float, fall_s: float) -> np.ndarray:
    """Displacement profile (0..1) of a twitch, t s after its onset."""
    t = np.asarray(t, dtype=float)
    out = np.zeros_like(t)
    up = (t >= 0) & (t < rise_s)
    down = (t >= rise_s) & (t < rise_s + fall_s)
    out[up] = 0.5 * (1 - np.cos(np.pi * t[up] / rise_s))
    out[down] = 0.5 * (1 + np.cos(np.pi * (t[down] - rise_s) / fall_s))
    return out


def write_video(path: str | Path, spec: SyntheticVideoSpec, *, seed: int) -> SyntheticVideo:
    """Write the video of ``spec`` to ``path`` (.mp4); returns it with its truth.

    Raises
    ------
    ConfigError
        OpenCV is not installed.
    FileFormatError
        ``path`` is not ``.mp4`` or cannot be written.
    """
    cv2 = require_cv2()
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise FileFormatError(f"{path.name}: the synthetic video is written as .mp4.")
    rng = np.random.default_rng(seed)
    w, h = spec.width, spec.height
    size_scale = w / 160.0
    margin = int(math.ceil(spec.breathing_px + spec.drift_px + 4))
    base = _texture((h + 2 * margin, w + 2 * margin), 1.2 * size_scale, rng).astype(np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    sigma = spec.radius * min(w, h)
    footprints = [
        np.exp(-((xx - tw.center[0] * w) ** 2 + (yy - tw.center[1] * h) ** 2) / (2 * sigma**2))
        for tw in spec.twitches
    ]
    amplitudes = [2 * spec.rise_s * tw.peak_speed / math.pi for tw in spec.twitches]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), spec.fps, (w, h))
    if not writer.isOpened():
        raise FileFormatError(f"{path}: cannot open an MP4 writer there.")
    try:
        for k in range(spec.n_frames):
            t = k / spec.fps
            dx = np.full((h, w), spec.drift_px * math.sin(2 * math.pi * spec.drift_hz * t))
            dy = np.full((h, w), spec.breathing_px * math.sin(2 * math.pi * spec.breathing_hz * t))
            for tw, foot, amp in zip(spec.twitches, footprints, amplitudes, strict=True):
                d = amp * float(_profile(t - tw.onset_s, spec.rise_s, spec.fall_s))
                if d:
                    dx = dx + d * math.cos(tw.angle_rad) * foot
                    dy = dy + d * math.sin(tw.angle_rad) * foot
            map_x = (xx + margin - dx).astype(np.float32)
            map_y = (yy + margin - dy).astype(np.float32)
            frame = cv2.remap(base, map_x, map_y, cv2.INTER_CUBIC)
            frame = frame + rng.normal(0.0, spec.noise, frame.shape).astype(np.float32)
            grey = np.clip(frame, 0, 255).astype(np.uint8)
            writer.write(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    finally:
        writer.release()
    if not path.is_file() or path.stat().st_size == 0:
        raise FileFormatError(f"{path}: the MP4 writer produced no file.")
    return SyntheticVideo(path=path, spec=spec, twitches=spec.twitches)
