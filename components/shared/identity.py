"""Who is using the app in this session, what their role allows, and the audit trail of what they changed.

Without sign-in configured (no ``[auth]`` in ``.streamlit/secrets.toml``) the app is single-user and
local: everyone is "local" and may do everything. With Streamlit's OIDC sign-in every page requires it,
the signed-in address is the user, and roles come from ``RERANKLENS_ADMINS`` / ``RERANKLENS_LABELERS``
(for addresses the provider verified) or ``RERANKLENS_ADMIN_SUBS`` / ``RERANKLENS_LABELER_SUBS``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from reranklens.access.audit import Action, AuditLog
from reranklens.access.limits import RateLimiter, check_chat_model
from reranklens.access.roles import RANK, Grant, Role, grant_for, require
from reranklens.config import Settings
from reranklens.llm.budget import PaidCallGuard, guard_this_run
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


def paid_call_guard(settings: Settings) -> PaidCallGuard:
    """What the chat client asks before each paid request: the model is allow-listed and this session's user
    is under the hourly limit, which it takes one call from (``LimitError`` otherwise). Without sign-in every
    visitor is "local" and shares one budget."""
    limiter, who = _paid_calls(settings.paid_calls_per_hour), current_user()
    allowed = settings.allowed_chat_models

    def guard(model: str) -> None:
        check_chat_model(model, allowed)
        limiter.take(who)

    return guard


def guard_paid_calls(settings: Settings) -> None:
    """Count every paid request of this script run, and of the jobs it submits, for this session's user
    (the frame calls it before a page does anything)."""
    guard_this_run(paid_call_guard(settings))


def chat_model_picker(container: DeltaGenerator, label: str, key: str, settings: Settings) -> str:
    """A chat model from the server's allow-list (never free text: the team's key pays for it)."""
    allowed = list(settings.allowed_chat_models)
    if st.session_state.get(key) not in allowed:
        st.session_state[key] = allowed[0]
    return str(container.selectbox(label, allowed, key=key, help="The chat models this server allows."))


def signin_configured() -> bool:
    """True when ``.streamlit/secrets.toml`` has an ``[auth]`` section (Streamlit's OIDC sign-in)."""
    return bool(st.secrets.load_if_toml_exists() and "auth" in st.secrets)


def current_grant(settings: Settings) -> Grant:
    """This user's role, from the provider's claims: an address counts only when ``email_verified``."""
    if not signin_configured():
        return Grant("admin")  # single-user and local, as without sign-in
    email, sub = st.user.get("email"), st.user.get("sub")
    return grant_for(
        str(email) if email else None,
        str(sub) if sub else None,
        st.user.get("email_verified"),
        settings.admins,
        settings.labelers,
        settings.admin_subs,
        settings.labeler_subs,
    )


def current_role(settings: Settings) -> Role:
    return current_grant(settings).role


def has_role(settings: Settings, needed: Role) -> bool:
    """Whether this user's role is at least ``needed`` (to draw a control only for those who may use it)."""
    return RANK[current_role(settings)] >= RANK[needed]


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
    grant = current_grant(settings)
    with st.sidebar:
        st.caption(f"Signed in as {markdown_escape(current_user())} ({grant.role})")
        if grant.why:
            st.warning(markdown_escape(grant.why), icon="🔒")
        st.button("Sign out", on_click=st.logout, key="identity.logout")


def labeler_name(key: str) -> str:
    """The name stored with each label: the signed-in address (not editable), else what the person types."""
    label = "Your name (stored with each label)"
    if st.user.get("is_logged_in"):
        st.session_state[key] = current_user()
        return str(st.text_input(label, key=key, disabled=True, help="From your sign-in."))
    return str(st.text_input(label, key=key))
