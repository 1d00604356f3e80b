"""Causal conditioning filters with explicit state: band-pass plus mains notches.

The band-pass is Butterworth, high-pass ``hp_hz`` to ``min(lp_hz, 0.45 sfreq)``; the
notches sit at the mains frequency and its harmonics, *as they appear after sampling*:
a harmonic above Nyquist folds back (at 250 Hz, 150 Hz appears at 100 Hz and 240 Hz at
10 Hz), so it is notched where it lands. Everything is second-order sections run with
:func:`scipy.signal.sosfilt` and its ``zi`` state, which gives the same samples however
the stream is cut into blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import signal

from twitchscope.signal.core.checks import check_positive, check_sfreq
from twitchscope.signal.core.errors import ConfigError
from twitchscope.signal.detect.config import DetectorConfig


def _load_sosfilt_kernel() -> Callable[..., None] | None:
    """The compiled loop behind :func:`scipy.signal.sosfilt`, or None when this SciPy
    has none where expected or it does not give what the public function gives on a
    small check (then the public function is used: slower, the same samples)."""
    try:
        from scipy.signal import _sosfilt
    except ImportError:  # pragma: no cover - another SciPy layout: the public function
        return None
    kernel: Callable[..., None] | None = getattr(_sosfilt, "_sosfilt", None)
    if kernel is None:  # pragma: no cover
        return None
    sos = signal.butter(2, [0.1, 0.3], btype="band", output="sos")
    x = np.sin(np.arange(24.0)).reshape(2, 12)
    zi = np.full((sos.shape[0], 2, 2), 0.25)
    want, want_zf = signal.sosfilt(sos, x, axis=-1, zi=zi)
    try:
        y, z = x.copy(), zi.transpose(1, 0, 2).copy()
        kernel(sos, y, z)
    except Exception:  # pragma: no cover - a changed private signature
        return None
    if not (np.array_equal(y, want) and np.array_equal(z.transpose(1, 0, 2), want_zf)):
        return None  # pragma: no cover
    return kernel


_sosfilt_kernel = _load_sosfilt_kernel()

__all__ = [
    "FilterDesign",
    "FilterState",
    "aliased_frequency",
    "check_band",
    "mains_notch_frequencies",
    "design_conditioning",
    "design_sos",
    "init_filter_state",
    "filter_block",
    "sosfilt_block",
]


@dataclass(frozen=True, eq=False, slots=True)
class FilterDesign:
    """Second-order sections of a causal filter and what they do.

    Parameters
    ----------
    sos : array, shape (n_sections, 6)
        The sections.
    sfreq : float
        Sampling rate they were designed for, Hz.
    band : tuple of float
        Pass band (low, high) in Hz; ``(0, 0)`` when not a band-pass.
    notch_hz : tuple of float
        Frequencies notched, Hz (after aliasing).
    """

    sos: NDArray[np.float64]
    sfreq: float
    band: tuple[float, float] = (0.0, 0.0)
    notch_hz: tuple[float, ...] = ()

    @property
    def n_sections(self) -> int:
        """Number of second-order sections."""
        return int(self.sos.shape[0])


@dataclass(frozen=True, eq=False, slots=True)
class FilterState:
    """State of :func:`filter_block`: the sections' delay lines, shape (n_sections, n_channels, 2).

    ``started`` is False until the first sample has been seen: the delay lines are then
    set to the steady state for that first sample, so a DC offset gives no start-up transient.
    """

    zi: NDArray[np.float64]
    started: bool = False
    n_samples_seen: int = 0


def aliased_frequency(freq: float, *, sfreq: float) -> float:
    """Where a sinusoid of ``freq`` Hz appears after sampling at ``sfreq`` (in [0, sfreq/2])."""
    sfreq = check_sfreq(sfreq)
    freq = check_positive("freq", freq, allow_zero=True)
    f = freq % sfreq
    return float(sfreq - f if f > sfreq / 2 else f)


def mains_notch_frequencies(
    mains_hz: float,
    *,
    sfreq: float,
    n_harmonics: int,
    min_hz: float = 1.0,
    max_direct_hz: float | None = None,
) -> tuple[float, ...]:
    """Mains frequency and harmonics as they appear at ``sfreq``, de-duplicated and sorted.

    Frequencies that fold to within ``min_hz`` of 0 Hz or of Nyquist are left out (a notch
    cannot sit there; the band-pass already removes them). Harmonics below Nyquist above
    ``max_direct_hz`` (the low-pass corner) are left out too; aliased ones never are, since
    they land inside the band.

    Examples
    --------
    >>> mains_notch_frequencies(60, sfreq=250, n_harmonics=5)
    (10.0, 50.0, 60.0, 70.0, 120.0)
    """
    sfreq = check_sfreq(sfreq)
    out: set[float] = set()
    for k in range(1, int(n_harmonics) + 1):
        direct = k * mains_hz < sfreq / 2
        if direct and max_direct_hz is not None and k * mains_hz > max_direct_hz:
            continue
        f = round(aliased_frequency(k * mains_hz, sfreq=sfreq), 6)
        if min_hz < f < sfreq / 2 - min_hz:
            out.add(f)
    return tuple(sorted(out))


def design_sos(
    *, sfreq: float, band: tuple[float, float], orders: tuple[int, int] = (2, 4)
) -> NDArray[np.float64]:
    """Butterworth band-pass as SOS: high-pass of ``orders[0]`` and low-pass of ``orders[1]``."""
    lo, hi = band
    if not 0 < lo < hi < sfreq / 2:
        raise ConfigError(
            f"band ({lo:g}, {hi:g}) Hz must satisfy 0 < low < high < sfreq/2 = {sfreq / 2:g} Hz."
        )
    hp = signal.butter(orders[0], lo, btype="highpass", fs=sfreq, output="sos")
    lp = signal.butter(orders[1], hi, btype="lowpass", fs=sfreq, output="sos")
    return np.vstack([hp, lp])


def check_band(config: DetectorConfig, *, sfreq: float) -> float:
    """Return ``sfreq`` checked, or raise when it leaves no band above the high-pass.

    Raises
    ------
    ConfigError
        One line: the rate, the high-pass, the low-pass corner it would give and the
        lowest rate that works.
    """
    sfreq = check_sfreq(sfreq)
    lp = config.low_pass_hz(sfreq)
    if config.hp_hz >= lp:
        raise ConfigError(
            f"sfreq {sfreq:g} Hz is too low for a {config.hp_hz:g} Hz high-pass: the low-pass "
            f"corner would be {lp:g} Hz; expected sfreq > {config.hp_hz / config.lp_max_fraction:g} Hz."
        )
    return sfreq


def design_conditioning(config: DetectorConfig, *, sfreq: float, mains_hz: float) -> FilterDesign:
    """The conditioning filter: band-pass plus notches at the (aliased) mains harmonics.

    Parameters
    ----------
    config : DetectorConfig
        Band edges, orders, notch Q and number of harmonics.
    sfreq : float
        Sampling rate, Hz.
    mains_hz : float
        50 or 60.

    Returns
    -------
    design : FilterDesign
    """
    sfreq = check_band(config, sfreq=sfreq)
    lp = config.low_pass_hz(sfreq)
    sections = [
        design_sos(sfreq=sfreq, band=(config.hp_hz, lp), orders=(config.hp_order, config.lp_order))
    ]
    notches = mains_notch_frequencies(
        mains_hz, sfreq=sfreq, n_harmonics=config.n_harmonics, max_direct_hz=lp * 1.05
    )
    for f in notches:
        b, a = signal.iirnotch(f, config.notch_q, fs=sfreq)
        sections.append(signal.tf2sos(b, a))
    return FilterDesign(
        sos=np.vstack(sections), sfreq=sfreq, band=(config.hp_hz, lp), notch_hz=notches
    )


def sosfilt_block(
    sos: NDArray[np.float64],
    x: NDArray[np.float64],
    zi: NDArray[np.float64],
    *,
    overwrite_x: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``scipy.signal.sosfilt(sos, x, axis=-1, zi=zi)``, the same samples bit for bit.

    The detector filters every channel of every 20 ms block three times; on such short
    blocks SciPy's argument checks and axis moves cost several times the filtering
    itself, so float64 input goes straight to SciPy's compiled loop (the one
    :func:`scipy.signal.sosfilt` runs). Other input goes through :func:`scipy.signal.sosfilt`.

    Parameters
    ----------
    sos : array, shape (n_sections, 6)
    x : array, shape (n_channels, n_samples)
        Not modified, unless ``overwrite_x``.
    zi : array, shape (n_sections, n_channels, 2)
        Delay lines; not modified.
    overwrite_x : bool
        ``x`` is a scratch array of the caller's: when it is C-contiguous float64 it is
        filtered in place and returned as ``y`` (no copy).

    Returns
    -------
    y : array, shape (n_channels, n_samples)
    zf : array, shape (n_sections, n_channels, 2)
    """
    if (
        _sosfilt_kernel is None
        or x.ndim != 2
        or x.shape[1] == 0
        or x.dtype != np.float64
        or zi.dtype != np.float64
        or sos.dtype != np.float64
        or zi.shape != (sos.shape[0], x.shape[0], 2)
    ):
        out, zf = signal.sosfilt(sos, x, axis=-1, zi=zi)
        return out, zf
    if overwrite_x and x.flags.c_contiguous and x.flags.writeable:
        y = x
    else:
        y = np.array(x, dtype=np.float64, order="C")  # a copy: the loop filters in place
    z = zi.transpose(1, 0, 2).copy(order="C")  # (n_channels, n_sections, 2), a copy
    _sosfilt_kernel(np.ascontiguousarray(sos), y, z)
    return y, z.transpose(1, 0, 2)


