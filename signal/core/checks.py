"""Small validators that give uniform, one-line error messages (in the manner of MNE's)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from twitchscope.signal.core.errors import ConfigError

__all__ = ["check_sfreq", "check_positive", "check_option", "check_ch_names"]


def check_positive(name: str, value: Any, *, allow_zero: bool = False) -> float:
    """Return ``value`` as a finite float > 0 (or >= 0), else raise :class:`ConfigError`."""
    if isinstance(value, bool):
        raise ConfigError(f"{name} must be a number, got {value!r}.")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}.") from None
    ok = out >= 0 if allow_zero else out > 0
    if not math.isfinite(out) or not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be a finite number {bound}, got {value!r}.")
    return out


def check_sfreq(sfreq: Any) -> float:
    """Validate a sampling rate in Hz (finite, > 0)."""
    if sfreq is None:
        raise ConfigError("sfreq (the sampling rate in Hz) is required, got None.")
    return check_positive("sfreq", sfreq)


def check_option(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Raise unless ``value`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ConfigError(
            f"Invalid value for the {name!r} parameter. Allowed values are {options}, "
            f"but got {value!r} instead."
        )
    return value


def check_ch_names(ch_names: Sequence[str], n_channels: int | None = None) -> tuple[str, ...]:
    """Validate channel names: non-empty strings, unique, matching ``n_channels`` if given."""
    names = tuple(str(c) for c in ch_names)
    if not names:
        raise ConfigError("a recording needs at least one channel, got none.")
    if any(not n.strip() for n in names):
        raise ConfigError(f"channel names must be non-empty, got {list(names)!r}.")
    seen: set[str] = set()
    dupes = sorted({n for n in names if n in seen or seen.add(n)})  # type: ignore[func-returns-value]
    if dupes:
        raise ConfigError(f"channel names must be unique, got duplicates {dupes!r}.")
    if n_channels is not None and len(names) != n_channels:
        raise ConfigError(
            f"got {len(names)} channel names for {n_channels} channels; expected one name per row."
        )
    return names
