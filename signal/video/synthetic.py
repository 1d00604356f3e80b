"""A synthetic ultrasound-like video: speckle displaced by twitches, breathing and probe drift.

The tissue is a speckle texture (smoothed complex noise, its magnitude log-compressed,
as in a B-mode image) over a few fascia-like bands. Every frame shows it displaced by

* breathing: a vertical sinusoid (``breathing_px`` at ``breathing_hz``),
* probe drift: a slow horizontal wander (``drift_px`` at ``drift_hz``),
* each twitch: a local displacement (Gaussian footprint of radius ``radius`` x the
  frame's shorter side) that goes out in ``rise_s`` with a half-cosine profile and
  back in ``fall_s``; its outward peak speed is the twitch's ``peak_speed`` (px/s at
  the footprint's centre), reached half-way through the rise,

plus independent grey-level noise, and optional LED-like flashes (a bright square in
a corner for each ``(onset_s, duration_s)`` of ``flashes``: a sync event). Frame ``k``
shows the tissue at time ``k / fps``. The video is written as MP4 (``mp4v``).
Everything follows from the seed.

:class:`SpeckleScene` draws single frames (the live page's simulated video),
:class:`VideoStream` writes frames as a simulation produces them (``twitchscope
simulate --video``), and :func:`emg_video_twitches` turns EMG twitches into the
movements they show: :data:`EMD_S` after the EMG onset, faster for a larger twitch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import Twitch
from twitchscope.signal.video.backend import require_cv2

__all__ = [
    "EMD_S",
    "VideoTwitch",
    "SyntheticVideoSpec",
    "SyntheticVideo",
    "SpeckleScene",
    "VideoStream",
    "plan_twitches",
    "emg_video_twitches",
    "write_video",
]

#: Electromechanical delay of the simulated movement after its EMG onset, s.
EMD_S = 0.03


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
    flashes: tuple[tuple[float, float], ...] = ()
    flash_level: float = 120.0

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
        for onset, duration in self.flashes:
            if not (math.isfinite(onset) and duration > 0):
                raise ConfigError(
                    f"a flash is (onset_s, duration_s > 0), got ({onset}, {duration})."
                )

    @property
    def flash_roi(self) -> tuple[int, int, int, int]:
        """Where the flashes light up: a square in the top-left corner (x, y, w, h)."""
        side = max(8, min(self.width, self.height) // 5)
        return (2, 2, side, side)

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


def emg_video_twitches(
    twitches: Sequence[Twitch], *, t0_s: float = 0.0, emd_s: float = EMD_S
) -> tuple[VideoTwitch, ...]:
    """The movements EMG twitches show in a simulated video starting at recording time ``t0_s``.

    Each moves :data:`EMD_S` after its EMG onset, with a peak speed that rises with its
    SNR: ``20 + 90 * clip((snr_db - 6) / 20, 0, 1)`` px/s (weak to strong at 160x120);
    its place and direction follow from its onset, so a twitch looks the same in every
    frame drawn.
    """
    out = []
    for t in twitches:
        snr = t.snr_db if math.isfinite(t.snr_db) else 6.0
        speed = 20.0 + 90.0 * min(1.0, max(0.0, (snr - 6.0) / 20.0))
        rng = np.random.default_rng(int(round(t.onset_s * 1000)) % (2**32))
        out.append(
            VideoTwitch(
                onset_s=t.onset_s + emd_s - t0_s,
                peak_speed=speed,
                center=(float(rng.uniform(0.3, 0.7)), float(rng.uniform(0.3, 0.7))),
                angle_rad=float(rng.uniform(0, 2 * math.pi)),
            )
        )
    return tuple(out)


class SpeckleScene:
    """The tissue of a synthetic video, drawn one frame at a time.

    Parameters
    ----------
    spec : SyntheticVideoSpec
        Size, breathing, drift, twitch shape, noise and flashes (its ``twitches`` are
        not used here: :meth:`frame` takes the twitches to show).
    seed : int
        Seed of the texture and of the frame noise.
    """

    def __init__(self, spec: SyntheticVideoSpec, *, seed: int) -> None:
        self.cv2 = require_cv2()
        self.spec = spec
        self._rng = np.random.default_rng(seed)
        w, h = spec.width, spec.height
        self._margin = int(math.ceil(spec.breathing_px + spec.drift_px + 4))
        grain = 1.2 * w / 160.0
        shape = (h + 2 * self._margin, w + 2 * self._margin)
        self._base = _texture(shape, grain, self._rng).astype(np.float32)
        self._yy, self._xx = np.mgrid[0:h, 0:w].astype(np.float32)
        self._sigma = spec.radius * min(w, h)

    def frame(self, t: float, twitches: Sequence[VideoTwitch] = ()) -> np.ndarray:
        """The grey frame (height, width) ``uint8`` at time ``t`` with ``twitches`` moving it."""
        spec, cv2 = self.spec, self.cv2
        w, h = spec.width, spec.height
        xx, yy = self._xx, self._yy
        dx = np.full((h, w), spec.drift_px * math.sin(2 * math.pi * spec.drift_hz * t))
        dy = np.full((h, w), spec.breathing_px * math.sin(2 * math.pi * spec.breathing_hz * t))
        for tw in twitches:
            d = float(_profile(t - tw.onset_s, spec.rise_s, spec.fall_s))
            if not d:
                continue
            d *= 2 * spec.rise_s * tw.peak_speed / math.pi
            foot = np.exp(
                -((xx - tw.center[0] * w) ** 2 + (yy - tw.center[1] * h) ** 2)
                / (2 * self._sigma**2)
            )
            dx = dx + d * math.cos(tw.angle_rad) * foot
            dy = dy + d * math.sin(tw.angle_rad) * foot
        map_x = (xx + self._margin - dx).astype(np.float32)
        map_y = (yy + self._margin - dy).astype(np.float32)
        img = cv2.remap(self._base, map_x, map_y, cv2.INTER_CUBIC)
        img = img + self._rng.normal(0.0, spec.noise, img.shape).astype(np.float32)
        if any(on <= t < on + dur for on, dur in spec.flashes):
            x, y, fw, fh = spec.flash_roi
            img[y : y + fh, x : x + fw] += spec.flash_level
        return np.clip(img, 0, 255).astype(np.uint8)


class VideoStream:
    """An MP4 written as a simulation goes: :meth:`write_until` adds the frames up to a time.

    Frame ``k`` shows time ``k / fps`` of the simulation (its first sample is time 0).

    Raises
    ------
    FileFormatError
        ``path`` is not ``.mp4`` or cannot be written.
    """

    def __init__(self, path: str | Path, spec: SyntheticVideoSpec, *, seed: int) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise FileFormatError(f"{self.path.name}: the synthetic video is written as .mp4.")
        self.scene = SpeckleScene(spec, seed=seed)
        cv2 = self.scene.cv2
        fourcc = cv2.VideoWriter_fourcc(*"mp4v")
        self._writer = cv2.VideoWriter(str(self.path), fourcc, spec.fps, (spec.width, spec.height))
        if not self._writer.isOpened():
            raise FileFormatError(f"{self.path}: cannot open an MP4 writer there.")
        self.n_frames = 0

    @property
    def next_time_s(self) -> float:
        """Time of the next frame to write, s."""
        return self.n_frames / self.scene.spec.fps

    def write_until(self, t_s: float, twitches: Sequence[VideoTwitch]) -> int:
        """Write the frames before time ``t_s``; returns how many were written."""
        cv2, fps = self.scene.cv2, self.scene.spec.fps
        n = 0
        while self.n_frames / fps < t_s:
            grey = self.scene.frame(self.n_frames / fps, twitches)
            self._writer.write(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
            self.n_frames += 1
            n += 1
        return n

    def close(self) -> None:
        """Finish the file."""
        self._writer.release()


def write_video(path: str | Path, spec: SyntheticVideoSpec, *, seed: int) -> SyntheticVideo:
    """Write the video of ``spec`` to ``path`` (.mp4); returns it with its truth.

    Raises
    ------
    ConfigError
        OpenCV is not installed.
    FileFormatError
        ``path`` is not ``.mp4`` or cannot be written.
    """
    path = Path(path)
    stream = VideoStream(path, spec, seed=seed)
    try:
        stream.write_until(spec.n_frames / spec.fps - 0.5 / spec.fps, spec.twitches)
    finally:
        stream.close()
    if not path.is_file() or path.stat().st_size == 0:
        raise FileFormatError(f"{path}: the MP4 writer produced no file.")
    return SyntheticVideo(path=path, spec=spec, twitches=spec.twitches)
