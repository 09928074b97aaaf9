"""Ingest over a real SQS wire protocol (moto server on 127.0.0.1): the API publishes with boto3,
the local runner long-polls the queue (SqsSource) and invokes the real ingest handler, deletes what
was processed, and a failing record comes back until the queue's redrive policy moves it to the DLQ."""

from __future__ import annotations

import json

from minirag.errors import UpstreamUnavailable
from minirag.local.queue import IngestWorker, SqsSource
from tests.factories import make_bot_profile, make_source
from tests.integration.ingest.support import (
    assert_consistent,
    create_upload_source,
    get_source,
    ingest_handler,
    put_upload,
    request_ingest,
    retrieve,
    vector_count,
)


def _drain(worker: IngestWorker, *, wait_seconds: float = 1, max_batches: int = 50) -> int:
    """Long-poll until a receive comes back empty."""
    total = 0
    for _ in range(max_batches):
        received = worker.run_once(wait_seconds=wait_seconds)
        if not received:
            return total
        total += received
    raise AssertionError("the queue did not drain")


def test_sqs_runner_drains_queue_through_ingest_handler(api, tenant_a, moto_aws, monkeypatch):
    # Given SQS and S3 on moto (QUEUE_BACKEND=sqs, STORAGE_BACKEND=s3), two documents per batch
    from minirag.cli import build_worker
    from minirag.settings import get_settings

    monkeypatch.setenv("INGEST_BATCH_DOCUMENTS", "2")
    get_settings.cache_clear()
    bot = make_bot_profile(api, tenant_a)
    text = make_source(api, tenant_a, bot["id"], content="# Delivery\n\nOrders arrive within three working days.")
    corpus = create_upload_source(api, tenant_a, bot["id"], "faq.jsonl")
    put_upload(api, corpus["upload"], "\n".join(
        json.dumps({"id": f"q{i}", "title": f"Question {i}", "text": f"Answer {i} mentions gadget{i}."})
        for i in range(5)).encode())

    # When both are ingested: the API publishes to SQS, the runner's worker long-polls it
    request_ingest(api, tenant_a, text["id"])
    request_ingest(api, tenant_a, corpus["id"])
    assert moto_aws.queue_depth() == 2
    worker = build_worker(api.template, get_settings())
    assert isinstance(worker.source, SqsSource)
    processed = _drain(worker)

    # Then both plans and the three fanned-out slices were processed, and every message deleted
    assert processed == 5
    assert moto_aws.queue_depth() == 0 and moto_aws.dead_letters() == []
    # And both sources are ready and retrievable
    for source in (text, corpus):
        assert_consistent(tenant_a, get_source(api, tenant_a, source["id"]))
    assert get_source(api, tenant_a, corpus["id"])["progress"]["batches_total"] == 3
    hit = retrieve(api, tenant_a, bot["id"], "gadget3", mode="sparse", top_k=1)[0]
    assert (hit["external_id"], hit["title"]) == ("q3", "Question 3")


def test_sqs_failing_record_comes_back_then_lands_in_dlq(api, tenant_a, moto_aws, monkeypatch):
    # Given an embedder that is down, and a queue whose redrive policy allows 3 receives
    from minirag.llm.gateway import LLMGateway

    def embed(self, texts, **kw):
        raise UpstreamUnavailable("The model provider is unavailable for model 'local/hash'; retry later.")

    monkeypatch.setattr(LLMGateway, "embed", embed)
    bot = make_bot_profile(api, tenant_a)
    source = make_source(api, tenant_a, bot["id"], content="# Delivery\n\nOrders arrive within three days.")
    request_ingest(api, tenant_a, source["id"])
    # (failed records become visible again at once instead of after a back-off)
    worker = IngestWorker(ingest_handler(api), SqsSource(moto_aws.queue_url, retry_delay_seconds=0))

    # When the runner receives it the first time
    assert worker.run_once(wait_seconds=1) == 1

    # Then the record is not deleted: it comes back, and the source shows the retry
    assert moto_aws.queue_depth() == 1
    retrying = get_source(api, tenant_a, source["id"])
    assert retrying["status"] == "processing" and "attempt 1 of 3" in retrying["last_error"]

    # When the runner keeps polling
    assert _drain(worker) == 2

    # Then after the third receive the source failed, and SQS moved the message to the DLQ
    failed = get_source(api, tenant_a, source["id"])
    assert failed["status"] == "error" and "gave up after 3 attempts" in failed["last_error"]
    assert moto_aws.queue_depth() == 0
    [dead] = moto_aws.dead_letters()
    assert json.loads(dead) == {"tenant_id": tenant_a.id, "source_id": source["id"], "version": 1, "kind": "plan",
                                "start": 0, "stop": 0}
    assert vector_count(tenant_a, source["id"]) == 0
