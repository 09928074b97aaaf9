"""The isolation matrix, generated from template.yaml: for every route, tenant B's token on tenant
A's data. An `{id}` route answers B with a 404 byte-identical to the one for a random missing id and
changes nothing of A's; a list never shows A's items to B; a body reference to A's bot is a 404
naming the field (422 on a create) and creates nothing. A template route without a case here fails the suite."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from sqlalchemy import text

from minirag.db.engine import get_engine
from minirag.local.template import load_template
from minirag.queue.embedded import EmbeddedQueue, get_embedded_queue
from tests.assertions import assert_error
from tests.factories import make_bot_profile, make_source

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_ROUTE_KEYS = sorted(r.route_key for r in load_template(str(ROOT / "template.yaml")).routes)


# -- the cases ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ForeignId:
    """B calls the route with the id of A's `target`; the 404 must equal the one for a missing id."""

    target: str
    body: dict[str, Any] | None = None
    # Further path parameters -> A's target for each (e.g. {"mid": "chat_answer"}); random ones for the missing id.
    more_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListRoute:
    """B lists; none of A's `targets` may appear (and A's own list does show them)."""

    targets: tuple[str, ...]


@dataclass(frozen=True)
class ForeignRef:
    """B sends a body referring to A's objects (`refs`: body field -> A's target); 404 naming the
    field (a create answers 422 `invalid_input` naming it), byte-identical to a missing id's."""

    body: Callable[[dict[str, str]], dict[str, Any]]
    refs: dict[str, str]
    status: int = 404
    code: str = "not_found"
    multipart: bool = False  # the body's fields go as multipart/form-data (a `file` field: (name, bytes))


@dataclass(frozen=True)
class OwnCreate:
    """A route that only creates for the caller's tenant: what B creates never shows up for A."""

    body: dict[str, Any]
    list_path: str


@dataclass(frozen=True)
class SelfView:
    """A route about the caller itself: B sees B, never A."""


@dataclass(frozen=True)
class Aggregate:
    """A tenant-wide total (stats): A's usage shows in A's answer, B's answer has none of it (no A
    id, every count and sum 0; prices, which are not tenant data, excepted)."""

    query: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Export:
    """A download of the caller's chats: A's export carries A's `targets`, B's none of them."""

    targets: tuple[str, ...]


@dataclass(frozen=True)
class Exempt:
    reason: str


@dataclass(frozen=True)
class Case:
    check: Any
    # e.g. (pytest.mark.xfail(strict=False, reason="chat issue"),) while a route's handler is unfinished
    marks: tuple[Any, ...] = field(default_factory=tuple)


RENAME = {"name": "renamed by tenant B"}

