"""Signal quality of an EMG recording: noise, mains, ECG, clipping, lost samples, bandwidth.

Every function takes an array in volts, shape (n_channels, n_samples), plus ``sfreq``,
and is pure. :func:`assess_quality` runs them all and returns one
:class:`SignalQuality` for the quality panel of the dashboard and the session report.

How each figure is obtained
---------------------------
Baseline noise
    RMS of the noise floor in the detection band (20 Hz to min(450 Hz, 0.45·sfreq)),
    from a Welch spectrum that takes the **median** over 0.25 s segments (robust to
    twitches, pops and ECG, which occupy a minority of segments) and a running median
    over frequency (robust to mains lines and their harmonics). For white noise of
    standard deviation σ it gives σ·sqrt(2·(high − low)/sfreq).
Mains level
    RMS of each line at k·f_mains (k = 1…5), folded below Nyquist when it aliases
    (at 250 Hz the 150 Hz harmonic appears at 100 Hz), from a mean-averaged Welch
    spectrum with 1 s segments: the power within ±2 Hz of the line minus the local
    floor. ``mains="auto"`` picks whichever of 50/60 Hz has the larger lines.
ECG
    R peaks on a band-passed copy (8–30 Hz, where QRS energy is): the squared signal
    smoothed over 100 ms, peaks at least 0.3 s apart above 4× its median, then ECG is
    *present* when at least 5 peaks exist and at least 60 % of successive intervals
    lie within ±20 % of their median, with a rate of 30–220 bpm. Twitches are
    irregular and do not pass the regularity test.
Clipping
    Fraction of samples at the full scale when it is known; otherwise of samples in
    runs of at least ``min_run`` identical values at the channel's own extreme (a
    heuristic: broadband EMG does not sit on its maximum for several samples).
Samples lost
    The sum of the acquisition gaps (``BAD_ACQ_SKIP``) over recorded plus lost samples.
Effective bandwidth
    Nyquist (sfreq/2) bounds what the rate can carry; surface EMG has content up to
    about 500 Hz, so a warning is given when Nyquist is below 500 Hz (sfreq < 1 kHz),
    and below an sfreq of 500 Hz the recording supports detection only (no spectral
    metrics, see the literature note §3.3).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage
from scipy import signal as sps

from twitchscope.signal.core.checks import check_ch_names, check_option, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.core.masks import true_runs
from twitchscope.signal.core.model import Gap

__all__ = [
    "Bandwidth",
    "EcgResult",
    "ChannelQuality",
    "SignalQuality",
    "detection_band",
    "effective_bandwidth",
    "noise_rms",
    "mains_harmonics",
    "mains_levels",
    "estimate_mains",
    "detect_ecg",
    "clipped_fraction",
    "lost_samples",
    "assess_quality",
]

#: EMG content is expected up to about this frequency (SENIAM / ISEK), Hz.
EMG_TOP_HZ = 500.0
N_HARMONICS = 5
_LINE_HALF_WIDTH_HZ = 2.0
_ECG_BAND_HZ = (8.0, 30.0)
_ECG_MIN_PEAKS = 5
_ECG_REGULAR_FRACTION = 0.6
_ECG_RR_TOLERANCE = 0.2
_ECG_HR_RANGE_BPM = (30.0, 220.0)
_ECG_THRESHOLD = 4.0

MainsOption = Literal["auto", 50, 60]


@dataclass(frozen=True, slots=True)
class Bandwidth:
    """What a sample rate allows.

    Parameters
    ----------
    sfreq : float
        Sampling rate, Hz.
    nyquist_hz : float
        sfreq / 2, the effective bandwidth ceiling.
    band_hz : tuple of float
        The detection band (20 Hz to min(450 Hz, 0.45·sfreq)).
    detection_only : bool
        True below 500 Hz: detection works, spectral metrics do not.
    warning : str
        Empty when the rate covers the surface EMG band.
    """

    sfreq: float
    nyquist_hz: float
    band_hz: tuple[float, float]
    detection_only: bool
    warning: str


@dataclass(frozen=True, slots=True)
class EcgResult:
    """ECG found on one channel.

    Parameters
    ----------
    present : bool
        Whether a regular R-peak train was found.
    heart_rate_bpm : float or None
        60 / median R–R interval, when present.
    r_peaks_s : tuple of float
        Times of the detected peaks, s (also when not regular enough to count).
    """

    present: bool
    heart_rate_bpm: float | None
    r_peaks_s: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ChannelQuality:
    """Quality figures of one channel (volts)."""

    channel: str
    noise_rms_v: float
    mains_rms_v: float
    mains_harmonics_rms_v: tuple[float, ...]
    clipped_fraction: float
    ecg: EcgResult


@dataclass(frozen=True, slots=True)
class SignalQuality:
    """The quality panel of a recording (or of the last seconds of a live stream).

    Parameters
    ----------
    channels : tuple of ChannelQuality
        One per channel, in recording order.
    mains_hz : float
        50 or 60 (given or estimated).
    harmonics_hz : tuple of float
        Where each mains harmonic k = 1…5 appears (folded below Nyquist).
    bandwidth : Bandwidth
        Effective bandwidth at this rate, with its warning.
    n_samples, n_lost : int
        Samples analysed and samples lost in gaps.
    lost_fraction : float
        n_lost / (n_samples + n_lost).
    """

    channels: tuple[ChannelQuality, ...]
    mains_hz: float
    harmonics_hz: tuple[float, ...]
    bandwidth: Bandwidth
    n_samples: int
    n_lost: int
    lost_fraction: float

    @property
    def ecg_present(self) -> bool:
        """ECG found on any channel."""
        return any(c.ecg.present for c in self.channels)

    @property
    def heart_rate_bpm(self) -> float | None:
        """Median heart rate over the channels where ECG is present."""
        rates = [c.ecg.heart_rate_bpm for c in self.channels if c.ecg.heart_rate_bpm is not None]
        return float(np.median(rates)) if rates else None

    @property
    def warnings(self) -> tuple[str, ...]:
        """Human-readable warnings (bandwidth, clipping, lost samples, ECG)."""
        out = []
        if self.bandwidth.warning:
            out.append(self.bandwidth.warning)
        clipped = [c.channel for c in self.channels if c.clipped_fraction > 0.001]
        if clipped:
            out.append(
                f"clipping on {', '.join(clipped)}: check the gain or the electrode contact."
            )
        if self.n_lost:
            out.append(f"{self.n_lost} samples lost ({100 * self.lost_fraction:.2f} %).")
        if self.ecg_present:
            hr = self.heart_rate_bpm
            out.append(
                f"ECG present ({hr:.0f} bpm): use the trunk preset." if hr else "ECG present."
            )
        return tuple(out)


def detection_band(sfreq: float) -> tuple[float, float]:
    """The band the detector conditions to: 20 Hz to min(450 Hz, 0.45·sfreq)."""
    sfreq = check_sfreq(sfreq)
    high = min(450.0, 0.45 * sfreq)
    if high <= 20.0:
        raise ConfigError(
            f"sfreq must be above 44.4 Hz to keep a 20 Hz-wide EMG band, got {sfreq!r}."
        )
    return (20.0, high)


def effective_bandwidth(sfreq: float) -> Bandwidth:
    """Describe what a sample rate captures of surface EMG, with a warning where it falls short.

    Examples
    --------
    >>> effective_bandwidth(250.0).nyquist_hz, effective_bandwidth(250.0).detection_only
    (125.0, True)
    >>> effective_bandwidth(2000.0).warning
    ''
    """
    sfreq = check_sfreq(sfreq)
    nyq = sfreq / 2.0
    band = detection_band(sfreq)
    detection_only = sfreq < 500.0
    warning = ""
    if nyq < EMG_TOP_HZ:
        warning = (
            f"effective bandwidth {nyq:g} Hz at {sfreq:g} Hz is below the {EMG_TOP_HZ:g} Hz "
            "surface-EMG band; use >= 1 kHz where the board allows"
        )
        if detection_only:
            warning += ": detection only, no spectral metrics."
        else:
            warning += "."
    return Bandwidth(
        sfreq=sfreq, nyquist_hz=nyq, band_hz=band, detection_only=detection_only, warning=warning
    )


def _as_2d(data: ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[np.newaxis]
    if arr.ndim != 2:
        raise ConfigError(
            f"data must be a 2D array of shape (n_channels, n_samples), got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise ConfigError("data contains NaN or infinite samples; expected finite volts.")
    return arr


def _check_length(arr: NDArray[np.float64], sfreq: float, seconds: float, what: str) -> None:
    if arr.shape[1] < seconds * sfreq:
        raise ConfigError(
            f"{what} needs at least {seconds:g} s of data, got {arr.shape[1] / sfreq:.3g} s."
        )


def noise_rms(data: ArrayLike, *, sfreq: float) -> NDArray[np.float64]:
    """Robust RMS of the noise floor in the detection band, per channel.

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Samples in volts; at least 1 s.
    sfreq : float
        Sampling rate, Hz.

    Returns
    -------
    rms : array, shape (n_channels,)
        Volts RMS.
    """
    sfreq = check_sfreq(sfreq)
    arr = _as_2d(data)
    _check_length(arr, sfreq, 1.0, "the noise estimate")
    nperseg = max(16, int(round(sfreq / 2)))
    # Blackman-Harris: sidelobes < -90 dB, so a strong mains line does not leak into the floor
    freqs, psd = sps.welch(
        arr,
        fs=sfreq,
        window="blackmanharris",
        nperseg=nperseg,
        average="median",
        detrend="constant",
        axis=-1,
    )
    df = freqs[1] - freqs[0]
    low, high = detection_band(sfreq)
    # running median over ~±24 Hz removes lines (a Blackman-Harris line spans ~±8 Hz)
    width = max(5, int(round(48.0 / df)) | 1)
    floor = ndimage.median_filter(psd, size=(1, width), mode="nearest")
    in_band = (freqs >= low) & (freqs <= high)
    return np.sqrt(np.sum(floor[:, in_band], axis=1) * df)


def mains_harmonics(mains_hz: float, *, sfreq: float, n: int = N_HARMONICS) -> tuple[float, ...]:
    """Where the mains harmonics k·mains_hz (k = 1…n) appear after folding below Nyquist.

    Examples
    --------
    >>> mains_harmonics(50.0, sfreq=250.0)
    (50.0, 100.0, 100.0, 50.0, 0.0)
    """
    sfreq = check_sfreq(sfreq)
    out = []
    for k in range(1, n + 1):
        f = (k * mains_hz) % sfreq
        out.append(float(min(f, sfreq - f)))
    return tuple(out)


def _line_psd(arr: NDArray[np.float64], sfreq: float) -> tuple[NDArray[np.float64], ...]:
    nperseg = min(arr.shape[1], int(round(sfreq)))
    freqs, psd = sps.welch(arr, fs=sfreq, nperseg=nperseg, detrend="constant", axis=-1)
    return freqs, psd


def _line_rms(
    freqs: NDArray[np.float64], psd: NDArray[np.float64], f0: float, nyq: float
) -> NDArray[np.float64]:
    """RMS of a line at f0 above the local floor, per channel (0 where f0 is out of range)."""
    if f0 < 2 * _LINE_HALF_WIDTH_HZ or f0 > nyq - _LINE_HALF_WIDTH_HZ:
        return np.zeros(psd.shape[0])
    df = freqs[1] - freqs[0]
    near = np.abs(freqs - f0) <= _LINE_HALF_WIDTH_HZ
    ring = (np.abs(freqs - f0) > 2 * _LINE_HALF_WIDTH_HZ) & (
        np.abs(freqs - f0) <= 5 * _LINE_HALF_WIDTH_HZ
    )
    floor = np.median(psd[:, ring], axis=1) if ring.any() else np.zeros(psd.shape[0])
    power = np.sum(psd[:, near] - floor[:, None], axis=1) * df
    return np.sqrt(np.clip(power, 0.0, None))


def mains_levels(
    data: ArrayLike, *, sfreq: float, mains_hz: float, n: int = N_HARMONICS
) -> NDArray[np.float64]:
    """RMS of each mains harmonic, per channel.

    A harmonic that folds onto an earlier one (or onto DC) is reported once, at its
    first k; later duplicates are 0 so the sum of squares is not counted twice.

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Samples in volts; at least 1 s.
    sfreq : float
        Sampling rate, Hz.
    mains_hz : float
        50 or 60.
    n : int
        Number of harmonics (k = 1…n).

    Returns
    -------
    levels : array, shape (n_channels, n)
        Volts RMS of each line above the local noise floor.
    """
    sfreq = check_sfreq(sfreq)
    check_option("mains_hz", mains_hz, (50, 60, 50.0, 60.0))
    arr = _as_2d(data)
    _check_length(arr, sfreq, 1.0, "the mains estimate")
    freqs, psd = _line_psd(arr, sfreq)
    out = np.zeros((arr.shape[0], n))
    seen: list[float] = []
    for k, f in enumerate(mains_harmonics(float(mains_hz), sfreq=sfreq, n=n)):
        if any(abs(f - s) < 2 * _LINE_HALF_WIDTH_HZ for s in seen):
            continue
        seen.append(f)
        out[:, k] = _line_rms(freqs, psd, f, sfreq / 2)
    return out


def estimate_mains(data: ArrayLike, *, sfreq: float) -> float:
    """Return 50.0 or 60.0, whichever mains series carries more power (50 on a tie)."""
    arr = _as_2d(data)
    p50 = float(np.sum(mains_levels(arr, sfreq=sfreq, mains_hz=50, n=3) ** 2))
    p60 = float(np.sum(mains_levels(arr, sfreq=sfreq, mains_hz=60, n=3) ** 2))
    return 60.0 if p60 > p50 else 50.0


def detect_ecg(x: ArrayLike, *, sfreq: float) -> EcgResult:
    """Find a regular train of R peaks on one channel.

    Parameters
    ----------
    x : array, shape (n_samples,)
        One channel in volts; at least 3 s.
    sfreq : float
        Sampling rate, Hz (>= 64 Hz so the 8–30 Hz QRS band fits).

    Returns
    -------
    ecg : EcgResult
    """
    sfreq = check_sfreq(sfreq)
    arr = _as_2d(x)
    if arr.shape[0] != 1:
        raise ConfigError(f"detect_ecg takes one channel, got {arr.shape[0]}.")
    _check_length(arr, sfreq, 3.0, "ECG detection")
    y = arr[0] - np.median(arr[0])
    high = min(_ECG_BAND_HZ[1], 0.45 * sfreq)
    if high <= _ECG_BAND_HZ[0]:
        raise ConfigError(f"sfreq must be >= 64 Hz for ECG detection, got {sfreq!r}.")
    sos = sps.butter(2, (_ECG_BAND_HZ[0], high), btype="bandpass", fs=sfreq, output="sos")
    y = sps.sosfiltfilt(sos, y)
    win = max(1, int(round(0.1 * sfreq)))
    env = np.convolve(y * y, np.ones(win) / win, mode="same")
    floor = float(np.median(env))
    if floor <= 0:
        return EcgResult(present=False, heart_rate_bpm=None, r_peaks_s=())
    peaks, _ = sps.find_peaks(env, height=_ECG_THRESHOLD * floor, distance=int(0.3 * sfreq))
    times = tuple(float(p / sfreq) for p in peaks)
    if len(peaks) < _ECG_MIN_PEAKS:
        return EcgResult(present=False, heart_rate_bpm=None, r_peaks_s=times)
    rr = np.diff(peaks) / sfreq
    med = float(np.median(rr))
    regular = np.abs(rr - med) <= _ECG_RR_TOLERANCE * med
    hr = 60.0 / float(np.median(rr[regular])) if regular.any() else math.nan
    present = bool(
        regular.mean() >= _ECG_REGULAR_FRACTION
        and _ECG_HR_RANGE_BPM[0] <= hr <= _ECG_HR_RANGE_BPM[1]
    )
    return EcgResult(present=present, heart_rate_bpm=hr if present else None, r_peaks_s=times)


def clipped_fraction(
    data: ArrayLike, *, full_scale_v: float | None = None, min_run: int = 3
) -> NDArray[np.float64]:
    """Fraction of samples that sit at the converter's limit, per channel.

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Samples in volts.
    full_scale_v : float or None
        The input range (±full_scale_v) when known; a sample with
        ``|x| >= full_scale_v`` is clipped.
    min_run : int
        Without a known full scale: runs of at least this many identical samples at
        the channel's minimum or maximum count as clipped.

    Returns
    -------
    fraction : array, shape (n_channels,)
        Between 0 and 1.
    """
    arr = _as_2d(data)
    if arr.shape[1] == 0:
        return np.zeros(arr.shape[0])
    if full_scale_v is not None:
        if not full_scale_v > 0:
            raise ConfigError(f"full_scale_v must be > 0 V, got {full_scale_v!r}.")
        return np.mean(np.abs(arr) >= full_scale_v * (1 - 1e-9), axis=1)
    if int(min_run) < 2:
        raise ConfigError(f"min_run must be >= 2 samples, got {min_run!r}.")
    out = np.zeros(arr.shape[0])
    for i, row in enumerate(arr):
        n = 0
        for extreme in (row.max(), row.min()):
            starts, ends = true_runs(row == extreme)
            lengths = ends - starts
            n += int(lengths[lengths >= min_run].sum())
            if row.max() == row.min():
                break
        out[i] = n / row.size
    return out


def lost_samples(gaps: Sequence[Gap], *, n_samples: int) -> tuple[int, float]:
    """Samples lost in ``gaps`` and their share of recorded plus lost samples."""
    n_lost = int(sum(g.n_samples for g in gaps))
    total = int(n_samples) + n_lost
    return n_lost, (n_lost / total if total else 0.0)


def assess_quality(
    data: ArrayLike,
    *,
    sfreq: float,
    ch_names: Sequence[str],
    mains: MainsOption | float = "auto",
    gaps: Sequence[Gap] = (),
    full_scale_v: float | None = None,
) -> SignalQuality:
    """Compute every quality figure of a recording (or of a stretch of it).

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Raw (unfiltered) samples in volts; at least 3 s.
    sfreq : float
        Sampling rate, Hz.
    ch_names : sequence of str
        One name per channel.
    mains : "auto", 50 or 60
        Mains frequency, or ``"auto"`` to estimate it.
    gaps : sequence of Gap
        Acquisition gaps within the data.
    full_scale_v : float or None
        The amplifier's input range, if known (for clipping).

    Returns
    -------
    quality : SignalQuality
    """
    sfreq = check_sfreq(sfreq)
    arr = _as_2d(data)
    names = check_ch_names(ch_names, arr.shape[0])
    _check_length(arr, sfreq, 3.0, "the quality panel")
    if mains == "auto":
        mains_hz = estimate_mains(arr, sfreq=sfreq)
    else:
        mains_hz = float(check_option("mains", mains, ("auto", 50, 60, 50.0, 60.0)))
    noise = noise_rms(arr, sfreq=sfreq)
    levels = mains_levels(arr, sfreq=sfreq, mains_hz=mains_hz)
    clipped = clipped_fraction(arr, full_scale_v=full_scale_v)
    channels = []
    for i, name in enumerate(names):
        ecg = (
            detect_ecg(arr[i], sfreq=sfreq)
            if sfreq >= 64
            else EcgResult(present=False, heart_rate_bpm=None, r_peaks_s=())
        )
        channels.append(
            ChannelQuality(
                channel=name,
                noise_rms_v=float(noise[i]),
                mains_rms_v=float(np.sqrt(np.sum(levels[i] ** 2))),
                mains_harmonics_rms_v=tuple(float(v) for v in levels[i]),
                clipped_fraction=float(clipped[i]),
                ecg=ecg,
            )
        )
    n_lost, frac = lost_samples(gaps, n_samples=arr.shape[1])
    return SignalQuality(
        channels=tuple(channels),
        mains_hz=mains_hz,
        harmonics_hz=mains_harmonics(mains_hz, sfreq=sfreq),
        bandwidth=effective_bandwidth(sfreq),
        n_samples=int(arr.shape[1]),
        n_lost=n_lost,
        lost_fraction=frac,
    )
