"""Batches of sources through the real handlers: a parent and its children created as one (or not at
all), listed under the parent, ingested together by the real ingest worker, the parent's status
aggregated from its children's, deactivated and reactivated as a whole; bad input names
`children.N.field`; another tenant's batch is a 404 like a missing one."""

from __future__ import annotations

import json
import uuid

import pytest

from minirag.queue.embedded import get_embedded_queue
from tests.assertions import assert_error
from tests.conftest import operator
from tests.factories import make_bot_profile

TEXTS = ["# Refunds\n\nRefunds take 14 days.", "# Shipping\n\nOrders ship within 2 business days.",
         "# Hours\n\nThe office opens at 9am."]


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


def make_batch(api, tenant, bot_id: str, texts=TEXTS, **overrides):
    body = {"bot_profile_id": bot_id, "name": "Handbook", "source_type": "text",
            "children": [{"name": f"part {i}", "content": t} for i, t in enumerate(texts)], **overrides}
    response = api.post("/v1/sources/batch", body, token=tenant.token)
    assert response.status == 201, response.body
    return response.json


def test_batch_creates_a_parent_and_its_children_listed_under_it(api, tenant_a, bot):
    # When a batch of three text children is created
    batch = make_batch(api, tenant_a, bot["id"], description="the whole handbook")
    parent, children = batch["parent"], batch["children"]

    # Then the parent counts them and each child points at it, all pending
    assert parent["children_count"] == 3 and parent["parent_id"] is None and parent["status"] == "pending"
    assert parent["description"] == "the whole handbook"
    assert [c["parent_id"] for c in children] == [parent["id"]] * 3
    assert [c["name"] for c in children] == ["part 0", "part 1", "part 2"]
    # And lists show the parent only, unless children are asked for
    assert [s["id"] for s in api.get("/v1/sources", token=tenant_a.token).json] == [parent["id"]]
    everything = api.get("/v1/sources", token=tenant_a.token, query={"include_children": "true", "limit": 100}).json
    assert {s["id"] for s in everything} == {parent["id"], *(c["id"] for c in children)}
    # And the children list pages in the order they were given
    page = api.get(f"/v1/sources/{parent['id']}/children", token=tenant_a.token, query={"limit": 2})
    rest = api.get(f"/v1/sources/{parent['id']}/children", token=tenant_a.token,
                   query={"limit": 2, "cursor": page.headers["x-next-cursor"]})
    assert [c["name"] for c in page.json + rest.json] == ["part 0", "part 1", "part 2"]


def test_ingest_children_queues_each_and_the_parent_aggregates_their_status(api, tenant_a, bot, ingest_worker):
    batch = make_batch(api, tenant_a, bot["id"])
    parent_id = batch["parent"]["id"]

    # When the children are ingested
    accepted = api.post(f"/v1/sources/{parent_id}/ingest-children", token=tenant_a.token)
    assert accepted.status == 202, accepted.body
    assert accepted.json["status"] == "accepted" and accepted.json["enqueued"] == 3
    assert api.get(f"/v1/sources/{parent_id}", token=tenant_a.token).json["status"] == "processing"
    ingest_worker.drain()

    # Then the parent is ready with its children's chunks, and retrieval finds a child's text
    parent = api.get(f"/v1/sources/{parent_id}", token=tenant_a.token).json
    assert parent["status"] == "ready" and parent["chunk_count"] == 3 and parent["needs_ingest"] is False
    found = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": "when does the office open"},
                     token=tenant_a.token).json["data"]
    assert "9am" in found[0]["text"]
    # And the parent itself is not ingested directly
    assert_error(api.post(f"/v1/sources/{parent_id}/ingest", token=tenant_a.token), 422, field="id")


def test_a_failed_child_makes_the_parent_error_saying_how_many(api, tenant_a, bot, ingest_worker):
    batch = make_batch(api, tenant_a, bot["id"], texts=[TEXTS[0], "   \n   "])
    api.post(f"/v1/sources/{batch['parent']['id']}/ingest-children", token=tenant_a.token)
    ingest_worker.drain()

    parent = api.get(f"/v1/sources/{batch['parent']['id']}", token=tenant_a.token).json
    assert parent["status"] == "error" and parent["last_error"].startswith("1 of 2 children failed; first: ")