CASES: dict[str, Case] = {
    # tenants / auth
    "POST /v1/tenants": Case(Exempt("unauthenticated bootstrap: creates a new tenant and reads none")),
    "POST /v1/auth/token": Case(
        Exempt("unauthenticated login: the tenant is the one the email and password belong to")),
    "GET /v1/tenants/me": Case(SelfView()),
    "POST /v1/auth/login": Case(
        Exempt("unauthenticated login: the tenant is the one the email and password belong to")),
    "GET /v1/auth/me": Case(SelfView()),
    # system
    "GET /health": Case(Exempt("unauthenticated liveness: a constant body, reads no tenant or database")),
    "GET /dashboard": Case(Exempt("static files of the dashboard, the same for everyone; no tenant or database")),
    "GET /dashboard/{proxy+}": Case(Exempt("static files of the dashboard; tests/local/test_cors_and_dashboard.py")),
    "GET /widget/{proxy+}": Case(Exempt("the widget's static script; tests/local/test_cors_and_dashboard.py")),
    "OPTIONS /v1/{proxy+}": Case(Exempt("CORS preflight without a credential: says only whether some live "
                                        "publishable key lists the origin; tests/local/test_cors_and_dashboard.py")),
    "GET /v1/system/health": Case(
        Exempt("the platform's parts (status, latency), no tenant data; tests/functions/test_system.py")),
    "GET /v1/system/health/detailed": Case(SelfView()),
    # api tokens
    "POST /v1/api-tokens": Case(OwnCreate({"name": "b-token"}, "/v1/api-tokens")),
    "GET /v1/api-tokens": Case(ListRoute(("api_token",))),
    "DELETE /v1/api-tokens/{id}": Case(ForeignId("api_token")),
    # bot profiles
    "POST /v1/bot-profiles": Case(OwnCreate({"name": "b-bot"}, "/v1/bot-profiles")),
    "GET /v1/bot-profiles": Case(ListRoute(("bot",))),
    "GET /v1/bot-profiles/{id}": Case(ForeignId("bot")),
    "PATCH /v1/bot-profiles/{id}": Case(ForeignId("bot", RENAME)),
    "DELETE /v1/bot-profiles/{id}": Case(ForeignId("bot")),
    # sources
    "POST /v1/sources": Case(ForeignRef(
        lambda ids: {"bot_profile_id": ids["bot_profile_id"], "name": "b-source", "source_type": "text",
                     "content": "B's text"},
        {"bot_profile_id": "bot"}, status=422, code="invalid_input")),
    "POST /v1/sources/upload": Case(ForeignRef(
        lambda ids: {"bot_profile_id": ids["bot_profile_id"], "file": ("b.md", b"# B's file", "text/markdown")},
        {"bot_profile_id": "bot"}, status=422, code="invalid_input", multipart=True)),
    "POST /v1/sources/batch": Case(ForeignRef(
        lambda ids: {"bot_profile_id": ids["bot_profile_id"], "name": "b-batch", "source_type": "text",
                     "children": [{"name": "b", "content": "B's text"}]},
        {"bot_profile_id": "bot"}, status=422, code="invalid_input")),
    "GET /v1/sources/{id}/children": Case(ForeignId("batch")),
    "POST /v1/sources/{id}/ingest-children": Case(ForeignId("batch")),
    "GET /v1/sources": Case(ListRoute(("text_source", "upload_source", "batch"))),
    "GET /v1/sources/{id}": Case(ForeignId("text_source")),
    "PATCH /v1/sources/{id}": Case(ForeignId("text_source", {"name": "renamed by B", "content": "B was here"})),
    "DELETE /v1/sources/{id}": Case(ForeignId("text_source")),
    "POST /v1/sources/{id}/upload-url": Case(ForeignId("upload_source")),
    "POST /v1/sources/{id}/ingest": Case(ForeignId("text_source")),
    "GET /v1/sources/{id}/documents": Case(ForeignId("text_source")),
    # chat
    "POST /v1/chat": Case(ForeignRef(
        lambda ids: {"bot_profile_id": ids["bot_profile_id"], "message": "what does A know?"},
        {"bot_profile_id": "bot"})),
    "GET /v1/chat/{id}": Case(ForeignId("chat")),
    "GET /v1/chat/{id}/messages": Case(ForeignId("chat")),
    "GET /v1/chat": Case(ListRoute(("chat",))),
    "PATCH /v1/chat/{id}/messages/{mid}/feedback": Case(ForeignId(
        "chat", {"feedback": "negative", "comment": "B was here"}, more_ids={"mid": "chat_answer"})),
    "POST /v1/retrieve": Case(ForeignRef(
        lambda ids: {"bot_profile_id": ids["bot_profile_id"], "query": "office hours"},
        {"bot_profile_id": "bot"})),
    # the OpenAI-compatible endpoint: A's bot as B's `model` is the 404 of a missing one; B's models list none of A's
    "POST /v1/openai/chat/completions": Case(ForeignRef(
        lambda ids: {"model": ids["model"], "messages": [{"role": "user", "content": "office hours?"}]},
        {"model": "bot"})),
    "GET /v1/openai/models": Case(ListRoute(("bot",))),
    # webhooks
    "POST /v1/webhooks": Case(OwnCreate({"url": "http://93.184.215.14/b", "events": ["chat.message"]},
                                        "/v1/webhooks")),
    "GET /v1/webhooks": Case(ListRoute(("webhook",))),
    "GET /v1/webhooks/{id}": Case(ForeignId("webhook")),
    "PATCH /v1/webhooks/{id}": Case(ForeignId("webhook", {"description": "B was here", "is_active": False})),
    "DELETE /v1/webhooks/{id}": Case(ForeignId("webhook")),
    "POST /v1/webhooks/{id}/test": Case(ForeignId("webhook")),
    "POST /v1/webhooks/{id}/rotate-secret": Case(ForeignId("webhook")),
    "GET /v1/webhooks/{id}/deliveries": Case(ForeignId("webhook")),
    # stats and export
    "GET /v1/stats/overview": Case(Aggregate()),
    "GET /v1/stats/usage": Case(Aggregate({"days": 3})),
    "GET /v1/stats/usage/by-model": Case(Aggregate({"days": 3})),
    "GET /v1/stats/usage/by-bot": Case(Aggregate({"days": 3})),
    "GET /v1/stats/cost-estimate": Case(Aggregate({"days": 3})),
    "GET /v1/stats/pricing": Case(Aggregate()),
    "GET /v1/stats/feedback": Case(Aggregate({"days": 3})),
    "GET /v1/stats/feedback/trend": Case(Aggregate({"days": 3})),
    "GET /v1/chat/export": Case(Export(("chat", "chat_answer", "bot"))),
    "GET /v1/chat/{id}/export": Case(ForeignId("chat")),
}

