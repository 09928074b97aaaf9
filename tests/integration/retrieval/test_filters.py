"""Metadata filters on /v1/retrieve and /v1/chat, a bot's default filter, grouping by document and
the one score scale — through the real handlers, on both vector backends."""

from __future__ import annotations

import json

import pytest

from tests.conftest import bootstrap_tenant, reset_caches
from tests.factories import make_bot_profile, make_ingested_source, make_uploaded_source

DOCS = [
    {"id": "de-2019", "title": "Anleitung", "text": "The turbine manual explains blade maintenance in detail.",
     "metadata": {"lang": "de", "year": 2019, "published": "2019-03-01", "tags": ["manual"]}},
    {"id": "en-2021", "title": "Manual", "text": "The turbine manual explains blade maintenance and inspection.",
     "metadata": {"lang": "en", "year": 2021, "published": "2021-06-15", "draft": True}},
    {"id": "en-2023", "title": "Guide", "text": "The turbine guide covers blade maintenance schedules.",
     "metadata": {"lang": "en", "year": 2023, "published": "2023-11-30"}},
    {"id": "fr-2024", "title": "Guide FR", "text": "The turbine notes mention blade maintenance once.",
     "metadata": {"lang": "fr", "year": 2024}},
]
QUERY = "turbine blade maintenance"


@pytest.fixture(params=["qdrant-edge", "qdrant"])
def backend(request, monkeypatch):
    monkeypatch.setenv("VECTOR_BACKEND", request.param)
    reset_caches()
    return request.param


@pytest.fixture
def kb(api, ingest_worker, backend):
    tenant = bootstrap_tenant(api, "filters")
    bot = make_bot_profile(api, tenant)
    data = "\n".join(json.dumps(d) for d in DOCS).encode()
    source = make_uploaded_source(api, tenant, bot["id"], ingest_worker, "docs.jsonl", data,
                                  metadata={"team": "ops", "lang": "xx"})
    return api, tenant, bot, source


def ids(api, tenant, bot_id, flt=None, **extra):
    body = {"bot_profile_id": bot_id, "query": QUERY, "top_k": 10, "min_score": 0, **extra}
    if flt is not None:
        body["filter"] = flt
    response = api.post("/v1/retrieve", body, token=tenant.token)
    assert response.status == 200, response.body
    return sorted({hit["external_id"] for hit in response.json["data"]})


def test_each_operator_narrows_retrieval(kb):
    api, tenant, bot, _ = kb
    b = bot["id"]
    assert ids(api, tenant, b) == ["de-2019", "en-2021", "en-2023", "fr-2024"]
    assert ids(api, tenant, b, {"key": "metadata.lang", "eq": "en"}) == ["en-2021", "en-2023"]
    assert ids(api, tenant, b, {"key": "metadata.lang", "in": ["de", "fr"]}) == ["de-2019", "fr-2024"]
    assert ids(api, tenant, b, {"key": "metadata.year", "gte": 2021, "lt": 2024}) == ["en-2021", "en-2023"]
    assert ids(api, tenant, b, {"key": "metadata.published", "gt": "2020-01-01",
                                "lte": "2023-12-31T23:59:59Z"}) == ["en-2021", "en-2023"]
    assert ids(api, tenant, b, {"key": "metadata.published", "exists": False}) == ["fr-2024"]
    assert ids(api, tenant, b, {"key": "metadata.draft", "exists": True}) == ["en-2021"]
    assert ids(api, tenant, b, {"key": "metadata.draft", "eq": True}) == ["en-2021"]
    assert ids(api, tenant, b, {"or": [{"key": "metadata.year", "lt": 2020},
                                       {"key": "external_id", "eq": "fr-2024"}]}) == ["de-2019", "fr-2024"]
    assert ids(api, tenant, b, {"and": [{"key": "metadata.lang", "eq": "en"},
                                        {"not": {"key": "metadata.year", "eq": 2021}}]}) == ["en-2023"]
    # the source's metadata is on every chunk; a document's own key wins over the source's
    assert len(ids(api, tenant, b, {"key": "metadata.team", "eq": "ops"})) == 4
    assert ids(api, tenant, b, {"key": "metadata.lang", "eq": "xx"}) == []
    assert len(ids(api, tenant, b, {"key": "file_type", "eq": "jsonl"})) == 4
    assert ids(api, tenant, b, {"key": "metadata.tags", "eq": "manual"}) == ["de-2019"]


