"""Roles on a shared server with sign-in: viewers explore and evaluate; labelers also label; admins also
ingest, delete, attach, import traces, train, add models and change the default.

Roles come from settings, as lists of addresses or ``@domain``s: ``RERANKLENS_ADMINS`` and
``RERANKLENS_LABELERS``; everyone else who signs in is a viewer. Without sign-in configured the app is
single-user and local, and that user may do everything (as before).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from reranklens.errors import RerankLensError

Role = Literal["viewer", "labeler", "admin"]
RANK: dict[str, int] = {"viewer": 0, "labeler": 1, "admin": 2}
ROLE_VARIABLES = {"labeler": "RERANKLENS_LABELERS", "admin": "RERANKLENS_ADMINS"}


class RoleRequiredError(RerankLensError):
    """An action this user's role does not allow; the message names the role it needs."""

    def __init__(self, action: str, needed: Role, who: str, has: Role) -> None:
        self.needed = needed
        super().__init__(
            f"{action} needs the {needed} role; {who} is a {has}. Ask an admin to add you to "
            f"{ROLE_VARIABLES.get(needed, 'RERANKLENS_ADMINS')}."
        )


def _matches(email: str, people: Sequence[str]) -> bool:
    email = email.strip().lower()
    domain = "@" + email.rsplit("@", 1)[-1] if "@" in email else None
    return any(entry == email or (entry.startswith("@") and entry == domain) for entry in people)


def role_for(email: str | None, admins: Sequence[str], labelers: Sequence[str]) -> Role:
    """The role of a signed-in ``email``; ``None`` (no sign-in configured) is the local admin."""
    if email is None:
        return "admin"
    if _matches(email, admins):
        return "admin"
    if _matches(email, labelers):
        return "labeler"
    return "viewer"


def require(role: Role, needed: Role, action: str, who: str) -> None:
    """Raise ``RoleRequiredError`` unless ``role`` is at least ``needed``."""
    if RANK[role] < RANK[needed]:
        raise RoleRequiredError(action, needed, who, role)