# users (team members): B's owner on A's users
CASES.update({
    "POST /v1/users": Case(OwnCreate({"email": "b-member@tenant-b.example.com", "password": "b-member-password",
                                      "display_name": "B's member"}, "/v1/users")),
    "GET /v1/users": Case(ListRoute(("user",))),
    "GET /v1/users/{id}": Case(ForeignId("user")),
    "PATCH /v1/users/{id}": Case(ForeignId("user", {"display_name": "renamed by B", "role": "member"})),
    "DELETE /v1/users/{id}": Case(ForeignId("user")),
})


def _params() -> list[Any]:
    params = []
    for key in TEMPLATE_ROUTE_KEYS:
        case = CASES.get(key)
        marks = list(case.marks) if case else []
        if case and isinstance(case.check, Exempt):
            marks.append(pytest.mark.skip(reason=f"exempt: {case.check.reason}"))
        params.append(pytest.param(key, id=key, marks=marks))
    return params


# -- tenant A's world ----------------------------------------------------------------------------

@dataclass
class World:
    ids: dict[str, str]


@pytest.fixture
def world(api, tenant_a) -> World:
    """Tenant A with one of everything: a bot, a text and an upload source, a chat, its API token."""
    bot = make_bot_profile(api, tenant_a)
    text_source = make_source(api, tenant_a, bot["id"])
    upload_source = make_source(api, tenant_a, bot["id"], source_type="upload", content=None, filename="a.txt")
    batch = api.post("/v1/sources/batch", {"bot_profile_id": bot["id"], "name": "A's batch", "source_type": "text",
                                           "children": [{"name": "a", "content": "A's child"}]}, token=tenant_a.token)
    assert batch.status == 201, batch.body
    chat = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "When does the office open?"},
                    token=tenant_a.token)
    assert chat.status == 200, chat.body
    webhook = api.post("/v1/webhooks", {"url": "http://93.184.215.14/a", "events": ["chat.message"]},
                       token=tenant_a.token)
    assert webhook.status == 201, webhook.body
    get_embedded_queue().clear()
    return World({"bot": bot["id"], "text_source": text_source["id"], "upload_source": upload_source["id"],
                  "batch": batch.json["parent"]["id"],
                  "api_token": tenant_a.api_token_id, "chat": chat.json["chat_id"],
                  "chat_answer": chat.json["message_id"], "webhook": webhook.json["id"],
                  "user": tenant_a.owner_id})


