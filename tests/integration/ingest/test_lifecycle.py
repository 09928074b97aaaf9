"""Versions and removal: a re-ingest replaces a source's chunks (the new version becomes visible,
then the old one is removed); deactivating a source or its bot hides it at once and purges its
vectors, rows and file; a stale or late worker leaves nothing behind."""

from __future__ import annotations

import json

import pytest

from tests.factories import make_bot_profile, make_source
from tests.integration.ingest.support import (
    assert_consistent,
    create_upload_source,
    db_counts,
    event_for,
    failed_ids,
    get_source,
    ingest_message,
    invoke_ingest,
    put_upload,
    request_ingest,
    retrieve,
    take_queued,
    vector_count,
)

OLD = "# Warranty\n\nThe warranty covers two years of normal use."
NEW = "# Warranty\n\nThe warranty now covers five years, batteries included."


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


def _ready_source(api, tenant, bot, worker, content: str = OLD, **kw) -> dict:
    source = make_source(api, tenant, bot["id"], content=content, **kw)
    request_ingest(api, tenant, source["id"])
    worker.drain()
    ready = get_source(api, tenant, source["id"])
    assert_consistent(tenant, ready)
    return ready


def _texts(api, tenant, bot_id: str, query: str) -> list[str]:
    return [h["text"] for h in retrieve(api, tenant, bot_id, query, mode="sparse")]


def test_reingest_changed_text_replaces_chunks(api, tenant_a, bot, ingest_worker):
    # Given a text source ready at version 1
    v1 = _ready_source(api, tenant_a, bot, ingest_worker)
    assert _texts(api, tenant_a, bot["id"], "warranty years") == ["The warranty covers two years of normal use."]

    # When its content changes and a re-ingest is requested
    assert api.patch(f"/v1/sources/{v1['id']}", {"content": NEW}, token=tenant_a.token).status == 200
    queued = request_ingest(api, tenant_a, v1["id"])
    # Then until the new version is ready the old one is still served
    assert (queued["version"], queued["ready_version"]) == (2, 1)
    assert _texts(api, tenant_a, bot["id"], "warranty years") == ["The warranty covers two years of normal use."]

    # When the queue is drained
    ingest_worker.drain()

    # Then only the new version is visible, and the old version's rows and points are gone
    v2 = get_source(api, tenant_a, v1["id"])
    assert_consistent(tenant_a, v2)
    assert (v2["version"], v2["ready_version"]) == (2, 2)
    assert _texts(api, tenant_a, bot["id"], "warranty years") == [
        "The warranty now covers five years, batteries included."]
    assert db_counts(tenant_a, v1["id"], version=1) == (0, 0)
    assert vector_count(tenant_a, v1["id"], version=1) == 0


def test_stale_message_after_reingest_changes_nothing(api, tenant_a, bot, ingest_worker):
    # Given a source re-ingested to version 2
    v1 = _ready_source(api, tenant_a, bot, ingest_worker)
    stale = ingest_message(tenant_a, v1)
    api.patch(f"/v1/sources/{v1['id']}", {"content": NEW}, token=tenant_a.token)
    request_ingest(api, tenant_a, v1["id"])
    ingest_worker.drain()
    v2 = get_source(api, tenant_a, v1["id"])

    # When version 1's message is delivered late
    event, _ = event_for(stale, receive_count=2)
    assert failed_ids(invoke_ingest(api, event)) == []

    # Then it is acknowledged and nothing changes
    assert get_source(api, tenant_a, v1["id"]) == v2
    assert vector_count(tenant_a, v1["id"], version=1) == 0 and db_counts(tenant_a, v1["id"], version=1) == (0, 0)


def test_deactivate_source_hides_at_once_then_purges_everything(api, tenant_a, bot, ingest_worker):
    # Given an uploaded source that is ready, and another source of the same bot
    created = create_upload_source(api, tenant_a, bot["id"], "warranty.md")
    put_upload(api, created["upload"], OLD.encode())
    request_ingest(api, tenant_a, created["id"])
    other = make_source(api, tenant_a, bot["id"],
                        content="# Warranty claims\n\nClaims need a receipt and warranty card.")
    request_ingest(api, tenant_a, other["id"])
    ingest_worker.drain()
    assert vector_count(tenant_a, created["id"]) > 0

    # When the source is deleted (deactivated)
    assert api.delete(f"/v1/sources/{created['id']}", token=tenant_a.token).status == 204

    # Then retrieval stops returning it at once, before the purge has run
    assert {h["source_id"] for h in retrieve(api, tenant_a, bot["id"], "warranty", mode="sparse")} == {other["id"]}
    assert api.get(f"/v1/sources/{created['id']}", token=tenant_a.token).json["is_active"] is False
    [purge] = [json.loads(body) for body in take_queued()]
    assert (purge["kind"], purge["source_id"]) == ("purge", created["id"])

    # When the purge message is handled (twice: redelivery is harmless)
    for receive in (1, 2):
        event, _ = event_for(json.dumps(purge), receive_count=receive)
        assert failed_ids(invoke_ingest(api, event)) == []

    # Then no vector, row or uploaded file of the source is left; the other source is untouched
    assert vector_count(tenant_a, created["id"]) == 0 and db_counts(tenant_a, created["id"]) == (0, 0)
    from minirag.storage.uploads import get_storage

    assert get_storage().size(f"tenants/{tenant_a.id}/sources/{created['id']}/warranty.md") is None
    assert_consistent(tenant_a, get_source(api, tenant_a, other["id"]))


