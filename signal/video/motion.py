"""Movement in a video: optical-flow speed inside a region, and the mechanical twitches on it.

How the speed trace is made (:func:`speed_trace`)
    Each frame is cut to the region of interest (x, y, w, h), turned to grey and
    shrunk (never enlarged) to :attr:`MotionConfig.flow_width` pixels across. OpenCV's
    dense Farneback optical flow between consecutive frames gives a velocity per
    pixel; it is averaged over a grid of cells (:attr:`MotionConfig.grid` cells along
    the longer side), so a local twitch is not diluted by the still rest of the
    region. From each cell's velocity (x and y, a series over frames) its running
    median over :attr:`MotionConfig.baseline_s` (centred, 1 s by default) is taken
    off: that is a detrend of the displacement, so breathing, probe drift and a
    needle being advanced (all slower than about 1 Hz) fall out, while a twitch,
    shorter than half the window, keeps its full speed. The trace is the largest cell
    speed at each frame pair, in px/s of the original frame, or mm/s with a scale
    (mm per pixel). Sample ``i`` is the movement between frames ``k`` and ``k + 1``
    and is stamped at frame ``k``'s time ``k / fps``, seconds from the first frame.
    The analysis is offline: the range is read whole before detection (the centred
    median looks half a window ahead, and the thresholds use the whole trace).

How movements are found (:func:`detect_movements`)
    The background is the trace's own median and MAD (robust to the few twitches
    in it). A movement needs a sample above the high threshold
    ``max(median + k_high * 1.4826 * MAD, min_speed)``; it extends to both sides while
    the trace stays above the low threshold, which sits ``k_low / k_high`` of the way
    from the median to the high one (hysteresis). Stretches closer than
    ``merge_gap_s`` are one movement (a twitch goes out and back, and its speed dips
    at the turn), but the onset is the start of the stretch that first crosses the
    high threshold. Its ends are then trimmed to the first and last samples that reach
    ``edge_fraction`` of its peak. Movements shorter than ``min_duration_s`` or longer than
    ``max_duration_s`` (sustained motion, not a twitch) are dropped.

Grades (:func:`grade_speed`)
    ``strong`` from :attr:`MotionConfig.strong_speed`, ``medium`` from
    :attr:`MotionConfig.medium_speed`, else ``weak``, compared with the peak speed in
    the trace's unit. The defaults (60 and 25) are px/s chosen for the bundled
    synthetic ultrasound video; they are not a clinical calibration. With a scale the
    trace is in mm/s, so set them for your probe and depth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.masks import true_runs
from twitchscope.signal.video.backend import check_roi, open_video, require_cv2

__all__ = [
    "GRADES",
    "MotionConfig",
    "SpeedTrace",
    "Movement",
    "MotionResult",
    "speed_trace",
    "detect_movements",
    "grade_speed",
    "measure_motion",
]

#: The grades of a movement, strongest first.
GRADES: tuple[str, ...] = ("strong", "medium", "weak")

_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class MotionConfig:
    """Settings of the speed trace and of movement detection (see the module docstring).

    Parameters
    ----------
    flow_width : int
        Width (px) the region is shrunk to before optical flow; speed is converted
        back to pixels of the original frame.
    grid : int
        Cells along the longer side of the region for the local speed (fewer when a
        cell would be under 16 px at the flow's resolution).
    baseline_s : float
        Window of the running median taken off each cell's velocity; movement slower
        than about ``1 / baseline_s`` Hz (breathing, drift, needle advance) is ignored.
    k_high, k_low : float
        High and low thresholds in robust standard deviations above the median.
    min_speed : float
        Floor of the high threshold in px/s of the original frame (scaled with the
        trace), so a perfectly still video does not trigger on compression noise.
    min_duration_s, max_duration_s : float
        Shortest and longest movement kept.
    merge_gap_s : float
        Stretches above the low threshold closer than this are one movement.
    edge_fraction : float
        A movement's ends are trimmed to its first and last samples reaching this
        fraction of its peak speed (noise next to a strong twitch is not its onset).
    strong_speed, medium_speed : float
        Grade thresholds on the peak speed, in the trace's unit (px/s, or mm/s).
    """

    flow_width: int = 160
    grid: int = 8
    baseline_s: float = 1.0
    k_high: float = 6.0
    k_low: float = 3.0
    min_speed: float = 6.0
    min_duration_s: float = 0.05
    max_duration_s: float = 1.0
    merge_gap_s: float = 0.15
    edge_fraction: float = 0.2
    strong_speed: float = 60.0
    medium_speed: float = 25.0

    def __post_init__(self) -> None:
        if self.flow_width < 16:
            raise ConfigError(f"flow_width must be at least 16 px, got {self.flow_width}.")
        if self.grid < 1:
            raise ConfigError(f"grid must be at least 1 cell, got {self.grid}.")
        for name in ("baseline_s", "k_high", "k_low", "merge_gap_s", "max_duration_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ConfigError(f"{name} must be a positive number, got {value!r}.")
        for name in ("min_speed", "min_duration_s", "medium_speed"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be zero or positive, got {value!r}.")
        if not (0 <= self.edge_fraction < 1):
            raise ConfigError(f"edge_fraction must be within [0, 1), got {self.edge_fraction!r}.")
        if self.k_low > self.k_high:
            raise ConfigError(f"k_low ({self.k_low}) must not exceed k_high ({self.k_high}).")
        if self.min_duration_s >= self.max_duration_s:
            raise ConfigError(
                f"min_duration_s ({self.min_duration_s}) must be below max_duration_s "
                f"({self.max_duration_s})."
            )
        if not (math.isfinite(self.strong_speed) and self.strong_speed > self.medium_speed):
            raise ConfigError(
                f"strong_speed ({self.strong_speed}) must be above medium_speed "
                f"({self.medium_speed})."
            )


@dataclass(frozen=True)
class SpeedTrace:
    """Speed in a region of a video, one sample per frame pair.

    Parameters
    ----------
    times_s : ndarray, shape (n,)
        Time of each sample, s from the first frame of the video.
    speed : ndarray, shape (n,)
        Speed, ``unit``.
    fps : float
        Frame rate of the video.
    unit : str
        ``"px/s"``, or ``"mm/s"`` when a scale was given.
    scale : float or None
        mm per pixel, if given.
    """

    times_s: np.ndarray
    speed: np.ndarray
    fps: float
    unit: str
    scale: float | None = None


@dataclass(frozen=True, slots=True)
class Movement:
    """One mechanical twitch seen in a video.

    Parameters
    ----------
    onset_s, offset_s : float
        Start and end, s from the first frame of the video.
    peak_speed : float
        Largest speed during it, in the trace's unit (px/s or mm/s).
    grade : str
        ``strong``, ``medium`` or ``weak`` (:func:`grade_speed`).
    """

    onset_s: float
    offset_s: float
    peak_speed: float
    grade: str


@dataclass(frozen=True)
class MotionResult:
    """The speed trace of a video and the movements found on it."""

    trace: SpeedTrace
    movements: tuple[Movement, ...]


def _check_scale(scale: float | None) -> None:
    if scale is not None and not (math.isfinite(scale) and scale > 0):
        raise ConfigError(f"the scale must be a positive number of mm per pixel, got {scale!r}.")


def speed_trace(
    path: str | Path,
    *,
    roi: tuple[int, int, int, int] | None = None,
    scale: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    config: MotionConfig | None = None,
) -> SpeedTrace:
    """The speed trace of the video ``path`` inside ``roi`` (whole frame if None).

    ``start_s`` and ``end_s`` (s from the first frame) limit the frames analysed;
    times stay relative to the first frame of the file.

    Raises
    ------
    ConfigError
        OpenCV is missing, or a parameter is out of range.
    FileFormatError
        The video cannot be read, or has too few frames in the range.
    """
    config = config or MotionConfig()
    _check_scale(scale)
    if start_s is not None and end_s is not None and end_s <= start_s:
        raise ConfigError(f"--end ({end_s}) must be after --start ({start_s}).")
    cv2 = require_cv2()
    cap, info = open_video(path)
    try:
        if roi is None:
            roi = (0, 0, info.width, info.height)
        check_roi(roi, info.width, info.height)
        x, y, w, h = roi
        shrink = min(1.0, config.flow_width / w)
        size = (max(8, round(w * shrink)), max(8, round(h * shrink)))
        cells = _grid_shape(size, config.grid)
        first = 0 if start_s is None else max(0, math.ceil(start_s * info.fps - 1e-9))
        last = math.inf if end_s is None else math.floor(end_s * info.fps + 1e-9)
        for _ in range(first):
            if not cap.grab():
                break
        velocities: list[np.ndarray] = []
        previous = None
        k = first
        while k <= last:
            ok, frame = cap.read()
            if not ok:
                break
            k += 1
            grey = frame[y : y + h, x : x + w]
            if grey.ndim == 3:
                grey = cv2.cvtColor(grey, cv2.COLOR_BGR2GRAY)
            if shrink < 1.0:
                grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
            if previous is not None:
                flow = cv2.calcOpticalFlowFarneback(previous, grey, None, 0.5, 3, 13, 3, 5, 1.1, 0)
                velocities.append(cv2.resize(flow, cells, interpolation=cv2.INTER_AREA))
            previous = grey
    finally:
        cap.release()
    if len(velocities) < 4:
        raise FileFormatError(
            f"{Path(path).name}: {k - first} frames in the range analysed; motion needs at least 5."
        )
    cell_v = np.stack(velocities).reshape(len(velocities), -1, 2) * (info.fps / shrink)
    speed = _fast_speed(cell_v, info.fps, config.baseline_s)
    if scale is not None:
        speed = speed * scale
    times = (first + np.arange(len(speed))) / info.fps
    return SpeedTrace(
        times_s=times,
        speed=speed,
        fps=info.fps,
        unit="px/s" if scale is None else "mm/s",
        scale=scale,
    )


_MIN_CELL_PX = 16


def _grid_shape(size: tuple[int, int], grid: int) -> tuple[int, int]:
    """(cells across, cells down): ``grid`` along the longer side, cells >= 16 px."""
    w, h = size
    across, down = (grid, round(grid * h / w)) if w >= h else (round(grid * w / h), grid)
    return max(1, min(across, w // _MIN_CELL_PX)), max(1, min(down, h // _MIN_CELL_PX))


def _fast_speed(cell_v: np.ndarray, fps: float, baseline_s: float) -> np.ndarray:
    """Largest cell speed after removing each cell's running-median velocity.

    The median over ``baseline_s`` (centred) follows breathing, drift and a needle
    being advanced, but not a twitch shorter than half the window, so a twitch keeps
    its peak speed and leaves no ringing around it.
    """
    n = len(cell_v)
    window = min(int(round(baseline_s * fps)) | 1, n if n % 2 else n - 1)
    half = window // 2
    # odd extension about each end's trend: a velocity already changing at the first
    # or last frame (breathing) keeps its trend instead of being flattened
    head = _edge_trend(cell_v[:window])
    tail = _edge_trend(cell_v[::-1][:window])
    padded = np.concatenate(
        (
            2 * head - cell_v[half:0:-1],
            cell_v,
            2 * tail - cell_v[n - 2 : n - 2 - half : -1],
        )
    )
    slow = ndimage.median_filter(padded, size=(window, 1, 1), mode="nearest")[half : half + n]
    fast = cell_v - slow
    return np.asarray(np.max(np.hypot(fast[..., 0], fast[..., 1]), axis=1))


def _edge_trend(block: np.ndarray) -> np.ndarray:
    """Trend value at ``block[0]``: Tukey's resistant line through the block's thirds."""
    m = len(block)
    third = max(1, m // 3)
    first = np.median(block[:third], axis=0)
    last = np.median(block[m - third :], axis=0)
    slope = (last - first) / max(m - third, 1)
    return np.asarray(first - slope * (third - 1) / 2)[None]


def grade_speed(peak_speed: float, config: MotionConfig | None = None) -> str:
    """``strong``, ``medium`` or ``weak`` for a peak speed (thresholds of ``config``)."""
    config = config or MotionConfig()
    if peak_speed >= config.strong_speed:
        return "strong"
    if peak_speed >= config.medium_speed:
        return "medium"
    return "weak"


def detect_movements(trace: SpeedTrace, config: MotionConfig | None = None) -> list[Movement]:
    """The mechanical twitches on ``trace`` (see the module docstring for the rule)."""
    config = config or MotionConfig()
    speed = np.asarray(trace.speed, dtype=float)
    if speed.size == 0:
        return []
    median = float(np.median(speed))
    sigma = _MAD_TO_SIGMA * float(np.median(np.abs(speed - median)))
    floor = config.min_speed * (trace.scale if trace.scale is not None else 1.0)
    high = max(median + config.k_high * sigma, floor)
    low = median + (high - median) * config.k_low / config.k_high
    runs = zip(*true_runs(speed > low), strict=True)
    merge = round(config.merge_gap_s * trace.fps)
    merged: list[list[int]] = []
    for start, stop in runs:
        if merged and start - merged[-1][1] <= merge:
            merged[-1][1] = int(stop)
        else:
            merged.append([int(start), int(stop)])
    dt = 1.0 / trace.fps
    out = []
    for start, stop in merged:
        peak = float(np.max(speed[start:stop]))
        above = np.flatnonzero(speed[start:stop] >= high)
        if above.size == 0:
            continue
        # the onset is the start of the stretch that first crosses the high threshold:
        # a noise stretch merged in front of it does not move it earlier
        first = start + int(above[0])
        while first > start and speed[first - 1] > low:
            first -= 1
        edge = np.flatnonzero(speed[first:stop] >= config.edge_fraction * peak)
        start, stop = first + int(edge[0]), first + int(edge[-1]) + 1
        duration = (stop - start) * dt
        if duration < config.min_duration_s - 1e-9:
            continue
        if duration > config.max_duration_s:
            continue
        out.append(
            Movement(
                onset_s=float(trace.times_s[start]),
                offset_s=float(trace.times_s[stop - 1]) + dt,
                peak_speed=peak,
                grade=grade_speed(peak, config),
            )
        )
    return out


def measure_motion(
    path: str | Path,
    *,
    roi: tuple[int, int, int, int] | None = None,
    scale: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    config: MotionConfig | None = None,
) -> MotionResult:
    """Speed trace and movements of a video (:func:`speed_trace`, :func:`detect_movements`)."""
    config = config or MotionConfig()
    trace = speed_trace(path, roi=roi, scale=scale, start_s=start_s, end_s=end_s, config=config)
    return MotionResult(trace=trace, movements=tuple(detect_movements(trace, config)))
