"""Failures mid-ingest (embedder, Qdrant, database): the record fails and comes back, the source
shows the reason, after INGEST_MAX_RECEIVE_COUNT receives it is `failed` and the message is in the
dead-letter list; no chunk of the failed version is ever visible; a later re-ingest recovers."""

from __future__ import annotations

import pytest

from minirag.errors import ProviderRejected, UpstreamUnavailable
from minirag.queue.embedded import get_embedded_queue
from tests.factories import make_bot_profile, make_source
from tests.integration.ingest.support import (
    assert_consistent,
    db_counts,
    get_source,
    request_ingest,
    retrieve,
    vector_count,
)

CONTENT = "# Returns\n\nItems can be returned within thirty days.\n\n# Shipping\n\nWe ship to every country."


class Outage:
    """Makes one part fail while `on` is set (so the test can end the outage without undoing the
    rest of monkeypatch's changes)."""

    def __init__(self) -> None:
        self.on = True
        self.calls = 0

    def hit(self, exc: BaseException) -> None:
        self.calls += 1
        if self.on:
            raise exc


def _break_embedder(monkeypatch, outage: Outage) -> str:
    from minirag.llm.gateway import LLMGateway

    real = LLMGateway.embed

    def embed(self, texts, **kw):
        if len(texts) > 1:  # queries embed one text; the ingest batch has several chunks
            outage.hit(UpstreamUnavailable("The model provider is unavailable for model 'local/hash'; retry later."))
        return real(self, texts, **kw)

    monkeypatch.setattr(LLMGateway, "embed", embed)
    return "The model provider is unavailable for model 'local/hash'; retry later."


def _break_qdrant_upsert(monkeypatch, outage: Outage) -> str:
    """The vector store refuses writes, whichever backend is configured (qdrant-edge in-process or a
    Qdrant server through qdrant-client)."""
    from minirag.vectorstore.edge_store import EdgeVectorStore
    from minirag.vectorstore.qdrant_client_store import QdrantClientVectorStore

    for store in (EdgeVectorStore, QdrantClientVectorStore):
        real = store._upsert

        def upsert(self, points, _real=real):
            outage.hit(ConnectionError("connection refused"))
            return _real(self, points)

        monkeypatch.setattr(store, "_upsert", upsert)
    return "the vector store is unavailable; try again"


def _break_db_while_recording(monkeypatch, outage: Outage) -> str:
    """The database fails in the middle of `_record_batch`, after the rows were flushed."""
    from sqlalchemy.exc import OperationalError

    from minirag.db import source_rows

    real = source_rows.complete_slices

    def complete_slices(*args, **kw):
        outage.hit(OperationalError("SELECT ...", {}, Exception("server closed the connection unexpectedly")))
        return real(*args, **kw)

    monkeypatch.setattr(source_rows, "complete_slices", complete_slices)
    return "internal error while ingesting"


BREAKERS = {"embedder": _break_embedder, "qdrant": _break_qdrant_upsert, "database": _break_db_while_recording}


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


@pytest.mark.parametrize("part", list(BREAKERS))
def test_ingest_failing_mid_way_retries_then_fails_and_recovers(api, tenant_a, bot, ingest_worker, monkeypatch, part):
    # Given a text source and an outage of one part of the pipeline
    outage = Outage()
    reason = BREAKERS[part](monkeypatch, outage)
    source = make_source(api, tenant_a, bot["id"], content=CONTENT)
    request_ingest(api, tenant_a, source["id"])
    queue = get_embedded_queue()

    # When the message is received up to INGEST_MAX_RECEIVE_COUNT (3) times
    for attempt in (1, 2, 3):
        assert ingest_worker.run_once() == 1
        seen = get_source(api, tenant_a, source["id"])
        # Then nothing of the version is ever visible to retrieval
        assert retrieve(api, tenant_a, bot["id"], "returned within thirty days") == []
        if attempt < 3:
            # And while it retries, the source is still in progress with the reason shown
            assert seen["status"] == "processing" and len(queue) == 1
            assert seen["last_error"].startswith(reason) and f"attempt {attempt} of 3; retrying" in seen["last_error"]

    # Then after the last receive the source is failed with the reason, and the message is dead-lettered
    failed = get_source(api, tenant_a, source["id"])
    assert failed["status"] == "error" and failed["ready_version"] is None
    assert failed["last_error"].startswith(reason) and "gave up after 3 attempts" in failed["last_error"]
    assert len(queue) == 0 and len(queue.dead_letters) == 1 and queue.dead_letters[0].receive_count == 3
    assert outage.calls == 3
    # And no row or point of the failed version is left behind
    assert db_counts(tenant_a, source["id"]) == (0, 0) and vector_count(tenant_a, source["id"]) == 0

    # When the outage ends and the source is ingested again
    outage.on = False
    request_ingest(api, tenant_a, source["id"])
    ingest_worker.drain()

    # Then it recovers to ready and is retrievable
    ready = get_source(api, tenant_a, source["id"])
    assert_consistent(tenant_a, ready)
    assert ready["version"] == 2
    hits = retrieve(api, tenant_a, bot["id"], "returned within thirty days")
    assert hits and {h["source_id"] for h in hits} == {source["id"]}


