"""Every route template.yaml deploys, called through the real handlers by each role and by tokens of
each scope: a 403 naming the permission exactly where the operator API's rules (written out here
from the issue's words, independently of minirag.security.permissions) say the caller may not act,
and never a 403 where it may. A new route is covered the moment it is in the template.

The rules: a `member` reads bots, sources and chats, chats and retrieves (and rates answers; the
OpenAI-compatible endpoint is chat); an
`admin` also manages bots, sources, tokens and webhooks and reads usage and the team; an `owner`
also manages users and roles. Scopes: `chat` (chat, feedback), `retrieve`, `read` (reads of bots,
sources, chats, stats, who-am-I), `write` (bots and sources), `admin` (tokens, users, webhooks)."""

from __future__ import annotations

import uuid

from minirag.local.template import load_template
from tests.conftest import ROOT
from tests.factories import make_user

ROUTES = sorted({r.route_key for r in load_template(str(ROOT / "template.yaml")).routes})
PUBLIC = {"POST /v1/tenants", "POST /v1/auth/token", "POST /v1/auth/login", "GET /health",
          # the dashboard's and widget's static files and the CORS preflights take no credential
          "GET /dashboard", "GET /dashboard/{proxy+}", "GET /widget/{proxy+}", "OPTIONS /v1/{proxy+}"}
ROLES = ("member", "admin", "owner")


def _area(path: str) -> str:
    return path.split("/")[2] if path.startswith("/v1/") else path.strip("/")


def least_role(route: str) -> str:
    """The weakest role that may call the route, by the rules above."""
    method, path = route.split(" ", 1)
    area = _area(path)
    if area in ("auth", "tenants", "system", "retrieve", "openai"):
        return "member"
    if area == "chat":
        return "member"  # chat, read chats and messages, export them, rate answers
    if area in ("bot-profiles", "sources"):
        return "member" if method == "GET" else "admin"
    if area in ("api-tokens", "webhooks", "stats"):
        return "admin"
    if area == "users":
        return "admin" if method == "GET" else "owner"
    raise AssertionError(f"no rule for {route}: say in this test who may call it")


def scope_allows(scope: str, route: str) -> bool:
    method, path = route.split(" ", 1)
    area = _area(path)
    if scope == "chat":
        return route == "POST /v1/chat" or (area == "chat" and path.endswith("/feedback")) or area == "openai"
    if scope == "retrieve":
        return route == "POST /v1/retrieve"
    if scope == "read":
        return method == "GET" and area in ("bot-profiles", "sources", "chat", "stats", "auth", "tenants", "system")
    if scope == "write":
        return method != "GET" and area in ("bot-profiles", "sources")
    if scope == "admin":
        return area in ("api-tokens", "users", "webhooks")
    raise AssertionError(scope)


def _call(api, route: str, token: str):
    """The route with made-up ids and an empty body: the permission is checked before any lookup or
    validation, so this answers 403 or something else (404, 422, 200...) but never reaches data."""
    method, path = route.split(" ", 1)
    for name in ("{id}", "{mid}"):
        path = path.replace(name, str(uuid.uuid4()))
    return api.request(method, path, json_body={} if method in ("POST", "PATCH", "PUT") else None, token=token)


def _is_forbidden(response) -> bool:
    if response.status != 403:
        return False
    error = response.json["error"]
    assert error["code"] == "forbidden" and error["details"][0]["field"] == "permission", response.body
    assert error["details"][0]["reason"].startswith("requires "), response.body
    return True


def test_each_role_is_refused_exactly_where_it_may_not_act(api, tenant_a):
    # Given tenant A's owner (an API token), an admin and a member (JWTs)
    callers = {"owner": tenant_a.token, "admin": make_user(api, tenant_a, role="admin")["token"],
               "member": make_user(api, tenant_a)["token"]}

    # When each calls every authenticated route
    wrong = []
    for route in ROUTES:
        if route in PUBLIC:
            continue
        needed = ROLES.index(least_role(route))
        for role in ROLES:
            response = _call(api, route, callers[role])
            if _is_forbidden(response) is (ROLES.index(role) >= needed):
                wrong.append((role, route, response.status, response.body[:200]))

    # Then exactly the roles the rules exclude got a 403 naming the permission
    assert wrong == []


def test_each_scope_is_refused_exactly_where_it_does_not_reach(api, tenant_a):
    # Given one owner token per scope
    tokens = {}
    for scope in ("chat", "retrieve", "read", "write", "admin"):
        created = api.post("/v1/api-tokens", {"name": f"only {scope}", "scopes": [scope]}, token=tenant_a.token)
        assert created.status == 201, created.body
        tokens[scope] = created.json["raw_token"]

    # When each calls every authenticated route
    wrong = []
    for route in ROUTES:
        if route in PUBLIC:
            continue
        for scope, token in tokens.items():
            response = _call(api, route, token)
            if _is_forbidden(response) is scope_allows(scope, route):
                wrong.append((scope, route, response.status, response.body[:200]))

    # Then a token reaches exactly what its scope covers (its owner's role allows everything)
    assert wrong == []
