"""The frame every page draws first: tab title and icon, wide layout, the sign-in gate, the page menu, the title.

Routing is Streamlit's own ``pages/`` folder: each file in ``pages/`` is served at its name (``/label``), and
the server knows every page from its first request on. (An ``st.navigation`` list in ``app.py`` only exists
once ``app.py`` has run, so a link such as ``/label?...`` opened as the first request after a restart was
drawn outside the app: no frame, no sign-in gate, the file names as a menu.) Streamlit's built-in list of
files is hidden (``client.showSidebarNavigation = false``) and this module draws the menu instead, so every
page, whichever URL opened it, has the same frame. ``app.py`` (``/``) forwards to Explore.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from components.shared.identity import guard_paid_calls, sign_in_gate
from components.shared.resources import show_error
from reranklens import database
from reranklens.config import Settings
from reranklens.errors import RerankLensError

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"


@dataclass(frozen=True)
class PageEntry:
    """One page of the menu: its script in ``pages/`` (which is also its URL path), title and icon."""

    name: str
    title: str
    icon: str

    @property
    def script(self) -> Path:
        return PAGES_DIR / f"{self.name}.py"


PAGES: tuple[PageEntry, ...] = (
    PageEntry("explore", "Explore", "🔎"),
    PageEntry("label", "Label", "🏷️"),
    PageEntry("evaluate", "Evaluate", "📏"),
    PageEntry("corpus", "Corpus", "📚"),
    PageEntry("models", "Models", "🧪"),
)
HOME = PAGES[0]
# On a phone the first screen must reach the page's story (Explore: the top-k before and after): less blank
# space above the title, a smaller title and smaller summary numbers. Our own CSS, no document text.
PHONE_CSS = """<style>
@media (max-width: 640px) {
  [data-testid="stMainBlockContainer"] { padding-top: 3.5rem; }
  [data-testid="stMainBlockContainer"] h1 { font-size: 1.75rem; padding-top: 0; }
  [data-testid="stMetricValue"] { font-size: 1.5rem; }
}
</style>"""


def entry(name: str) -> PageEntry:
    """The menu entry of page ``name`` (``ValueError`` for a page the menu does not know)."""
    for page in PAGES:
        if page.name == name:
            return page
    raise ValueError(f"unknown page {name!r}: the menu knows {', '.join(p.name for p in PAGES)}")


def streamlit_page(page: PageEntry) -> st.Page:
    """``page`` as Streamlit's page object (for ``st.page_link`` and ``st.switch_page``); its URL path is the
    script's name, the same one the ``pages/`` folder serves it at."""
    return st.Page(page.script, title=page.title, icon=page.icon)


def page_frame(name: str) -> None:
    """Draw the frame of page ``name``: call it first in every page script, before anything else."""
    page = entry(name)
    st.set_page_config(page_title=f"{page.title} · RerankLens", page_icon=page.icon, layout="wide")
    settings = Settings.from_env()
    sign_in_gate(settings)  # only with [auth] in .streamlit/secrets.toml: every page requires sign-in
    guard_paid_calls(settings)  # every paid request of this run, and of jobs it starts, counts for this user
    with st.sidebar:
        for each in PAGES:
            st.page_link(streamlit_page(each))
        st.divider()
    st.html(PHONE_CSS)
    st.title(f"{page.icon} {page.title}")
    try:
        database.check()  # RERANKLENS_DATABASE_URL down: one line, before any store is read
    except RerankLensError as exc:
        show_error(exc)


def forward_home() -> None:
    """``/``: open Explore with the same URL parameters (``/?tour=1`` and ``/?q=...`` links keep working)."""
    st.switch_page(streamlit_page(HOME), query_params=st.query_params.to_dict())
