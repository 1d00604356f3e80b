"""Export page: events (CSV/JSON), rejected candidates, the recording (FIF/EDF+), a PNG."""

from __future__ import annotations

import re
from pathlib import Path

import streamlit as st

from twitchscope.dashboard.app import panels, plots
from twitchscope.dashboard.app.review_panel import current_draft, reviewed_twitches
from twitchscope.dashboard.app.state import K, acquisition_owner, analysed
from twitchscope.dashboard.services import exporting
from twitchscope.dashboard.services.recordings import Recording
from twitchscope.dashboard.services.review_analysis import Analysis, stored_review
from twitchscope.signal.core.errors import ConfigError, TwitchscopeError
from twitchscope.signal.core.model import RecordingEvents, Twitch
from twitchscope.signal.review.sidecar import Verdict, pick_reviewer
from twitchscope.signal.review.twitches import apply_review

ss = st.session_state
st.title("Export")
panels.show_message()


def _stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name.rsplit(".", 1)[0]).strip("_") or "twitchscope"


# What can be exported: each stream this session has looked at.
choices: dict[str, dict] = {}
owner = acquisition_owner()
live = owner.source
live_view = ss[K.LIVE_VIEW]
if live is not None and live_view is not None:
    sites = live.sites.sites(live.now_s())
    choices["Live"] = dict(
        name="live",
        twitches=live_view.attributed(sites),
        view=live_view,
        rejected=live_view.rejected,
        sites=sites,
    )
player, replay_view = ss[K.REPLAY], ss[K.REPLAY_VIEW]
if player is not None and replay_view is not None:
    sites = player.sites.sites(player.now_s())
    choices["Replay"] = dict(
        name=player.name,
        twitches=replay_view.attributed(sites),
        rejected=replay_view.rejected,
        sites=sites,
    )
if ss[K.REVIEW] is not None:
    rec = ss[K.REVIEW]
    choices["Review"] = dict(name=rec.name, recording=rec, review=True)

if not choices:
    st.info("Nothing to export yet: start the live view, play a replay or open a file in review.")
    st.stop()


def _reviewed(rec: Recording, result: Analysis) -> tuple[tuple[Twitch, ...] | None, str]:
    """The reviewed twitches of the recording on the Review page and whose they are: the
    session's review when it has one, else the stored review of its only reviewer."""
    path = Path(ss[K.REVIEW_NAME])
    draft = current_draft(result, path)
    found = reviewed_twitches(draft, result, rec)
    if found is not None and draft is not None:
        return found, draft.reviewer
    try:
        verdicts = stored_review(path)
    except TwitchscopeError as exc:
        st.warning(f"The stored review cannot be read: {exc}")
        return None, ""
    if not any(v.verdict in ("confirmed", "added") for v in verdicts):
        return None, ""
    try:
        who = pick_reviewer(verdicts)  # the only reviewer; several: none chosen here
    except ConfigError:
        return None, ""
    reviewed = apply_review(
        result.twitches,
        verdicts,
        reviewer=who,
        sites=rec.events.sites,
        conditioned=result.conditioned,
        sfreq=rec.sfreq,
        ch_names=rec.ch_names,
    )
    return reviewed, who


def _n_twitches(item: dict) -> int:
    return len(item["twitches"]) if "twitches" in item else -1  # review: counted when chosen


# first the stream last worked on (Review after Review), else one with twitches
offered = list(choices)
default = ss[K.WORKED_ON] if ss[K.WORKED_ON] in choices else ""
if not default:
    default = next((n for n in offered if _n_twitches(choices[n]) != 0), offered[0])