def test_ingest_retry_that_succeeds_clears_the_reason(api, tenant_a, bot, ingest_worker, monkeypatch):
    # Given an embedder that fails once
    outage = Outage()
    _break_embedder(monkeypatch, outage)
    source = make_source(api, tenant_a, bot["id"], content=CONTENT)
    request_ingest(api, tenant_a, source["id"])
    assert ingest_worker.run_once() == 1
    assert get_source(api, tenant_a, source["id"])["last_error"] is not None

    # When the outage ends and the queue redelivers
    outage.on = False
    ingest_worker.drain()

    # Then the source is ready and shows no error
    assert_consistent(tenant_a, get_source(api, tenant_a, source["id"]))
    assert get_embedded_queue().dead_letters == []


def test_ingest_rejected_provider_key_fails_without_retry(api, tenant_a, bot, ingest_worker, monkeypatch):
    # Given an embedding provider that refuses the credentials (the gateway does not retry that)
    from minirag.llm.gateway import LLMGateway

    def embed(self, texts, **kw):
        raise ProviderRejected("The model provider rejected the credentials for model 'x'; check the bot's "
                                  "provider key.", code="provider_auth_failed")

    monkeypatch.setattr(LLMGateway, "embed", embed)
    source = make_source(api, tenant_a, bot["id"], content=CONTENT)
    request_ingest(api, tenant_a, source["id"])

    # When the queue is drained
    assert ingest_worker.drain() == 1

    # Then the source failed at the first attempt with the provider's reason, and nothing is retried
    failed = get_source(api, tenant_a, source["id"])
    assert failed["status"] == "error" and "rejected the credentials" in failed["last_error"]
    assert get_embedded_queue().dead_letters == []


def test_ingest_failure_after_ready_version_keeps_serving_it(api, tenant_a, bot, ingest_worker, monkeypatch):
    # Given a source that is ready at version 1
    source = make_source(api, tenant_a, bot["id"], content=CONTENT)
    request_ingest(api, tenant_a, source["id"])
    ingest_worker.drain()
    v1 = get_source(api, tenant_a, source["id"])
    assert_consistent(tenant_a, v1)

    # When a re-ingest of changed content fails for good (Qdrant down for every attempt)
    assert api.patch(f"/v1/sources/{source['id']}", {"content": "# New\n\nCompletely different text about llamas."},
                     token=tenant_a.token).status == 200
    _break_qdrant_upsert(monkeypatch, Outage())
    request_ingest(api, tenant_a, source["id"])
    ingest_worker.drain()

    # Then the source says failed for version 2, version 1 stays the visible one, intact
    failed = get_source(api, tenant_a, source["id"])
    assert (failed["status"], failed["version"], failed["ready_version"]) == ("error", 2, 1)
    assert db_counts(tenant_a, source["id"]) == db_counts(tenant_a, source["id"], version=1)
    v1_points = vector_count(tenant_a, source["id"], version=1)
    assert vector_count(tenant_a, source["id"]) == v1_points == v1["progress"]["chunks"]
    assert retrieve(api, tenant_a, bot["id"], "returned within thirty days")
    assert retrieve(api, tenant_a, bot["id"], "llamas", mode="sparse") == []


def test_mark_failed_twice_keeps_the_first_reason(api, tenant_a, bot):
    # Given a queued source and the service the ingest function runs
    import uuid

    from minirag.db.engine import get_session_factory
    from minirag.db.scope import TenantScope
    from minirag.queue.messages import IngestMessage
    from minirag.services.ingestion import IngestionService
    from minirag.settings import get_settings
    from minirag.vectorstore.indexes import QdrantIndexes

    source = make_source(api, tenant_a, bot["id"], content=CONTENT)
    queued = request_ingest(api, tenant_a, source["id"])
    message = IngestMessage(tenant_id=tenant_a.id, source_id=source["id"], version=queued["version"])
    with get_session_factory()() as session:
        service = IngestionService(TenantScope(session, uuid.UUID(tenant_a.id)), get_settings(), gateway=None,
                                   storage=None, publisher=None, indexes=QdrantIndexes.from_settings(get_settings()))

        # When two slices of the version fail one after the other
        first = service.mark_failed(message, "line 2: invalid JSON")
        second = service.mark_failed(message, "line 8: invalid JSON")

    # Then the failure is recorded once, with the first reason
    assert (first, second) == (True, False)
    failed = get_source(api, tenant_a, source["id"])
    assert (failed["status"], failed["last_error"]) == ("error", "line 2: invalid JSON")
