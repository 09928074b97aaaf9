"""Who may call what: ONE table from route (method + path template, as template.yaml declares it)
to the permission it needs, the permissions of each role, and the permissions of each token scope.
`api.deps.get_principal` enforces it for every authenticated route; a route missing here is refused
(fail closed), and tests/unit/security/test_permissions.py fails when a template route has no entry.

A caller acts with `role ∩ scopes` (a token without scopes: its user's whole role), further cut to
`chat` + `retrieve` when the token is bound to one bot (a publishable key). The role is read at each
request, so demoting a user narrows their tokens at once.

Order of checks: credential (401), then permission (403), then any lookup. So a member's 403 is the
same for an id of its own tenant, another tenant's or a missing one: a 403 never reveals existence,
and a foreign id, for a caller that holds the permission, stays a 404 as before."""

from __future__ import annotations

from typing import Iterable

# -- permissions ------------------------------------------------------------------------------------
BOTS_READ, BOTS_WRITE = "bots:read", "bots:write"
SOURCES_READ, SOURCES_WRITE = "sources:read", "sources:write"
CHATS_READ, CHAT, RETRIEVE, FEEDBACK = "chats:read", "chat", "retrieve", "chats:feedback"
TOKENS_READ, TOKENS_WRITE = "tokens:read", "tokens:write"
USERS_READ, USERS_WRITE = "users:read", "users:write"
WEBHOOKS_READ, WEBHOOKS_WRITE = "webhooks:read", "webhooks:write"
STATS_READ = "stats:read"
ACCOUNT_READ = "account:read"  # who am I, my tenant, the platform's health
TENANT_WRITE = "tenant:write"  # the tenant itself (no route yet: the owner's, when there is one)

PUBLIC = "public"  # no credential (bootstrap, login, liveness): get_principal is never asked

# -- roles: each includes the one before --------------------------------------------------------
MEMBER = frozenset({BOTS_READ, SOURCES_READ, CHATS_READ, CHAT, RETRIEVE, FEEDBACK, ACCOUNT_READ})
ADMIN = MEMBER | {BOTS_WRITE, SOURCES_WRITE, TOKENS_READ, TOKENS_WRITE, WEBHOOKS_READ, WEBHOOKS_WRITE,
                  STATS_READ, USERS_READ}
OWNER = ADMIN | {USERS_WRITE, TENANT_WRITE}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {"member": MEMBER, "admin": ADMIN, "owner": OWNER}

# -- token scopes -----------------------------------------------------------------------------------
SCOPE_PERMISSIONS: dict[str, frozenset[str]] = {
    "chat": frozenset({CHAT, FEEDBACK}),
    "retrieve": frozenset({RETRIEVE}),
    "read": frozenset({BOTS_READ, SOURCES_READ, CHATS_READ, STATS_READ, ACCOUNT_READ}),
    "write": frozenset({BOTS_WRITE, SOURCES_WRITE}),
    "admin": frozenset({TOKENS_READ, TOKENS_WRITE, USERS_READ, USERS_WRITE, WEBHOOKS_READ, WEBHOOKS_WRITE,
                        TENANT_WRITE}),
}
SCOPES = tuple(SCOPE_PERMISSIONS)
# What a key bound to one bot (a publishable key, safe in a web page) may ever do.
BOUND_KEY_PERMISSIONS = frozenset({CHAT, RETRIEVE})
BOUND_KEY_SCOPES = ("chat", "retrieve")

