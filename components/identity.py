"""Who is using the app in this session, and the audit trail of what they changed.

Without sign-in configured the app is single-user and local: everyone is "local". With OIDC sign-in
(``st.login``) the signed-in address is used.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from reranklens.access.audit import Action, AuditLog
from reranklens.access.limits import RateLimiter, check_chat_model
from reranklens.config import Settings
from reranklens.workspace import Workspace

LOCAL_USER = "local"


def current_user() -> str:
    """The signed-in address, or "local" when sign-in is not configured or not used."""
    # A mapping; without an auth provider (or under AppTest) it may lack "is_logged_in" entirely.
    if st.user.get("is_logged_in"):
        return str(st.user.get("email") or st.user.get("sub") or LOCAL_USER)
    return LOCAL_USER


def audit(data_dir: Path, action: Action, target: str, detail: str = "") -> None:
    """Record that this session's user did ``action`` on ``target`` (in ``data_dir``'s audit table)."""
    AuditLog(data_dir).record(current_user(), action, target, detail)


def render_audit(workspace: Workspace) -> None:
    """The newest audit entries as a table (plain cells: names are never rendered as Markdown)."""
    entries = AuditLog(workspace.settings.data_dir).entries()
    if not entries:
        st.caption("Nothing changed yet: ingests, deletions, training runs and model changes are listed here.")
        return
    frame = pd.DataFrame([vars(e) for e in entries]).rename(columns={"at": "when (UTC)"})
    st.dataframe(frame, hide_index=True, width="stretch")


@st.cache_resource(show_spinner=False)
def _paid_calls(limit: int) -> RateLimiter:
    return RateLimiter(limit)  # one per server process, shared by every session


def take_paid_call(settings: Settings, model: str) -> None:
    """Before a paid API call: the model is allow-listed and this user is under the hourly limit
    (``LimitError`` otherwise). Without sign-in every visitor is "local" and shares one budget."""
    check_chat_model(model, settings.allowed_chat_models)
    _paid_calls(settings.paid_calls_per_hour).take(current_user())


def chat_model_picker(container: DeltaGenerator, label: str, key: str, settings: Settings) -> str:
    """A chat model from the server's allow-list (never free text: the team's key pays for it)."""
    allowed = list(settings.allowed_chat_models)
    if st.session_state.get(key) not in allowed:
        st.session_state[key] = allowed[0]
    return str(container.selectbox(label, allowed, key=key, help="The chat models this server allows."))
