"""A minimal XDF 1.0 writer for the tests (pyxdf reads XDF but writes none).

Follows the XDF specification's chunk layout: the magic ``XDF:``, then chunks of
``[NumLengthBytes][Length][Tag uint16][Content]``; FileHeader (tag 1), StreamHeader
(2, XML), Samples (3), ClockOffset (4) and StreamFooter (6) chunks; stream ids are
uint32 and numbers little-endian; sample counts and string lengths are
variable-length integers (``[NumBytes][Value]``). Every sample carries its time
stamp.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

_FORMATS = {"float32": "<f4", "double64": "<f8", "int16": "<i2", "int32": "<i4"}


def _varlen(n: int) -> bytes:
    if n < 256:
        return bytes([1, n])
    if n < 2**32:
        return bytes([4]) + struct.pack("<I", n)
    return bytes([8]) + struct.pack("<Q", n)


def _chunk(tag: int, content: bytes) -> bytes:
    body = struct.pack("<H", tag) + content
    return _varlen(len(body)) + body


@dataclass
class XdfStream:
    """One stream to write: header fields, channels, samples and time stamps."""

    name: str
    type: str
    channel_format: str  # float32, double64, int16, int32 or string
    nominal_srate: float
    time_stamps: np.ndarray  # (n_samples,)
    values: np.ndarray | list[str]  # (n_samples, n_channels), or one string per sample
    channels: list[dict[str, str]] = field(default_factory=list)  # label/unit/type
    channel_count: int | None = None

    def header_xml(self) -> bytes:
        n = self.channel_count
        if n is None:
            n = 1 if self.channel_format == "string" else int(np.asarray(self.values).shape[1])
        chans = "".join(
            "<channel>" + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in ch.items()) + "</channel>"
            for ch in self.channels
        )
        desc = f"<desc><channels>{chans}</channels></desc>" if chans else "<desc></desc>"
        return (
            '<?xml version="1.0"?><info>'
            f"<name>{escape(self.name)}</name><type>{escape(self.type)}</type>"
            f"<channel_count>{n}</channel_count><nominal_srate>{self.nominal_srate!r}"
            f"</nominal_srate><channel_format>{self.channel_format}</channel_format>"
            f"<source_id>{escape(self.name)}-src</source_id>{desc}</info>"
        ).encode()

    def samples(self, a: int, b: int) -> bytes:
        out = [_varlen(b - a)]
        for k in range(a, b):
            out.append(b"\x08" + struct.pack("<d", float(self.time_stamps[k])))
            if self.channel_format == "string":
                text = str(self.values[k]).encode()  # type: ignore[index]
                out.append(_varlen(len(text)) + text)
            else:
                row = np.asarray(self.values[k], dtype=_FORMATS[self.channel_format])
                out.append(row.tobytes())
        return b"".join(out)


def write_xdf(
    path: Path, streams: list[XdfStream], *, chunk: int = 100, datetime: str = ""
) -> None:
    """Write ``streams`` to ``path``: headers, interleaved sample chunks, offsets, footers."""
    parts = [b"XDF:"]
    when = f"<datetime>{datetime}</datetime>" if datetime else ""
    parts.append(
        _chunk(1, f'<?xml version="1.0"?><info><version>1.0</version>{when}</info>'.encode())
    )
    for sid, s in enumerate(streams, start=1):
        parts.append(_chunk(2, struct.pack("<I", sid) + s.header_xml()))
    longest = max(len(s.time_stamps) for s in streams)
    for a in range(0, longest, chunk):
        for sid, s in enumerate(streams, start=1):
            b = min(a + chunk, len(s.time_stamps))
            if b > a:
                parts.append(_chunk(3, struct.pack("<I", sid) + s.samples(a, b)))
    for sid, s in enumerate(streams, start=1):
        t = float(s.time_stamps[-1]) if len(s.time_stamps) else 0.0
        parts.append(_chunk(4, struct.pack("<I", sid) + struct.pack("<dd", t, 0.0)))
        footer = (
            f'<?xml version="1.0"?><info><first_timestamp>{float(s.time_stamps[0])!r}'
            f"</first_timestamp><last_timestamp>{t!r}</last_timestamp>"
            f"<sample_count>{len(s.time_stamps)}</sample_count></info>"
        )
        parts.append(_chunk(6, struct.pack("<I", sid) + footer.encode()))
    path.write_bytes(b"".join(parts))


def write_lab_recording(
    path: Path,
    uv: np.ndarray,
    *,
    sfreq: float,
    start_s: float,
    markers: list[tuple[float, str]],
    labels: tuple[str, ...] = ("R-MG", "R-LG"),
) -> Path:
    """A LabRecorder-like file: twitchscope's EMG stream and its marker stream.

    ``uv`` is (n_samples, n_channels) float32 in microvolts, stamped from ``start_s``;
    ``markers`` are (time stamp, string) pairs.
    """
    emg = XdfStream(
        name="twitchscope",
        type="EMG",
        channel_format="float32",
        nominal_srate=sfreq,
        time_stamps=start_s + np.arange(uv.shape[0]) / sfreq,
        values=uv,
        channels=[{"label": name, "unit": "microvolts"} for name in labels],
    )
    marker_stream = XdfStream(
        name="twitchscope-markers",
        type="Markers",
        channel_format="string",
        nominal_srate=0.0,
        time_stamps=np.array([t for t, _ in markers]),
        values=[m for _, m in markers],
    )
    write_xdf(path, [emg, marker_stream], datetime="2026-11-24T07:00:00+00:00")
    return path
