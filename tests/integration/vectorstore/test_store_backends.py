"""Both vector backends behind one `TenantVectorStore` interface (selected by VECTOR_BACKEND alone):
upsert, tenant isolation in search/count/delete, hybrid ranking, delete keep_version, dimension
checks, listing a model's collections; and one chat + ingest flow on the embedded qdrant-edge."""

from __future__ import annotations

import uuid

import pytest

from minirag.errors import InvalidInput
from minirag.settings import get_settings
from minirag.vectorstore.indexes import QdrantIndexes
from minirag.vectorstore.store import VectorPoint
from tests.conftest import reset_caches

COLLECTION = "minirag_test_model_4"
BOT = uuid.uuid4()
SOURCE = uuid.uuid4()
# Three points per tenant: each owns one axis of the dense space and one sparse token.
DENSE = {"a": [1.0, 0.0, 0.0, 0.0], "b": [0.0, 1.0, 0.0, 0.0], "c": [0.0, 0.0, 1.0, 0.0]}
TOKEN = {"a": 11, "b": 22, "c": 33}


@pytest.fixture(params=["qdrant", "qdrant-edge"])
def backend(request, monkeypatch) -> str:
    monkeypatch.setenv("VECTOR_BACKEND", request.param)
    reset_caches()
    return request.param


def open_store(collection: str, tenant_id: uuid.UUID):
    """A store on the backend the settings choose (as services get it through their port)."""
    return QdrantIndexes.from_settings(get_settings()).open(collection, tenant_id)


def list_collections(prefix: str) -> list[str]:
    return QdrantIndexes.from_settings(get_settings()).list_collections(prefix)


def points(tenant: str, *, version: int = 1, source: uuid.UUID = SOURCE) -> list[VectorPoint]:
    return [VectorPoint(str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}:{name}:{version}:{source}")), DENSE[name],
                        [TOKEN[name], 99], [1.0, 1.0],
                        {"bot_profile_id": str(BOT), "source_id": str(source), "version": version, "text": name})
            for name in DENSE]


def stores() -> tuple:
    a, b = open_store(COLLECTION, uuid.uuid4()), open_store(COLLECTION, uuid.uuid4())
    a.ensure_collection(4)
    b.ensure_collection(4)
    return a, b


def search(store, *, dense=None, token=None, limit=10, **kw):
    return store.search(bot_profile_id=BOT, dense=dense, sparse=([token], [1.0]) if token else None,
                        limit=limit, **kw)


def test_backend_is_selected_by_configuration(backend):
    store = open_store(COLLECTION, uuid.uuid4())
    assert store.backend == backend
    assert not store.exists() and store.count() == 0 and search(store, dense=DENSE["a"]) == []
    store.ensure_collection(4)
    assert store.exists()


def test_upsert_count_and_tenant_isolation(backend):
    a, b = stores()
    assert a.upsert(points("a")) == 3
    b.upsert(points("b"))
    assert a.count() == 3 and b.count() == 3
    assert a.count(source_id=str(SOURCE), version=1) == 3 and a.count(version=2) == 0
    # Every hit of a tenant is its own, in every mode, whatever the query.
    for store, tenant in ((a, a.tenant_id), (b, b.tenant_id)):
        for kw in ({"dense": DENSE["b"]}, {"token": TOKEN["c"]}, {"dense": DENSE["a"], "token": TOKEN["b"]}):
            hits = search(store, **kw)  # (sparse alone finds only points sharing a token)
            assert hits and {h.payload["tenant_id"] for h in hits} == {str(tenant)}
    # Re-upserting the same ids rewrites the points instead of adding copies.
    a.upsert(points("a"))
    assert a.count() == 3


def test_delete_is_tenant_scoped(backend):
    a, b = stores()
    a.upsert(points("a"))
    b.upsert(points("b"))
    b.delete_source(SOURCE)
    assert b.count() == 0 and a.count() == 3
    assert search(b, dense=DENSE["a"]) == [] and len(search(a, dense=DENSE["a"])) == 3


def test_search_modes_rank_the_matching_point_first(backend):
    a, _ = stores()
    a.upsert(points("a"))
    assert search(a, dense=DENSE["b"])[0].payload["text"] == "b"
    assert search(a, token=TOKEN["c"])[0].payload["text"] == "c"
    hybrid = search(a, dense=DENSE["a"], token=TOKEN["a"])
    assert hybrid[0].payload["text"] == "a" and hybrid[0].score > hybrid[1].score
    # Fused client-side: each hit knows its rank and raw score in each list, and carries its dense
    # vector (for the relevance of hits found by BM25 only).
    assert hybrid[0].ranks == {"dense": 1, "bm25": 1}
    assert hybrid[0].scores["dense"] == pytest.approx(1.0) and hybrid[0].vector == pytest.approx(DENSE["a"])
    assert hybrid[0].score == pytest.approx(2 / 61)
    assert search(a, dense=DENSE["a"], limit=1)[0].payload["tenant_id"] == str(a.tenant_id)
    # source_ids narrows the search; an empty sparse query falls back to dense only.
    assert search(a, dense=DENSE["a"], source_ids=[str(uuid.uuid4())]) == []
    assert a.search(bot_profile_id=BOT, dense=DENSE["c"], sparse=([], []), limit=1)[0].payload["text"] == "c"
    assert search(a) == []


