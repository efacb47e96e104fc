"""Roles on a shared server with sign-in: viewers explore and evaluate; labelers also label; admins also
ingest, delete, attach, import traces, train, add models and change the default.

Roles come from settings, as lists of addresses or ``@domain``s: ``RERANKLENS_ADMINS`` and
``RERANKLENS_LABELERS``; everyone else who signs in is a viewer. An address grants a role only when the
sign-in provider says it verified it (``email_verified: true``): many providers let anyone type any
address. Where a provider sends no such claim, ``RERANKLENS_ADMIN_SUBS`` / ``RERANKLENS_LABELER_SUBS`` list
the provider's stable subject ids (``sub``) instead. Without sign-in configured the app is single-user
and local, and that user may do everything (as before).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reranklens.errors import RerankLensError

Role = Literal["viewer", "labeler", "admin"]
RANK: dict[str, int] = {"viewer": 0, "labeler": 1, "admin": 2}
ROLE_VARIABLES = {"labeler": "RERANKLENS_LABELERS", "admin": "RERANKLENS_ADMINS"}
SUB_VARIABLES = {"labeler": "RERANKLENS_LABELER_SUBS", "admin": "RERANKLENS_ADMIN_SUBS"}


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


@dataclass(frozen=True)
class Grant:
    """A signed-in person's role, and why it is lower than their address asks for (``""`` when it is not)."""

    role: Role
    why: str = ""


def verified(claim: object) -> bool:
    """An OIDC ``email_verified`` claim: ``true`` (some providers send the string ``"true"``)."""
    return claim is True or (isinstance(claim, str) and claim.strip().lower() == "true")


def grant_for(
    email: str | None,
    sub: str | None,
    email_verified: object,
    admins: Sequence[str],
    labelers: Sequence[str],
    admin_subs: Sequence[str] = (),
    labeler_subs: Sequence[str] = (),
) -> Grant:
    """The role of a signed-in person: their ``sub`` listed in ``admin_subs`` / ``labeler_subs``, else their
    address in ``admins`` / ``labelers`` when the provider verified it, else viewer (saying why)."""
    if sub and sub in admin_subs:
        return Grant("admin")
    if sub and sub in labeler_subs:
        return Grant("labeler")
    asked = role_for(email or "", admins, labelers)
    if asked == "viewer" or verified(email_verified):
        return Grant(asked)
    return Grant(
        "viewer",
        f"Your sign-in provider has not verified {email}, so it grants no {asked} role here: you are a viewer "
        f"(an admin may list your sign-in id in {SUB_VARIABLES[asked]}).",
    )


def require(role: Role, needed: Role, action: str, who: str) -> None:
    """Raise ``RoleRequiredError`` unless ``role`` is at least ``needed``."""
    if RANK[role] < RANK[needed]:
        raise RoleRequiredError(action, needed, who, role)
