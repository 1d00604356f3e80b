"""Recordings as the dashboard opens them: whole files, uploads, bundled samples."""

from __future__ import annotations

import pytest

from twitchscope.dashboard.services.recordings import (
    MAX_UPLOAD_MB,
    check_upload,
    load_recording,
    sample_recordings,
)
from twitchscope.signal.core.errors import FileFormatError


def test_upload_checks() -> None:
    assert check_upload("session.EDF", 1000) == "edf"
    with pytest.raises(FileFormatError, match="unsupported file type; expected one of .edf"):
        check_upload("notes.docx", 10)
    with pytest.raises(FileFormatError, match=f"limited to {MAX_UPLOAD_MB} MB"):
        check_upload("big.fif", (MAX_UPLOAD_MB + 1) * 1024 * 1024)
    with pytest.raises(FileFormatError, match="empty"):
        check_upload("empty.csv", 0)


def test_load_recording_reads_emg_and_sites(limb_file) -> None:
    rec = load_recording(limb_file)
    assert rec.sfreq == 1000.0 and rec.n_samples == 80_000
    assert rec.ch_names == ("R-MG-prox", "R-MG-TrP", "R-MG-dist", "R-LG")
    assert [s.onset_s for s in rec.events.sites] == [6.0, 44.0]
    assert not rec.data.flags.writeable
    with pytest.raises(FileFormatError):
        load_recording(limb_file.with_name("missing.fif"))


def test_sample_recordings_are_readable_files() -> None:
    samples = sample_recordings()
    assert samples, "no bundled sample recording found"
    assert [p.name for p in samples] == sorted(p.name for p in samples)
    assert not any(p.name.lower().endswith(".sites.csv") for p in samples)
    rec = load_recording(samples[0])
    assert rec.n_samples > 0 and rec.ch_names and rec.duration_s > 0