def test_delete_keep_version(backend):
    a, _ = stores()
    other = uuid.uuid4()
    a.upsert(points("a", version=1) + points("a", version=2) + points("a", version=1, source=other))
    a.delete_source(SOURCE, keep_version=2)
    assert a.count(source_id=str(SOURCE)) == 3 and a.count(source_id=str(SOURCE), version=2) == 3
    assert a.count(source_id=str(other)) == 3
    a.delete_source(SOURCE, version=2)
    assert a.count(source_id=str(SOURCE)) == 0 and a.count() == 3


def test_dimension_mismatch_is_refused(backend):
    a, _ = stores()
    with pytest.raises(InvalidInput):
        open_store(COLLECTION, uuid.uuid4()).ensure_collection(8)
    a.ensure_collection(4)  # the same dimension again is fine


def test_list_collections_by_prefix(backend):
    for name in ("minirag_m1_4", "minirag_m1_8", "minirag_m2_4"):
        open_store(name, uuid.uuid4()).ensure_collection(int(name[-1]))
    assert list_collections("minirag_m1_") == ["minirag_m1_4", "minirag_m1_8"]


def test_edge_shards_persist_under_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("VECTOR_BACKEND", "qdrant-edge")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("QDRANT_PATH")
    reset_caches()
    tenant = uuid.uuid4()
    store = open_store(COLLECTION, tenant)
    store.ensure_collection(4)
    store.upsert(points("a"))
    assert (tmp_path / "qdrant-edge" / COLLECTION / "edge_config.json").is_file()
    reset_caches()  # closes the shard (releases its WAL lock); the next use loads it from disk
    assert open_store(COLLECTION, tenant).count() == 3
    assert list_collections("minirag_") == [COLLECTION]


def test_edge_refuses_a_qdrant_url(monkeypatch):
    from minirag.settings import Settings

    with pytest.raises(ValueError, match="QDRANT_URL"):
        Settings(vector_backend="qdrant-edge", qdrant_url="http://localhost:6333")


def test_chat_and_ingest_flow_on_qdrant_edge(monkeypatch, api, tenant_a, tenant_b):
    from minirag.cli import build_worker
    from tests.factories import make_bot_profile, make_ingested_source
    from tests.integration.ingest.support import vector_count

    monkeypatch.setenv("VECTOR_BACKEND", "qdrant-edge")
    reset_caches()
    worker = build_worker(api.template, get_settings())
    handbook = ("# Laptops\n\nLaptop refunds are accepted within 30 days of purchase.\n\n"
                "# Phones\n\nPhone refunds are accepted within 14 days of purchase.")
    bot_a = make_bot_profile(api, tenant_a)
    bot_b = make_bot_profile(api, tenant_b)
    source = make_ingested_source(api, tenant_a, bot_a["id"], worker, name="Handbook", content=handbook)
    make_ingested_source(api, tenant_b, bot_b["id"], worker, name="Other",
                         content="Laptop refunds are never accepted.")
    assert get_settings().vector_backend == "qdrant-edge"
    assert vector_count(tenant_a, source["id"]) == source["progress"]["chunks"] > 0
    assert vector_count(tenant_b, source["id"]) == 0

    answer = api.post("/v1/chat", {"bot_profile_id": bot_a["id"], "message": "How many days for a laptop refund?"},
                      token=tenant_a.token)
    assert answer.status == 200, answer.body
    assert "30 days" in answer.json["answer"] and answer.json["citations"]
    assert all(c["source_id"] == source["id"] for c in answer.json["citations"])

    # Deleting the source removes its points (ingestion lists the model's collections on the edge root).
    assert api.delete(f"/v1/sources/{source['id']}", token=tenant_a.token).status in (200, 202, 204)
    worker.drain()
    assert vector_count(tenant_a, source["id"]) == 0


def test_shared_collections_move_into_per_tenant_collections(backend):
    # Given a collection of the old shared layout holding two tenants' points (300: several pages)
    shared_name = "minirag_m1_4"
    a, b = open_store(shared_name, uuid.uuid4()), open_store(shared_name, uuid.uuid4())
    a.ensure_collection(4)
    a.upsert([p for v in range(100) for p in points("a", version=v)])
    b.upsert(points("b"))
    indexes = QdrantIndexes.from_settings(get_settings())

    # When the per-tenant layout adopts it (run twice: idempotent)
    assert indexes.adopt_shared_collections([a.tenant_id, b.tenant_id]) == {shared_name: 303}
    assert indexes.adopt_shared_collections([a.tenant_id, b.tenant_id]) == {}

    # Then each tenant's points, vectors included, are in its own collection and the shared one is gone
    assert shared_name not in list_collections("minirag_")
    own_a, own_b = indexes.for_model(a.tenant_id, "m1", 4), indexes.for_model(b.tenant_id, "m1", 4)
    assert own_a.collection != own_b.collection
    assert own_a.count() == 300 and own_b.count() == 3
    assert [h.payload["text"] for h in search(own_b, dense=DENSE["c"], limit=1)] == ["c"]
    assert [h.payload["text"] for h in search(own_b, token=TOKEN["b"])] == ["b"]
