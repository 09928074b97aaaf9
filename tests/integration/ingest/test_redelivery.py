"""At-least-once delivery: the same message delivered twice, one after the other or by two
concurrent invocations of the real handler, yields exactly one set of chunks (rows and points)
and a correct final status. On SQLite `BEGIN IMMEDIATE` serialises the writers, on PostgreSQL the
lock on the source row."""

from __future__ import annotations

import json
import threading

import pytest

from tests.factories import make_bot_profile, make_source
from tests.integration.ingest.support import (
    assert_consistent,
    create_upload_source,
    db_counts,
    event_for,
    failed_ids,
    get_source,
    invoke_ingest,
    put_upload,
    request_ingest,
    retrieve,
    take_queued,
    vector_count,
)

TEXT = "\n\n".join(
    f"## Section {i}\n\n" + " ".join(f"Paragraph {i} sentence {j} mentions keyword{i}x{j}." for j in range(25))
    for i in range(6)
)


def _expected_chunks(text: str) -> int:
    from minirag.documents.chunking import chunk_document
    from minirag.documents.extract import extract_batch

    return sum(len(chunk_document(doc)) for doc in extract_batch(text.encode(), filename="content.md"))


def _run_concurrently(api, event, copies: int = 2) -> list[dict]:
    """`copies` threads invoke the real handler with the same SQS event at the same moment."""
    barrier = threading.Barrier(copies)
    results: list[dict] = []
    errors: list[BaseException] = []

    def invoke() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(invoke_ingest(api, event))
        except BaseException as exc:  # surfaced below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=invoke) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == copies
    return results


@pytest.fixture
def bot(api, tenant_a):
    return make_bot_profile(api, tenant_a)


def test_deliver_same_message_twice_writes_one_set_of_chunks(api, tenant_a, bot):
    # Given a text source whose ingest message is on the queue
    source = make_source(api, tenant_a, bot["id"], content=TEXT)
    request_ingest(api, tenant_a, source["id"])
    [body] = take_queued()
    expected = _expected_chunks(TEXT)
    assert expected > 3

    # When the message is delivered, then delivered again (SQS redelivery: same body, new receive)
    first, _ = event_for(body)
    assert failed_ids(invoke_ingest(api, first)) == []
    ready = get_source(api, tenant_a, source["id"])
    again, _ = event_for(body, receive_count=2)
    assert failed_ids(invoke_ingest(api, again)) == []

    # Then there is exactly one set of chunks, and the second delivery changed nothing
    after = get_source(api, tenant_a, source["id"])
    assert_consistent(tenant_a, after)
    assert after == ready
    assert db_counts(tenant_a, source["id"])[1] == vector_count(tenant_a, source["id"]) == expected
    assert take_queued() == []


def test_deliver_same_event_concurrently_writes_one_set_of_chunks(api, tenant_a, bot):
    # Given a text source whose ingest message is on the queue
    source = make_source(api, tenant_a, bot["id"], content=TEXT)
    request_ingest(api, tenant_a, source["id"])
    event, _ = event_for(*take_queued())

    # When two invocations of the ingest handler receive the same event at the same moment
    results = _run_concurrently(api, event)

    # Then both acknowledge it, and exactly one set of chunks exists in the DB and in Qdrant
    assert [failed_ids(r) for r in results] == [[], []]
    ready = get_source(api, tenant_a, source["id"])
    assert_consistent(tenant_a, ready)
    assert db_counts(tenant_a, source["id"])[1] == vector_count(tenant_a, source["id"]) == _expected_chunks(TEXT)
    # And retrieval returns each chunk once
    hits = retrieve(api, tenant_a, bot["id"], "keyword2x3", mode="sparse", top_k=50)
    assert len({h["chunk_id"] for h in hits}) == len(hits) > 0


def test_deliver_fanned_out_slices_concurrently_counts_each_once(api, tenant_a, bot, monkeypatch):
    # Given a JSON Lines source of 40 documents fanned out into 4 slices
    from minirag.settings import get_settings

    monkeypatch.setenv("INGEST_BATCH_DOCUMENTS", "10")
    get_settings.cache_clear()
    lines = [json.dumps({"id": f"d{i}", "title": f"Doc {i}", "text": f"Document {i} covers subject{i}."})
             for i in range(40)]
    created = create_upload_source(api, tenant_a, bot["id"], "docs.jsonl")
    put_upload(api, created["upload"], "\n".join(lines).encode())
    request_ingest(api, tenant_a, created["id"])
    plan, _ = event_for(*take_queued())
    assert failed_ids(invoke_ingest(api, plan)) == []
    slices = take_queued()
    assert len(slices) == 4

    # When two invocations each receive all four slice messages at the same moment
    event, _ = event_for(*slices)
    results = _run_concurrently(api, event)

    # Then every record is acknowledged, and documents, chunks, points and slices are counted once
    assert [failed_ids(r) for r in results] == [[], []]
    ready = get_source(api, tenant_a, created["id"])
    assert_consistent(tenant_a, ready)
    assert ready["progress"] == {"documents_done": 40, "documents_total": 40, "chunks": 40,
                                 "batches_done": 4, "batches_total": 4}
    assert db_counts(tenant_a, created["id"]) == (40, 40) and vector_count(tenant_a, created["id"]) == 40