def test_url_children_take_url_or_config_url(api, tenant_a, bot, monkeypatch):
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.215.14", 443))])
    body = {"bot_profile_id": bot["id"], "name": "Site", "source_type": "url",
            "children": [{"name": "a", "url": "https://docs.example.com/a"},
                         {"name": "b", "config": {"url": "https://docs.example.com/b"}}]}
    created = api.post("/v1/sources/batch", body, token=tenant_a.token)
    assert created.status == 201, created.body
    assert [c["config"] for c in created.json["children"]] == [{"url": "https://docs.example.com/a"},
                                                              {"url": "https://docs.example.com/b"}]


@pytest.mark.parametrize(("children", "field"), [
    ([], "children"),
    ([{"name": "a"}], "children.0.content"),
    ([{"name": "a", "content": "x"}, {"name": "b", "url": "https://docs.example.com/b"}], "children.1.content"),
    ([{"name": "a", "content": "x"}, {"name": "", "content": "y"}], "children.1.name"),
    ([{"name": "a", "content": "x", "extra": 1}], "children.0.extra"),
])
def test_bad_children_are_422_naming_the_child_and_field_and_create_nothing(api, tenant_a, bot, children, field):
    body = {"bot_profile_id": bot["id"], "name": "Bad", "source_type": "text", "children": children}
    assert_error(api.post("/v1/sources/batch", body, token=tenant_a.token), 422, field=field)
    assert api.get("/v1/sources", token=tenant_a.token, query={"include_children": "true"}).json == []


def test_a_private_url_child_is_a_422_naming_it(api, tenant_a, bot):
    body = {"bot_profile_id": bot["id"], "name": "Site", "source_type": "url",
            "children": [{"name": "meta", "url": "http://169.254.169.254/latest/meta-data"}]}
    assert_error(api.post("/v1/sources/batch", body, token=tenant_a.token), 422, field="children.0.url")


def test_too_many_children_or_over_the_source_limit_creates_nothing(api, tenant_a, bot, monkeypatch):
    from tests.conftest import reset_caches

    monkeypatch.setenv("SOURCE_BATCH_MAX_CHILDREN", "2")
    reset_caches()
    many = {"bot_profile_id": bot["id"], "name": "Big", "source_type": "text",
            "children": [{"name": str(i), "content": "x"} for i in range(3)]}
    assert_error(api.post("/v1/sources/batch", many, token=tenant_a.token), 422, field="children")

    code, out, err = operator("set-limits", tenant_a.slug, "sources=2")
    assert code == 0, (out, err)
    two = {**many, "children": many["children"][:2]}  # the parent and two children: three sources
    assert api.post("/v1/sources/batch", two, token=tenant_a.token).status == 429
    assert api.get("/v1/sources", token=tenant_a.token, query={"include_children": "true"}).json == []


def test_deactivating_the_parent_deactivates_its_children_and_reactivating_brings_them_back(api, tenant_a, bot):
    batch = make_batch(api, tenant_a, bot["id"])
    parent_id, child_ids = batch["parent"]["id"], [c["id"] for c in batch["children"]]
    get_embedded_queue().clear()

    assert api.delete(f"/v1/sources/{parent_id}", token=tenant_a.token).status == 204
    for child_id in child_ids:
        assert api.get(f"/v1/sources/{child_id}", token=tenant_a.token).json["is_active"] is False
    purged = [json.loads(m.body) for m in get_embedded_queue().receive(100)]
    assert sorted(m["source_id"] for m in purged if m["kind"] == "purge") == sorted([parent_id, *child_ids])
    assert_error(api.post(f"/v1/sources/{parent_id}/ingest-children", token=tenant_a.token), 409, "source_inactive")

    back = api.patch(f"/v1/sources/{parent_id}", {"is_active": True}, token=tenant_a.token)
    assert back.status == 200 and "ingest-children" in back.json["message"]
    assert all(api.get(f"/v1/sources/{c}", token=tenant_a.token).json["is_active"] for c in child_ids)


def test_another_tenants_batch_is_a_404_like_a_missing_one(api, tenant_a, tenant_b, bot):
    parent_id = make_batch(api, tenant_a, bot["id"])["parent"]["id"]
    missing = str(uuid.uuid4())
    for method, path in (("GET", "/v1/sources/{}/children"), ("POST", "/v1/sources/{}/ingest-children")):
        foreign = api.request(method, path.format(parent_id), token=tenant_b.token)
        absent = api.request(method, path.format(missing), token=tenant_b.token)
        assert_error(foreign, 404, "not_found")
        assert foreign.body == absent.body
    body = {"bot_profile_id": bot["id"], "name": "B", "source_type": "text",
            "children": [{"name": "x", "content": "y"}]}
    assert_error(api.post("/v1/sources/batch", body, token=tenant_b.token), 422, "invalid_input",
                 field="bot_profile_id")
