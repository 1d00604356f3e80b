"""The package layout: namespace folders mapped by pyproject.toml, never shadowing stdlib."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("acquisition", "signal", "dashboard")


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_folders_have_no_init(layer: str) -> None:
    assert (ROOT / layer).is_dir()
    assert not (ROOT / layer / "__init__.py").exists()


def test_import_signal_from_repo_root_is_stdlib() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import signal; print(signal.__file__); print(signal.Signals.SIGINT.name)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    stdlib = Path(sysconfig.get_paths()["stdlib"]).resolve()
    assert Path(out.stdout.splitlines()[0]).resolve().parent == stdlib
    assert out.stdout.splitlines()[1] == "SIGINT"


@pytest.mark.parametrize("layer", LAYERS)
def test_layers_import_as_twitchscope_namespace(layer: str) -> None:
    mod = importlib.import_module(f"twitchscope.{layer}")
    paths = [Path(p).resolve() for p in mod.__path__]
    assert (ROOT / layer).resolve() in paths or any(p.name == layer for p in paths)


#: the house plan's limits: a module a reader can hold in mind, a folder a glance can take in
MAX_MODULE_LINES = 620
MAX_FOLDER_MODULES = 13


def _sub_packages(layer: str) -> list[Path]:
    return sorted(d for d in (ROOT / layer).rglob("*") if d.is_dir() and any(d.glob("*.py")))


def test_every_sub_package_is_a_package_listed_in_pyproject() -> None:
    """A sub-package has an ``__init__.py`` and is listed, so that a wheel ships it."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    subs = [d for layer in LAYERS for d in _sub_packages(layer)]
    assert len(subs) >= 10
    missing_init = [str(d.relative_to(ROOT)) for d in subs if not (d / "__init__.py").exists()]
    assert missing_init == []
    names = {"twitchscope." + ".".join(d.relative_to(ROOT).parts) for d in subs}
    assert names - listed == set()


def test_each_sub_package_says_its_one_job() -> None:
    """Every sub-package's ``__init__`` opens with a docstring naming what it holds."""
    bare = [
        str(d.relative_to(ROOT))
        for layer in LAYERS
        for d in _sub_packages(layer)
        if not (d / "__init__.py").read_text().lstrip().startswith('"""')
    ]
    assert bare == []


@pytest.mark.parametrize("layer", LAYERS)
def test_modules_and_folders_stay_small(layer: str) -> None:
    too_long = [
        f"{p.relative_to(ROOT)}: {n} lines"
        for p in (ROOT / layer).rglob("*.py")
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    too_full = [
        f"{d.relative_to(ROOT)}: {n} modules"
        for d in [ROOT / layer, *_sub_packages(layer)]
        if (n := len([p for p in d.glob("*.py") if not p.name.startswith("__")]))
        > MAX_FOLDER_MODULES
    ]
    assert too_long == [] and too_full == []


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert out.returncode == 0, f"{cmd[:3]} failed:\n{out.stderr[-3000:]}"
    return out


@pytest.mark.slow
def test_regular_wheel_install_in_fresh_venv(tmp_path: Path) -> None:
    """Build a wheel, install it in a new venv, and import from outside the repo."""
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(uv).exists():
        pytest.fail("uv is needed for this test (it is installed by the README's test command)")
    wheels = tmp_path / "wheels"
    _run([uv, "build", "--wheel", "--out-dir", str(wheels), str(ROOT)], cwd=tmp_path)
    (wheel,) = wheels.glob("twitchscope-*.whl")
    venv = tmp_path / "venv"
    _run([uv, "venv", "--python", sys.executable, str(venv)])
    py = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    _run([uv, "pip", "install", "--python", str(py), str(wheel)], env=env)
    code = (
        "import signal, importlib.resources as r\n"
        "import twitchscope.signal.core.model as m, twitchscope.signal.core.annotations\n"
        "import twitchscope.acquisition, twitchscope.dashboard.cli.main\n"
        "assert signal.SIGINT\n"
        "print(m.__file__)\n"
        "print(sorted(p.name for p in r.files('twitchscope.sample_recordings').iterdir()))\n"
    )
    out = _run([str(py), "-c", code], cwd=tmp_path, env=env)
    assert str(venv) in out.stdout.splitlines()[0]
    assert "README.md" in out.stdout
    cli = _run([str(venv / "bin" / "twitchscope"), "--help"], env=env)
    assert "info" in cli.stdout
