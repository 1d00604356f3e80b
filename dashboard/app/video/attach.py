"""Attach a video to a recording from the dashboard, nudge its offset, see how it agrees.

The same link as ``twitchscope video attach`` (:mod:`twitchscope.signal.video.link`),
written beside the recording: a video chosen by upload (saved beside the recording as
``<stem><ext>``) or by path, synced by a given offset or automatically from a sync
event seen in both (:func:`~twitchscope.signal.video.sync.sync_video`), with the
residual shown so the offset can be nudged. Once attached, the panel lists the
agreement per needle site and the movements no twitch explains.

Session-state keys of a panel ``key``: ``<key>_attach_msg`` (the last action's
outcome: ``(ok, text)``), and the widgets ``<key>_attach_upload``,
``<key>_attach_path``, ``<key>_attach_sync``, ``<key>_attach_offset``,
``<key>_attach_go``, ``<key>_attach_nudge``, ``<key>_attach_apply`` and
``<key>_attach_detach``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from twitchscope.dashboard.app.video.panel import video_motion
from twitchscope.signal.core.errors import FileFormatError, TwitchscopeError
from twitchscope.signal.core.model import RecordingEvents, RejectedCandidate, Twitch
from twitchscope.signal.video.link import VideoLink, link_path, read_link, write_link
from twitchscope.signal.video.sync import residual_text, sync_video
from twitchscope.signal.video.tables import site_agreement_rows

__all__ = ["VIDEO_TYPES", "SYNC_CHOICES", "attach_panel"]

#: Video files the uploader takes.
VIDEO_TYPES: tuple[str, ...] = ("mp4", "mov", "avi", "webm", "mkv")
#: How the offset is found: label -> sync event (None: the offset typed in).
SYNC_CHOICES: dict[str, str | None] = {
    "Offset typed in": None,
    "Auto: needle-in annotations": "needle-in",
    "Auto: EMG twitches and artefacts": "emg",
}


def _msg_key(key: str) -> str:
    return f"{key}_attach_msg"


def _say(key: str, ok: bool, text: str) -> None:
    st.session_state[_msg_key(key)] = (ok, text)


def _video_file(recording: Path, key: str) -> Path:
    """The video chosen: the upload (saved beside the recording) or the path typed."""
    ss = st.session_state
    upload = ss.get(f"{key}_attach_upload")
    if upload is not None:
        ext = Path(upload.name).suffix.lower()
        target = recording.with_name(f"{recording.stem}{ext}")
        try:
            target.write_bytes(upload.getvalue())
        except OSError as exc:
            raise FileFormatError(
                f"cannot save the video beside the recording ({target.parent}): "
                f"{exc.strerror or exc}."
            ) from None
        return target
    text = str(ss.get(f"{key}_attach_path") or "").strip()
    if not text:
        raise FileFormatError("choose a video: upload one or type its path.")
    path = Path(text).expanduser()
    if not path.is_file():
        raise FileFormatError(f"{path}: no such video file.")
    return path


def _attach(
    key: str,
    recording: Path,
    events: RecordingEvents,
    twitches: Sequence[Twitch],
    rejected: Sequence[RejectedCandidate],
) -> None:
    ss = st.session_state
    try:
        video = _video_file(recording, key)
        event = SYNC_CHOICES.get(ss.get(f"{key}_attach_sync") or "", None)
        if event is None:
            offset = float(ss.get(f"{key}_attach_offset") or 0.0)
            path = write_link(recording, VideoLink(video=video, offset_s=offset))
            _say(key, True, f"Attached {video.name} with offset {offset:.3f} s ({path.name}).")
            return
        result = sync_video(events, video, sync_event=event, twitches=twitches, rejected=rejected)
        link = VideoLink(
            video=video,
            offset_s=round(result.offset_s, 6),
            sync_event=event,
            sync_residual_s=result.residual_s,
            sync_n_checked=result.n_checked,
        )
        write_link(recording, link)
        _say(
            key,
            True,
            f"Attached {video.name}: offset {result.offset_s:.3f} s found from {event} "
            f"({result.residual_text()}). Nudge it below if the frames look off.",
        )
    except TwitchscopeError as exc:
        _say(key, False, f"Not attached: {exc}")


def _nudge(key: str, recording: Path) -> None:
    try:
        link = read_link(recording)
        offset = float(st.session_state.get(f"{key}_attach_nudge") or 0.0)
        moved = replace(
            link, offset_s=offset, sync_event=None, sync_residual_s=None, sync_n_checked=0
        )
        write_link(recording, moved)
        _say(key, True, f"Offset set to {offset:.3f} s (was {link.offset_s:.3f} s).")
    except TwitchscopeError as exc:
        _say(key, False, f"Offset not changed: {exc}")


def _detach(key: str, recording: Path) -> None:
    try:
        link_path(recording).unlink(missing_ok=True)
        _say(key, True, "Video detached (the video file itself is kept).")
    except OSError as exc:
        _say(key, False, f"Not detached: {exc.strerror or exc}.")


def _link_caption(link: VideoLink) -> str:
    how = "typed in or nudged"
    if link.sync_event is not None:
        residual = residual_text(link.sync_residual_s, link.sync_n_checked)
        how = f"found from {link.sync_event}, {residual}"
    region = (
        "whole frame" if link.roi is None else "region x,y,w,h = " + ",".join(map(str, link.roi))
    )
    scale = "speeds in px/s" if link.scale_mm_per_px is None else f"{link.scale_mm_per_px} mm/px"
    return f"{link.video.name}: offset {link.offset_s:.3f} s ({how}); {region}; {scale}."


def _agreement(recording: Path, twitches: Sequence[Twitch], events: RecordingEvents) -> None:
    fused = video_motion(recording, twitches, events.sites)
    if fused is None:
        return
    st.caption(fused.summary() + ".")
    st.dataframe(pd.DataFrame(site_agreement_rows(fused.fusion)), hide_index=True)
    alone = fused.fusion.movements_without_twitch
    if alone:
        st.caption("Movements without a twitch (recording time):")
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "onset (s)": round(m.onset_s, 3),
                        "offset (s)": round(m.offset_s, 3),
                        f"peak speed ({fused.unit})": round(m.peak_speed, 1),
                        "grade": m.grade,
                    }
                    for m in alone
                ]
            ),
            hide_index=True,
        )


def attach_panel(
    recording: str | Path,
    *,
    key: str,
    events: RecordingEvents,
    twitches: Sequence[Twitch] = (),
    rejected: Sequence[RejectedCandidate] = (),
) -> None:
    """The attach / nudge / detach expander of ``recording`` (see the module docstring).

    ``twitches`` and ``rejected`` are the detector's output (for the ``emg`` sync event
    and the agreement); ``events`` the recording's annotations (needle sites).
    """
    recording = Path(recording)
    ss = st.session_state
    attached = link_path(recording).is_file()
    label = (
        "Video: sync, agreement, detach" if attached else "Attach a video (camera or ultrasound)"
    )
    with st.expander(label, expanded=_msg_key(key) in ss):
        msg = ss.pop(_msg_key(key), None)
        if msg is not None:
            (st.success if msg[0] else st.error)(msg[1])
        if attached:
            try:
                link = read_link(recording)
            except TwitchscopeError as exc:
                st.caption(f"The link cannot be read: {exc}")
            else:
                st.caption(_link_caption(link))
                c = st.columns([2, 1, 1])
                c[0].number_input(
                    "Offset (s): video time = recording time - offset",
                    value=float(link.offset_s),
                    step=0.01,
                    format="%.3f",
                    key=f"{key}_attach_nudge",
                )
                c[1].button(
                    "Apply offset",
                    key=f"{key}_attach_apply",
                    on_click=_nudge,
                    args=(key, recording),
                )
                c[2].button(
                    "Detach", key=f"{key}_attach_detach", on_click=_detach, args=(key, recording)
                )
                _agreement(recording, twitches, events)
            return
        st.file_uploader("Video file", type=list(VIDEO_TYPES), key=f"{key}_attach_upload")
        st.text_input("…or its path", key=f"{key}_attach_path", placeholder="/path/to/video.mp4")
        c = st.columns([2, 1])
        c[0].radio("Sync", list(SYNC_CHOICES), key=f"{key}_attach_sync", horizontal=True)
        c[1].number_input(
            "Offset (s)", value=0.0, step=0.01, format="%.3f", key=f"{key}_attach_offset"
        )
        st.button(
            "Attach",
            key=f"{key}_attach_go",
            type="primary",
            on_click=_attach,
            args=(key, recording, events, list(twitches), list(rejected)),
        )
