"""Units at the edges: volts <-> microvolts, seconds <-> milliseconds, and export cells.

The model (and MNE) holds volts and seconds everywhere. Microvolts and milliseconds
appear only where a person or a file reads them: tables, figures, the ``*_uv`` and
``*_ms`` columns of exports, file formats that store µV, LSL streams. Every such
conversion goes through this module, so that each factor is written once:

====================  =============================================================
:data:`UV_PER_V`      microvolts per volt (1e6): ``µV = V * UV_PER_V``
:data:`V_PER_UV`      volts per microvolt (1e-6): the per-channel scale of a file or
                      stream that stores µV (multiplied into its samples)
:data:`MS_PER_S`      milliseconds per second (1e3)
====================  =============================================================

The conversion functions accept a number or a NumPy array. The ``*_cell``
functions make the value of one export/table cell: None for a missing or
non-finite value, else the converted value rounded to ``ndigits`` decimals, or,
with ``ndigits=None``, to 12 significant digits (which drops the float noise of
the conversion, e.g. ``0.000123 * 1e6 = 122.99999999999999`` becomes ``123.0``).
"""

from __future__ import annotations

import math
from typing import Any, Final, TypeVar

from numpy.typing import NDArray

__all__ = [
    "UV_PER_V",
    "V_PER_UV",
    "MS_PER_S",
    "volts_to_uv",
    "uv_to_volts",
    "s_to_ms",
    "ms_to_s",
    "tidy",
    "uv_cell",
    "ms_cell",
    "number_cell",
]

#: Microvolts per volt.
UV_PER_V: Final = 1e6
#: Volts per microvolt: the scale of samples stored in µV (``volts = stored * V_PER_UV``).
V_PER_UV: Final = 1e-6
#: Milliseconds per second.
MS_PER_S: Final = 1e3

_X = TypeVar("_X", float, NDArray[Any])

#: Significant digits kept by :func:`tidy`.
_TIDY_DIGITS: Final = 12


def volts_to_uv(x: _X) -> _X:
    """Volts to microvolts (``x * 1e6``); a number or an array."""
    return x * UV_PER_V


def uv_to_volts(x: _X) -> _X:
    """Microvolts to volts (``x / 1e6``, the exact inverse of :func:`volts_to_uv` on
    rounded values); a number or an array."""
    return x / UV_PER_V


def s_to_ms(x: _X) -> _X:
    """Seconds to milliseconds (``x * 1e3``); a number or an array."""
    return x * MS_PER_S


def ms_to_s(x: _X) -> _X:
    """Milliseconds to seconds (``x / 1e3``); a number or an array."""
    return x / MS_PER_S


def tidy(value: float) -> float:
    """``value`` to 12 significant digits: drops the float noise of a unit conversion."""
    return float(f"{value:.{_TIDY_DIGITS}g}")


def number_cell(value: float | None, ndigits: int | None = None) -> float | None:
    """One numeric cell of an export or table, in the unit it already has.

    Parameters
    ----------
    value : float or None
        The value; None, NaN and ±inf give None (an empty cell).
    ndigits : int or None
        Decimals to round to; None keeps 12 significant digits (:func:`tidy`).
    """
    if value is None or not math.isfinite(value):
        return None
    return tidy(value) if ndigits is None else round(value, ndigits)


def uv_cell(volts: float | None, ndigits: int | None = None) -> float | None:
    """A ``*_uv`` cell: volts shown in µV (None when missing or not finite).

    See :func:`number_cell` for ``ndigits``.
    """
    if volts is None or not math.isfinite(volts):
        return None
    return number_cell(volts_to_uv(volts), ndigits)


def ms_cell(seconds: float | None, ndigits: int | None = None) -> float | None:
    """A ``*_ms`` cell: seconds shown in ms (None when missing or not finite).

    See :func:`number_cell` for ``ndigits``.
    """
    if seconds is None or not math.isfinite(seconds):
        return None
    return number_cell(s_to_ms(seconds), ndigits)