def init_filter_state(design: FilterDesign, n_channels: int) -> FilterState:
    """Zero state for ``n_channels`` channels (set to steady state on the first sample)."""
    if int(n_channels) < 1:
        raise ConfigError(f"n_channels must be >= 1, got {n_channels!r}.")
    return FilterState(zi=np.zeros((design.n_sections, int(n_channels), 2)))


def filter_block(
    design: FilterDesign, block: NDArray[np.float64], state: FilterState
) -> tuple[NDArray[np.float64], FilterState]:
    """Filter one block of shape (n_channels, n_samples); never mutates ``state``.

    Returns
    -------
    out : array, shape (n_channels, n_samples)
        Filtered samples.
    new_state : FilterState
    """
    block = np.asarray(block, dtype=np.float64)
    n_ch = state.zi.shape[1]
    if block.ndim != 2 or block.shape[0] != n_ch:
        raise ConfigError(f"block must have shape ({n_ch}, n_samples), got {block.shape}.")
    if block.shape[1] == 0:  # scipy's sosfilt raises on empty input
        return block.copy(), state
    zi = state.zi
    if not state.started:
        zi = signal.sosfilt_zi(design.sos)[:, None, :] * block[None, :, 0, None]
    out, zf = sosfilt_block(design.sos, block, zi)
    return out, FilterState(
        zi=zf, started=True, n_samples_seen=state.n_samples_seen + block.shape[1]
    )
