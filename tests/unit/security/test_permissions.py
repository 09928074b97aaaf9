"""The one permission table: every route template.yaml deploys has an entry, and roles nest."""

from __future__ import annotations

from pathlib import Path

from minirag.local.template import load_template
from minirag.security import permissions as p

ROOT = Path(__file__).resolve().parents[3]


def test_every_template_route_has_a_permission():
    # Given the routes template.yaml deploys
    routes = load_template(str(ROOT / "template.yaml")).routes

    # Then each names its permission in the table (a route without one would be refused at run time)
    missing = sorted(r.route_key for r in routes
                     if p.required_permission(*r.route_key.split(" ", 1)) is None)
    assert missing == [], f"routes without an entry in minirag.security.permissions.ROUTE_PERMISSIONS: {missing}"


def test_roles_nest_and_only_owners_manage_users():
    # Given the three roles
    # Then member < admin < owner, and users:write is the owner's alone
    assert p.MEMBER < p.ADMIN < p.OWNER
    assert p.roles_with(p.USERS_WRITE) == ["owner"]
    assert p.roles_with(p.BOTS_WRITE) == ["admin", "owner"]
    assert p.roles_with(p.CHAT) == ["member", "admin", "owner"]


def test_a_token_acts_as_role_intersected_with_scopes():
    # Given an owner's token scoped to retrieve, and a member's token scoped to write
    # Then it may retrieve only; the member gains nothing from a write scope
    assert p.effective_permissions("owner", ["retrieve"]) == {p.RETRIEVE}
    assert p.effective_permissions("member", ["write"]) == frozenset()
    # And a key bound to one bot can only chat and retrieve, whatever its scopes
    assert p.effective_permissions("owner", None, bound_to_bot=True) == {p.CHAT, p.RETRIEVE}
