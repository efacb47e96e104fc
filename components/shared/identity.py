"""Who is using the app in this session, what their role allows, and the audit trail of what they changed.

Without sign-in configured (no ``[auth]`` in ``.streamlit/secrets.toml``) the app is single-user and
local: everyone is "local" and may do everything. With Streamlit's OIDC sign-in every page requires it,
the signed-in address is the user, and roles come from ``RERANKLENS_ADMINS`` / ``RERANKLENS_LABELERS``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from reranklens.access.audit import Action, AuditLog
from reranklens.access.limits import RateLimiter, check_chat_model
from reranklens.access.roles import Role, require, role_for
from reranklens.config import Settings
from reranklens.llm.budget import PaidCallGuard
from reranklens.views.render import markdown_escape
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


def paid_call_guard(settings: Settings, user: str | None = None) -> PaidCallGuard:
    """What counts one paid request for ``user`` (default: this session's) against the hourly limit; set it
    with ``reranklens.llm.budget.paid_calls`` around work that may call an LLM (the LLM rerankers)."""
    limiter, who = _paid_calls(settings.paid_calls_per_hour), user or current_user()
    return lambda: limiter.take(who)


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


def signin_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's OIDC sign-in)."""
    return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)


def current_role(settings: Settings) -> Role:
    if not signin_configured():
        return "admin"  # single-user and local, as without sign-in
    return role_for(current_user(), settings.admins, settings.labelers)


def require_role(settings: Settings, needed: Role, action: str) -> None:
    """``RoleRequiredError`` (naming the role ``action`` needs) unless this user has ``needed``."""
    require(current_role(settings), needed, action, current_user())


def sign_in_gate(settings: Settings) -> None:
    """With sign-in configured: a sign-in screen until the visitor has signed in, then who they are
    and a sign-out button in the sidebar. Without it: nothing."""
    if not signin_configured():
        return
    if not st.user.get("is_logged_in"):
        st.title("🔎 RerankLens")
        st.info("This RerankLens server is shared: sign in to use it.", icon="🔒")
        st.button("Sign in", type="primary", on_click=st.login, key="identity.login")
        st.stop()
    with st.sidebar:
        st.caption(f"Signed in as {markdown_escape(current_user())} ({current_role(settings)})")
        st.button("Sign out", on_click=st.logout, key="identity.logout")


def labeler_name(key: str) -> str:
    """The name stored with each label: the signed-in address (not editable), else what the person types."""
    label = "Your name (stored with each label)"
    if st.user.get("is_logged_in"):
        st.session_state[key] = current_user()
        return str(st.text_input(label, key=key, disabled=True, help="From your sign-in."))
    return str(st.text_input(label, key=key))