def test_deactivate_while_ingesting_leaves_no_vectors(api, tenant_a, bot, monkeypatch):
    # Given a source being ingested, deactivated by its owner while the worker is embedding, and
    # the purge handled by another invocation before the worker writes its points
    import threading

    from minirag.llm.gateway import LLMGateway

    source = make_source(api, tenant_a, bot["id"], content=OLD)
    request_ingest(api, tenant_a, source["id"])
    plan, _ = event_for(*take_queued())
    real = LLMGateway.embed
    purges: list[dict] = []

    def embed_while_deactivated(self, texts, **kw):
        vectors = real(self, texts, **kw)
        if "warranty covers two years" in texts[0] and not purges:
            assert api.delete(f"/v1/sources/{source['id']}", token=tenant_a.token).status == 204
            event, _ = event_for(*take_queued())
            purge = threading.Thread(target=lambda: purges.append(invoke_ingest(api, event)))
            purge.start()
            purge.join()
        return vectors

    monkeypatch.setattr(LLMGateway, "embed", embed_while_deactivated)

    # When the worker goes on to upsert and record its slice
    assert failed_ids(invoke_ingest(api, plan)) == []

    # Then the purge ran first, and the late writer removed what it upserted: nothing is left
    assert [failed_ids(r) for r in purges] == [[]]
    assert vector_count(tenant_a, source["id"]) == 0 and db_counts(tenant_a, source["id"]) == (0, 0)
    assert retrieve(api, tenant_a, bot["id"], "warranty", mode="sparse") == []
    assert take_queued() == []


def test_deactivate_bot_purges_its_sources(api, tenant_a, bot, ingest_worker):
    # Given two ready sources of one bot, and a ready source of another bot
    first = _ready_source(api, tenant_a, bot, ingest_worker)
    second = _ready_source(api, tenant_a, bot, ingest_worker, content=NEW)
    other_bot = make_bot_profile(api, tenant_a, name="Other bot")
    kept = _ready_source(api, tenant_a, other_bot, ingest_worker)

    # When the bot is deleted (deactivated) and the queue drained
    assert api.delete(f"/v1/bot-profiles/{bot['id']}", token=tenant_a.token).status == 204
    assert ingest_worker.drain() == 2

    # Then its sources read as inactive, with no vectors or rows left, and the bot cannot retrieve
    for source in (first, second):
        assert api.get(f"/v1/sources/{source['id']}", token=tenant_a.token).json["is_active"] is False
        assert vector_count(tenant_a, source["id"]) == 0 and db_counts(tenant_a, source["id"]) == (0, 0)
    assert api.post("/v1/retrieve", {"bot_profile_id": bot["id"], "query": "warranty"},
                    token=tenant_a.token).status == 409
    # And the other bot's source is untouched
    assert_consistent(tenant_a, get_source(api, tenant_a, kept["id"]))
    assert _texts(api, tenant_a, other_bot["id"], "warranty")


def test_deleting_a_source_stops_its_ingest_between_embedding_batches(api, tenant_a, bot, ingest_worker,
                                                                      monkeypatch):
    # Given a long text source (about 300 chunks: five embedding batches of 64)
    from minirag.llm.gateway import LLMGateway

    content = "\n\n".join(f"# Part {i}\n\n" + " ".join(f"Clause {i} sentence {j} explains the rule." for j in range(6))
                          for i in range(300))
    source = make_source(api, tenant_a, bot["id"], content=content)
    request_ingest(api, tenant_a, source["id"])
    real = LLMGateway.embed
    embedded: list[int] = []

    def embed_then_user_deletes(self, texts, **kw):
        vectors = real(self, texts, **kw)
        embedded.append(len(texts))
        if len(embedded) == 1:  # the owner deletes the source while the first batch is embedded
            assert api.delete(f"/v1/sources/{source['id']}", token=tenant_a.token).status == 204
        return vectors

    monkeypatch.setattr(LLMGateway, "embed", embed_then_user_deletes)

    # When the worker processes the queue (the plan, then the purge)
    ingest_worker.drain()

    # Then it stopped after the batch in progress instead of embedding the rest, and nothing is left
    assert embedded == [64], embedded
    assert vector_count(tenant_a, source["id"]) == 0 and db_counts(tenant_a, source["id"]) == (0, 0)
    assert ingest_worker.source.queue.dead_letters == [] and len(ingest_worker.source.queue) == 0