def snapshot(api, tenant, world: World) -> dict[str, Any]:
    """Everything tenant A can see of its data, read as A."""
    def ok(response):
        assert response.status == 200, response.body
        return response.json

    tokens = ok(api.get("/v1/api-tokens", token=tenant.token, query={"limit": 100}))
    return {
        "me": ok(api.get("/v1/tenants/me", token=tenant.token)),
        "api_tokens": [{k: v for k, v in t.items() if k != "last_used_at"} for t in tokens],
        "bots": ok(api.get("/v1/bot-profiles", token=tenant.token, query={"limit": 100})),
        "bot": ok(api.get(f"/v1/bot-profiles/{world.ids['bot']}", token=tenant.token)),
        "sources": ok(api.get("/v1/sources", token=tenant.token, query={"limit": 100})),
        "text_source": ok(api.get(f"/v1/sources/{world.ids['text_source']}", token=tenant.token)),
        "upload_source": ok(api.get(f"/v1/sources/{world.ids['upload_source']}", token=tenant.token)),
        "chat": ok(api.get(f"/v1/chat/{world.ids['chat']}", token=tenant.token)),
        "messages": ok(api.get(f"/v1/chat/{world.ids['chat']}/messages", token=tenant.token, query={"limit": 100})),
        "chats": ok(api.get("/v1/chat", token=tenant.token, query={"limit": 100})),
        "webhooks": ok(api.get("/v1/webhooks", token=tenant.token, query={"limit": 100})),
        "webhook": ok(api.get(f"/v1/webhooks/{world.ids['webhook']}", token=tenant.token)),
        "users": ok(api.get("/v1/users", token=tenant.token, query={"limit": 100, "include_inactive": "true"})),
    }


def _row_counts() -> dict[str, int]:
    tables = ("tenant", "user_account", "api_token", "bot_profile", "source", "chat", "message", "webhook",
              "webhook_delivery")
    with get_engine().connect() as conn:
        return {t: conn.execute(text(f'SELECT COUNT(*) FROM "{t}"')).scalar_one() for t in tables}


def _path(route_key: str, id_: str, more_ids: dict[str, str] | None = None) -> tuple[str, str]:
    method, path = route_key.split(" ", 1)
    for name, value in (more_ids or {}).items():
        path = path.replace(f"{{{name}}}", value)
    return method, path.replace("{id}", id_)


# -- the matrix -----------------------------------------------------------------------------------

def test_every_template_route_has_a_case():
    # Given the routes template.yaml deploys
    # When they are compared with the matrix
    missing = sorted(set(TEMPLATE_ROUTE_KEYS) - set(CASES))
    stale = sorted(set(CASES) - set(TEMPLATE_ROUTE_KEYS))

    # Then every route has a case, and every case is a real route
    assert not missing, f"template routes without an isolation case: {missing}"
    assert not stale, f"isolation cases for routes the template does not have: {stale}"


def test_every_id_route_is_checked_with_a_foreign_id():
    # Given the template's routes with an {id} in the path
    id_routes = [k for k in TEMPLATE_ROUTE_KEYS if "{id}" in k]

    # Then each is a ForeignId case (not exempt, not something weaker)
    assert id_routes
    assert [k for k in id_routes if not isinstance(CASES[k].check, ForeignId)] == []


@pytest.mark.parametrize("route_key", _params())
def test_tenant_b_call_on_tenant_a_data_reveals_and_changes_nothing(api, tenant_a, tenant_b, world, route_key):
    assert route_key in CASES, f"template route {route_key} has no isolation case: add one to CASES"
    check = CASES[route_key].check

    # Given tenant A's data, and what A sees of it
    before = snapshot(api, tenant_a, world)
    counts_before = _row_counts()

    # When tenant B calls the route against A's data
    # Then B gets nothing of A's
    if isinstance(check, ForeignId):
        _check_foreign_id(api, tenant_b, world, route_key, check)
    elif isinstance(check, ListRoute):
        _check_list(api, tenant_a, tenant_b, world, route_key, check)
    elif isinstance(check, ForeignRef):
        _check_foreign_ref(api, tenant_b, world, route_key, check)
    elif isinstance(check, OwnCreate):
        _check_own_create(api, tenant_a, tenant_b, route_key, check)
    elif isinstance(check, SelfView):
        _check_self(api, tenant_a, tenant_b, route_key)
    elif isinstance(check, Aggregate):
        _check_aggregate(api, tenant_a, tenant_b, world, route_key, check)
    elif isinstance(check, Export):
        _check_export(api, tenant_a, tenant_b, world, route_key, check)
    else:  # pragma: no cover - a new kind of case without a check
        raise AssertionError(f"unknown case {check!r}")

    # And A's data is exactly as before, no row was added or removed (unless B created its own),
    # and nothing was queued on A's behalf
    assert snapshot(api, tenant_a, world) == before
    if not isinstance(check, OwnCreate):
        assert _row_counts() == counts_before
    assert [m.body for m in get_embedded_queue().receive(100) if tenant_a.id in m.body] == []
    assert [m.body for m in EmbeddedQueue("webhooks").receive(100) if tenant_a.id in m.body] == []