which = st.radio(
    "Export from", offered, index=offered.index(default), horizontal=True, key="export_from"
)
item = choices[which]
if item.get("review"):
    rec = item["recording"]
    try:
        result = analysed((ss[K.REVIEW_NAME], id(rec)), rec, ss[K.SETTINGS])
    except TwitchscopeError as exc:
        st.error(str(exc))
        st.stop()
    item.update(
        twitches=list(result.twitches), rejected=list(result.rejected), sites=list(rec.events.sites)
    )
    reviewed, reviewer = _reviewed(rec, result)
    if reviewed is not None and st.toggle(
        f"Export the twitches reviewed by {reviewer} (confirmed + added) instead of the detector's",
        value=True,
        key="export_reviewed",
    ):
        st.caption(
            f"Reviewed twitches: {len(reviewed)} of the detector's {len(result.twitches)} "
            f"confirmed or added by {reviewer}."
        )
        item["twitches"] = list(reviewed)
stem = _stem(item["name"])
twitches, rejected, sites = item["twitches"], item["rejected"], item["sites"]
st.write(
    f"**{len(twitches)}** twitches, **{len(rejected)}** rejected candidates, "
    f"**{len(sites)}** needle sites."
)

st.subheader("Events")
c = st.columns(3)
c[0].download_button(
    "Events CSV",
    exporting.events_bytes(twitches, "csv"),
    file_name=f"{stem}.events.csv",
    mime="text/csv",
    key="dl_events_csv",
)
c[1].download_button(
    "Events JSON",
    exporting.events_bytes(twitches, "json"),
    file_name=f"{stem}.events.json",
    mime="application/json",
    key="dl_events_json",
)
c[2].download_button(
    "Rejected CSV",
    exporting.rejected_bytes(rejected, "csv"),
    file_name=f"{stem}.rejected.csv",
    mime="text/csv",
    key="dl_rejected_csv",
)

st.subheader("Recording with annotations")
kind = st.radio(
    "Format",
    ["fif", "edf"],
    horizontal=True,
    key="export_kind",
    format_func=lambda k: {"fif": "FIF (MNE)", "edf": "EDF+"}[k],
)
if st.button("Prepare recording", key="export_prepare"):
    verdicts: tuple[Verdict, ...] = ()
    try:
        if which == "Live":
            assert live is not None
            blocks, _ = live.read_since(live.start_sample())
            data, first, gaps = exporting.blocks_to_array(blocks, n_channels=len(live.ch_names))
            t0 = first / live.sfreq
            dur = data.shape[1] / live.sfreq
            sites_s, tw_s = exporting.shift_events(sites, twitches, t0=t0, duration_s=dur)
            sfreq, names = live.sfreq, live.ch_names
            if t0 > 0:
                st.caption(f"The live buffer holds the stream from {t0:.1f} s on.")
        else:
            rec = item["recording"] if item.get("review") else ss[K.REPLAY].recording
            data, sfreq, names, gaps = rec.data, rec.sfreq, rec.ch_names, list(rec.events.gaps)
            sites_s, tw_s = tuple(sites), tuple(twitches)
            if item.get("review"):  # the review itself goes with the file (every reviewer)
                verdicts = stored_review(Path(ss[K.REVIEW_NAME]))
        events = RecordingEvents(sites=tuple(sites_s), twitches=tuple(tw_s), gaps=tuple(gaps))
        ss[K.EXPORT_FILE] = (
            exporting.recording_bytes(
                data, sfreq=sfreq, ch_names=names, events=events, kind=kind, verdicts=verdicts
            ),
            f"{stem}{'_raw.fif' if kind == 'fif' else '.edf'}",
        )
    except TwitchscopeError as exc:
        st.error(str(exc), icon=":material/warning:")
prepared = ss[K.EXPORT_FILE]
if prepared:
    st.download_button(
        f"Download {prepared[1]}", prepared[0], file_name=prepared[1], key="dl_recording"
    )

st.subheader("Picture of the current view")
view = ss[K.CURRENT_VIEW]
if view is None:
    st.caption("Open a live, replay or review view first.")
else:
    png = plots.view_png(view)
    st.download_button(
        "PNG of the current view", png, file_name=f"{stem}.png", mime="image/png", key="dl_png"
    )
    st.image(png, caption=view.title or "current view")
