"""Teaching clips from the bundled sample: written as MP4 and GIF, read back, the twitch marked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from twitchscope.signal.core.errors import ConfigError, FileFormatError
from twitchscope.signal.core.model import Twitch
from twitchscope.signal.detect.config import preset
from twitchscope.signal.detect.run import detect_recording
from twitchscope.signal.io.readers import read_recording
from twitchscope.signal.video.clips import ClipConfig, clip_frames, export_twitch_clip, write_clip
from twitchscope.signal.video.link import VideoLink, read_link

cv2 = pytest.importorskip("cv2")

SAMPLE = Path(__file__).resolve().parents[3] / "sample_recordings" / "gastrocnemius_limb_2khz.edf"
FPS = 30.0


@pytest.fixture(scope="module")
def sample() -> tuple[VideoLink, np.ndarray, float, Twitch]:
    """The sample's link, the twitch's channel (V), the rate and its 2nd twitch (in the video)."""
    raw = read_recording(SAMPLE, preload=True)
    twitches = detect_recording(raw, preset("limb")).twitches
    link = read_link(SAMPLE)
    twitch = next(t for t in twitches if t.onset_s > link.offset_s + 5.0)
    trace = raw.get_data(picks=[twitch.channel])[0]
    return link, trace, float(raw.info["sfreq"]), twitch


def _is_mark(pixel: np.ndarray) -> bool:
    """Red (the mark) in BGR, allowing for lossy compression."""
    b, g, r = (int(v) for v in pixel[:3])
    return r > 150 and g < 110 and b < 110


def _read_mp4(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    return frames


def test_mp4_clip_reads_back_with_the_twitch_marked(sample, tmp_path) -> None:
    link, trace, sfreq, twitch = sample
    config = ClipConfig(before_s=1.0, after_s=1.5)
    clip = export_twitch_clip(
        tmp_path / "t.mp4", video=link, trace_v=trace, sfreq=sfreq, twitch=twitch, config=config
    )
    frames = _read_mp4(clip.path)
    n = round(2.5 * FPS)
    assert clip.n_frames == n and len(frames) == n
    # the 160x120 video scaled to 240 high (320 wide) beside the 360 px trace panel
    assert frames[0].shape == (240, 320 + 360, 3) == (clip.height, clip.width, 3)
    # marked from the onset (frame 30: 1 s in) for at least 0.3 s
    first = round(config.before_s * FPS)
    assert clip.marked[0] == first and len(clip.marked) >= round(0.3 * FPS)
    marked, unmarked = frames[first + 2], frames[first - 5]
    assert _is_mark(marked[1, 100]) and _is_mark(marked[120, 1])
    assert not _is_mark(unmarked[1, 100]) and not _is_mark(unmarked[120, 1])
    # the video part shows the video's frames: the unmarked one matches the source frame
    with_cv = cv2.VideoCapture(str(link.video))
    k = int(np.floor(link.to_video_time(twitch.onset_s - 5 / FPS) * FPS + 1e-6))
    with_cv.set(cv2.CAP_PROP_POS_FRAMES, k)
    ok, source = with_cv.read()
    with_cv.release()
    assert ok
    scaled = cv2.resize(source, (320, 240), interpolation=cv2.INTER_LINEAR).astype(float)
    inner = (slice(20, 220), slice(20, 300))
    err = np.abs(unmarked[inner].astype(float) - scaled[inner]).mean()
    other = np.abs(frames[0][inner].astype(float) - scaled[inner]).mean()
    assert err < 12 < other  # close to its own frame, not to a frame 25 frames earlier
    # the trace panel shows the burst: brighter columns where the twitch is than before it
    panel = unmarked[:, 320:].astype(float).mean(axis=2)
    assert panel.std() > 5


def test_gif_clip_reads_back(sample, tmp_path) -> None:
    from PIL import Image

    link, trace, sfreq, twitch = sample
    config = ClipConfig(before_s=0.5, after_s=0.5, height=120, trace_width=200)
    clip = export_twitch_clip(
        tmp_path / "t.gif", video=link, trace_v=trace, sfreq=sfreq, twitch=twitch, config=config
    )
    with Image.open(clip.path) as gif:
        assert gif.n_frames == clip.n_frames == round(1.0 * FPS)
        assert gif.size == (160 + 200, 120)
        assert gif.info["loop"] == 0
        gif.seek(clip.marked[0] + 1)
        marked = np.asarray(gif.convert("RGB"))[..., ::-1]
        gif.seek(0)
        unmarked = np.asarray(gif.convert("RGB"))[..., ::-1]
    assert _is_mark(marked[1, 80]) and not _is_mark(unmarked[1, 80])


def test_a_clip_past_the_video_says_so_and_bad_requests_are_refused(sample, tmp_path) -> None:
    link, trace, sfreq, twitch = sample
    early = Twitch(onset_s=link.offset_s + 0.2, offset_s=link.offset_s + 0.3, channel="x")
    frames = list(clip_frames(link, trace, sfreq=sfreq, twitch=early, config=ClipConfig()))
    # 1 s before a twitch 0.2 s into the video: the first 0.8 s are outside it (flat grey)
    assert frames[0][0][:, :320].std() < 30 and np.all(frames[0][0][5, 5] == 90)
    assert frames[-1][0][:, :320].std() > 20
    with pytest.raises(FileFormatError, match=r"\.mp4 or \.gif"):
        export_twitch_clip(
            tmp_path / "t.avi", video=link, trace_v=trace, sfreq=sfreq, twitch=twitch
        )
    with pytest.raises(FileFormatError, match=r"\.mp4 or \.gif"):
        write_clip(tmp_path / "t.mp4", iter(()), fps=FPS, fmt="gif")
    with pytest.raises(FileFormatError, match="no frame"):
        write_clip(tmp_path / "t.mp4", iter(()), fps=FPS)
    with pytest.raises(ConfigError, match="before_s"):
        ClipConfig(before_s=-1.0)
    with pytest.raises(ConfigError, match="one channel"):
        list(clip_frames(link, np.zeros((2, 10)), sfreq=sfreq, twitch=twitch))