def _check_foreign_id(api, tenant_b, world: World, route_key: str, check: ForeignId) -> None:
    method, foreign_path = _path(route_key, world.ids[check.target],
                                 {name: world.ids[target] for name, target in check.more_ids.items()})
    _, missing_path = _path(route_key, str(uuid.uuid4()), {name: str(uuid.uuid4()) for name in check.more_ids})
    foreign = api.request(method, foreign_path, json_body=check.body, token=tenant_b.token)
    missing = api.request(method, missing_path, json_body=check.body, token=tenant_b.token)
    assert_error(foreign, 404, "not_found")
    assert (foreign.status, foreign.body) == (missing.status, missing.body), "a foreign id is distinguishable"


def _items(body: Any) -> list[dict[str, Any]]:
    """A list's items: MiniRAG's lists are arrays; OpenAI's (GET /v1/openai/models) are {"data": [...]}."""
    return body["data"] if isinstance(body, dict) else body


def _check_list(api, tenant_a, tenant_b, world: World, route_key: str, check: ListRoute) -> None:
    method, path = _path(route_key, "")
    a_ids = {world.ids[t] for t in check.targets}
    listed = _items(api.request(method, path, token=tenant_a.token, query={"limit": 100}).json)
    seen_by_a = {item["id"] for item in listed}
    assert a_ids <= seen_by_a  # the check below is not vacuous
    response = api.request(method, path, token=tenant_b.token, query={"limit": 100})
    assert response.status == 200, response.body
    seen_by_b = {item["id"] for item in _items(response.json)}
    assert not (seen_by_b & seen_by_a), "B's list shows A's items"
    for a_id in a_ids:
        assert a_id not in response.body.decode()


def _check_foreign_ref(api, tenant_b, world: World, route_key: str, check: ForeignRef) -> None:
    method, path = _path(route_key, "")
    for body_field, target in check.refs.items():
        foreign_ids = {body_field: world.ids[target]}
        missing_ids = {body_field: str(uuid.uuid4())}
        if check.multipart:
            foreign = _multipart(api, method, path, check.body(foreign_ids), tenant_b.token)
            missing = _multipart(api, method, path, check.body(missing_ids), tenant_b.token)
        else:
            foreign = api.request(method, path, json_body=check.body(foreign_ids), token=tenant_b.token)
            missing = api.request(method, path, json_body=check.body(missing_ids), token=tenant_b.token)
        assert_error(foreign, check.status, check.code, field=body_field)
        assert (foreign.status, foreign.body) == (missing.status, missing.body), \
            "a foreign reference is distinguishable"


def _multipart(api, method: str, path: str, fields: dict[str, Any], token: str):
    from urllib3.filepost import encode_multipart_formdata

    body, content_type = encode_multipart_formdata(fields)
    return api.request(method, path, raw_body=body, headers={"content-type": content_type}, token=token)


def _check_own_create(api, tenant_a, tenant_b, route_key: str, check: OwnCreate) -> None:
    method, path = _path(route_key, "")
    created = api.request(method, path, json_body=check.body, token=tenant_b.token)
    assert created.status == 201, created.body

    def seen_by(tenant) -> set:
        return {item["id"] for item in api.get(check.list_path, token=tenant.token, query={"limit": 100}).json}

    seen_by_a, seen_by_b = seen_by(tenant_a), seen_by(tenant_b)
    assert created.json["id"] in seen_by_b and created.json["id"] not in seen_by_a