def test_a_bots_default_filter_applies_and_cannot_be_widened(kb):
    api, tenant, bot, _ = kb
    patched = api.patch(f"/v1/bot-profiles/{bot['id']}", {"default_filter": {"key": "metadata.lang", "eq": "en"}},
                        token=tenant.token)
    assert patched.status == 200 and patched.json["default_filter"] == {"key": "metadata.lang", "eq": "en"}
    assert ids(api, tenant, bot["id"]) == ["en-2021", "en-2023"]
    # a request's filter narrows further, and an `or` cannot reach past the bot's own
    assert ids(api, tenant, bot["id"], {"key": "metadata.year", "eq": 2023}) == ["en-2023"]
    assert ids(api, tenant, bot["id"], {"or": [{"key": "metadata.lang", "eq": "de"},
                                               {"key": "metadata.lang", "eq": "en"}]}) == ["en-2021", "en-2023"]
    # chat retrieves through the same filters: only English documents are cited
    chat = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": QUERY,
                                 "filter": {"key": "metadata.year", "gte": 2022}}, token=tenant.token)
    assert chat.status == 200, chat.body
    assert {c["external_id"] for c in chat.json["citations"]} == {"en-2023"}
    cleared = api.patch(f"/v1/bot-profiles/{bot['id']}", {"default_filter": None}, token=tenant.token)
    assert cleared.status == 200 and cleared.json["default_filter"] is None
    assert len(ids(api, tenant, bot["id"])) == 4


def test_filters_never_cross_bots_or_tenants(kb, api, ingest_worker):
    api, tenant, bot, _ = kb
    other_bot = make_bot_profile(api, tenant, name="Other")
    make_ingested_source(api, tenant, other_bot["id"], ingest_worker,
                         content="The turbine blade maintenance of the other bot.")
    stranger = bootstrap_tenant(api, "stranger")
    stranger_bot = make_bot_profile(api, stranger)
    make_ingested_source(api, stranger, stranger_bot["id"], ingest_worker,
                         content="The stranger's turbine blade maintenance.")
    match_everything = {"or": [{"key": "metadata.lang", "exists": True}, {"key": "metadata.lang", "exists": False}]}
    assert ids(api, tenant, bot["id"], match_everything) == ["de-2019", "en-2021", "en-2023", "fr-2024"]
    for reserved in ("tenant_id", "bot_profile_id", "version", "text"):
        response = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": QUERY,
                                             "filter": {"key": reserved, "eq": "x"}}, token=tenant.token)
        assert response.status == 422 and response.error_fields() == {"filter.key"}, response.body


@pytest.mark.parametrize(("flt", "field"), [
    ({"key": "metadata.lang"}, "filter"),
    ({"key": "metadata.lang", "eq": 1.5}, "filter.eq"),
    ({"key": "metadata.lang", "eq": "en", "in": ["en"]}, "filter"),
    ({"key": "metadata.year", "gte": "yesterday"}, "filter.gte"),
    ({"key": "metadata.year", "gte": 2020, "lt": "2024-01-01"}, "filter"),
    ({"key": "metadata.a b", "eq": "x"}, "filter.key"),
    ({"key": "metadata.lang", "like": "e%"}, "filter.like"),
    ({"and": [{"key": "metadata.lang", "eq": "en"}, {"key": "page", "in": []}]}, "filter.and.1.in"),
    ({"or": []}, "filter.or"),
    ({"not": {"and": [{"not": "x"}]}}, "filter.not.and.0.not"),
    ({"and": [{"key": "title", "eq": "x"}], "or": [{"key": "title", "eq": "y"}]}, "filter"),
    ({"key": "metadata.lang", "exists": "yes"}, "filter.exists"),
    ([{"key": "title", "eq": "x"}], "filter"),
])
def test_an_invalid_filter_is_a_422_naming_its_path(kb, flt, field):
    api, tenant, bot, _ = kb
    for path, body in (("/v1/retrieve", {"query": QUERY}), ("/v1/chat", {"message": QUERY})):
        response = api.post(path, {"bot_profile_id": bot["id"], "filter": flt, **body}, token=tenant.token)
        assert response.status == 422, (path, response.body)
        assert field in response.error_fields(), (path, response.body)
    bad_default = api.patch(f"/v1/bot-profiles/{bot['id']}", {"default_filter": flt}, token=tenant.token)
    assert bad_default.status == 422
    assert field.replace("filter", "default_filter", 1) in bad_default.error_fields(), bad_default.body


