"""The scope as a Streamlit component (components v2, no build step).

The browser side is ``frontend/scope.js`` (vanilla JavaScript and a canvas),
registered once per process with :func:`streamlit.components.v2.component`. Mounted
with a stable ``key``, the element stays in the page across reruns and fragment
runs: each run hands it only new data (see :mod:`.feed`), and the module's function
runs again on the same element, which keeps its ring buffer, clock and sound.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

__all__ = ["COMPONENT_NAME", "FRONTEND", "ScopeReply", "render_scope"]

#: Folder of the browser files (shipped as package data).
FRONTEND = Path(__file__).resolve().parent / "frontend"
#: Name the component is registered under.
COMPONENT_NAME = "twitchscope_scope"

# Streamlit fades an element while the run that will replace it is going (data-stale):
# the scope is never stale (it draws its own buffer), so it never fades
_CSS = """
.ts-scope { position: relative; width: 100%; min-height: 60px; }
.ts-scope-canvas { display: block; }
[data-testid="stElementContainer"][data-stale="true"]:has(.ts-scope) {
  opacity: 1 !important;
  transition: none !important;
}
"""

_mount = st.components.v2.component(
    COMPONENT_NAME,
    js=(FRONTEND / "scope.js").read_text(encoding="utf-8"),
    css=_CSS,
    isolate_styles=False,  # in the page's DOM: tests read its data-* attributes
)


def _ignore() -> None:
    """Nothing to do when the browser sets a state: the next run reads it."""


@dataclass(frozen=True)
class ScopeReply:
    """What the browser's scope last said (each a new token when it says it again).

    Attributes
    ----------
    refill : str or None
        A scope mounted anew (the user came back to the page) that missed the start of
        its stream asks, once, for the whole tail again.
    drawn : str or None
        The scope has drawn its first trace (once per mount).
    """

    refill: str | None
    drawn: str | None


def render_scope(data: dict[str, Any], *, key: str) -> ScopeReply:
    """Mount (first run) or update (later runs) the scope with ``key``.

    Parameters
    ----------
    data : dict
        The message of :func:`twitchscope.dashboard.app.scope.panel.scope_message`.
    key : str
        Stable element key: the same element across reruns.

    Returns
    -------
    ScopeReply
        The browser's latest refill request and first-trace token.
    """
    result = _mount(
        key=key,
        data=data,
        width="stretch",
        height="content",
        on_refill_change=_ignore,
        on_drawn_change=_ignore,
    )

    def said(name: str) -> str | None:
        value = getattr(result, name, None)
        return None if value is None else str(value)

    return ScopeReply(refill=said("refill"), drawn=said("drawn"))