# -- the route table ----------------------------------------------------------------------------
# Routes other parts of the operator API are adding are listed too, so they plug in unchanged.
ROUTE_PERMISSIONS: dict[tuple[str, str], str] = {
    # tenants, auth, health
    ("POST", "/v1/tenants"): PUBLIC,
    ("GET", "/v1/tenants/me"): ACCOUNT_READ,
    ("POST", "/v1/auth/token"): PUBLIC,
    ("POST", "/v1/auth/login"): PUBLIC,
    ("GET", "/v1/auth/me"): ACCOUNT_READ,
    ("GET", "/health"): PUBLIC,
    ("GET", "/v1/system/health"): ACCOUNT_READ,
    ("GET", "/v1/system/health/detailed"): ACCOUNT_READ,
    # CORS preflights (no credential: minirag.api.cors), the dashboard and the widget's static files
    ("OPTIONS", "/v1/{proxy+}"): PUBLIC,
    ("GET", "/dashboard"): PUBLIC,
    ("GET", "/dashboard/{proxy+}"): PUBLIC,
    ("GET", "/widget/{proxy+}"): PUBLIC,
    # users (owners manage, admins see the team)
    ("POST", "/v1/users"): USERS_WRITE,
    ("GET", "/v1/users"): USERS_READ,
    ("GET", "/v1/users/{id}"): USERS_READ,
    ("PATCH", "/v1/users/{id}"): USERS_WRITE,
    ("DELETE", "/v1/users/{id}"): USERS_WRITE,
    # api tokens
    ("POST", "/v1/api-tokens"): TOKENS_WRITE,
    ("GET", "/v1/api-tokens"): TOKENS_READ,
    ("DELETE", "/v1/api-tokens/{id}"): TOKENS_WRITE,
    # bots
    ("POST", "/v1/bot-profiles"): BOTS_WRITE,
    ("GET", "/v1/bot-profiles"): BOTS_READ,
    ("GET", "/v1/bot-profiles/{id}"): BOTS_READ,
    ("PATCH", "/v1/bot-profiles/{id}"): BOTS_WRITE,
    ("DELETE", "/v1/bot-profiles/{id}"): BOTS_WRITE,
    # sources
    ("POST", "/v1/sources"): SOURCES_WRITE,
    ("GET", "/v1/sources"): SOURCES_READ,
    ("GET", "/v1/sources/{id}"): SOURCES_READ,
    ("PATCH", "/v1/sources/{id}"): SOURCES_WRITE,
    ("DELETE", "/v1/sources/{id}"): SOURCES_WRITE,
    ("POST", "/v1/sources/{id}/upload-url"): SOURCES_WRITE,
    ("POST", "/v1/sources/{id}/ingest"): SOURCES_WRITE,
    ("POST", "/v1/sources/upload"): SOURCES_WRITE,
    ("POST", "/v1/sources/batch"): SOURCES_WRITE,
    ("GET", "/v1/sources/{id}/children"): SOURCES_READ,
    ("POST", "/v1/sources/{id}/ingest-children"): SOURCES_WRITE,
    ("GET", "/v1/sources/{id}/documents"): SOURCES_READ,
    # chat
    ("POST", "/v1/chat"): CHAT,
    ("POST", "/v1/retrieve"): RETRIEVE,
    # the OpenAI-compatible endpoint: exactly /v1/chat's (a key that may chat lists the bots it may ask)
    ("POST", "/v1/openai/chat/completions"): CHAT,
    ("GET", "/v1/openai/models"): CHAT,
    ("GET", "/v1/chat"): CHATS_READ,
    ("GET", "/v1/chat/{id}"): CHATS_READ,
    ("GET", "/v1/chat/{id}/messages"): CHATS_READ,
    ("PATCH", "/v1/chat/{id}/messages/{mid}/feedback"): FEEDBACK,
    ("GET", "/v1/chat/export"): CHATS_READ,
    ("GET", "/v1/chat/{id}/export"): CHATS_READ,
    # stats
    ("GET", "/v1/stats/overview"): STATS_READ,
    ("GET", "/v1/stats/usage"): STATS_READ,
    ("GET", "/v1/stats/usage/by-model"): STATS_READ,
    ("GET", "/v1/stats/usage/by-bot"): STATS_READ,
    ("GET", "/v1/stats/cost-estimate"): STATS_READ,
    ("GET", "/v1/stats/pricing"): STATS_READ,
    ("GET", "/v1/stats/feedback"): STATS_READ,
    ("GET", "/v1/stats/feedback/trend"): STATS_READ,
    # webhooks
    ("POST", "/v1/webhooks"): WEBHOOKS_WRITE,
    ("GET", "/v1/webhooks"): WEBHOOKS_READ,
    ("GET", "/v1/webhooks/{id}"): WEBHOOKS_READ,
    ("PATCH", "/v1/webhooks/{id}"): WEBHOOKS_WRITE,
    ("DELETE", "/v1/webhooks/{id}"): WEBHOOKS_WRITE,
    ("POST", "/v1/webhooks/{id}/test"): WEBHOOKS_WRITE,
    ("POST", "/v1/webhooks/{id}/rotate-secret"): WEBHOOKS_WRITE,
    ("GET", "/v1/webhooks/{id}/deliveries"): WEBHOOKS_READ,
}

# Who holds each permission, for the 403's reason ("requires bots:write (admin or owner)").
_ROLE_ORDER = ("member", "admin", "owner")


def required_permission(method: str, path_template: str) -> str | None:
    """The permission a route needs, or None when the table has no entry (the caller refuses)."""
    return ROUTE_PERMISSIONS.get((method.upper(), path_template))


def roles_with(permission: str) -> list[str]:
    return [role for role in _ROLE_ORDER if permission in ROLE_PERMISSIONS[role]]


def role_permissions(role: str) -> frozenset[str]:
    return ROLE_PERMISSIONS.get(role, frozenset())


def scope_permissions(scopes: Iterable[str]) -> frozenset[str]:
    return frozenset().union(*(SCOPE_PERMISSIONS[s] for s in scopes if s in SCOPE_PERMISSIONS))


def effective_permissions(role: str, scopes: Iterable[str] | None, *, bound_to_bot: bool = False) -> frozenset[str]:
    """role ∩ scopes (no scopes: the role), and only chat/retrieve for a key bound to one bot."""
    allowed = role_permissions(role)
    if scopes is not None:
        allowed &= scope_permissions(scopes)
    if bound_to_bot:
        allowed &= BOUND_KEY_PERMISSIONS
    return allowed
