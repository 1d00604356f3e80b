"""Detector profiles: the result of a calibration as a TOML file, and reading it back.

A profile names a preset and the parameter values that differ from it (section
``[detector]``); the rest documents where it came from: the cross-validated F1 and
false alarms per minute with their 95 % intervals next to the defaults' (``[validation]``),
the recordings and reviewers it was fitted on (``[[recordings]]``), the search
(``[search]``) and the twitchscope version (``[profile]``). Only ``[detector]`` changes
detection; :func:`read_profile` checks every name and value there against
:class:`~twitchscope.signal.detect.config.DetectorConfig`.

Example::

    [profile]
    twitchscope_version = "0.1.0"
    created = "2026-12-03T07:10:00+00:00"

    [detector]
    preset = "trunk"
    k_on = 5.5
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.detect.config import PRESETS, DetectorConfig, preset
from twitchscope.signal.review.calibration import CalibrationResult

__all__ = ["Profile", "write_profile", "read_profile", "profile_toml", "package_version"]


def package_version() -> str:
    """The installed twitchscope version (``"unknown"`` from a bare source tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("twitchscope")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True, slots=True)
class Profile:
    """A detector profile read from a file.

    Parameters
    ----------
    path : Path
    preset : str
        ``"limb"`` or ``"trunk"``.
    changes : dict
        Parameter values that differ from the preset.
    meta : dict
        Everything else in the file (validation, recordings, version), as read.
    """

    path: Path
    preset: str
    changes: dict[str, Any]
    meta: dict[str, Any]

    def config(self, **overrides: Any) -> DetectorConfig:
        """The profile's configuration, with ``overrides`` on top."""
        return preset(self.preset, **{**self.changes, **overrides})

    def label(self) -> str:
        """``"<file name> (preset trunk, k_on=5.5; cross-validated F1 0.61)"``."""
        rest = ", ".join(
            f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.changes.items()
        )
        f1 = self.meta.get("validation", {}).get("f1")
        tail = f"; cross-validated F1 {f1:.3f}" if isinstance(f1, float) else ""
        return f"{self.path.name} (preset {self.preset}{', ' + rest if rest else ''}{tail})"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        v = float(v)
        if math.isnan(v):
            return "nan"
        return repr(float(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(v, tuple | list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise ConfigError(f"cannot write {v!r} ({type(v).__name__}) to a profile.")


def _table(name: str, values: dict[str, Any], *, array: bool = False) -> list[str]:
    lines = [f"[[{name}]]" if array else f"[{name}]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return [*lines, ""]


def profile_toml(result: CalibrationResult, *, created: dt.datetime | None = None) -> str:
    """The profile file's text for a calibration result."""
    v = result.validation
    created = created or dt.datetime.now(dt.UTC).replace(microsecond=0)
    out = [
        "# twitchscope detector profile, written by `twitchscope calibrate`.",
        "# Apply it with --profile on detect, record, batch, report and dashboard.",
        "",
    ]
    out += _table(
        "profile",
        {
            "twitchscope_version": package_version(),
            "created": created.isoformat(),
            "fitted_on": "the reviewed twitches (confirmed + added) of the recordings below",
        },
    )
    out += _table("detector", {"preset": result.preset, **result.changes})
    out += _table(
        "validation",
        {
            "method": "leave-one-recording-out (the whole search repeated per fold)",
            "tolerance_ms": result.tolerance_s * 1000.0,
            "f1": v.f1,
            "f1_ci95": list(v.f1_ci),
            "precision": v.precision,
            "recall": v.recall,
            "false_alarms_per_min": v.fp_per_min,
            "false_alarms_per_min_ci95": list(v.fp_per_min_ci),
            "default_f1": v.default_f1,
            "default_f1_ci95": list(v.default_f1_ci),
            "default_false_alarms_per_min": v.default_fp_per_min,
            "default_false_alarms_per_min_ci95": list(v.default_fp_per_min_ci),
            "n_reviewed_twitches": sum(len(r.truth) for r in result.recordings),
            "minutes": sum(r.minutes for r in result.recordings),
        },
    )
    out += _table(
        "search",
        {
            "method": "coordinate search, one pass, pooled F1",
            "detector_runs": result.n_runs,
            **{f"values_{k}": list(levels) for k, levels in result.space.items()},
        },
    )
    for rec, (_name, chosen, f1, f1_default) in zip(
        result.recordings, v.per_recording, strict=True
    ):
        out += _table(
            "recordings",
            {
                "path": str(rec.path),
                "reviewer": rec.reviewer,
                "n_reviewed_twitches": len(rec.truth),
                "minutes": rec.minutes,
                "held_out_choice": chosen,
                "held_out_f1": f1,
                "held_out_default_f1": f1_default,
            },
            array=True,
        )
    return "\n".join(out)


def write_profile(path: str | os.PathLike[str], result: CalibrationResult) -> Path:
    """Write the profile of ``result`` to ``path`` (``.toml``); returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".toml":
        raise FileFormatError(f"{path.name}: a profile is written as .toml, got {path.suffix!r}.")
    if not path.parent.is_dir():
        raise FileFormatError(
            f"cannot write {path.name}: directory {path.parent} does not exist; expected an "
            "existing directory."
        )
    try:
        path.write_text(profile_toml(result), encoding="utf-8")
    except OSError as exc:
        raise FileFormatError(f"cannot write {path}: {exc.strerror or exc}.") from None
    return path


def read_profile(path: str | os.PathLike[str]) -> Profile:
    """Read a profile and check its ``[detector]`` section.

    Raises
    ------
    FileFormatError
        A missing file, invalid TOML, no ``[detector]`` table, an unknown parameter or a
        value the detector refuses (one line naming it).
    """
    path = Path(path)
    if not path.is_file():
        raise FileFormatError(f"profile not found: {path}; expected a .toml file from calibrate.")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise FileFormatError(f"cannot read profile {path.name}: {exc}.") from None
    except tomllib.TOMLDecodeError as exc:
        raise FileFormatError(f"profile {path.name} is not valid TOML ({exc}).") from None
    det = data.get("detector")
    if not isinstance(det, dict):
        raise FileFormatError(
            f"profile {path.name} has no [detector] table; expected one with at least preset."
        )
    det = dict(det)
    name = det.pop("preset", "limb")
    if name not in PRESETS:
        raise FileFormatError(
            f"profile {path.name}: preset {name!r}; expected one of {', '.join(PRESETS)}."
        )
    types = {f.name: f.type for f in fields(DetectorConfig)}
    changes: dict[str, Any] = {}
    for key, value in det.items():
        if key not in types:
            raise FileFormatError(
                f"profile {path.name}: unknown detector parameter {key!r}; expected names of "
                "DetectorConfig."
            )
        if (
            types[key] in ("float", float)
            and isinstance(value, int)
            and not isinstance(value, bool)
        ):
            value = float(value)
        changes[key] = value
    try:
        preset(name, **changes)
    except (ConfigError, TypeError) as exc:
        raise FileFormatError(f"profile {path.name}: {exc}") from None
    meta = {k: v for k, v in data.items() if k != "detector"}
    return Profile(path=path, preset=name, changes=changes, meta=meta)
