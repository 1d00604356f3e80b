"""The expert-review panel of the Review page: verdicts, added twitches, agreement, profile.

The reviewer's name is asked once per session. Each action (confirm, reject, clear,
move the onset/offset, add a missed twitch, promote a rejected candidate) is saved
at once to the recording's review file (see
:func:`~twitchscope.dashboard.services.review_analysis.review_location`), so reopening
the recording restores the review. Keyboard: J next, K previous, Y confirm, N reject,
A add (the keys C and R are Streamlit's own).

A missed twitch is added by its time, typed or marked on the zoomed trace: a click on a
channel's row marks a time there, a drag with the chart's box-select tool marks a span
(:func:`take_mark` reads the chart's selection and fills the add controls with it; a
plain drag zooms). The mark can also move the twitch under review.

Session keys of this panel are the ``KEY_*`` constants below, created by
:func:`init_review_state`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from twitchscope.dashboard.app.plots import TraceMark, TraceView, trace_figure, trace_mark
from twitchscope.dashboard.app.state import ENV_PROFILE, K
from twitchscope.dashboard.services.exporting import events_bytes, review_bytes
from twitchscope.dashboard.services.recordings import Recording
from twitchscope.dashboard.services.review_analysis import (
    Analysis,
    ReviewDraft,
    add_twitch,
    promote,
    review_location,
    save_review,
    set_span,
    set_verdict,
    start_review,
    stored_review,
)
from twitchscope.signal.core.errors import TwitchscopeError
from twitchscope.signal.core.model import Twitch
from twitchscope.signal.review.agreement import compare, marks_from_twitches, marks_from_verdicts
from twitchscope.signal.review.sidecar import reviewers
from twitchscope.signal.review.twitches import apply_review

__all__ = [
    "ENV_PROFILE",
    "KEY_REVIEWER",
    "KEY_DRAFT",
    "KEY_DRAFT_FOR",
    "KEY_CURSOR",
    "KEY_MARK",
    "init_review_state",
    "take_mark",
    "marking_chart",
    "review_panel",
    "current_draft",
    "reviewed_twitches",
    "review_outputs",
]

#: Environment variable set by ``twitchscope dashboard --profile``.
KEY_REVIEWER = "review_reviewer"  # the reviewer's name, asked once per session
KEY_DRAFT = "review_draft"  # ReviewDraft of the recording on the page
KEY_DRAFT_FOR = "review_draft_for"  # (path, id of the analysis, reviewer) it belongs to
KEY_CURSOR = "review_cursor"  # index of the item under review
KEY_MARK = "review_mark"  # TraceMark made on the zoomed trace, or None
KEY_MARK_SEEN = "review_mark_seen"  # the chart selection the mark was last taken from
# the add controls' widget keys (filled by a mark on the trace)
ADD_ONSET, ADD_DURATION, ADD_CHANNEL = (
    "review_add_onset",
    "review_add_duration",
    "review_add_channel",
)
DEFAULT_ADD_MS = 80.0

ss = st.session_state


def init_review_state() -> None:
    """Create this panel's session keys."""
    for key, value in (
        (KEY_REVIEWER, ""),
        (KEY_DRAFT, None),
        (KEY_DRAFT_FOR, None),
        (KEY_CURSOR, 0),
        (KEY_MARK, None),
        (KEY_MARK_SEEN, ""),
        (ADD_ONSET, 0.0),
        (ADD_DURATION, DEFAULT_ADD_MS),
    ):
        if key not in ss:
            ss[key] = value


def take_mark(state: Mapping[str, Any] | None, recording: Recording) -> TraceMark | None:
    """Take a new click (or box) on the zoomed trace as the mark, and fill the add controls.

    Parameters
    ----------
    state : mapping or None
        The zoomed chart's selection state (``st.session_state[<chart key>]``, read
        before the chart is drawn so that the mark is drawn on it at once).
    recording : Recording
        The recording on the page (channels and duration).

    Returns
    -------
    TraceMark or None
        The current mark: the one just made, or the previous one.
    """
    init_review_state()
    selection = state.get("selection") if isinstance(state, Mapping) else None
    seen = json.dumps(selection, sort_keys=True, default=str) if selection else ""
    if seen != ss[KEY_MARK_SEEN]:
        ss[KEY_MARK_SEEN] = seen
        mark = trace_mark(selection, recording.ch_names)
        if mark is not None and 0.0 <= mark.onset_s < float(recording.duration_s):
            ss[KEY_MARK] = mark
            ss[ADD_ONSET] = round(mark.onset_s, 3)
            ss[ADD_CHANNEL] = mark.channel
            if mark.offset_s is not None:
                ms = round((mark.offset_s - mark.onset_s) * 1000.0)
                ss[ADD_DURATION] = float(min(1000.0, max(5.0, ms)))
    mark = ss[KEY_MARK]
    return mark if isinstance(mark, TraceMark) else None


