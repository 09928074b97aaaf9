"""GET /v1/sources/{id}/documents through the real handlers: the served version's documents in source
order (title, external id, JSON Lines metadata, chunk count), paged as a JSON array with Link and
X-Next-Cursor headers; the same metadata on retrieved chunks and chat citations; roles and tenants."""

from __future__ import annotations

import json

import pytest

from tests.assertions import assert_error
from tests.factories import make_bot_profile, make_source, make_uploaded_source, make_user

MISSING_ID = "00000000-0000-4000-8000-000000000000"
ROWS = [{"id": f"kb-{i}", "title": f"Article {i}", "text": f"Article {i} explains subject{i} carefully.",
         "metadata": {"team": "support" if i % 2 else "sales", "n": i}} for i in range(5)]
JSONL = ("\n".join(json.dumps(r) for r in ROWS) + "\n").encode()


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


@pytest.fixture
def corpus(api, tenant_a, bot, ingest_worker):
    return make_uploaded_source(api, tenant_a, bot["id"], ingest_worker, "kb.jsonl", JSONL)


def test_documents_list_every_document_with_its_metadata_page_by_page(api, tenant_a, corpus):
    # When the documents are listed two at a time, following the Link header
    seen, path, query = [], f"/v1/sources/{corpus['id']}/documents", {"limit": 2}
    while True:
        response = api.get(path, token=tenant_a.token, query=query)
        assert response.status == 200, response.body
        assert isinstance(response.json, list) and len(response.json) <= 2
        seen.extend(response.json)
        if "x-next-cursor" not in {k.lower() for k in response.headers}:
            break
        headers = {k.lower(): v for k, v in response.headers.items()}
        assert headers["link"].endswith('rel="next"') and headers["x-next-cursor"] in headers["link"]
        query = {"limit": 2, "cursor": headers["x-next-cursor"]}

    # Then every document shows once, in source order, with its own id, title, metadata and chunk count
    assert [(d["position"], d["external_id"], d["title"], d["metadata"]) for d in seen] == [
        (i, r["id"], r["title"], r["metadata"]) for i, r in enumerate(ROWS)]
    assert all(d["chunk_count"] >= 1 for d in seen)
    assert corpus["document_count"] == 5 and corpus["skipped"] == []


def test_retrieved_chunks_and_chat_citations_carry_the_document_metadata(api, tenant_a, bot, corpus):
    # When the bot retrieves and chats about article 3
    hits = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": "subject3", "mode": "sparse",
                                     "top_k": 1, "min_score": 0.0}, token=tenant_a.token)
    chat = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": "What explains subject3?"},
                    token=tenant_a.token)

    # Then the hit and the citation carry article 3's metadata
    assert hits.status == 200 and chat.status == 200, (hits.body, chat.body)
    assert (hits.json["data"][0]["external_id"], hits.json["data"][0]["metadata"]) == ("kb-3", ROWS[3]["metadata"])
    cited = {c["external_id"]: c["metadata"] for c in chat.json["citations"]}
    assert cited["kb-3"] == ROWS[3]["metadata"]


def test_documents_of_a_source_never_ingested_are_an_empty_list(api, tenant_a, bot):
    source = make_source(api, tenant_a, bot["id"])
    response = api.get(f"/v1/sources/{source['id']}/documents", token=tenant_a.token)
    assert (response.status, response.json) == (200, [])


def test_a_member_reads_documents(api, tenant_a, corpus):
    member = make_user(api, tenant_a, role="member")
    response = api.get(f"/v1/sources/{corpus['id']}/documents", token=member["token"])
    assert response.status == 200 and len(response.json) == 5


@pytest.mark.parametrize(("query", "field"), [({"limit": 0}, "limit"), ({"cursor": "%%%"}, "cursor")])
def test_bad_paging_is_a_422_naming_the_parameter(api, tenant_a, corpus, query, field):
    response = api.get(f"/v1/sources/{corpus['id']}/documents", token=tenant_a.token, query=query)
    assert_error(response, 422, field=field)


def test_another_tenants_source_documents_are_a_404_like_a_missing_one(api, tenant_a, tenant_b, corpus):
    foreign = api.get(f"/v1/sources/{corpus['id']}/documents", token=tenant_b.token)
    missing = api.get(f"/v1/sources/{MISSING_ID}/documents", token=tenant_b.token)
    assert_error(foreign, 404)
    assert foreign.json == missing.json


def test_editing_content_marks_the_source_stale_until_it_is_ingested_again(api, tenant_a, bot, ingest_worker):
    from tests.factories import make_ingested_source

    ready = make_ingested_source(api, tenant_a, bot["id"], ingest_worker, content="The old opening hours.")
    assert ready["stale"] is False
    # A rename does not make it stale; new content does, and says so
    renamed = api.patch(f"/v1/sources/{ready['id']}", {"name": "Hours"}, token=tenant_a.token)
    assert (renamed.status, renamed.json["stale"]) == (200, False)
    edited = api.patch(f"/v1/sources/{ready['id']}", {"content": "The new opening hours."}, token=tenant_a.token)
    assert (edited.status, edited.json["stale"]) == (200, True)
    assert api.get(f"/v1/sources/{ready['id']}", token=tenant_a.token).json["stale"] is True
    # Re-ingesting clears it
    assert api.post(f"/v1/sources/{ready['id']}/ingest", token=tenant_a.token).status == 202
    ingest_worker.drain()
    again = api.get(f"/v1/sources/{ready['id']}", token=tenant_a.token).json
    assert (again["status"], again["stale"]) == ("ready", False)
