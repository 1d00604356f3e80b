"""The streaming parser of text recordings and their sibling sites/annotations files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.signal.io.text_files import write_csv
from twitchscope.signal.core.errors import FileFormatError
from twitchscope.signal.io.readers import iter_blocks, read_recording


def test_csv_blocks_stream_and_report_late_errors(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "rec.csv"
    write_csv(path, data_uv, ["a", "b", "c"], sfreq=250.0)
    lines = path.read_text().splitlines()
    lines[1201] = lines[1201].replace(lines[1201].split(",")[2], "oops")
    path.write_text("\n".join(lines) + "\n")
    it = iter_blocks(path, block_samples=500)
    assert next(it).n_samples == 500  # the first blocks come before the bad row is read
    assert next(it).first_sample == 500
    with pytest.raises(FileFormatError, match="line 1202, column 'b' holds 'oops'"):
        next(it)


def test_bad_sites_file(tmp_path: Path, data_uv) -> None:
    path = tmp_path / "rec.csv"
    write_csv(path, data_uv, ["a", "b", "c"], sfreq=250.0)
    sites = tmp_path / "rec.sites.csv"
    sites.write_text("onset_s,duration_s,label\n1.0,soon,needle:x\n")
    with pytest.raises(FileFormatError, match="rec.sites.csv: line 2, column 'duration_s'"):
        read_recording(path)
    sites.write_text("onset,label\n1.0,x\n")
    with pytest.raises(FileFormatError, match=r"rec.sites.csv lacks columns \['onset_s'"):
        read_recording(path)


def test_annotations_file_gives_every_other_annotation_with_channels(
    tmp_path: Path, data_uv: np.ndarray
) -> None:
    path = tmp_path / "rec.csv"
    write_csv(path, data_uv, ["a", "b", "c"], sfreq=250.0)
    (tmp_path / "rec.annotations.csv").write_text(
        "onset_s,duration_s,description,channels\n1.0,0.1,LTR,b;a\n2.0,0.5,BAD_ACQ_SKIP,\n"
    )
    (tmp_path / "rec.sites.csv").write_text("onset_s,duration_s,label\n0.5,3.0,R APB\n")
    raw = read_recording(path)
    assert list(raw.annotations.description) == ["needle:R APB", "LTR", "BAD_ACQ_SKIP"]
    assert [tuple(c) for c in raw.annotations.ch_names] == [(), ("b", "a"), ()]
    np.testing.assert_allclose(raw.annotations.duration, [3.0, 0.1, 0.5])


def test_bad_annotations_file(tmp_path: Path, data_uv: np.ndarray) -> None:
    path = tmp_path / "rec.csv"
    write_csv(path, data_uv, ["a", "b", "c"], sfreq=250.0)
    other = tmp_path / "rec.annotations.csv"
    other.write_text("onset_s,duration_s\n1,2\n")
    with pytest.raises(FileFormatError, match=r"lacks columns \['description'\]"):
        read_recording(path)
    other.write_text("onset_s,duration_s,description\n-1,2,LTR\n")
    with pytest.raises(FileFormatError, match="line 2: expected a description, onset_s >= 0"):
        read_recording(path)


def test_unparsable_rows_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rec.csv"
    path.write_text('APB\n1\n2\n"3\n')
    with pytest.raises(
        FileFormatError, match="rec.csv: .*; expected the same number of fields on every row"
    ):
        read_recording(path, sfreq=100.0)