def marking_chart(view: TraceView, recording: Recording, *, key: str = "review_zoom_marks") -> None:
    """Draw ``view`` as a trace on which a click (or a box) marks a missed twitch.

    The selection of the previous rerun is taken first (:func:`take_mark`), so that the
    new mark is drawn at once and fills the add controls drawn after it.
    """
    mark = take_mark(ss.get(key), recording)
    st.plotly_chart(
        trace_figure(view, keep_zoom=True, markable=True, mark=mark),
        key=key,
        config={"displayModeBar": True, "modeBarButtonsToRemove": ["lasso2d", "autoScale2d"]},
        on_select="rerun",
        selection_mode=("points", "box"),
    )


def reviewed_twitches(
    draft: ReviewDraft | None, result: Analysis, recording: Recording
) -> tuple[Twitch, ...] | None:
    """The reviewed twitches (confirmed + added) with features, or None before any verdict."""
    if draft is None or not any(i.verdict in ("confirmed", "added") for i in draft.items):
        return None
    return apply_review(
        result.twitches,
        draft.verdicts(),
        reviewer=draft.reviewer,
        sites=recording.events.sites,
        conditioned=result.conditioned,
        sfreq=recording.sfreq,
        ch_names=recording.ch_names,
    )


def _save(path: Path, draft: ReviewDraft, cursor: int) -> None:
    ss[KEY_DRAFT] = draft
    ss[KEY_CURSOR] = max(0, min(cursor, len(draft.items) - 1))
    try:
        save_review(review_location(path), draft)
    except TwitchscopeError as exc:
        ss[K.MESSAGE] = f"The review could not be saved: {exc}"
    st.rerun()


def _focus(twitches: tuple[Twitch, ...], onset_s: float) -> None:
    """Point the page's zoom at the detected twitch nearest ``onset_s``."""
    if twitches:
        ss[K.REVIEW_SELECTED] = min(
            range(len(twitches)), key=lambda k: abs(twitches[k].onset_s - onset_s)
        )


def _ask_name() -> None:
    st.caption("Confirm or reject each detected twitch, add missed ones; saved as you go.")
    name = st.text_input("Your name or initials (asked once per session)", key="review_name_in")
    if st.button("Start reviewing", key="review_start", type="primary") and name.strip():
        ss[KEY_REVIEWER] = name.strip()
        st.rerun()


def current_draft(result: Analysis, path: Path) -> ReviewDraft | None:
    """The draft of the recording on the page, restored from its review file the first time
    (None until the reviewer has given a name)."""
    init_review_state()
    who = ss[KEY_REVIEWER]
    if not who:
        return None
    key = (str(path), id(result), who)
    if ss[KEY_DRAFT_FOR] != key:
        try:
            verdicts = stored_review(path)
        except TwitchscopeError as exc:
            ss[K.MESSAGE] = f"The stored review cannot be read: {exc}"
            verdicts = ()
        draft = start_review(result.twitches, verdicts, reviewer=who)
        ss[KEY_DRAFT], ss[KEY_DRAFT_FOR] = draft, key
        pending = [k for k, i in enumerate(draft.items) if i.verdict is None]
        ss[KEY_CURSOR] = pending[0] if pending else 0
        # another recording (or settings): no mark, and add controls within its range
        ss[KEY_MARK], ss[ADD_ONSET], ss[ADD_DURATION] = None, 0.0, DEFAULT_ADD_MS
        ss.pop(ADD_CHANNEL, None)
    return ss[KEY_DRAFT]