def test_deeply_nested_or_huge_filters_are_refused(kb):
    api, tenant, bot, _ = kb
    deep: dict = {"key": "title", "eq": "x"}
    for _ in range(8):
        deep = {"not": deep}
    wide = {"or": [{"key": "title", "eq": str(i)} for i in range(80)]}
    for flt in (deep, wide):
        response = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": QUERY, "filter": flt},
                            token=tenant.token)
        assert response.status == 422, response.body


def test_group_by_document_returns_each_documents_best_chunk(api, ingest_worker, backend):
    tenant = bootstrap_tenant(api, "grouping")
    bot = make_bot_profile(api, tenant, chunk_tokens=32, chunk_overlap_tokens=0)
    long_text = " ".join(f"Turbine blade maintenance step {i} is described here in words." for i in range(40))
    make_ingested_source(api, tenant, bot["id"], ingest_worker, content=long_text, name="Long")
    make_ingested_source(api, tenant, bot["id"], ingest_worker, content="Blade maintenance of turbines, briefly.",
                         name="Short")
    plain = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": QUERY, "top_k": 6, "min_score": 0},
                     token=tenant.token).json["data"]
    assert len({h["document_id"] for h in plain}) < len(plain), "one document fills several ranks"
    grouped = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": QUERY, "top_k": 6, "min_score": 0,
                                        "group_by": "document"}, token=tenant.token).json["data"]
    assert len(grouped) == 2 and len({h["document_id"] for h in grouped}) == 2
    assert grouped[0]["chunk_id"] == plain[0]["chunk_id"], "the best chunk represents its document"
    chat = api.post("/v1/chat", {"bot_profile_id": bot["id"], "message": QUERY, "group_by": "document"},
                    token=tenant.token)
    assert chat.status == 200
    documents = [c["document_id"] for c in chat.json["citations"]]
    assert len(documents) == len(set(documents))
    bad = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": QUERY, "group_by": "source"},
                   token=tenant.token)
    assert bad.status == 422 and "group_by" in bad.error_fields()


def test_one_score_scale_with_ranks_and_min_score_on_it(kb):
    api, tenant, bot, _ = kb
    for mode in ("hybrid", "dense", "sparse"):
        data = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": QUERY, "mode": mode, "top_k": 10,
                                         "min_score": 0}, token=tenant.token).json["data"]
        assert data and [h["rank"] for h in data] == list(range(1, len(data) + 1))
        for hit in data:
            assert 0 <= hit["score"] <= 1, hit
            assert hit["score"] == pytest.approx(max(0.0, hit["relevance"]), abs=1e-6)
            if mode == "hybrid":
                assert hit["fused_score"] > 0 and (hit["ranks"]["dense"] or hit["ranks"]["sparse"])
            else:
                assert hit["fused_score"] is None
                assert hit["ranks"]["dense" if mode == "dense" else "sparse"] == hit["rank"]
        if mode == "dense":
            assert [h["score"] for h in data] == sorted((h["score"] for h in data), reverse=True)
    scores = sorted(h["score"] for h in api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": QUERY,
                                                                   "min_score": 0}, token=tenant.token).json["data"])
    cut = (scores[0] + scores[-1]) / 2
    kept = api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": QUERY, "min_score": cut},
                    token=tenant.token).json["data"]
    assert kept and all(h["score"] >= cut for h in kept) and len(kept) < len(scores)