def _check_self(api, tenant_a, tenant_b, route_key: str) -> None:
    method, path = _path(route_key, "")
    response = api.request(method, path, token=tenant_b.token)
    assert response.status == 200, response.body
    assert response.json["tenant"]["id"] == tenant_b.id
    assert tenant_a.id not in response.body.decode() and tenant_a.owner_email not in response.body.decode()


def _numbers(value: Any, key: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in _numbers(v, k)]
    if isinstance(value, list):
        return [n for v in value for n in _numbers(v, key)]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [(key, value)]
    return []


def _check_aggregate(api, tenant_a, tenant_b, world: World, route_key: str, check: Aggregate) -> None:
    from datetime import datetime, timezone

    from minirag.db.engine import get_session_factory
    from minirag.db.models import UsageEvent, UsageKind
    from minirag.db.scope import TenantScope

    # A priced usage event of A's bot today (usage_event is not in the row counts: it is A's own data)
    with get_session_factory()() as session:
        scope = TenantScope(session, uuid.UUID(tenant_a.id))
        with scope.write():
            scope.add(UsageEvent(id=uuid.uuid4(), kind=UsageKind.chat, model="gpt-4o-mini",
                                 bot_profile_id=uuid.UUID(world.ids["bot"]), prompt_tokens=1234,
                                 completion_tokens=56, total_tokens=1290, created_at=datetime.now(timezone.utc)))
    method, path = _path(route_key, "")
    seen_by_a = api.request(method, path, token=tenant_a.token, query=check.query)
    seen_by_b = api.request(method, path, token=tenant_b.token, query=check.query)
    assert seen_by_a.status == 200 and seen_by_b.status == 200, (seen_by_a.body, seen_by_b.body)
    assert seen_by_a.body != seen_by_b.body  # A's data shows for A, so the check below is not vacuous
    body = seen_by_b.body.decode()
    for a_id in (*world.ids.values(), tenant_a.id):
        assert a_id not in body
    assert "gpt-4o-mini" not in body
    assert [(k, v) for k, v in _numbers(seen_by_b.json) if v and not k.endswith("_per_1m") and k != "days"] == []


def _check_export(api, tenant_a, tenant_b, world: World, route_key: str, check: Export) -> None:
    method, path = _path(route_key, "")
    for fmt in ("json", "csv"):
        seen_by_a = api.request(method, path, token=tenant_a.token, query={"format": fmt}).body.decode()
        response = api.request(method, path, token=tenant_b.token, query={"format": fmt})
        assert response.status == 200, response.body
        for target in check.targets:
            assert world.ids[target] in seen_by_a  # not vacuous
            assert world.ids[target] not in response.body.decode(), f"B's {fmt} export shows A's {target}"


# -- references inside bodies that the generic table cannot express ------------------------------------

def test_chat_continuing_other_tenants_chat_returns_404_naming_chat_id(api, tenant_a, tenant_b, world):
    # Given B's own bot, and A's chat
    b_bot = make_bot_profile(api, tenant_b)
    before = snapshot(api, tenant_a, world)
    counts_before = _row_counts()

    # When B continues A's chat through B's own bot, and a random chat id
    foreign = api.post("/v1/chat", {"bot_profile_id": b_bot["id"], "message": "hi", "chat_id": world.ids["chat"]},
                       token=tenant_b.token)
    missing = api.post("/v1/chat", {"bot_profile_id": b_bot["id"], "message": "hi", "chat_id": str(uuid.uuid4())},
                       token=tenant_b.token)

    # Then both are the same 404 naming chat_id; nothing was written and A's chat is unchanged
    assert_error(foreign, 404, "not_found", field="chat_id")
    assert (foreign.status, foreign.body) == (missing.status, missing.body)
    assert _row_counts() == counts_before
    assert snapshot(api, tenant_a, world) == before


def test_list_sources_filtered_by_other_tenants_bot_is_empty(api, tenant_a, tenant_b, world):
    # Given A's bot with two sources
    # When B filters its source list by A's bot id
    response = api.get("/v1/sources", token=tenant_b.token, query={"bot_profile_id": world.ids["bot"]})

    # Then B sees an empty list
    assert response.status == 200 and response.json == [] and "link" not in response.headers