def review_panel(recording: Recording, result: Analysis, path: Path) -> ReviewDraft | None:
    """Draw the panel; return the current draft (None until the reviewer has a name)."""
    st.subheader("Expert review")
    draft = current_draft(result, path)
    if draft is None:
        _ask_name()
        return None
    where = review_location(path)
    st.markdown(f"**{draft.progress()}** · reviewer {draft.reviewer} · saved to `{where}`")
    st.caption("Keys: J next · K previous · Y confirm · N reject · A add.")
    if draft.items:
        _item_controls(path, draft, result)
    _add_controls(path, ss[KEY_DRAFT], recording)
    _promote_controls(path, ss[KEY_DRAFT], result, recording)
    return ss[KEY_DRAFT]


def _item_controls(path: Path, draft: ReviewDraft, result: Analysis) -> None:
    i = max(0, min(int(ss[KEY_CURSOR]), len(draft.items) - 1))
    item = draft.items[i]
    kind = {"detected": "detected", "added": "added by you", "kept": "from the review file"}
    st.write(
        f"Twitch {i + 1} of {len(draft.items)}: {item.onset_s:.3f}–{item.offset_s:.3f} s on "
        f"{item.channel} ({kind[item.origin]}); verdict: **{item.verdict or 'not reviewed'}**"
    )
    c = st.columns(5)
    if c[0].button("Previous", key="review_prev", shortcut="K", disabled=i == 0):
        _focus(result.twitches, draft.items[i - 1].onset_s)
        ss[KEY_CURSOR] = i - 1
        st.rerun()
    if c[1].button("Next", key="review_next", shortcut="J", disabled=i >= len(draft.items) - 1):
        _focus(result.twitches, draft.items[i + 1].onset_s)
        ss[KEY_CURSOR] = i + 1
        st.rerun()
    if c[2].button("Confirm", key="review_confirm", shortcut="Y", type="primary"):
        _focus(result.twitches, draft.items[min(i + 1, len(draft.items) - 1)].onset_s)
        _save(path, set_verdict(draft, i, "confirmed"), i + 1)
    if c[3].button("Reject", key="review_reject", shortcut="N"):
        _focus(result.twitches, draft.items[min(i + 1, len(draft.items) - 1)].onset_s)
        _save(path, set_verdict(draft, i, "rejected"), i + 1)
    if c[4].button("Clear verdict", key="review_clear", disabled=item.verdict is None):
        _save(path, set_verdict(draft, i, None), i)
    with st.expander("Adjust onset and offset"):
        a = st.columns(3)
        on = a[0].number_input(
            "Onset (s)",
            min_value=0.0,
            value=float(item.onset_s),
            step=0.005,
            format="%.3f",
            key=f"review_onset_{i}_{item.onset_s:.4f}",
        )
        off = a[1].number_input(
            "Offset (s)",
            min_value=0.0,
            value=float(item.offset_s),
            step=0.005,
            format="%.3f",
            key=f"review_offset_{i}_{item.offset_s:.4f}",
        )
        if a[2].button("Apply", key="review_apply_span"):
            try:
                _save(path, set_span(draft, i, float(on), float(off)), i)
            except TwitchscopeError as exc:
                st.error(str(exc), icon=":material/warning:")
        mark = ss[KEY_MARK]
        if isinstance(mark, TraceMark) and st.button(
            f"Move it to the mark ({mark.describe()})", key="review_span_from_mark"
        ):
            end = mark.offset_s
            if end is None:  # a click moves the onset and keeps the duration
                end = mark.onset_s + (item.offset_s - item.onset_s)
            try:
                moved = set_span(draft, i, mark.onset_s, end)
            except TwitchscopeError as exc:
                st.error(str(exc), icon=":material/warning:")
            else:
                ss[KEY_MARK] = None
                at = next(k for k, x in enumerate(moved.items) if x.onset_s == mark.onset_s)
                _save(path, moved, at)


