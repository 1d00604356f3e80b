"""Shared fixtures: small synthetic recordings with a seeded RNG and awkward rates."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# CI explores a fixed set of examples (derandomized) so a run is reproducible; local
# runs draw new examples each time and find what CI has not seen yet.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"


@pytest.fixture
def rng() -> np.random.Generator:
    """A fresh, seeded random generator for each test."""
    return np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _restore_log_level():
    """Fail no test silently for changing the package logger's level: restore it."""
    logger = logging.getLogger("twitchscope")
    level = logger.level
    yield
    logger.setLevel(level)


#: The bundled sample recording that has a video attached.
VIDEO_SAMPLE_STEM = "gastrocnemius_limb_2khz"


@pytest.fixture
def video_sample(tmp_path: Path) -> Path:
    """The bundled sample with its video and link, copied (tests may rewrite the link)."""
    import shutil

    for suffix in (".edf", ".mp4", ".video.json"):
        name = f"{VIDEO_SAMPLE_STEM}{suffix}"
        shutil.copy(REPO_ROOT / "sample_recordings" / name, tmp_path / name)
    return tmp_path / f"{VIDEO_SAMPLE_STEM}.edf"