def test_list_chats_filtered_by_other_tenants_bot_is_empty(api, tenant_a, tenant_b, world):
    # Given A's bot with a chat, and B's own bot with one
    b_bot = make_bot_profile(api, tenant_b)
    assert api.post("/v1/chat", {"bot_profile_id": b_bot["id"], "message": "hi"}, token=tenant_b.token).status == 200

    # When B filters its chat list by A's bot id, and by a random one
    foreign = api.get("/v1/chat", token=tenant_b.token, query={"bot_profile_id": world.ids["bot"]})
    missing = api.get("/v1/chat", token=tenant_b.token, query={"bot_profile_id": str(uuid.uuid4())})

    # Then both are the same empty list
    assert foreign.status == 200 and foreign.json == [] and "link" not in foreign.headers
    assert foreign.body == missing.body


def test_feedback_through_own_chat_on_other_tenants_answer_returns_404(api, tenant_a, tenant_b, world):
    # Given B's own chat, and A's answer
    b_bot = make_bot_profile(api, tenant_b)
    b_chat = api.post("/v1/chat", {"bot_profile_id": b_bot["id"], "message": "hi"}, token=tenant_b.token).json
    before = snapshot(api, tenant_a, world)

    # When B rates A's answer through B's own chat, and a random message the same way
    body = {"feedback": "positive"}
    foreign = api.patch(f"/v1/chat/{b_chat['chat_id']}/messages/{world.ids['chat_answer']}/feedback", body,
                        token=tenant_b.token)
    missing = api.patch(f"/v1/chat/{b_chat['chat_id']}/messages/{uuid.uuid4()}/feedback", body,
                        token=tenant_b.token)

    # Then it is the same 404 as a missing message, and A's answer is unchanged
    assert_error(foreign, 404, "not_found")
    assert foreign.body == missing.body
    assert snapshot(api, tenant_a, world) == before


def test_cursor_from_other_tenant_does_not_reveal_its_items(api, tenant_a, tenant_b, world):
    # Given a cursor from A's bot list (A has 2 bots, so the first page of 1 has a cursor)
    make_bot_profile(api, tenant_a, name="second")
    cursor = api.get("/v1/bot-profiles", token=tenant_a.token, query={"limit": 1}).headers["x-next-cursor"]
    assert cursor

    # When B pages with A's cursor
    response = api.get("/v1/bot-profiles", token=tenant_b.token, query={"cursor": cursor})

    # Then B sees none of A's bots
    assert response.status == 200 and response.json == []


def test_jwt_of_tenant_b_on_tenant_a_bot_returns_404(api, tenant_a, tenant_b, world):
    # Given B's owner logged in with a password (a JWT instead of an API token)
    jwt = api.post("/v1/auth/token", {"email": tenant_b.owner_email, "password": tenant_b.owner_password}).json

    # When B reads A's bot with the JWT
    foreign = api.get(f"/v1/bot-profiles/{world.ids['bot']}", token=jwt["access_token"])
    missing = api.get(f"/v1/bot-profiles/{uuid.uuid4()}", token=jwt["access_token"])

    # Then it is the same 404 as a missing id
    assert_error(foreign, 404, "not_found")
    assert foreign.body == missing.body


def test_streamed_chat_with_other_tenants_bot_returns_404_before_streaming(api, tenant_a, tenant_b, world):
    # Given A's bot
    counts_before = _row_counts()

    # When B asks it a question with streaming on, and asks a random bot the same way
    body = {"message": "what does A know?", "stream": True}
    foreign = api.post("/v1/chat", {**body, "bot_profile_id": world.ids["bot"]}, token=tenant_b.token)
    missing = api.post("/v1/chat", {**body, "bot_profile_id": str(uuid.uuid4())}, token=tenant_b.token)

    # Then it is the same JSON 404 naming bot_profile_id (no stream is started), and nothing was written
    assert_error(foreign, 404, "not_found", field="bot_profile_id")
    assert foreign.body == missing.body
    assert _row_counts() == counts_before