def _add_controls(path: Path, draft: ReviewDraft, recording: Recording) -> None:
    st.markdown("**Add a missed twitch** (its features are measured as for a detected one)")
    mark = ss[KEY_MARK]
    st.caption(
        f"Marked on the trace: {mark.describe()}. Press Add (or A) to add it."
        if isinstance(mark, TraceMark)
        else "Click its onset on a channel's row of the zoomed trace (or mark its span with "
        "the chart's box-select tool), or type its time."
    )
    a = st.columns(4)
    t = a[0].number_input(
        "Onset (s)",
        min_value=0.0,
        max_value=float(recording.duration_s),
        step=0.01,
        format="%.3f",
        key=ADD_ONSET,
    )
    dur = a[1].number_input(
        "Duration (ms)", min_value=5.0, max_value=1000.0, step=5.0, key=ADD_DURATION
    )
    ch = a[2].selectbox("Channel", list(recording.ch_names), key=ADD_CHANNEL)
    if a[3].button("Add", key="review_add", shortcut="A"):
        try:
            new = add_twitch(
                draft,
                onset_s=float(t),
                offset_s=min(float(t) + float(dur) / 1000.0, float(recording.duration_s)),
                channel=str(ch),
                duration_s=float(recording.duration_s),
            )
        except TwitchscopeError as exc:
            st.error(str(exc), icon=":material/warning:")
        else:
            idx = next(
                k for k, i in enumerate(new.items) if i.origin == "added" and i.onset_s == float(t)
            )
            ss[KEY_MARK] = None
            _save(path, new, idx)


def _promote_controls(
    path: Path, draft: ReviewDraft, result: Analysis, recording: Recording
) -> None:
    if not result.rejected:
        return
    with st.expander(f"Promote a rejected candidate ({len(result.rejected)})"):
        labels = [
            f"{r.onset_s:.3f} s, {r.channel}: {getattr(r.reason, 'value', r.reason)}"
            for r in result.rejected
        ]
        pick = st.selectbox(
            "Candidate",
            range(len(labels)),
            format_func=labels.__getitem__,
            key="review_promote_pick",
        )
        if st.button("Promote to a twitch", key="review_promote"):
            cand = result.rejected[int(pick)]
            new = promote(draft, cand, duration_s=float(recording.duration_s))
            idx = next(
                k
                for k, i in enumerate(new.items)
                if i.origin == "added" and i.onset_s == cand.onset_s
            )
            _save(path, new, idx)


def review_outputs(
    draft: ReviewDraft,
    reviewed: tuple[Twitch, ...] | None,
    result: Analysis,
    path: Path,
    sites: Sequence[str] = (),
) -> None:
    """Agreement of the detector with the review, with the other reviewers, and downloads."""
    if reviewed is None:
        st.caption("No verdict yet: the tables count the detector's twitches.")
        return
    res = compare(marks_from_twitches(reviewed), marks_from_twitches(result.twitches), sites=sites)
    rows = [{"site": s, **c.as_dict()} for s, c in res.per_site.items()]
    rows.append({"site": "overall", **res.overall.as_dict()})
    st.caption(
        f"The detector against the review of {draft.reviewer} (onsets within ±40 ms, as "
        "`twitchscope agreement`); meaningful once every twitch is reviewed."
    )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="review_agreement")
    try:
        stored = stored_review(path)
    except TwitchscopeError:
        stored = ()
    mine = (
        marks_from_verdicts(draft.verdicts(), reviewer=draft.reviewer) if draft.verdicts() else []
    )
    between = []
    for other in reviewers(stored):
        if other == draft.reviewer:
            continue
        theirs = marks_from_verdicts(stored, reviewer=other)
        r = compare(theirs, mine, sites=sites)
        between.append(
            {
                "reviewer": other,
                "twitches (theirs)": len(theirs),
                "twitches (yours)": len(mine),
                "F1 (yours against theirs)": r.overall.as_dict()["f1"],
                "Cohen's kappa (a twitch at the site)": None if r.kappa != r.kappa else r.kappa,
                "ICC(2,1) of per-site counts": None if r.icc != r.icc else r.icc,
            }
        )
    if between:
        st.caption("Between reviewers of this recording:")
        st.dataframe(pd.DataFrame(between), hide_index=True, width="stretch")
    stem = Path(path).name.split(".")[0]
    c = st.columns(2)
    c[0].download_button(
        "Reviewed events (CSV)",
        events_bytes(reviewed, "csv"),
        file_name=f"{stem}.reviewed-events.csv",
        mime="text/csv",
        key="review_dl_events",
    )
    c[1].download_button(
        "Review file (CSV)",
        review_bytes(draft.verdicts()),
        file_name=f"{stem}.review.csv",
        mime="text/csv",
        key="review_dl_review",
    )
