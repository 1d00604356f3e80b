"""Imports flow dashboard -> acquisition -> signal, never back.

import-linter cannot see the package-dir-mapped namespace folders under a default
editable install, so a short ``ast`` walk does the same job.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: layer -> prefixes its modules may not import
FORBIDDEN = {
    "signal": ("twitchscope.acquisition", "twitchscope.dashboard", "streamlit", "serial"),
    "acquisition": ("twitchscope.dashboard", "streamlit", "scipy", "mne"),
    "dashboard": (),
}
#: what acquisition may take from signal: its core's data model, site log, units, errors and
#: checks (no DSP, no MNE bridge)
ACQUISITION_MAY_USE = (
    "twitchscope.signal.core.model",
    "twitchscope.signal.core.errors",
    "twitchscope.signal.core.checks",
    "twitchscope.signal.core.sites",
    "twitchscope.signal.core.units",
)


def imported_names(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"


def _modules(layer: str) -> list[Path]:
    """Every module of a layer, sub-packages included."""
    return sorted((ROOT / layer).rglob("*.py"))


def test_modules_walk_sub_packages() -> None:
    """The rules see modules inside sub-packages, not just a layer's top."""
    assert ROOT / "signal" / "core" / "model.py" in _modules("signal")
    assert ROOT / "acquisition" / "boards" / "cyton.py" in _modules("acquisition")


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_respects_import_direction(layer: str) -> None:
    bad = [
        f"{p.relative_to(ROOT)}: {name}"
        for p in _modules(layer)
        for name in imported_names(p)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer])
    ]
    assert bad == []


def test_acquisition_uses_only_signal_data_model() -> None:
    bad = []
    for p in _modules("acquisition"):
        for name in imported_names(p):
            if name.startswith("twitchscope.signal") and name != "twitchscope.signal":
                if not any(name == a or name.startswith(a + ".") for a in ACQUISITION_MAY_USE):
                    bad.append(f"{p.relative_to(ROOT)}: {name}")
    assert bad == []


def test_only_dashboard_imports_streamlit() -> None:
    users = {
        layer
        for layer in ("signal", "acquisition", "dashboard")
        for p in _modules(layer)
        if any(n.split(".")[0] == "streamlit" for n in imported_names(p))
    }
    assert users <= {"dashboard"}


def test_no_relative_imports() -> None:
    rel = [
        str(p.relative_to(ROOT))
        for layer in FORBIDDEN
        for p in _modules(layer)
        for node in ast.walk(ast.parse(p.read_text()))
        if isinstance(node, ast.ImportFrom) and node.level > 0
    ]
    assert rel == [], "code always imports twitchscope.<layer>.<module>"


def test_rule_catches_a_violation(tmp_path: Path) -> None:
    """The walker itself finds a backwards import (so the rule can fail)."""
    p = tmp_path / "bad.py"
    p.write_text("from twitchscope.dashboard import cli\nimport scipy.signal\n")
    names = set(imported_names(p))
    assert "twitchscope.dashboard" in names and "scipy.signal" in names
