"""Roles from settings: addresses or @domains in RERANKLENS_ADMINS / RERANKLENS_LABELERS;
everyone else who signs in is a viewer; without sign-in the local user may do everything. An address counts only
when the provider verified it; RERANKLENS_ADMIN_SUBS / RERANKLENS_LABELER_SUBS list subject ids. A refused action
names the role it needs. The sign-in journey itself is in test_signin_browser.py."""

from __future__ import annotations

import pytest

from reranklens.access.roles import RoleRequiredError, grant_for, require, role_for
from reranklens.config import Settings

ADMINS = ("boss@team.org", "@ops.team.org")
LABELERS = ("@labelers.team.org", "ana@team.org")


@pytest.mark.parametrize(
    ("email", "role"),
    [
        ("boss@team.org", "admin"),
        ("BOSS@Team.org", "admin"),
        ("x@ops.team.org", "admin"),
        ("x@evil-ops.team.org", "viewer"),  # a domain entry matches the whole domain only
        ("ana@team.org", "labeler"),
        ("y@labelers.team.org", "labeler"),
        ("eve@team.org", "viewer"),
        (None, "admin"),  # no sign-in configured: single-user and local, as before
    ],
)
def test_role_for(email: str | None, role: str) -> None:
    assert role_for(email, ADMINS, LABELERS) == role


@pytest.mark.parametrize(
    ("role", "needed", "message"),
    [
        (
            "viewer",
            "labeler",
            r"^Labeling needs the labeler role; eve@team\.org is a viewer\. .*RERANKLENS_LABELERS\.$",
        ),
        ("viewer", "admin", r"^Training needs the admin role; eve@team\.org is a viewer\. .*RERANKLENS_ADMINS\.$"),
        ("labeler", "admin", r"^Training needs the admin role; eve@team\.org is a labeler\."),
    ],
)
def test_a_refusal_names_the_role_it_needs(role: str, needed: str, message: str) -> None:
    action = "Labeling" if needed == "labeler" else "Training"
    with pytest.raises(RoleRequiredError, match=message):
        require(role, needed, action, "eve@team.org")  # type: ignore[arg-type]


def test_enough_role_passes() -> None:
    require("admin", "labeler", "Labeling", "boss@team.org")
    require("labeler", "labeler", "Labeling", "ana@team.org")
    require("viewer", "viewer", "Exploring", "eve@team.org")


def test_settings_read_the_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANKLENS_ADMINS", " Boss@Team.org, @ops.team.org ,")
    monkeypatch.setenv("RERANKLENS_LABELERS", "@labelers.team.org")
    settings = Settings.from_env()
    assert settings.admins == ("boss@team.org", "@ops.team.org")
    assert settings.labelers == ("@labelers.team.org",)


@pytest.mark.parametrize(
    ("email", "sub", "verified", "role", "why"),
    [
        ("boss@team.org", "s-1", True, "admin", ""),
        ("boss@team.org", "s-1", "true", "admin", ""),  # some providers send the claim as a string
        ("boss@team.org", "s-1", False, "viewer", "RERANKLENS_ADMIN_SUBS"),
        ("boss@team.org", "s-1", None, "viewer", "RERANKLENS_ADMIN_SUBS"),  # no claim: not verified
        ("y@labelers.team.org", "s-2", "false", "viewer", "RERANKLENS_LABELER_SUBS"),
        ("eve@team.org", "s-3", False, "viewer", ""),  # a viewer anyway: nothing to explain
        ("anyone@else.org", "admin-sub", False, "admin", ""),  # a listed sub needs no address
        ("anyone@else.org", "labeler-sub", None, "labeler", ""),
        (None, "Admin-Sub", None, "viewer", ""),  # subs are exact: case counts
    ],
)
def test_an_address_grants_a_role_only_when_verified(
    email: str | None, sub: str, verified: object, role: str, why: str
) -> None:
    grant = grant_for(email, sub, verified, ADMINS, LABELERS, ("admin-sub",), ("labeler-sub",))
    assert grant.role == role
    if why:
        assert grant.why.startswith(f"Your sign-in provider has not verified {email}") and why in grant.why
    else:
        assert grant.why == ""


def test_settings_read_the_sub_lists_as_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RERANKLENS_ADMIN_SUBS", " 1084-AbC , ")
    monkeypatch.setenv("RERANKLENS_LABELER_SUBS", "u1,u2")
    monkeypatch.setenv("RERANKLENS_MAX_JOBS_PER_USER", "3")
    settings = Settings.from_env()
    assert settings.admin_subs == ("1084-AbC",) and settings.labeler_subs == ("u1", "u2")
    assert settings.max_jobs_per_user == 3
